//! The customer's server functions: nearby stores and their menus, the delivery address,
//! checkout, their orders, and KakaoTalk settings.

use crate::domain::{
    CheckoutInput, CheckoutOptions, CurrentUser, KakaoSettings, OrderDetail, OrderStatus,
    OrderSummary, ReorderPlan, StoreMenu, StoreSummary,
};
use crate::domain::{OrderId, StoreId};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::backend::{accounts, orders, stores};
#[cfg(feature = "ssr")]
use crate::domain::{AddressInput, District, Role};
#[cfg(feature = "ssr")]
use crate::door::http;

/// Stores sorted by distance from where the caller wants their food — a signed-in customer's
/// delivery address; for anyone else (signed out, or an owner or rider looking around) the
/// district `area`, else the one their browser remembers (`area::COOKIE_NAME`) — those that
/// deliver there first, each with its 최소주문금액 and the 배달팁 there. Open to anyone: a visitor
/// browses before signing in.
#[server(endpoint = "nearby_stores")]
pub async fn nearby_stores(#[server(default)] area: String) -> Result<Vec<StoreSummary>, AppError> {
    http::respond(async move {
        let state = http::state()?;
        let customer = customer_point(&state).await?;
        let from = match customer {
            Some(Some(point)) => point,
            _ if !area.trim().is_empty() => District::parse("area", &area)?.center(),
            _ => match (http::remembered_area(), customer) {
                (Some(district), _) => district.center(),
                (None, Some(None)) => {
                    return Err(AppError::invalid(
                        "address",
                        "배달 받을 주소를 먼저 입력해 주세요.",
                    ))
                }
                (None, _) => {
                    return Err(AppError::invalid("area", "배달 받을 지역을 선택해 주세요."))
                }
            },
        };
        Ok(stores::nearby(&state.db, from).await?)
    })
    .await
}

/// Where a signed-in customer's food goes (their saved address's coordinates, `Some(None)`
/// before they have one); `None` when the caller is not a signed-in customer.
#[cfg(feature = "ssr")]
async fn customer_point(
    state: &crate::backend::AppState,
) -> Result<Option<Option<crate::domain::GeoPoint>>, AppError> {
    match http::current_user(state).await? {
        Some(user) if user.role == Role::Customer => {
            Ok(Some(accounts::delivery_point(&state.db, user.id).await?))
        }
        _ => Ok(None),
    }
}

/// Changes the customer's delivery address: 도로명 주소 (placed on the map by the address
/// search) and 상세주소. An address that cannot be found is a field error and nothing changes.
#[server(endpoint = "set_delivery_address")]
pub async fn set_delivery_address(
    address: String,
    #[server(default)] address_detail: String,
) -> Result<CurrentUser, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        let input = AddressInput::parse("address", &address, "address_detail", &address_detail)?;
        state.limits.address_search(user.id)?;
        let located = state
            .geocoder
            .locate("address", &input)
            .await
            .map_err(crate::backend::Error::from)?;
        accounts::set_address(&state, user.id, &located).await?;
        Ok(CurrentUser {
            district: Some(located.district.name().to_string()),
            address: Some(located.road),
            address_detail: Some(located.detail),
            ..user
        })
    })
    .await
}

/// A store's page: its visible menu with prices and remaining stock, and its delivery terms
/// with what they come to where the caller wants their food (a customer's address, else the
/// remembered area's centre). Open to anyone (a shared store link shows the store).
#[server(endpoint = "get_store_menu")]
pub async fn get_store_menu(store_id: StoreId) -> Result<StoreMenu, AppError> {
    http::respond(async move {
        let state = http::state()?;
        let from = match customer_point(&state).await? {
            Some(point) => point,
            None => http::remembered_area().map(District::center),
        };
        Ok(orders::store_menu(&state.db, store_id, from).await?)
    })
    .await
}

