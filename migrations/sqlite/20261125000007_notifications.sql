-- Notifications: one row per (event, channel, recipient), so a redelivered event can never
-- notify anyone twice. In-app rows are delivered when written (the feed reads them); KakaoTalk
-- rows wait in this table for the notification sender, which retries them with backoff and
-- parks them as 'failed' with the provider's last error for an operator.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        INTEGER NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('in_app', 'kakao')),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    order_id        INTEGER,
    kind            TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    template_code   TEXT,
    template_params TEXT,
    recipient_phone TEXT,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    available_at    INTEGER NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT,
    provider_ref    TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    read_at         INTEGER,
    UNIQUE (event_id, channel, user_id)
);
CREATE INDEX notifications_feed ON notifications (user_id, channel, id);
CREATE INDEX notifications_due ON notifications (available_at, id) WHERE state = 'pending';

-- Customers may turn KakaoTalk messages off (in-app notifications always stay on).
ALTER TABLE users ADD COLUMN kakao_enabled INTEGER NOT NULL DEFAULT 1;
