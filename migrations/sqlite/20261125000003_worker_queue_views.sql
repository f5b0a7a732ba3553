-- The outbox worker's lease on an event, the store's queue of incoming orders, and the
-- customer's order-status view (the CQRS read model, written only by the worker).

ALTER TABLE outbox ADD COLUMN locked_until INTEGER;
ALTER TABLE outbox ADD COLUMN locked_by TEXT;

ALTER TABLE orders ADD COLUMN reject_reason TEXT;

-- An order is here once its stock has been taken: the store sees it, and only then is there
-- stock to give back on cancellation.
CREATE TABLE store_queue (
    order_id    INTEGER PRIMARY KEY REFERENCES orders (id),
    store_id    INTEGER NOT NULL REFERENCES stores (id),
    received_at INTEGER NOT NULL
);
CREATE INDEX store_queue_by_store ON store_queue (store_id, order_id);

CREATE TABLE order_views (
    order_id      INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL,
    store_id      INTEGER NOT NULL,
    store_name    TEXT    NOT NULL,
    items         TEXT    NOT NULL,
    total_won     INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    payment       TEXT    NOT NULL,
    note          TEXT,
    rider_name    TEXT,
    timeline      TEXT    NOT NULL,
    last_event_id INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX order_views_by_customer ON order_views (customer_id, order_id);