/// What the checkout page shows about paying: whether the sandbox provider takes the payments
/// (then its test cards are listed and the approved one is filled in).
#[server(endpoint = "checkout_options")]
pub async fn get_checkout_options() -> Result<CheckoutOptions, AppError> {
    http::respond(async move {
        let (state, _user) = http::require(Role::Customer).await?;
        Ok(CheckoutOptions {
            sandbox: state.payments.is_sandbox(),
        })
    })
    .await
}

/// Checkout: prices the cart from the server's own prices, charges the card synchronously and,
/// only if the payment is approved, records the order. JSON body:
/// `{"store_id", "lines": [{"food_id", "quantity"}], "idempotency_key", "card_number",
/// "store_note", "rider_note"}` (the notes optional, at most 100 characters each).
/// Repeating a request with the same `idempotency_key` returns the same order, charged once;
/// the same key with another cart or other notes is a conflict (409).
#[server(endpoint = "place_order", input = Json)]
pub async fn place_order(
    #[server(flatten)] checkout: CheckoutInput,
) -> Result<OrderDetail, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        state.limits.checkout(http::client_address())?;
        let checkout = checkout.parse()?;
        Ok(orders::place_order(&state, &user, checkout).await?)
    })
    .await
}

/// The customer's orders, newest first (내 주문).
#[server(endpoint = "my_orders")]
pub async fn my_orders() -> Result<Vec<OrderSummary>, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        Ok(orders::my_orders(&state.db, &user).await?)
    })
    .await
}

/// One of the customer's own orders (another customer's order is 404).
#[server(endpoint = "get_order")]
pub async fn get_order(order_id: OrderId) -> Result<OrderDetail, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        Ok(orders::order_detail(&state.db, &user, order_id).await?)
    })
    .await
}

/// 재주문: one of the customer's orders again, at today's prices and within today's stock,
/// with what changed since (nothing is put in a cart or charged here).
#[server(endpoint = "reorder")]
pub async fn reorder(order_id: OrderId) -> Result<ReorderPlan, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        let before = orders::order_detail(&state.db, &user, order_id).await?;
        let now = orders::store_menu(&state.db, before.store_id, None).await?;
        Ok(crate::domain::plan_reorder(&before, &now))
    })
    .await
}

/// Cancels one of the customer's orders while cooking has not started (else 409).
#[server(endpoint = "cancel_order")]
pub async fn cancel_order(order_id: OrderId) -> Result<(), AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        Ok(orders::cancel_order(&state, &user, order_id).await?)
    })
    .await
}

/// The customer taps 배송확인 on a delivered order: the order is complete.
#[server(endpoint = "confirm_delivery")]
pub async fn confirm_delivery(order_id: OrderId) -> Result<OrderStatus, AppError> {
    http::respond(async move {
        use crate::backend::commands::{transition, ActionDetails, Scope};
        use crate::domain::{Actor, OrderAction};
        let (state, user) = http::require(Role::Customer).await?;
        Ok(transition(
            &state,
            order_id,
            Actor::Customer,
            OrderAction::ConfirmDelivery,
            Scope::Customer(user.id),
            ActionDetails::default(),
        )
        .await?)
    })
    .await
}

/// The customer's KakaoTalk settings.
#[server(endpoint = "kakao_settings")]
pub async fn get_kakao_settings() -> Result<KakaoSettings, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        Ok(accounts::kakao_settings(&state, user.id).await?)
    })
    .await
}

/// Turns the customer's KakaoTalk messages on or off; `phone` (optional) replaces the number
/// (a Korean mobile number, e.g. 010-1234-5678). Turning them on needs a number on file.
#[server(endpoint = "save_kakao_settings")]
pub async fn save_kakao_settings(
    #[server(default)] phone: String,
    #[server(default)] enabled: bool,
) -> Result<KakaoSettings, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        Ok(accounts::save_kakao(&state, user.id, &phone, enabled).await?)
    })
    .await
}
