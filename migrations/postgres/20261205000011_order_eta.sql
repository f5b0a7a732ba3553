-- ETA (도착 예정 시각): the cooking time the owner promised when accepting (10–60 minutes,
-- parsed in domain::CookMinutes), and when the order was accepted and cooked. With
-- picked_up_at these are the facts the expected arrival is worked out from, on every read
-- (domain::OrderClock); nothing derived is stored. NULL for orders accepted before.

ALTER TABLE orders ADD COLUMN cook_minutes BIGINT CHECK (cook_minutes BETWEEN 10 AND 60);
ALTER TABLE orders ADD COLUMN accepted_at BIGINT;
ALTER TABLE orders ADD COLUMN cooked_at BIGINT;
