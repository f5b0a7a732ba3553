-- Orders stay in the store's queue for its history; `released_at` records that the order's
-- stock was given back (rejected or cancelled after the store received it), exactly once.
ALTER TABLE store_queue ADD COLUMN released_at INTEGER;
