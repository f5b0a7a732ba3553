//! Accounts in the database: creating one (with an owner's first store), finding one.

use super::{now_ms, passwords, sessions, AppState};
use crate::Error;
use domain::{
    CurrentUser, District, Email, KakaoSettings, NewAccount, Password, PhoneNumber, RoleDetails,
};
use domain::{StoreId, UserId};
use sqlx::{Any, FromRow, Transaction};
use std::net::IpAddr;

/// The columns of `users` a `CurrentUser` is read from (it derives its row mapping).
const USER_COLUMNS: &str = "id, email, display_name, role, district";

/// The user and password hash for an e-mail, for sign-in.
async fn find_credentials(
    state: &AppState,
    email: &Email,
) -> Result<Option<(CurrentUser, String)>, sqlx::Error> {
    #[derive(FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        user: CurrentUser,
        password_hash: String,
    }
    let row: Option<WithHash> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional(state.db.reader())
    .await?;
    Ok(row.map(|row| (row.user, row.password_hash)))
}

/// Creates the account (and an owner's first store) inside `tx`. A taken e-mail is a field
/// error; the unique index is the arbiter, so two simultaneous sign-ups cannot both win.
pub async fn create(
    tx: &mut Transaction<'static, Any>,
    account: &NewAccount,
    password_hash: &str,
) -> Result<CurrentUser, Error> {
    let (district, point) = match &account.details {
        RoleDetails::Customer { district } | RoleDetails::Rider { district } => {
            (Some(district.name()), Some(district.center()))
        }
        RoleDetails::Owner { .. } => (None, None),
    };
    // Coordinates are bound only when there are some: sqlx 0.8's `Any` driver sends a NULL
    // f64 as a float4 NULL, and PostgreSQL then keeps that type for the cached statement.
    let (coordinates, placeholders) = if point.is_some() {
        (", lat, lng", ", $8, $9")
    } else {
        ("", "")
    };
    let sql = format!(
        "INSERT INTO users (email, password_hash, display_name, role, phone, district, created_at{coordinates})
         VALUES ($1, $2, $3, $4, $5, $6, $7{placeholders})
         ON CONFLICT (email) DO NOTHING
         RETURNING id"
    );
    let mut query = sqlx::query_scalar(&sql)
        .bind(account.email.as_str())
        .bind(password_hash)
        .bind(&account.display_name)
        .bind(account.role().as_str())
        .bind(account.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(district)
        .bind(now_ms());
    if let Some(point) = point {
        query = query.bind(point.lat).bind(point.lng);
    }
    let inserted = query.fetch_optional(&mut **tx).await?;
    let Some(id): Option<UserId> = inserted else {
        return Err(Error::invalid("email", "이미 가입된 이메일입니다."));
    };
    if let RoleDetails::Owner {
        store_name,
        store_district,
        store_address,
    } = &account.details
    {
        // Closed until it has a dish in stock: the owner opens it (`stores::set_open`).
        insert_store(tx, id, store_name, *store_district, store_address, false).await?;
    }
    Ok(CurrentUser {
        id,
        email: account.email.as_str().to_string(),
        display_name: account.display_name.clone(),
        role: account.role(),
        district: district.map(str::to_string),
    })
}

/// A new store of `owner_id`, open or closed. A new owner's store starts closed: a store with
/// nothing to sell would only show customers an empty menu.
pub async fn insert_store(
    tx: &mut Transaction<'static, Any>,
    owner_id: UserId,
    name: &str,
    district: District,
    address: &str,
    open: bool,
) -> Result<StoreId, sqlx::Error> {
    let point = district.center();
    sqlx::query_scalar(
        "INSERT INTO stores (owner_id, name, district, address, lat, lng, is_open, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(owner_id)
    .bind(name)
    .bind(district.name())
    .bind(address)
    .bind(point.lat)
    .bind(point.lng)
    .bind(i64::from(open))
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await
}

/// Hashes the password off the async runtime, then creates the account and signs it in (the
/// session presented, if any, is dropped: [`sessions::rotate`]). Returns the new session token.
pub async fn sign_up(
    state: &AppState,
    account: &NewAccount,
    previous: Option<&str>,
) -> Result<(CurrentUser, String), Error> {
    let password_hash = passwords::hash(&account.password).await;
    let mut tx = state.db.begin().await?;
    let user = create(&mut tx, account, &password_hash).await?;
    let token = sessions::rotate(&mut tx, state, user.id, previous).await?;
    tx.commit().await?;
    sessions::ended(state, previous).await;
    Ok((user, token))
}

/// Checks e-mail and password within the sign-in limits and signs the account in (the session
/// presented, if any, is dropped). An unknown e-mail and a wrong password get the same error
/// and take the same time (a dummy verification), so sign-in cannot tell who has an account.
pub async fn sign_in(
    state: &AppState,
    email: &Email,
    password: &Password,
    address: Option<IpAddr>,
    previous: Option<&str>,
) -> Result<(CurrentUser, String), Error> {
    state.limits.sign_in_allowed(email.as_str(), address)?;
    let (user, hash) = match find_credentials(state, email).await? {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    if !passwords::verify(password, hash).await {
        state.limits.sign_in_failed(email.as_str(), address);
        return Err(Error::BadCredentials);
    }
    let user = user.expect("a verified password has an account");
    let mut tx = state.db.begin().await?;
    let token = sessions::rotate(&mut tx, state, user.id, previous).await?;
    tx.commit().await?;
    sessions::ended(state, previous).await;
    Ok((user, token))
}

pub async fn set_district(
    state: &AppState,
    user_id: UserId,
    district: District,
) -> Result<(), sqlx::Error> {
    let point = district.center();
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE users SET district = $1, lat = $2, lng = $3 WHERE id = $4")
        .bind(district.name())
        .bind(point.lat)
        .bind(point.lng)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    super::live::user_changed(state, user_id).await;
    Ok(())
}

/// The customer's KakaoTalk settings, the number masked.
pub async fn kakao_settings(
    state: &AppState,
    user_id: UserId,
) -> Result<KakaoSettings, sqlx::Error> {
    let (phone, kakao_enabled): (Option<String>, i64) =
        sqlx::query_as("SELECT phone, kakao_enabled FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(state.db.reader())
            .await?;
    Ok(KakaoSettings {
        phone_masked: phone
            .and_then(|raw| PhoneNumber::parse("phone", &raw).ok())
            .map(|phone| phone.masked()),
        enabled: kakao_enabled == 1,
        channel_on: state.kakao.is_some(),
    })
}

/// Saves the customer's KakaoTalk choice: a new number if one is given (blank keeps the one on
/// file), on or off. Turning it on needs a number, given now or before.
pub async fn save_kakao(
    state: &AppState,
    user_id: UserId,
    phone: &str,
    enabled: bool,
) -> Result<KakaoSettings, Error> {
    let phone = if phone.trim().is_empty() {
        None
    } else {
        Some(PhoneNumber::parse("phone", phone)?)
    };
    let current = kakao_settings(state, user_id).await?;
    if enabled && phone.is_none() && current.phone_masked.is_none() {
        return Err(Error::invalid(
            "phone",
            "카카오톡 알림을 받으려면 휴대폰 번호를 입력해 주세요.",
        ));
    }
    set_kakao(state, user_id, phone.as_ref(), enabled).await?;
    Ok(kakao_settings(state, user_id).await?)
}

/// Turns the customer's KakaoTalk messages on or off, with a new number if one is given.
async fn set_kakao(
    state: &AppState,
    user_id: UserId,
    phone: Option<&PhoneNumber>,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE users SET kakao_enabled = $1, phone = COALESCE($2, phone) WHERE id = $3")
        .bind(i64::from(enabled))
        .bind(phone.map(|p| p.as_str().to_string()))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}
