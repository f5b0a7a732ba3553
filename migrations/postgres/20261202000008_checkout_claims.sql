-- Who owns an in-progress checkout right now. Every claim and every takeover (a retry taking
-- over a crashed request's claim, or the reconciliation settling it) writes a new token, and
-- the order's commit and the payment's void both require the token they started with: only
-- one of them can settle a claim.
ALTER TABLE checkouts ADD COLUMN claim_token TEXT;

-- The reconciliation looks for claims left in progress by a crashed or cut-off request.
CREATE INDEX checkouts_in_progress ON checkouts (updated_at) WHERE state = 'in_progress';
