//! Server functions: the browser's only way to the server's data. Each is reachable at
//! `POST /api/<name>` with form-encoded arguments and answers JSON; errors are `AppError`
//! with a matching HTTP status. Protected functions check the caller's role here, on the
//! server, whatever the page showed.
//!
//! One submodule per role or use case (`account`, `customer`, `owner`, `rider`,
//! `notifications`), all re-exported here: a server function's URL is its `endpoint`, not its
//! module.

mod account;
#[cfg(feature = "ssr")]
pub mod arguments;
mod customer;
mod notifications;
mod owner;
mod rider;

pub use account::*;
pub use customer::*;
pub use notifications::*;
pub use owner::*;
pub use rider::*;

#[cfg(feature = "ssr")]
use crate::domain::{CheckoutInput, SignUpForm};

/// The server functions whose arguments are JSON (`input = Json`); every other one takes
/// `application/x-www-form-urlencoded`. The server refuses any other body type with 415 before
/// the function runs, so a page elsewhere cannot post a "simple" `text/plain` body to them.
/// A unit test keeps this list equal to the declarations in the submodules.
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
/// (`arguments`). Flattened arguments are decoded as their inner type. A unit test
/// keeps this list equal to the declarations in the submodules.
#[cfg(feature = "ssr")]
pub const ARGUMENTS: &[(&str, Explain)] = {
    use arguments::{form, json};
    &[
        ("/api/sign_up", form::<SignUpForm>),
        ("/api/sign_in", form::<SignIn>),
        ("/api/sign_out", form::<SignOut>),
        ("/api/who_am_i", form::<WhoAmI>),
        ("/api/nearby_stores", form::<NearbyStores>),
        ("/api/my_stores", form::<MyStores>),
        ("/api/rider_profile", form::<RiderProfile>),
        ("/api/set_delivery_address", form::<SetDeliveryAddress>),
        ("/api/get_store_menu", form::<GetStoreMenu>),
        ("/api/checkout_options", form::<GetCheckoutOptions>),
        ("/api/place_order", json::<CheckoutInput>),
        ("/api/my_orders", form::<MyOrders>),
        ("/api/get_order", form::<GetOrder>),
        ("/api/reorder", form::<Reorder>),
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
        ("/api/save_delivery_terms", form::<SaveDeliveryTerms>),
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

#[cfg(test)]
mod tests {
    /// The source of every file of this module that declares server functions.
    const SOURCES: &[&str] = &[
        include_str!("account.rs"),
        include_str!("customer.rs"),
        include_str!("notifications.rs"),
        include_str!("owner.rs"),
        include_str!("rider.rs"),
    ];

    fn source_lines() -> impl Iterator<Item = &'static str> {
        SOURCES.iter().flat_map(|source| source.lines())
    }

    #[test]
    fn sources_are_every_submodule() {
        let submodules = include_str!("mod.rs")
            .lines()
            .filter(|line| line.starts_with("mod ") && line.ends_with(';'))
            .count();
        assert_eq!(submodules, SOURCES.len());
    }

    /// Every `input = Json` declaration in this module is listed in `JSON_INPUT`, and nothing
    /// else.
    #[test]
    fn json_input_lists_exactly_the_json_declarations() {
        let declared: Vec<String> = source_lines()
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
        assert!(source_lines()
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
        let mut declared: Vec<String> = source_lines()
            .filter(|line| line.starts_with("#[server("))
            .filter_map(|line| line.split("endpoint = \"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .map(|endpoint| format!("/api/{endpoint}"))
            .collect();
        let mut listed: Vec<&str> = super::ARGUMENTS.iter().map(|(path, _)| *path).collect();
        declared.sort();
        listed.sort();
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
