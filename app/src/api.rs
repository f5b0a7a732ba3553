//! Server functions: the browser's only way to the server's data. Each is reachable at
//! `POST /api/<name>` with form-encoded arguments and answers JSON; errors are `AppError`
//! with a matching HTTP status. Protected functions check the caller's role here, on the
//! server, whatever the page showed.

use crate::domain::{
    CheckoutInput, CurrentUser, FoodId, KakaoSettings, NotificationFeed, NotificationId,
    OrderDetail, OrderId, OrderStatus, OrderSummary, OwnedStore, OwnerBoard, RiderBoard,
    SignUpForm, StoreDashboard, StoreId, StoreMenu, StoreOrder, StoreSummary,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The server functions whose arguments are JSON (`input = Json`); every other one takes
/// `application/x-www-form-urlencoded`. The server refuses any other body type with 415 before
/// the function runs, so a page elsewhere cannot post a "simple" `text/plain` body to them.
/// A unit test keeps this list equal to the declarations below.
pub const JSON_INPUT: &[&str] = &["/api/place_order"];

/// The body type the server function at `path` declares.
pub fn declared_content_type(path: &str) -> &'static str {
    if JSON_INPUT.contains(&path) {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    }
}

/// How [`ARGUMENTS`] explains an undecodable body: the argument to blame and why.
#[cfg(feature = "ssr")]
pub type Explain = fn(&[u8]) -> Option<crate::domain::FieldError>;

/// Every server function's path with its own argument type, decoded again (paths tracked) when
/// Leptos could not decode a call's body, so that the 400 names the argument
/// (`door::arguments`). Flattened arguments are decoded as their inner type. A unit test
/// keeps this list equal to the declarations below.
#[cfg(feature = "ssr")]
pub const ARGUMENTS: &[(&str, Explain)] = {
    use crate::door::arguments::{form, json};
    &[
        ("/api/sign_up", form::<SignUpForm>),
        ("/api/sign_in", form::<SignIn>),
        ("/api/sign_out", form::<SignOut>),
        ("/api/who_am_i", form::<WhoAmI>),
        ("/api/nearby_stores", form::<NearbyStores>),
        ("/api/my_stores", form::<MyStores>),
        ("/api/rider_profile", form::<RiderProfile>),
        ("/api/set_delivery_district", form::<SetDeliveryDistrict>),
        ("/api/get_store_menu", form::<GetStoreMenu>),
        ("/api/place_order", json::<CheckoutInput>),
        ("/api/my_orders", form::<MyOrders>),
        ("/api/get_order", form::<GetOrder>),
        ("/api/cancel_order", form::<CancelOrder>),
        ("/api/confirm_delivery", form::<ConfirmDelivery>),
        ("/api/rider_board", form::<GetRiderBoard>),
        ("/api/rider_action", form::<RiderAction>),
        ("/api/store_orders", form::<StoreOrders>),
        ("/api/order_action", form::<OrderAction>),
        ("/api/set_store_open", form::<SetStoreOpen>),
        ("/api/set_food_stock", form::<SetFoodStock>),
        ("/api/owner_board", form::<GetOwnerBoard>),
        ("/api/save_food", form::<SaveFood>),
        ("/api/get_store_dashboard", form::<GetStoreDashboard>),
        ("/api/my_notifications", form::<MyNotifications>),
        ("/api/unread_notifications", form::<UnreadNotifications>),
        (
            "/api/mark_notifications_read",
            form::<MarkNotificationsRead>,
        ),
        ("/api/kakao_settings", form::<GetKakaoSettings>),
        ("/api/save_kakao_settings", form::<SaveKakaoSettings>),
    ]
};

#[cfg(feature = "ssr")]
use crate::backend::{accounts, orders, sessions, stores};
#[cfg(feature = "ssr")]
use crate::domain::{District, Email, Password, Role};
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

/// Stores sorted by distance from the customer's delivery district.
#[server(endpoint = "nearby_stores")]
pub async fn nearby_stores() -> Result<Vec<StoreSummary>, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        let district = user
            .district
            .as_deref()
            .and_then(|name| District::parse("district", name).ok())
            .ok_or_else(|| AppError::invalid("district", "배달 주소(구)를 먼저 설정해 주세요."))?;
        Ok(stores::nearby(&state.db, district.center()).await?)
    })
    .await
}

/// The signed-in owner's stores with their menus and stock.
#[server(endpoint = "my_stores")]
pub async fn my_stores() -> Result<Vec<OwnedStore>, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::owned_by(&state.db, user.id).await?)
    })
    .await
}

