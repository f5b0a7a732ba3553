-- Accounts, sessions, stores and their menus. Timestamps are Unix milliseconds; flags are
-- 0/1 integers (the same representation as on SQLite, see ../sqlite).

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'owner', 'rider')),
    phone         TEXT,
    district      TEXT,
    lat           DOUBLE PRECISION,
    lng           DOUBLE PRECISION,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE stores (
    id         BIGSERIAL PRIMARY KEY,
    owner_id   BIGINT           NOT NULL REFERENCES users (id),
    name       TEXT             NOT NULL,
    district   TEXT             NOT NULL,
    address    TEXT             NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lng        DOUBLE PRECISION NOT NULL,
    is_open    BIGINT           NOT NULL DEFAULT 1 CHECK (is_open IN (0, 1)),
    created_at BIGINT           NOT NULL
);
CREATE INDEX stores_by_owner ON stores (owner_id);

CREATE TABLE foods (
    id          BIGSERIAL PRIMARY KEY,
    store_id    BIGINT NOT NULL REFERENCES stores (id),
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    price_won   BIGINT NOT NULL CHECK (price_won > 0),
    stock       BIGINT NOT NULL DEFAULT 0 CHECK (stock >= 0),
    is_hidden   BIGINT NOT NULL DEFAULT 0 CHECK (is_hidden IN (0, 1)),
    created_at  BIGINT NOT NULL
);
CREATE INDEX foods_by_store ON foods (store_id);

CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
