//! Signing in, signing up, and the gate in front of every role's pages.
//!
//! Who is signed in is known before a page renders: the server resolves the session cookie
//! once per request (`door::http::resolve_session`), and the answer travels to the browser
//! inside the page. So no page waits on a "who am I" request, and — what matters more — no
//! page creates its data loading under a `<Suspense>` that waits for it: Leptos 0.8 can hang
//! or crash hydration when Resources are created inside Suspense children
//! (leptos-rs/leptos#4866). Every page makes its Resources once, in its own body, and only
//! reads them inside Suspense.
//!
//! The sign-in and sign-up pages themselves are in `forms`.

mod forms;

pub use forms::{SignInPage, SignUpPage};

use super::layout::{Forbidden, Shell};
use super::live::{live_updates, LiveUpdates};
use crate::api::unread_notifications;
use crate::codec::{load, Loaded};
use crate::domain::{CurrentUser, Role};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Who is signed in, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: RwSignal<Option<CurrentUser>>,
}

impl Auth {
    pub fn new() -> Self {
        let signed_in =
            SharedValue::<_, crate::codec::Json>::new_with_encoding(signed_in_on_server)
                .into_inner();
        Auth {
            user: RwSignal::new(signed_in),
        }
    }

    /// After signing in or out, or a change to the profile the server sent back.
    pub fn set(&self, user: Option<CurrentUser>) {
        self.user.set(user);
    }

    /// The signed-in person if a page for `role` (any role: `None`) may show them its data.
    /// Page data loaders start with this, so a visitor who will see the sign-in redirect or
    /// the 403 page does not make the server look up data it would refuse anyway.
    pub fn allowed(&self, role: Option<Role>) -> Result<CurrentUser, AppError> {
        match self.user.get_untracked() {
            None => Err(AppError::Unauthenticated),
            Some(user) if role.is_some_and(|role| role != user.role) => Err(AppError::Forbidden),
            Some(user) => Ok(user),
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

fn signed_in_on_server() -> Option<CurrentUser> {
    #[cfg(feature = "ssr")]
    {
        crate::door::http::resolved_user()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// What every signed-in page has besides its own data: the live connection and the bell.
/// Made at the top of the page's body, before the page's own Resources (which use `live`).
///
/// An open gate (`Gate::open_to`) also lets signed-out visitors in (the home page and the
/// stores' pages): they get the page in the visitor's shell, with no live connection and no
/// bell, which need an account.
#[derive(Clone, Copy)]
pub struct Gate {
    role: Option<Role>,
    /// Signed-out visitors may see the page too.
    open: bool,
    auth: Auth,
    pub live: LiveUpdates,
    unread: Loaded<i64>,
}

impl Gate {
    /// A page for signed-in people of `role` (any role: `None`).
    pub fn new(role: Option<Role>) -> Self {
        Self::with_live_query(role, Signal::stored(String::new()))
    }

    /// A page whose live updates depend on what it shows: `live_query` is sent with `/live`
    /// (the rider's list: `lat=…&lng=…` or `area=…`), and the stream reopens when it changes.
    pub fn with_live_query(role: Option<Role>, live_query: Signal<String>) -> Self {
        let auth = expect_context::<Auth>();
        let live = live_updates(auth, live_query);
        let unread = load(
            move || live.changes.get(),
            move |_| async move {
                auth.allowed(None)?;
                unread_notifications().await
            },
        );
        Gate {
            role,
            open: false,
            auth,
            live,
            unread,
        }
    }

    pub fn for_role(role: Role) -> Self {
        Self::new(Some(role))
    }

    /// A page for signed-out visitors and for signed-in people of `role`.
    pub fn open_to(role: Role) -> Self {
        Gate {
            open: true,
            ..Self::for_role(role)
        }
    }

    pub fn signed_in() -> Self {
        Self::new(None)
    }

    /// The signed-in person, if this page may show them its data (see [`Auth::allowed`]).
    pub fn allowed(&self) -> Result<CurrentUser, AppError> {
        self.auth.allowed(self.role)
    }

    /// Whether this page may load its data for whoever is looking (a signed-out visitor too,
    /// behind an open gate).
    pub fn may_load(&self) -> Result<(), AppError> {
        match self.allowed() {
            Err(AppError::Unauthenticated) if self.open => Ok(()),
            allowed => allowed.map(|_| ()),
        }
    }

    /// The page for a signed-in person of the right role; a 403 page for another role; a
    /// redirect to sign in (and back) for a signed-out visitor. This only spares people pages
    /// they cannot use: the server functions behind them check the role themselves.
    pub fn render<F>(self, page: F) -> impl IntoView
    where
        F: Fn(CurrentUser) -> AnyView + Send + Sync + 'static,
    {
        self.show(move |user| match user {
            Some(user) => page(user),
            None => ().into_any(),
        })
    }

    /// As [`Gate::render`], for an open gate: `page` gets `None` for a signed-out visitor.
    pub fn render_open<F>(self, page: F) -> impl IntoView
    where
        F: Fn(Option<CurrentUser>) -> AnyView + Send + Sync + 'static,
    {
        self.show(page)
    }

    fn show<F>(self, page: F) -> impl IntoView
    where
        F: Fn(Option<CurrentUser>) -> AnyView + Send + Sync + 'static,
    {
        let Gate {
            role,
            open,
            auth,
            unread,
            ..
        } = self;
        let location = use_location();
        move || match auth.user.get() {
            Some(user) => match role {
                Some(needed) if user.role != needed => {
                    view! { <Forbidden user needed /> }.into_any()
                }
                _ => {
                    let content = page(Some(user.clone()));
                    view! { <Shell user=Some(user) unread>{content}</Shell> }.into_any()
                }
            },
            None if open => {
                let content = page(None);
                view! { <Shell user=None unread>{content}</Shell> }.into_any()
            }
            None => {
                let here = format!(
                    "{}{}",
                    location.pathname.get_untracked(),
                    location.search.get_untracked()
                );
                view! { <Redirect path=crate::access::sign_in_location(&here) /> }.into_any()
            }
        }
    }
}