/// The signed-in rider's profile: the home area the delivery list is centred on.
#[server(endpoint = "rider_profile")]
pub async fn rider_profile() -> Result<CurrentUser, AppError> {
    http::respond(async move {
        let (_state, user) = http::require(Role::Rider).await?;
        Ok(user)
    })
    .await
}

/// Changes the customer's delivery district (stores are then sorted from there).
#[server(endpoint = "set_delivery_district")]
pub async fn set_delivery_district(district: String) -> Result<CurrentUser, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Customer).await?;
        let district = District::parse("district", &district)?;
        accounts::set_district(&state, user.id, district).await?;
        Ok(CurrentUser {
            district: Some(district.name().to_string()),
            ..user
        })
    })
    .await
}

/// A store's page: its visible menu with prices and remaining stock.
#[server(endpoint = "get_store_menu")]
pub async fn get_store_menu(store_id: StoreId) -> Result<StoreMenu, AppError> {
    http::respond(async move {
        let (state, _user) = http::require(Role::Customer).await?;
        Ok(orders::store_menu(&state.db, store_id).await?)
    })
    .await
}

/// Checkout: prices the cart from the server's own prices, charges the card synchronously and,
/// only if the payment is approved, records the order. JSON body:
/// `{"store_id", "lines": [{"food_id", "quantity"}], "idempotency_key", "card_number"}`.
/// Repeating a request with the same `idempotency_key` returns the same order, charged once.
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
        use crate::backend::commands::{transition, Scope};
        use crate::domain::{Actor, OrderAction};
        let (state, user) = http::require(Role::Customer).await?;
        Ok(transition(
            &state,
            order_id,
            Actor::Customer,
            OrderAction::ConfirmDelivery,
            Scope::Customer(user.id),
            None,
        )
        .await?)
    })
    .await
}

/// The rider's board: cooking and cooked orders near the rider (by `lat`/`lng` from the
/// browser, else the district `area`, else the rider's home area) and the rider's own.
#[server(endpoint = "rider_board")]
pub async fn get_rider_board(
    #[server(default)] lat: String,
    #[server(default)] lng: String,
    #[server(default)] area: String,
) -> Result<RiderBoard, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Rider).await?;
        let home = user
            .district
            .as_deref()
            .and_then(|name| District::parse("district", name).ok());
        let position = crate::domain::RiderPosition::parse(&lat, &lng, &area, home)?;
        Ok(crate::backend::deliveries::board(&state, &user, position).await?)
    })
    .await
}

/// A rider moves a delivery: `claim` a cooked order (the first rider wins; others get
/// "이미 배정된 주문입니다"), then `pick_up` and `deliver` their own.
#[server(endpoint = "rider_action")]
pub async fn rider_action(order_id: OrderId, action: String) -> Result<OrderStatus, AppError> {
    http::respond(async move {
        use crate::backend::commands::{transition, Scope};
        use crate::domain::{parse_rider_action, Actor};
        let (state, user) = http::require(Role::Rider).await?;
        let action = parse_rider_action(&action)?;
        Ok(transition(
            &state,
            order_id,
            Actor::Rider,
            action,
            Scope::Rider(user.id),
            None,
        )
        .await?)
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

/// An owner moves one of their store's orders: `accept`, `reject` (with one of
/// `REJECT_REASONS`), `start_cooking`, `finish_cooking`. Illegal moves are 409.
#[server(endpoint = "order_action")]
pub async fn order_action(
    order_id: OrderId,
    action: String,
    #[server(default)] reason: String,
) -> Result<OrderStatus, AppError> {
    http::respond(async move {
        use crate::backend::commands::{transition, Scope};
        use crate::domain::{Actor, OwnerCommand};
        let (state, user) = http::require(Role::Owner).await?;
        let command = OwnerCommand::parse(&action, &reason)?;
        Ok(transition(
            &state,
            order_id,
            Actor::Owner,
            command.action,
            Scope::Owner(user.id),
            command.reason,
        )
        .await?)
    })
    .await
}

/// Opens or closes one of the owner's stores.
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

/// The owner's page in one answer: every store with menu and stock, its orders of the last
/// 24 hours and today's numbers.
#[server(endpoint = "owner_board")]
pub async fn get_owner_board() -> Result<OwnerBoard, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        Ok(stores::board(&state.db, user.id).await?)
    })
    .await
}

