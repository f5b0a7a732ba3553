//! The home page (`/`), open to anyone: the stores that deliver to an address. A signed-in
//! customer's list starts from their delivery address (changed here: 도로명 + 상세주소); a
//! visitor's from the district they pick here, remembered in a cookie (`crate::area`), so that
//! a visitor coming back, a search engine and a link preview all get the list in the server's
//! HTML. A lazy route like every page (see `ui`): its code is one file beside the main module.

use crate::api::{nearby_stores, SetDeliveryAddress};
use crate::codec::load;
use crate::domain::{format_distance, full_address, CurrentUser, District, Role, StoreSummary};
use crate::error::AppError;
use crate::ui::area::{use_area, DeliveryArea};
use crate::ui::auth::{Auth, Gate};
use crate::ui::form::PostForm;
use crate::ui::head;
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::{lazy_route, LazyRoute};

/// What a link to the home page says about it (search results, link previews).
const DESCRIPTION: &str =
    "서울 25개 구, 우리 동네 가게의 메뉴와 남은 수량을 보고 주문하면 문 앞까지 배달해 드립니다.";

/// The page, loaded lazily (`#[lazy_route]`) like every other: the main module holds only
/// what every page needs, so the owner's and the rider's first loads do not carry it.
pub struct CustomerHome;

#[lazy_route]
impl LazyRoute for CustomerHome {
    fn data() -> Self {
        CustomerHome
    }

    fn view(_page: Self) -> AnyView {
        home().into_any()
    }
}

fn home() -> impl IntoView {
    let gate = Gate::open_to(Role::Customer);
    let auth = expect_context::<Auth>();
    let area = use_area();
    // `/?area=…`: the picker's answer when scripts do not run (or a link naming the area).
    let bad_area = auth
        .user
        .with_untracked(Option::is_none)
        .then(|| use_query_map().with_untracked(|query| query.get("area")))
        .flatten()
        .and_then(|asked| match District::parse("area", &asked) {
            Ok(district) => {
                area.choose(district);
                None
            }
            Err(error) => {
                #[cfg(feature = "ssr")]
                crate::door::http::set_page_status(400);
                Some(error.message)
            }
        });
    let change = ServerAction::<SetDeliveryAddress>::new();
    let stores = load(
        move || (change.version().get(), area.get()),
        move |(_, chosen)| async move {
            gate.may_load()?;
            // A customer's list comes from their saved 동네; a visitor's needs a district.
            let area = match chosen {
                _ if auth.user.with_untracked(Option::is_some) => String::new(),
                Some(district) => district.name().to_string(),
                None => return Ok(None),
            };
            nearby_stores(area).await.map(Some)
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(user)) = change.value().get() {
            auth.set(Some(user));
        }
    });
    gate.render_open(move |user| {
        let address = match user {
            Some(user) => customer_address(change, user).into_any(),
            None => view! { <AreaPicker area bad_area=bad_area.clone() /> }.into_any(),
        };
        view! {
            {head::title("우리 동네 가게")}
            {head::description("배달 — 우리 동네 가게", DESCRIPTION)}
            <section class="page-head">
                <h1>"어떤 음식을 주문할까요?"</h1>
                {address}
            </section>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    stores.await.map(|stores| stores.map(store_list))
                })}
            </Suspense>
        }
        .into_any()
    })
}

