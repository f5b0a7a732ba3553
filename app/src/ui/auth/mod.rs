//! Signing in, signing up, and the gate in front of every role's pages.
//!
//! Who is signed in is known before a page renders: the server resolves the session cookie
//! once per request (`door::http::resolve_session`), and the answer travels to the browser
//! inside the page. So no page waits on a "who am I" request, and — what matters more — no
//! page creates its data loading under a `<Suspense>` that waits for it: Leptos 0.8 can hang
//! or crash hydration when Resources are created inside Suspense children
//! (leptos-rs/leptos#4866). Every page makes its Resources once, in its own body, and only
//! reads them inside Suspense.

use super::layout::{Forbidden, Shell};
use super::live::{live_updates, LiveUpdates};
use crate::api::{unread_notifications, SignIn, SignUp};
use crate::domain::{CurrentUser, District, Role};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::{lazy_route, LazyRoute};

/// Who is signed in, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: RwSignal<Option<CurrentUser>>,
}

impl Auth {
    pub fn new() -> Self {
        let signed_in = SharedValue::new(signed_in_on_server).into_inner();
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

/// Whether `path` is a page only signed-in people may open. The server redirects signed-out
/// requests for these to sign in before rendering anything.
pub fn sign_in_required(path: &str) -> bool {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let numbered = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    };
    matches!(
        path,
        "/" | "/checkout" | "/orders" | "/store" | "/rider" | "/notifications"
    ) || numbered("/stores/")
        || numbered("/orders/")
}

/// Where a signed-out visitor of `path_and_query` is sent: the sign-in page, which comes back
/// here afterwards.
pub fn sign_in_location(path_and_query: &str) -> String {
    let mut next = String::with_capacity(path_and_query.len());
    for byte in path_and_query.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            next.push(byte as char);
        } else {
            next.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("/signin?next={next}")
}

/// What every signed-in page has besides its own data: the live connection and the bell.
/// Made at the top of the page's body, before the page's own Resources (which use `live`).
#[derive(Clone, Copy)]
pub struct Gate {
    role: Option<Role>,
    auth: Auth,
    pub live: LiveUpdates,
    unread: Resource<Result<i64, AppError>>,
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
        let unread = Resource::new(
            move || live.changes.get(),
            move |_| async move {
                auth.allowed(None)?;
                unread_notifications().await
            },
        );
        Gate {
            role,
            auth,
            live,
            unread,
        }
    }

    pub fn for_role(role: Role) -> Self {
        Self::new(Some(role))
    }

    pub fn signed_in() -> Self {
        Self::new(None)
    }

    /// The signed-in person, if this page may show them its data (see [`Auth::allowed`]).
    pub fn allowed(&self) -> Result<CurrentUser, AppError> {
        self.auth.allowed(self.role)
    }

    /// The page for a signed-in person of the right role; a 403 page for another role; a
    /// redirect to sign in (and back) for a signed-out visitor. This only spares people pages
    /// they cannot use: the server functions behind them check the role themselves.
    pub fn render<F>(self, page: F) -> impl IntoView
    where
        F: Fn(CurrentUser) -> AnyView + Send + Sync + 'static,
    {
        let Gate {
            role, auth, unread, ..
        } = self;
        let location = use_location();
        move || match auth.user.get() {
            Some(user) => match role {
                Some(needed) if user.role != needed => {
                    view! { <Forbidden user needed /> }.into_any()
                }
                _ => {
                    let content = page(user.clone());
                    view! { <Shell user unread>{content}</Shell> }.into_any()
                }
            },
            None => {
                let here = format!(
                    "{}{}",
                    location.pathname.get_untracked(),
                    location.search.get_untracked()
                );
                view! { <Redirect path=sign_in_location(&here) /> }.into_any()
            }
        }
    }
}

/// Where to go after signing in: `next` if it is one of this role's pages, else the role home.
pub fn landing_page(role: Role, next: Option<&str>) -> String {
    let owns = |path: &str| match role {
        _ if path == "/notifications" => true,
        Role::Owner => path == "/store" || path.starts_with("/store/"),
        Role::Rider => path == "/rider" || path.starts_with("/rider/"),
        Role::Customer => !["/store", "/rider", "/signin", "/signup"]
            .iter()
            .any(|other| path == *other || path.starts_with(&format!("{other}/"))),
    };
    match next {
        Some(path) if crate::domain::local_path(path).is_some() && owns(path) => path.to_string(),
        _ => role.home().to_string(),
    }
}

