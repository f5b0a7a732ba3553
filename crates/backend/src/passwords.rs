//! Argon2id password hashing, always on the blocking thread pool: one hash costs tens of
//! milliseconds of pure CPU, which would stall every other request sharing an async worker.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::Password;
use rand::rngs::OsRng;
use std::sync::OnceLock;

pub async fn hash(password: &Password) -> String {
    let password = password.clone();
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await
        .expect("password hashing does not panic")
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// Checks `password` against a stored hash. With no hash (unknown e-mail) it still spends the
/// same work on a dummy hash, so response time does not reveal which e-mails have accounts.
pub async fn verify(password: &Password, stored_hash: Option<String>) -> bool {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let known = stored_hash.is_some();
        let stored = stored_hash.unwrap_or_else(|| dummy_hash().to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .expect("password verification does not panic")
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password, only spends time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let password = Password::parse_new("p", "correct horse battery").unwrap();
        let other = Password::parse_new("p", "wrong horse battery").unwrap();
        let stored = hash(&password).await;
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&password, Some(stored.clone())).await);
        assert!(!verify(&other, Some(stored)).await);
        assert!(!verify(&password, None).await);
    }
}
