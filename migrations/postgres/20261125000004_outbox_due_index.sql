-- Partial indexes for the worker's claim: only unprocessed events are ever looked for, and they
-- are few compared with the processed history.
CREATE INDEX outbox_due ON outbox (id) WHERE processed_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_unprocessed_by_order ON outbox (order_id, id) WHERE processed_at IS NULL;
