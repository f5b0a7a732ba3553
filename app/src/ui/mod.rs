//! Pages and the app shell. Server-rendered first (fast first paint on phones), then hydrated.
//!
//! Code per role: every page is a lazy route (`#[lazy_route]`). The main wasm module holds what
//! every page needs (the framework, the shell, sign-in state, the live stream) and whatever code
//! two pages or more share; each page's own code is one file beside it (split by
//! scripts/build.sh with tools/wasm-split), fetched when the page is first shown and preloaded by
//! the server's HTML for the page it rendered. So a customer never downloads the owner's or the
//! rider's page files, and they never download the customer's (code only the owner's and the
//! rider's pages share is in the main module, though: one file per page was worth more). Code
//! only the customer's pages past the home share, or only the two sign-in pages, is one more
//! file, loaded by those pages (tools/wasm-split's `PAGE_GROUPS`).
//!
//! What a page shows only when asked (the owner's dish and delivery-terms forms) is a split
//! function of its own (`on_request`): its code comes when first opened, and what it shares
//! with its page stays in the page's file (the splitter counts it as part of the page that
//! alone calls it).
//!
//! A page's data — its Resources, actions and their server functions' client code — is made in
//! its `view`, in its own file, not in `data`: Leptos runs `data` from the main module, which
//! would then carry every page's answer types and their decoders (42 KB of brotli when it did).
//! The Resources are made at the page's top level all the same, outside any `<Suspense>`, and
//! in the same order on the server and in the browser, so hydration finds their serialised
//! values. The price: on a move inside the app, a page not visited yet asks for its data once
//! its file has arrived, not at the same time. Effects that change what a page shows wait for
//! `hydrated()` (below): hydration is asynchronous, since a page's file loads first.

mod area;
mod auth;
mod cart;
mod customer;
mod device;
mod form;
mod head;
mod layout;
mod live;
mod notifications;
mod on_request;
mod owner;
mod rider;

pub use auth::Auth;
#[cfg(feature = "hydrate")]
pub use hydration::{hydrated, mark_hydrated};

use leptos::prelude::*;
use leptos_meta::MetaTags;
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
    // The server's half of leptos_meta writes the pages' titles and descriptions into <head>;
    // the browser's pages set their title themselves (`head`).
    #[cfg(feature = "ssr")]
    leptos_meta::provide_meta_context();
    provide_context(Auth::new());
    area::DeliveryArea::provide();
    cart::Cart::provide();

    view! {
        <Router>
            <Routes fallback=layout::NotFound>
                <Route path=path!("/") view={Lazy::<customer::CustomerHome>::new()} ssr=SsrMode::Async />
                <Route path=path!("/stores/:id") view={Lazy::<customer::StorePage>::new()} ssr=SsrMode::Async />
                <Route path=path!("/checkout") view={Lazy::<customer::CheckoutPage>::new()} ssr=SsrMode::Async />
                <Route path=path!("/orders") view={Lazy::<customer::OrdersPage>::new()} ssr=SsrMode::Async />
                <Route path=path!("/orders/:id") view={Lazy::<customer::OrderPage>::new()} ssr=SsrMode::Async />
                <Route path=path!("/store") view={Lazy::<owner::StoreHome>::new()} ssr=SsrMode::Async />
                <Route path=path!("/store/menu") view={Lazy::<owner::StoreMenu>::new()} ssr=SsrMode::Async />
                <Route path=path!("/rider") view={Lazy::<rider::RiderHome>::new()} ssr=SsrMode::Async />
                <Route path=path!("/notifications") view={Lazy::<notifications::NotificationsPage>::new()} ssr=SsrMode::Async />
                <Route path=path!("/signin") view={Lazy::<auth::SignInPage>::new()} />
                <Route path=path!("/signup") view={Lazy::<auth::SignUpPage>::new()} />
            </Routes>
        </Router>
    }
}

/// Whether the page has finished hydrating. Hydration is asynchronous (a lazy route's chunks
/// load first), and the reactive system runs meanwhile: an Effect that changed what the page
/// shows before hydration ended — the live stream's first notice, the cart read from
/// localStorage — would make the page differ from the server's HTML, which Leptos cannot
/// hydrate. Such Effects wait for this.
#[cfg(feature = "hydrate")]
mod hydration {
    use leptos::prelude::*;

    thread_local! {
        static HYDRATED: ArcRwSignal<bool> = ArcRwSignal::new(false);
    }

    /// Whether hydration has finished (tracked: an Effect reading it runs again then).
    pub fn hydrated() -> bool {
        HYDRATED.with(|h| h.get())
    }

    /// Called by the browser entry point once the page is hydrated.
    pub fn mark_hydrated() {
        HYDRATED.with(|h| h.set(true));
    }
}
