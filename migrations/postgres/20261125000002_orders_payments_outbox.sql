-- Orders with their lines and payment, the idempotency record of each checkout, and the
-- transactional outbox. An order, its payment record and its OrderPlaced event are written in
-- one transaction, so none exists without the others.

CREATE TABLE orders (
    id          BIGSERIAL PRIMARY KEY,
    customer_id BIGINT  NOT NULL REFERENCES users (id),
    store_id    BIGINT  NOT NULL REFERENCES stores (id),
    status      TEXT    NOT NULL,
    total_won   BIGINT  NOT NULL CHECK (total_won > 0),
    district    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id, id);
CREATE INDEX orders_by_store ON orders (store_id, id);

CREATE TABLE order_lines (
    order_id       BIGINT  NOT NULL REFERENCES orders (id),
    food_id        BIGINT  NOT NULL REFERENCES foods (id),
    name           TEXT    NOT NULL,
    unit_price_won BIGINT  NOT NULL CHECK (unit_price_won > 0),
    quantity       BIGINT  NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (order_id, food_id)
);

CREATE TABLE payments (
    id           BIGSERIAL PRIMARY KEY,
    order_id     BIGINT  NOT NULL UNIQUE REFERENCES orders (id),
    provider     TEXT    NOT NULL,
    provider_ref TEXT    NOT NULL,
    amount_won   BIGINT  NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('approved', 'cancelled')),
    card_hint    TEXT    NOT NULL DEFAULT '',
    approved_at  BIGINT  NOT NULL,
    cancelled_at BIGINT
);

-- One row per checkout submission (customer + key from the browser). `request_hash` tells a
-- retry of the same cart from a different cart under a reused key.
CREATE TABLE checkouts (
    customer_id     BIGINT  NOT NULL REFERENCES users (id),
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('in_progress', 'completed', 'declined')),
    order_id        BIGINT  REFERENCES orders (id),
    outcome         TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (customer_id, idempotency_key)
);
CREATE INDEX checkouts_by_age ON checkouts (created_at);

CREATE TABLE outbox (
    id             BIGSERIAL PRIMARY KEY,
    order_id       BIGINT  NOT NULL,
    event_type     TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    causation_id   BIGINT,
    created_at     BIGINT  NOT NULL,
    available_at   BIGINT  NOT NULL,
    attempts       BIGINT  NOT NULL DEFAULT 0,
    last_error     TEXT,
    processed_at   BIGINT,
    dead_at        BIGINT
);
CREATE INDEX outbox_pending ON outbox (processed_at, available_at, id);
CREATE INDEX outbox_by_order ON outbox (order_id, id);
