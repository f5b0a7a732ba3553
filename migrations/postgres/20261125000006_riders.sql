-- Riders: who carries an order and when it was claimed, picked up and delivered. The status
-- column stays the one source of truth for where the order is; these record who and when.
ALTER TABLE orders ADD COLUMN rider_id BIGINT REFERENCES users (id);
ALTER TABLE orders ADD COLUMN claimed_at BIGINT;
ALTER TABLE orders ADD COLUMN picked_up_at BIGINT;
ALTER TABLE orders ADD COLUMN delivered_at BIGINT;
-- The riders' list (cooking and cooked orders) and each rider's active deliveries.
CREATE INDEX orders_by_status ON orders (status, id);
CREATE INDEX orders_by_rider ON orders (rider_id, status);
