-- Accounts, sessions, stores and their menus. Timestamps are Unix milliseconds; flags are
-- 0/1 integers (the same representation as on PostgreSQL, see ../postgres).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'owner', 'rider')),
    phone         TEXT,
    district      TEXT,
    lat           REAL,
    lng           REAL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE stores (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    name       TEXT    NOT NULL,
    district   TEXT    NOT NULL,
    address    TEXT    NOT NULL,
    lat        REAL    NOT NULL,
    lng        REAL    NOT NULL,
    is_open    INTEGER NOT NULL DEFAULT 1 CHECK (is_open IN (0, 1)),
    created_at INTEGER NOT NULL
);
CREATE INDEX stores_by_owner ON stores (owner_id);

CREATE TABLE foods (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id    INTEGER NOT NULL REFERENCES stores (id),
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    price_won   INTEGER NOT NULL CHECK (price_won > 0),
    stock       INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    is_hidden   INTEGER NOT NULL DEFAULT 0 CHECK (is_hidden IN (0, 1)),
    created_at  INTEGER NOT NULL
);
CREATE INDEX foods_by_store ON foods (store_id);

CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
