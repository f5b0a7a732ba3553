-- The customer's notes at checkout (요청사항): one to the store, one to the rider who carries
-- the order. Free text, at most 100 characters each (parsed in domain::CheckoutInput); NULL
-- when none was left. Written with the order in checkout's one transaction.

ALTER TABLE orders ADD COLUMN store_note TEXT;
ALTER TABLE orders ADD COLUMN rider_note TEXT;
