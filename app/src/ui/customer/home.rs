//! The home page (`/`), open to anyone: the stores that deliver to an address. A signed-in
//! customer's list starts from their saved 동네 (changed here, saved to their account); a
//! visitor's from the district they pick here, remembered in a cookie (`crate::area`), so that
//! a visitor coming back, a search engine and a link preview all get the list in the server's
//! HTML. An eager page (in the main wasm module, see `ui`): a customer's first load is this page.

use crate::api::{nearby_stores, SetDeliveryDistrict};
use crate::domain::{format_distance, CurrentUser, District, Role, StoreSummary};
use crate::ui::area::{use_area, DeliveryArea};
use crate::ui::auth::{Auth, Gate};
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

/// What a link to the home page says about it (search results, link previews).
const DESCRIPTION: &str =
    "서울 25개 구, 우리 동네 가게의 메뉴와 남은 수량을 보고 주문하면 문 앞까지 배달해 드립니다.";

#[component]
pub fn CustomerHome() -> impl IntoView {
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
    let change = ServerAction::<SetDeliveryDistrict>::new();
    let stores = Resource::new(
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
            <Title text="우리 동네 가게" />
            <Meta name="description" content=DESCRIPTION />
            <Meta property="og:type" content="website" />
            <Meta property="og:title" content="배달 — 우리 동네 가게" />
            <Meta property="og:description" content=DESCRIPTION />
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

/// The signed-in customer's 동네, saved to their account when changed.
fn customer_address(change: ServerAction<SetDeliveryDistrict>, user: CurrentUser) -> impl IntoView {
    let current = user.district.clone().unwrap_or_default();
    view! {
        <ActionForm action=change attr:class="address-form">
            <label>
                "배달 주소"
                <select name="district" data-testid="delivery-district-select">
                    {District::all()
                        .map(|d| {
                            view! {
                                <option value=d.name() selected=d.name() == current>
                                    {d.name()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button small">"변경"</button>
        </ActionForm>
        <p class="muted" data-testid="delivery-district">
            "배달 주소: "
            {user.district.unwrap_or_else(|| "미설정".into())}
        </p>
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

fn store_list(stores: Vec<StoreSummary>) -> impl IntoView {
    view! {
        <ul class="card-list" data-testid="store-list">
            {stores
                .into_iter()
                .map(|store| {
                    view! {
                        <li class="card store-card" class:closed=!store.is_open>
                            <a class="card-link" href=format!("/stores/{}", store.id)>
                                <div class="card-title">
                                    <strong>{store.name}</strong>
                                    <span class=if store.is_open {
                                        "badge open"
                                    } else {
                                        "badge closed"
                                    }>{if store.is_open { "영업 중" } else { "준비 중" }}</span>
                                </div>
                                <p class="muted">
                                    {format!(
                                        "{} · {} · 메뉴 {}개",
                                        store.district,
                                        format_distance(store.distance_m),
                                        store.menu_count,
                                    )}
                                </p>
                            </a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