fn field_message(error: Option<AppError>, field: &'static str) -> impl IntoView {
    error
        .and_then(|e| e.field(field))
        .map(|message| view! { <p class="field-error" data-field=field>{message}</p> })
}

/// After a successful sign-in or sign-up: refresh who is signed in and go to the landing page.
fn go_home_after<A>(action: ServerAction<A>)
where
    A: leptos::server_fn::ServerFn<Output = CurrentUser, Error = AppError>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Output: Send + Sync,
{
    let auth = expect_context::<Auth>();
    let query = use_query_map();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(user)) = action.value().get() {
            auth.set(Some(user.clone()));
            let next = query.read_untracked().get("next");
            navigate(
                &landing_page(user.role, next.as_deref()),
                Default::default(),
            );
        }
    });
}

/// The page, loaded lazily (`#[lazy_route]`): its code is fetched when it is shown, so
/// signed-in people's pages do not carry it.
pub struct SignInPage {
    action: ServerAction<SignIn>,
}

#[lazy_route]
impl LazyRoute for SignInPage {
    fn data() -> Self {
        SignInPage {
            action: ServerAction::new(),
        }
    }

    fn view(this: Self) -> AnyView {
        let action = this.action;
        go_home_after(action);
        let error = move || action.value().get().and_then(Result::err);
        let general = move || {
            error()
                .filter(|e| !matches!(e, AppError::Invalid { .. }))
                .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
        };
        view! {
            <Title text="로그인" />
            <main class="auth-page">
                <h1 class="brand-large">"배달"</h1>
                <p class="tagline">"우리 동네 맛집을 문 앞까지"</p>
                <ActionForm action attr:class="panel form" attr:novalidate=true>
                    <h2>"로그인"</h2>
                    <label>
                        "이메일"
                        <input type="email" name="email" autocomplete="username" />
                    </label>
                    {move || field_message(error(), "email")}
                    <label>
                        "비밀번호"
                        <input type="password" name="password" autocomplete="current-password" />
                    </label>
                    {move || field_message(error(), "password")}
                    {general}
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "로그인 중…" } else { "로그인" }}
                    </button>
                </ActionForm>
                <p class="aside">
                    "처음이신가요? " <A href="/signup">"회원가입"</A>
                </p>
                <details class="panel demo-accounts">
                    <summary>"데모 계정"</summary>
                    <p>"비밀번호는 모두 baedal1234 입니다."</p>
                    <ul>
                        <li>"고객: customer@baedal.kr"</li>
                        <li>"상점주: owner@baedal.kr"</li>
                        <li>"라이더: rider@baedal.kr"</li>
                    </ul>
                </details>
            </main>
        }
        .into_any()
    }
}

/// The page, loaded lazily (`#[lazy_route]`): its code is fetched when it is shown, so
/// signed-in people's pages do not carry it.
pub struct SignUpPage {
    action: ServerAction<SignUp>,
}

#[lazy_route]
impl LazyRoute for SignUpPage {
    fn data() -> Self {
        SignUpPage {
            action: ServerAction::new(),
        }
    }

