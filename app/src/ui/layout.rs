//! The app shell each role sees (header, navigation, sign-out) and the pages for errors.

use crate::api::SignOut;
use crate::codec::Loaded;
use crate::domain::{CurrentUser, Role};
use crate::ui::form::PostForm;
use crate::ui::head;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// Header and navigation for `user`'s role around the page content; for a signed-out visitor
/// (`None`, on the pages open to anyone) the customer's pages and the ways in, 로그인 and
/// 회원가입, each coming back here. Content errors are shown in place by the error boundary
/// instead of blanking the page. The bell's `unread` count belongs to the page (see
/// `auth::Gate`): the shell only shows it.
#[component]
pub fn Shell(user: Option<CurrentUser>, unread: Loaded<i64>, children: Children) -> impl IntoView {
    let role = user.as_ref().map_or("visitor", |user| user.role.as_str());
    let header = match user {
        Some(user) => view! { <SignedInHeader user unread /> }.into_any(),
        None => view! { <VisitorHeader /> }.into_any(),
    };
    view! {
        <div class=format!("app role-{role}")>
            {header}
            <main class="content">
                <ErrorBoundary fallback=|errors| {
                    view! { <ErrorList errors /> }
                }>{children()}</ErrorBoundary>
            </main>
        </div>
    }
}

#[component]
fn VisitorHeader() -> impl IntoView {
    let location = use_location();
    let here = move || format!("{}{}", location.pathname.get(), location.search.get());
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "배달"
            </a>
            <nav class="nav">
                <A href="/">"가게 찾기"</A>
                <A href="/checkout">"장바구니"</A>
            </nav>
            <span class="ways-in">
                <a href=move || crate::access::sign_in_location(&here()) data-testid="sign-in-link">
                    "로그인"
                </a>
                <a href=move || crate::access::sign_up_location(&here()) data-testid="sign-up-link">
                    "회원가입"
                </a>
            </span>
        </header>
    }
}

#[component]
fn SignedInHeader(user: CurrentUser, unread: Loaded<i64>) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            super::device::forget_signed_in_data();
            // A whole new page: nothing of the signed-out person stays in memory.
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().assign("/signin");
            }
        }
    });
    // (path, label, whether only that exact path marks the link current): the order board's
    // link is not current on the menu page below it.
    let links: &[(&str, &str, bool)] = match user.role {
        Role::Customer => &[
            ("/", "가게 찾기", false),
            ("/checkout", "장바구니", false),
            ("/orders", "내 주문", false),
        ],
        Role::Owner => &[
            ("/store", "주문 접수", true),
            ("/store/menu", "메뉴 · 재고", false),
        ],
        Role::Rider => &[("/rider", "배달 목록", false)],
    };
    view! {
        <header class="topbar">
            <a class="brand" href=user.role.home()>
                "배달"
            </a>
            <span class="role-badge">{user.role.label()}</span>
            <nav class="nav">
                {links
                    .iter()
                    .map(|(href, label, exact)| view! { <A href=*href exact=*exact>{*label}</A> })
                    .collect_view()}
            </nav>
            <a class="bell" href="/notifications" aria-label="알림" data-testid="bell">
                <svg class="bell-icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                    <path
                        fill="currentColor"
                        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z"
                    />
                </svg>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let count = unread.await.unwrap_or(0);
                        view! {
                            <span class="bell-count" class:zero=count == 0 data-testid="bell-count" data-count=count>
                                {(count > 0).then(|| if count > 99 { "99+".to_string() } else { count.to_string() })}
                            </span>
                        }
                    })}
                </Transition>
            </a>
            <span class="who" data-testid="who">
                {user.display_name.clone()}
                "님"
            </span>
            <PostForm action=sign_out read=|_| SignOut {} class="sign-out">
                <button type="submit" class="link-button">
                    "로그아웃"
                </button>
            </PostForm>
        </header>
    }
}

#[component]
fn ErrorList(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="panel error-panel" role="alert">
            <h2>"문제가 생겼습니다"</h2>
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, error)| view! { <li>{error.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
            <p>"잠시 후 다시 시도해 주세요. 문제가 계속되면 새로고침해 주세요."</p>
        </div>
    }
}

/// Signed in, but with a role that may not see this page: a clear 403, not a blank page.
#[component]
pub fn Forbidden(user: CurrentUser, needed: Role) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::door::http::set_page_status(403);
    view! {
        {head::title("권한 없음")}
        <main class="center-page">
            <div class="panel" data-testid="forbidden">
                <p class="status-code">"403"</p>
                <h1>"이 화면을 볼 권한이 없습니다"</h1>
                <p>
                    {format!(
                        "{}님은 {} 계정으로 로그인했습니다. 이 화면은 {} 전용입니다.",
                        user.display_name,
                        user.role.label(),
                        needed.label(),
                    )}
                </p>
                <a class="button" href=user.role.home()>
                    {format!("{} 홈으로", user.role.label())}
                </a>
            </div>
        </main>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::door::http::set_page_status(404);
    view! {
        {head::title("페이지 없음")}
        <main class="center-page">
            <div class="panel">
                <p class="status-code">"404"</p>
                <h1>"페이지를 찾을 수 없습니다"</h1>
                <a class="button" href="/">
                    "처음으로"
                </a>
            </div>
        </main>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading">"불러오는 중…"</p> }
}
