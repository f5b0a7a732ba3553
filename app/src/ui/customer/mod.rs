//! The customer's pages: stores near the delivery address, a store's menu, the cart and
//! checkout, and the orders (내 주문). One file per page.

mod checkout;
mod home;
mod orders;
mod store;

pub use checkout::CheckoutPage;
pub use home::CustomerHome;
pub use orders::{OrderPage, OrdersPage};
pub use store::StorePage;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The page's `:id` (0 when it is not a number: the server then answers "not found").
fn id_param<Id>() -> Memo<Id>
where
    Id: std::str::FromStr + From<i64> + PartialEq + Send + Sync + 'static,
{
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| Id::from(0))
    })
}
