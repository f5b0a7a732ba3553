//! Accounts in the database: creating one (with an owner's first store), finding one.

use super::{now_ms, passwords, sessions, AppState};
use crate::Error;
use domain::{
    CurrentUser, DeliveryTerms, District, Email, GeoPoint, KakaoSettings, Located, NewAccount,
    Password, PhoneNumber, RoleDetails,
};
use domain::{StoreId, UserId};
use sqlx::{Any, FromRow, Transaction};
use std::net::IpAddr;

/// The columns of `users` a `CurrentUser` is read from (it derives its row mapping).
const USER_COLUMNS: &str = "id, email, display_name, role, district, address, address_detail";

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
/// `located` is where the customer's address or the owner's store is (see [`locate`]).
pub async fn create(
    tx: &mut Transaction<'static, Any>,
    account: &NewAccount,
    password_hash: &str,
    located: Option<&Located>,
) -> Result<CurrentUser, Error> {
    let customer_address = match &account.details {
        RoleDetails::Customer { .. } => located,
        _ => None,
    };
    let (district, point) = match (&account.details, customer_address) {
        (RoleDetails::Rider { district }, _) => (Some(*district), Some(district.center())),
        (_, Some(located)) => (Some(located.district), Some(located.point)),
        _ => (None, None),
    };
    // Coordinates are bound only when there are some: sqlx 0.8's `Any` driver sends a NULL
    // f64 as a float4 NULL, and PostgreSQL then keeps that type for the cached statement.
    let (coordinates, placeholders) = if point.is_some() {
        (", lat, lng", ", $10, $11")
    } else {
        ("", "")
    };
    let sql = format!(
        "INSERT INTO users (email, password_hash, display_name, role, phone, district, created_at,
                            address, address_detail{coordinates})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9{placeholders})
         ON CONFLICT (email) DO NOTHING
         RETURNING id"
    );
    let mut query = sqlx::query_scalar(&sql)
        .bind(account.email.as_str())
        .bind(password_hash)
        .bind(&account.display_name)
        .bind(account.role().as_str())
        .bind(account.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(district.map(District::name))
        .bind(now_ms())
        .bind(customer_address.map(|l| l.road.clone()))
        .bind(customer_address.map(|l| l.detail.clone()));
    if let Some(point) = point {
        query = query.bind(point.lat).bind(point.lng);
    }
    let inserted = query.fetch_optional(&mut **tx).await?;
    let Some(id): Option<UserId> = inserted else {
        return Err(Error::invalid("email", "이미 가입된 이메일입니다."));
    };
    if let (RoleDetails::Owner { store_name, .. }, Some(located)) = (&account.details, located) {
        // Closed until it has a dish in stock: the owner opens it (`stores::set_open`).
        insert_store(tx, id, store_name, located, DeliveryTerms::default(), false).await?;
    }
    Ok(CurrentUser {
        id,
        email: account.email.as_str().to_string(),
        display_name: account.display_name.clone(),
        role: account.role(),
        district: district.map(|d| d.name().to_string()),
        address: customer_address.map(|l| l.road.clone()),
        address_detail: customer_address.map(|l| l.detail.clone()),
    })
}

/// Places the address a new account brings (a customer's delivery address, an owner's first
/// store); riders have none. Done before the account's transaction: a geocoder is a network
/// call, and nothing is written when the address cannot be placed.
pub async fn locate(state: &AppState, account: &NewAccount) -> Result<Option<Located>, Error> {
    Ok(match &account.details {
        RoleDetails::Customer { address } => Some(state.geocoder.locate("address", address).await?),
        RoleDetails::Owner { store_address, .. } => Some(
            state
                .geocoder
                .locate("store_address", store_address)
                .await?,
        ),
        RoleDetails::Rider { .. } => None,
    })
}

/// A new store of `owner_id` at `located`, open or closed. A new owner's store starts closed:
/// a store with nothing to sell would only show customers an empty menu.
pub async fn insert_store(
    tx: &mut Transaction<'static, Any>,
    owner_id: UserId,
    name: &str,
    located: &Located,
    terms: DeliveryTerms,
    open: bool,
) -> Result<StoreId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO stores (owner_id, name, district, address, address_detail, lat, lng, is_open,
                             created_at, min_order_won, tip_won, tip_per_km_won, radius_m)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(owner_id)
    .bind(name)
    .bind(located.district.name())
    .bind(&located.road)
    .bind(&located.detail)
    .bind(located.point.lat)
    .bind(located.point.lng)
    .bind(i64::from(open))
    .bind(now_ms())
    .bind(terms.min_order)
    .bind(terms.tip)
    .bind(terms.tip_per_km)
    .bind(terms.radius_m)
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
    let located = locate(state, account).await?;
    let password_hash = passwords::hash(&account.password).await;
    let mut tx = state.db.begin().await?;
    let user = create(&mut tx, account, &password_hash, located.as_ref()).await?;
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

/// Saves the customer's delivery address where `located` placed it.
pub async fn set_address(
    state: &AppState,
    user_id: UserId,
    located: &Located,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE users SET district = $1, lat = $2, lng = $3, address = $4, address_detail = $5
         WHERE id = $6",
    )
    .bind(located.district.name())
    .bind(located.point.lat)
    .bind(located.point.lng)
    .bind(&located.road)
    .bind(&located.detail)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    super::live::user_changed(state, user_id).await;
    Ok(())
}

/// Where the customer's deliveries go: the coordinates of their address. None before one is
/// set — also for an account from before addresses, whose coordinates are its district's
/// centre: checkout needs an address, so nothing may be quoted without one.
pub async fn delivery_point(
    db: &crate::Db,
    user_id: UserId,
) -> Result<Option<GeoPoint>, sqlx::Error> {
    let row: Option<(Option<f64>, Option<f64>)> =
        sqlx::query_as("SELECT lat, lng FROM users WHERE id = $1 AND address IS NOT NULL")
            .bind(user_id)
            .fetch_optional(db.reader())
            .await?;
    Ok(row.and_then(|(lat, lng)| GeoPoint::from_columns(lat, lng)))
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
