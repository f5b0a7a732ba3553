-- Sessions end after a time without use (idle timeout) as well as at their absolute end
-- (expires_at). last_seen_at is the last request that used the session, written at most once
-- a minute per session (see app/src/backend/sessions.rs).

ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
