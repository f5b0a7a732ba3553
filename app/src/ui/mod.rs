//! Pages and the app shell. Server-rendered first (fast first paint on phones), then hydrated.

mod auth;
mod cart;
mod customer;
mod layout;
mod live;
mod notifications;
mod owner;
mod rider;

pub use auth::{sign_in_location, sign_in_required, Auth};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

/// The HTML document around the app (server side only renders this).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="ko">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#2ac1bc" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href=format!("/{}/baedal.css", options.site_pkg_dir) />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(Auth::new());
    cart::Cart::provide();

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "배달".to_string() } else { format!("{page} · 배달") }
        } />
        <Router>
            <Routes fallback=layout::NotFound>
                <Route path=path!("/") view=customer::CustomerHome ssr=SsrMode::Async />
                <Route path=path!("/stores/:id") view=customer::StorePage ssr=SsrMode::Async />
                <Route path=path!("/checkout") view=customer::CheckoutPage ssr=SsrMode::Async />
                <Route path=path!("/orders") view=customer::OrdersPage ssr=SsrMode::Async />
                <Route path=path!("/orders/:id") view=customer::OrderPage ssr=SsrMode::Async />
                <Route path=path!("/store") view={Lazy::<owner::StoreHome>::new()} ssr=SsrMode::Async />
                <Route path=path!("/rider") view={Lazy::<rider::RiderHome>::new()} ssr=SsrMode::Async />
                <Route path=path!("/notifications") view=notifications::NotificationsPage ssr=SsrMode::Async />
                <Route path=path!("/signin") view=auth::SignInPage />
                <Route path=path!("/signup") view=auth::SignUpPage />
            </Routes>
        </Router>
    }
}