    fn view(this: Self) -> AnyView {
        let action = this.action;
        go_home_after(action);
        let role = RwSignal::new(Role::Customer);
        let error = move || action.value().get().and_then(Result::err);
        let general = move || {
            error()
                .filter(|e| !matches!(e, AppError::Invalid { .. }))
                .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
        };
        let district_options = || {
            District::all()
                .map(|d| view! { <option value=d.name()>{d.name()}</option> })
                .collect_view()
        };
        view! {
            <Title text="회원가입" />
            <main class="auth-page">
                <h1 class="brand-large">"배달"</h1>
                <ActionForm action attr:class="panel form" attr:novalidate=true>
                    <h2>"회원가입"</h2>
                    <fieldset class="role-choice">
                        <legend>"가입 유형"</legend>
                        {Role::ALL
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <label class="chip">
                                        <input
                                            type="radio"
                                            name="role"
                                            value=r.as_str()
                                            checked=r == Role::Customer
                                            on:change=move |_| role.set(r)
                                        />
                                        {r.label()}
                                    </label>
                                }
                            })
                            .collect_view()}
                    </fieldset>
                    {move || field_message(error(), "role")}
                    <label>
                        "이름"
                        <input type="text" name="display_name" autocomplete="name" maxlength="40" />
                    </label>
                    {move || field_message(error(), "display_name")}
                    <label>
                        "이메일"
                        <input type="email" name="email" autocomplete="email" />
                    </label>
                    {move || field_message(error(), "email")}
                    <label>
                        "비밀번호 (8자 이상)"
                        <input type="password" name="password" autocomplete="new-password" />
                    </label>
                    {move || field_message(error(), "password")}
                    <label>
                        "휴대폰 번호 (카카오톡 알림용, 선택)"
                        <input type="tel" name="phone" autocomplete="tel" placeholder="010-1234-5678" />
                    </label>
                    {move || field_message(error(), "phone")}
                    <div class="owner-fields" hidden=move || role.get() != Role::Owner>
                        <label>
                            "상점 이름"
                            <input type="text" name="store_name" maxlength="60" />
                        </label>
                        {move || field_message(error(), "store_name")}
                        <label>
                            "상점 지역"
                            <select name="store_district">
                                <option value="">"구 선택"</option>
                                {district_options()}
                            </select>
                        </label>
                        {move || field_message(error(), "store_district")}
                        <label>
                            "상점 주소"
                            <input type="text" name="store_address" maxlength="120" />
                        </label>
                        {move || field_message(error(), "store_address")}
                    </div>
                    <div hidden=move || role.get() == Role::Owner>
                        <label>
                            {move || {
                                if role.get() == Role::Rider { "활동 지역" } else { "배달 받을 지역" }
                            }}
                            <select name="district">
                                <option value="">"구 선택"</option>
                                {district_options()}
                            </select>
                        </label>
                        {move || field_message(error(), "district")}
                    </div>
                    {general}
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>
                        "가입하기"
                    </button>
                </ActionForm>
                <p class="aside">
                    "이미 계정이 있으신가요? " <A href="/signin">"로그인"</A>
                </p>
            </main>
        }
        .into_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_page_needs_sign_in_and_the_rest_do_not() {
        for path in [
            "/",
            "/checkout",
            "/orders",
            "/orders/12",
            "/orders/12/",
            "/stores/3",
            "/store",
            "/store/",
            "/rider",
            "/notifications",
        ] {
            assert!(sign_in_required(path), "{path}");
        }
        for path in [
            "/signin",
            "/signup",
            "/stores/",
            "/stores/x",
            "/orders/1/2",
            "/pkg/baedal.js",
            "/favicon.svg",
            "/nope",
            "/api/sign_in",
        ] {
            assert!(!sign_in_required(path), "{path}");
        }
    }

    #[test]
    fn the_way_back_after_sign_in_survives_as_one_query_value() {
        assert_eq!(sign_in_location("/store"), "/signin?next=/store");
        assert_eq!(
            sign_in_location("/orders?from=a&b=c d"),
            "/signin?next=/orders%3Ffrom%3Da%26b%3Dc%20d"
        );
    }

    #[test]
    fn landing_page_only_follows_next_into_the_roles_own_pages() {
        assert_eq!(landing_page(Role::Owner, Some("/store")), "/store");
        assert_eq!(landing_page(Role::Owner, Some("/rider")), "/store");
        assert_eq!(landing_page(Role::Customer, Some("/store")), "/");
        assert_eq!(landing_page(Role::Customer, Some("/orders/7")), "/orders/7");
        assert_eq!(landing_page(Role::Rider, Some("//evil.example")), "/rider");
        assert_eq!(
            landing_page(Role::Rider, Some("https://evil.example")),
            "/rider"
        );
        assert_eq!(landing_page(Role::Rider, None), "/rider");
        for evil in [
            "/\\evil.example",
            "/\t/evil.example",
            "//evil.example/rider",
        ] {
            assert_eq!(landing_page(Role::Customer, Some(evil)), "/", "{evil:?}");
        }
    }
}