/// Adds (`food_id` 0) or edits a dish of one of the owner's stores: name (1–40), description
/// (≤ 200), price in won (1–1,000,000), hidden from customers or not. Returns the dish's id.
#[server(endpoint = "save_food")]
pub async fn save_food(
    store_id: StoreId,
    #[server(default)] food_id: i64,
    name: String,
    #[server(default)] description: String,
    price: String,
    #[server(default)] hidden: bool,
) -> Result<FoodId, AppError> {
    http::respond(async move {
        let (state, user) = http::require(Role::Owner).await?;
        let food = crate::domain::FoodInput::parse(&name, &description, &price, hidden)?;
        let food_id = (food_id != 0).then_some(FoodId(food_id));
        Ok(stores::save_food(&state.db, user.id, store_id, food_id, &food).await?)
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

/// The signed-in person's in-app notifications (newest 50) and the unread count.
#[server(endpoint = "my_notifications")]
pub async fn my_notifications() -> Result<NotificationFeed, AppError> {
    http::respond(async move {
        let (state, user) = http::signed_in().await?;
        let (items, unread) = crate::backend::notifications::feed(&state.db, user.id, 50).await?;
        Ok(NotificationFeed { unread, items })
    })
    .await
}

/// How many of the signed-in person's notifications are unread (the bell's number).
#[server(endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    http::respond(async move {
        let (state, user) = http::signed_in().await?;
        Ok(crate::backend::notifications::unread(&state.db, user.id).await?)
    })
    .await
}

/// Marks the signed-in person's notifications up to `up_to_id` read; returns what stays unread.
#[server(endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read(up_to_id: NotificationId) -> Result<i64, AppError> {
    http::respond(async move {
        let (state, user) = http::signed_in().await?;
        crate::backend::notifications::mark_read(&state.db, user.id, up_to_id).await?;
        Ok(crate::backend::notifications::unread(&state.db, user.id).await?)
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

#[cfg(test)]
mod tests {
    /// Every `input = Json` declaration in this file is listed in `JSON_INPUT`, and nothing else.
    #[test]
    fn json_input_lists_exactly_the_json_declarations() {
        let source = include_str!("api.rs");
        let declared: Vec<String> = source
            .lines()
            .filter(|line| line.starts_with("#[server(") && line.contains("input = Json"))
            .map(|line| {
                let endpoint = line
                    .split("endpoint = \"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .expect("JSON server functions name their endpoint");
                format!("/api/{endpoint}")
            })
            .collect();
        assert!(!declared.is_empty());
        // One-line declarations only, so that the scan above sees every one.
        assert!(source
            .lines()
            .filter(|line| line.starts_with("#[server("))
            .all(|line| line.ends_with(")]") && line.contains("endpoint = ")));
        assert_eq!(declared, super::JSON_INPUT);
        assert_eq!(
            super::declared_content_type("/api/place_order"),
            "application/json"
        );
        assert_eq!(
            super::declared_content_type("/api/set_store_open"),
            "application/x-www-form-urlencoded"
        );
    }

    /// Every server function has its argument type in `ARGUMENTS`, and nothing else is there.
    #[cfg(feature = "ssr")]
    #[test]
    fn arguments_list_every_server_function() {
        let source = include_str!("api.rs");
        let declared: Vec<String> = source
            .lines()
            .filter(|line| line.starts_with("#[server("))
            .filter_map(|line| line.split("endpoint = \"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .map(|endpoint| format!("/api/{endpoint}"))
            .collect();
        let listed: Vec<&str> = super::ARGUMENTS.iter().map(|(path, _)| *path).collect();
        assert_eq!(declared, listed);
        let explain = |path: &str, body: &str| {
            let (_, explain) = super::ARGUMENTS.iter().find(|(p, _)| *p == path).unwrap();
            explain(body.as_bytes()).map(|field| field.field)
        };
        assert_eq!(explain("/api/set_store_open", "store_id=1&open=true"), None);
        assert_eq!(
            explain("/api/set_store_open", "store_id=x&open=true").as_deref(),
            Some("store_id")
        );
        assert_eq!(
            explain("/api/save_food", "store_id=1&name=a&price=1&hidden=maybe").as_deref(),
            Some("hidden")
        );
        assert_eq!(
            explain("/api/sign_up", "role=customer&email=a").as_deref(),
            Some("password")
        );
        assert_eq!(
            explain("/api/order_action", "order_id=1").as_deref(),
            Some("action")
        );
    }
}
