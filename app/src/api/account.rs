//! Accounts and sessions: sign up, sign in and out, who is signed in.

use crate::domain::{CurrentUser, SignUpForm};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{accounts, sessions};
#[cfg(feature = "ssr")]
use crate::domain::{Email, Password};
#[cfg(feature = "ssr")]
use crate::door::http;

/// Creates an account and signs it in. Customers give their delivery district, owners their
/// first store, riders their home area.
#[server(endpoint = "sign_up")]
pub async fn sign_up(#[server(flatten)] form: SignUpForm) -> Result<CurrentUser, AppError> {
    http::respond(async move {
        let state = http::state()?;
        state.limits.sign_up(http::client_address())?;
        let account = form.parse()?;
        let previous = http::session_token();
        let (user, token) = accounts::sign_up(&state, &account, previous.as_deref()).await?;
        http::set_cookie(&sessions::set_cookie(&state, &token));
        tracing::info!(user_id = %user.id, role = user.role.as_str(), "signed up");
        Ok(user)
    })
    .await
}

/// Signs in with e-mail and password. An unknown e-mail and a wrong password get the same
/// answer (and take the same time), so the form cannot be used to find out who has an account.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<CurrentUser, AppError> {
    http::respond(async move {
        let mut errors = crate::domain::FieldErrors::default();
        let email = errors.check(Email::parse("email", &email));
        let password = errors.check(Password::parse_existing("password", &password));
        errors.into_result()?;
        let (email, password) = (email.expect("checked"), password.expect("checked"));
        let state = http::state()?;
        let previous = http::session_token();
        let (user, token) = accounts::sign_in(
            &state,
            &email,
            &password,
            http::client_address(),
            previous.as_deref(),
        )
        .await?;
        http::set_cookie(&sessions::set_cookie(&state, &token));
        tracing::info!(user_id = %user.id, "signed in");
        Ok(user)
    })
    .await
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    http::respond(async move {
        let state = http::state()?;
        if let Some(token) = http::session_token() {
            sessions::sign_out(&state, &token).await?;
        }
        http::set_cookie(&sessions::clear_cookie(&state));
        Ok(())
    })
    .await
}

/// The signed-in person, or `None` when signed out (not an error: pages decide what to do).
#[server(endpoint = "who_am_i")]
pub async fn who_am_i() -> Result<Option<CurrentUser>, AppError> {
    http::respond(async move {
        let state = http::state()?;
        http::current_user(&state).await
    })
    .await
}
