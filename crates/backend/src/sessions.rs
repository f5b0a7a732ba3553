//! Server-side sessions.
//!
//! The browser holds only a random 256-bit token in an HTTP-only, SameSite=Lax cookie; the
//! database holds its SHA-256, so a leaked database dump cannot be replayed as cookies.
//! Signing in always issues a new token (and drops the one presented), which defeats session
//! fixation; signing out deletes the row, so the cookie is dead even if it was copied — for
//! every page and live stream using it (streams re-check their session).
//!
//! A session ends at the first of: its absolute lifetime (`expires_at`, `BAEDAL_SESSION_MAX_S`
//! after sign-in) or an idle timeout (`BAEDAL_SESSION_IDLE_S` without a request using it). An
//! ended session answers as signed out. `last_seen_at` is written at most once a minute per
//! session ([`TOUCH_EVERY_MS`]), not on every request: the idle timeout is days, a minute's
//! precision is plenty. An open page's live stream re-checks its session and so counts as use.

use super::{now_ms, AppState};
use domain::CurrentUser;
use domain::UserId;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{Any, FromRow, Transaction};

pub const COOKIE_NAME: &str = "baedal_session";

/// `last_seen_at` is brought up to date when it is older than this (or than a quarter of the
/// idle timeout, when that is shorter).
pub const TOUCH_EVERY_MS: i64 = 60_000;

fn touch_every_ms(state: &AppState) -> i64 {
    TOUCH_EVERY_MS.min(state.settings.session_idle.as_millis() as i64 / 4)
}

/// A fresh random token, hex-encoded for the cookie.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database stores for `token` (and what live streams of a session are known by).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Signs `user_id` in inside `tx`: a new session, and the one the browser presented (if any)
/// dropped, so a token planted before sign-in is worth nothing after it (session fixation).
/// Returns the new token. After the commit, call [`ended`] with `previous`.
pub async fn rotate(
    tx: &mut Transaction<'static, Any>,
    state: &AppState,
    user_id: UserId,
    previous: Option<&str>,
) -> Result<String, sqlx::Error> {
    if let Some(previous) = previous {
        delete(tx, previous).await?;
    }
    create(tx, state, user_id).await
}

/// After the commit that deleted it: the session's open pages stop listening and no instance
/// remembers it.
pub async fn ended(state: &AppState, token: Option<&str>) {
    if let Some(token) = token {
        super::live::session_ended(state, token).await;
    }
}

/// Signs out: the session is deleted, its pages stop listening, on every instance.
pub async fn sign_out(state: &AppState, token: &str) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    delete(&mut tx, token).await?;
    tx.commit().await?;
    ended(state, Some(token)).await;
    Ok(())
}

/// Stores a new session for `user_id` inside `tx` and returns its token.
async fn create(
    tx: &mut Transaction<'static, Any>,
    state: &AppState,
    user_id: UserId,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    let now = now_ms();
    let expires = now + state.settings.session_ttl.as_millis() as i64;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $3)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(expires)
    .execute(&mut **tx)
    .await?;
    // Ended sessions are swept whenever someone signs in; no separate janitor needed.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(idle_cutoff(state, now))
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

/// Sessions last seen at or before this have ended (idle timeout).
fn idle_cutoff(state: &AppState, now: i64) -> i64 {
    now - state.settings.session_idle.as_millis() as i64
}

/// The user behind a live session token, if any: `None` for an unknown, signed-out, expired
/// or idle session. A read of the database unless this instance looked it up in the last few
/// seconds (`session_cache`), and at most once a minute a write of `last_seen_at`.
pub async fn user(state: &AppState, token: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
    Ok(user_until(state, token).await?.map(|(user, _)| user))
}

/// The user behind a live session token and when the session expires at the latest (ms since
/// the epoch; its absolute lifetime), for the live streams' local expiry timer.
pub async fn user_until(
    state: &AppState,
    token: &str,
) -> Result<Option<(CurrentUser, i64)>, sqlx::Error> {
    let now = now_ms();
    let hash = token_hash(token);
    let cache = state.live.sessions();
    let cached = cache
        .get(&hash)
        .filter(|c| c.expires_at > now && c.last_seen_at > idle_cutoff(state, now));
    let (user, expires_at, last_seen) = match cached {
        Some(cached) => (cached.user, cached.expires_at, cached.last_seen_at),
        None => {
            let generation = cache.generation();
            #[derive(FromRow)]
            struct Signed {
                #[sqlx(flatten)]
                user: CurrentUser,
                last_seen_at: i64,
                expires_at: i64,
            }
            let row: Option<Signed> = sqlx::query_as(
                "SELECT u.id, u.email, u.display_name, u.role, u.district, u.address, u.address_detail,
                        s.last_seen_at, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
            )
            .bind(&hash)
            .bind(now)
            .bind(idle_cutoff(state, now))
            .fetch_optional(state.db.reader())
            .await?;
            let Some(Signed {
                user,
                last_seen_at: last_seen,
                expires_at,
            }) = row
            else {
                return Ok(None);
            };
            cache.put(generation, &hash, user.clone(), expires_at, last_seen);
            (user, expires_at, last_seen)
        }
    };
    if now - last_seen >= touch_every_ms(state) {
        // Best effort: a lost touch costs at most a minute of idle time.
        let touched = sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1",
        )
        .bind(now)
        .bind(&hash)
        .execute(state.db.writer())
        .await;
        match touched {
            Ok(_) => cache.touched(&hash, now),
            Err(error) => tracing::warn!(%error, "could not record a session's use"),
        }
    }
    Ok(Some((user, expires_at)))
}

pub async fn delete(tx: &mut Transaction<'static, Any>, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The `Set-Cookie` value that gives the browser `token`.
pub fn set_cookie(state: &AppState, token: &str) -> String {
    let max_age = state.settings.session_ttl.as_secs();
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_cookie(state: &AppState) -> String {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// Our session token among a request's `Cookie` headers.
pub fn token_from_headers(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(token_from_cookie_header)
}

/// Finds our session token in a `Cookie` request header.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_stored() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let token = new_token();
        let header = format!("theme=dark; {COOKIE_NAME}={token}; other=1");
        assert_eq!(token_from_cookie_header(&header), Some(token.as_str()));
        assert_eq!(token_from_cookie_header("theme=dark"), None);
        assert_eq!(
            token_from_cookie_header(&format!("{COOKIE_NAME}=forged")),
            None
        );
    }
}
