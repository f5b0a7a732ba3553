//! The store owner's server functions: their stores, menus and stock, incoming orders and
//! what to do with them, today's numbers.

use crate::domain::{
    DeliveryTerms, FoodId, OrderId, OrderStatus, OwnedStore, OwnerBoard, StoreDashboard, StoreId,
    StoreOrder,
};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::stores;
#[cfg(feature = "ssr")]
use crate::domain::Role;
#[cfg(feature = "ssr")]
use crate::door::http;

/// The signed-in owner's stores with their menus and stock.
#[server(endpoint = "my_stores")]
pub async fn my_stores() -> Result<Vec<OwnedStore>, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::owned_by(&state.db, user.id).await?)
    })
    .await
}

/// Sets one of the owner's stores' delivery terms: 최소주문금액, 배달팁 (within the first
/// kilometre), the tip added per started kilometre beyond it, and the delivery radius in km.
#[server(endpoint = "save_delivery_terms")]
pub async fn save_delivery_terms(
    store_id: StoreId,
    #[server(default)] min_order: String,
    #[server(default)] tip: String,
    #[server(default)] tip_per_km: String,
    #[server(default)] radius_km: String,
) -> Result<DeliveryTerms, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        let terms = DeliveryTerms::parse(&min_order, &tip, &tip_per_km, &radius_km)?;
        stores::save_terms(&state.db, user.id, store_id, terms).await?;
        Ok(terms)
    })
    .await
}

/// The orders a store has received (last 24 hours), for its owner.
#[server(endpoint = "store_orders")]
pub async fn store_orders(store_id: StoreId) -> Result<Vec<StoreOrder>, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::store_orders(&state.db, user.id, store_id).await?)
    })
    .await
}

/// An owner moves one of their store's orders: `accept` (with the promised `cook_minutes`,
/// 10–60, from which the customer's ETA is worked out), `reject` (with one of
/// `REJECT_REASONS`), `start_cooking`, `finish_cooking`. Illegal moves are 409.
#[server(endpoint = "order_action")]
pub async fn order_action(
    order_id: OrderId,
    action: String,
    #[server(default)] reason: String,
    #[server(default)] cook_minutes: String,
) -> Result<OrderStatus, AppError> {
    http::respond(async move {
        use crate::backend::commands::{transition, ActionDetails, Scope};
        use crate::domain::{Actor, OwnerCommand};
        let (state, user) = http::require(Role::Owner).await?;
        let command = OwnerCommand::parse(&action, &reason, &cook_minutes)?;
        let details = ActionDetails {
            reason: command.reason,
            cook_minutes: command.cook_minutes,
        };
        Ok(transition(
            &state,
            order_id,
            Actor::Owner,
            command.action,
            Scope::Owner(user.id),
            details,
        )
        .await?)
    })
    .await
}

/// Opens or closes one of the owner's stores. Opening a store with no dish in stock (shown to
/// customers) is refused with 409 and the reason.
#[server(endpoint = "set_store_open")]
pub async fn set_store_open(store_id: StoreId, open: bool) -> Result<(), AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::set_open(&state.db, user.id, store_id, open).await?)
    })
    .await
}

/// Sets the cookable stock of one of the owner's foods (a whole number, 0–100,000).
/// `expected` is the stock the owner's page showed: if orders changed it since, nothing is
/// written and the answer is 409 with the current number (the page always sends it; without
/// it the stock is overwritten).
#[server(endpoint = "set_food_stock")]
pub async fn set_food_stock(
    food_id: FoodId,
    stock: String,
    #[server(default)] expected: String,
) -> Result<(), AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        let mut errors = crate::domain::FieldErrors::default();
        let stock = errors.check(crate::domain::parse_stock("stock", &stock));
        let expected = match expected.trim() {
            "" => None,
            shown => errors.check(crate::domain::parse_stock("expected", shown)),
        };
        errors.into_result()?;
        let stock = stock.expect("checked");
        Ok(stores::set_stock(&state.db, user.id, food_id, stock, expected).await?)
    })
    .await
}

/// The owner's order board in one answer: every store with its sold-out dishes, its orders of
/// the last 24 hours and today's numbers (the menu and stock: `my_stores`).
#[server(endpoint = "owner_board")]
pub async fn get_owner_board() -> Result<OwnerBoard, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::board(&state.db, user.id).await?)
    })
    .await
}

/// Adds (`food_id` 0) or edits a dish of one of the owner's stores: name (1–40), description
/// (≤ 200), price in won (1–1,000,000), hidden from customers or not, and for a new dish its
/// stock (0–100,000; empty is 0). An edit leaves the stock alone (`set_food_stock` changes it,
/// against the number the page showed), so a stock sent with an edit is refused. Returns the
/// dish's id.
#[server(endpoint = "save_food")]
pub async fn save_food(
    store_id: StoreId,
    #[server(default)] food_id: i64,
    name: String,
    #[server(default)] description: String,
    price: String,
    #[server(default)] hidden: bool,
    #[server(default)] stock: String,
) -> Result<FoodId, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        let mut errors = crate::domain::FieldErrors::default();
        let food = match crate::domain::FoodInput::parse(&name, &description, &price, hidden) {
            Ok(food) => Some(food),
            Err(fields) => {
                fields.into_iter().for_each(|field| errors.push(field));
                None
            }
        };
        let food_id = (food_id != 0).then_some(FoodId(food_id));
        let stock = match (stock.trim(), food_id) {
            ("", _) => Some(0),
            (_, Some(_)) => {
                errors.push(crate::domain::FieldError::new(
                    "stock",
                    "메뉴를 수정할 때는 재고를 재고 표에서 바꿔 주세요.",
                ));
                None
            }
            (raw, None) => errors.check(crate::domain::parse_stock("stock", raw)),
        };
        errors.into_result()?;
        let (food, stock) = (food.expect("checked"), stock.expect("checked"));
        Ok(stores::save_food(&state.db, user.id, store_id, food_id, &food, stock).await?)
    })
    .await
}

/// Today's order count, sales and orders per hour (Korea time) for one of the owner's stores.
#[server(endpoint = "get_store_dashboard")]
pub async fn get_store_dashboard(store_id: StoreId) -> Result<StoreDashboard, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::dashboard(&state.db, user.id, store_id).await?)
    })
    .await
}