/// The signed-in customer's delivery address (도로명 + 상세주소), changed here: the address
/// search places it, and a field error says what it could not find.
fn customer_address(change: ServerAction<SetDeliveryAddress>, user: CurrentUser) -> impl IntoView {
    let error = move || change.value().get().and_then(Result::err);
    let field = move |name: &'static str| {
        move || {
            error()
                .and_then(|e: AppError| e.field(name))
                .map(|message| {
                    view! { <p class="field-error" data-field=name role="alert">{message}</p> }
                })
        }
    };
    let road = user.address.clone().unwrap_or_default();
    let detail = user.address_detail.clone().unwrap_or_default();
    let shown = match &user.address {
        Some(road) => full_address(road, &detail),
        None => "미설정: 도로명 주소를 입력해 주세요".into(),
    };
    view! {
        <p class="muted" data-testid="delivery-address">"배달 주소: " {shown}</p>
        <details class="address-change" open=user.address.is_none()>
            <summary>"배달 주소 변경"</summary>
            <PostForm
                action=change
                read=|fields| SetDeliveryAddress {
                    address: fields.text("address"),
                    address_detail: fields.text("address_detail"),
                }
                class="address-form"
            >
                <label>
                    "도로명 주소"
                    <input
                        type="text"
                        name="address"
                        data-testid="address-road"
                        maxlength="120"
                        placeholder="예: 서울 송파구 올림픽로 300"
                        value=road
                        autocomplete="street-address"
                    />
                </label>
                {field("address")}
                <label>
                    "상세주소"
                    <input
                        type="text"
                        name="address_detail"
                        data-testid="address-detail"
                        maxlength="60"
                        placeholder="동·호수, 층 (선택)"
                        value=detail
                    />
                </label>
                {field("address_detail")}
                <button type="submit" class="button small" data-testid="address-save">"저장"</button>
                {move || {
                    error()
                        .filter(|e| e.field("address").is_none() && e.field("address_detail").is_none())
                        .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
                }}
            </PostForm>
        </details>
    }
}

/// A visitor's delivery area: chosen from the list (at once in the browser; as `/?area=…`
/// without scripts) and remembered for their next visits.
#[component]
fn AreaPicker(area: DeliveryArea, bad_area: Option<String>) -> impl IntoView {
    let pick = move |ev: leptos::ev::Event| {
        if let Ok(district) = District::parse("area", &event_target_value(&ev)) {
            area.choose(district);
        }
    };
    view! {
        <form
            method="get"
            action="/"
            class="address-form"
            on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()
        >
            <label>
                "배달 받을 지역"
                <select name="area" data-testid="delivery-area-select" on:change=pick>
                    <option value="" selected=move || area.get().is_none()>
                        "구 선택"
                    </option>
                    {District::all()
                        .map(|d| {
                            view! {
                                <option value=d.name() selected=move || area.get() == Some(d)>
                                    {d.name()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button small">"선택"</button>
        </form>
        {bad_area.map(|message| view! { <p class="field-error" data-field="area" role="alert">{message}</p> })}
        {move || match area.get() {
            Some(district) => view! {
                <p class="muted" data-testid="delivery-area">{format!("배달 지역: {district}")}</p>
            }
            .into_any(),
            None => view! {
                <p class="choose-area" data-testid="choose-area">"배달 받을 지역을 선택해 주세요"</p>
            }
            .into_any(),
        }}
    }
}

/// The stores, each with its 최소주문금액 and the 배달팁 where the list is for (or its radius
/// when it does not deliver there).
fn store_list(stores: Vec<StoreSummary>) -> impl IntoView {
    view! {
        <ul class="card-list" data-testid="store-list">
            {stores
                .into_iter()
                .map(|store| {
                    let deliverable = store.delivery.deliverable;
                    let terms = [
                        store.terms.min_order_label(),
                        Some(if deliverable {
                            format!("배달팁 {}", store.delivery.tip)
                        } else {
                            store.terms.radius_label()
                        }),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ");
                    view! {
                        <li class="card store-card" class:closed=!store.is_open || !deliverable data-testid="store-card">
                            <a class="card-link" href=format!("/stores/{}", store.id)>
                                <div class="card-title">
                                    <strong>{store.name}</strong>
                                    <span class=if store.is_open {
                                        "badge open"
                                    } else {
                                        "badge closed"
                                    }>{if store.is_open { "영업 중" } else { "준비 중" }}</span>
                                    {(!deliverable).then(|| view! {
                                        <span class="badge closed" data-testid="not-deliverable">"배달 불가 지역"</span>
                                    })}
                                </div>
                                <p class="muted">
                                    {format!(
                                        "{} · {} · 메뉴 {}개",
                                        store.district,
                                        format_distance(store.distance_m),
                                        store.menu_count,
                                    )}
                                </p>
                                <p class="muted small" data-testid="store-terms">{terms}</p>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
