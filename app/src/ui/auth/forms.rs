//! The sign-in and sign-up pages, and where each sends people afterwards. Lazy routes, apart
//! from the gate: signed-in people's pages do not carry their code.

use super::Auth;
use crate::api::{SignIn, SignUp};
use crate::domain::{CurrentUser, District, Role, SignUpForm};
use crate::error::AppError;
use crate::ui::area::use_area;
use crate::ui::form::{Fields, PostForm};
use crate::ui::head;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::{lazy_route, LazyRoute};

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

/// The other form's address (sign-in ↔ sign-up), keeping where to come back to.
fn other_form(path: &'static str) -> impl Fn() -> String + Send + Sync + 'static {
    let query = use_query_map();
    move || match query.read().get("next") {
        Some(next) if path == "/signup" => crate::access::sign_up_location(&next),
        Some(next) => crate::access::sign_in_location(&next),
        None => path.to_string(),
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

/// The page, loaded lazily (`#[lazy_route]`): its own code is fetched when it is shown.
pub struct SignInPage;

#[lazy_route]
impl LazyRoute for SignInPage {
    fn data() -> Self {
        SignInPage
    }

    fn view(_page: Self) -> AnyView {
        let action = ServerAction::<SignIn>::new();
        go_home_after(action);
        let sign_up = other_form("/signup");
        let error = move || action.value().get().and_then(Result::err);
        let general = move || {
            error()
                .filter(|e| !matches!(e, AppError::Invalid { .. }))
                .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
        };
        view! {
            {head::title("로그인")}
            <main class="auth-page">
                <h1 class="brand-large">"배달"</h1>
                <p class="tagline">"우리 동네 맛집을 문 앞까지"</p>
                <PostForm
                    action
                    read=|fields| SignIn {
                        email: fields.text("email"),
                        password: fields.text("password"),
                    }
                    class="panel form"
                    novalidate=true
                >
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
                </PostForm>
                <p class="aside">
                    "처음이신가요? " <A href=sign_up>"회원가입"</A>
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

fn read_sign_up(fields: &Fields) -> SignUp {
    SignUp {
        form: SignUpForm {
            role: fields.text("role"),
            email: fields.text("email"),
            password: fields.text("password"),
            display_name: fields.text("display_name"),
            phone: fields.text("phone"),
            district: fields.text("district"),
            address: fields.text("address"),
            address_detail: fields.text("address_detail"),
            store_name: fields.text("store_name"),
            store_address: fields.text("store_address"),
            store_address_detail: fields.text("store_address_detail"),
        },
    }
}

/// The page, loaded lazily (`#[lazy_route]`): its own code is fetched when it is shown.
pub struct SignUpPage;

#[lazy_route]
impl LazyRoute for SignUpPage {
    fn data() -> Self {
        SignUpPage
    }

    fn view(_page: Self) -> AnyView {
        let action = ServerAction::<SignUp>::new();
        go_home_after(action);
        let sign_in = other_form("/signin");
        // A visitor who picked a delivery area while browsing starts with it.
        let area = use_area().get_untracked();
        let role = RwSignal::new(Role::Customer);
        let error = move || action.value().get().and_then(Result::err);
        let general = move || {
            error()
                .filter(|e| !matches!(e, AppError::Invalid { .. }))
                .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
        };
        let district_options = move |preselect: bool| {
            District::all()
                .map(|d| {
                    let selected = preselect && area == Some(d);
                    view! { <option value=d.name() selected=selected>{d.name()}</option> }
                })
                .collect_view()
        };
        view! {
            {head::title("회원가입")}
            <main class="auth-page">
                <h1 class="brand-large">"배달"</h1>
                <PostForm action read=read_sign_up class="panel form" novalidate=true>
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
                            "상점 도로명 주소"
                            <input type="text" name="store_address" maxlength="120" placeholder="예: 서울 송파구 올림픽로 300" />
                        </label>
                        {move || field_message(error(), "store_address")}
                        <label>
                            "상점 상세주소 (선택)"
                            <input type="text" name="store_address_detail" maxlength="60" placeholder="층, 호수" />
                        </label>
                        {move || field_message(error(), "store_address_detail")}
                    </div>
                    <div hidden=move || role.get() != Role::Customer>
                        <label>
                            "배달 받을 도로명 주소"
                            <input
                                type="text"
                                name="address"
                                maxlength="120"
                                autocomplete="street-address"
                                placeholder="예: 서울 송파구 올림픽로 300"
                            />
                        </label>
                        {move || field_message(error(), "address")}
                        <label>
                            "상세주소 (선택)"
                            <input type="text" name="address_detail" maxlength="60" placeholder="동·호수, 층" />
                        </label>
                        {move || field_message(error(), "address_detail")}
                    </div>
                    <div hidden=move || role.get() != Role::Rider>
                        <label>
                            "활동 지역"
                            <select name="district">
                                <option value="">"구 선택"</option>
                                {district_options(true)}
                            </select>
                        </label>
                        {move || field_message(error(), "district")}
                    </div>
                    {general}
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>
                        "가입하기"
                    </button>
                </PostForm>
                <p class="aside">
                    "이미 계정이 있으신가요? " <A href=sign_in>"로그인"</A>
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
    fn landing_page_only_follows_next_into_the_roles_own_pages() {
        assert_eq!(landing_page(Role::Owner, Some("/store")), "/store");
        assert_eq!(landing_page(Role::Owner, Some("/rider")), "/store");
        assert_eq!(landing_page(Role::Customer, Some("/store")), "/");
        assert_eq!(landing_page(Role::Customer, Some("/orders/7")), "/orders/7");
        // Asked to sign in at checkout: back to the cart; nobody else pays.
        assert_eq!(landing_page(Role::Customer, Some("/checkout")), "/checkout");
        assert_eq!(landing_page(Role::Owner, Some("/checkout")), "/store");
        assert_eq!(landing_page(Role::Rider, Some("/stores/3")), "/rider");
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
