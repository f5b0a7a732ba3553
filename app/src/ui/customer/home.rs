//! The customer's home (`/`): the stores that deliver to their address, and the address itself.
//! An eager page (in the main wasm module, see `ui`): a customer's first load is this page.

use crate::api::{nearby_stores, SetDeliveryDistrict};
use crate::domain::{format_distance, District, Role};
use crate::ui::auth::{Auth, Gate};
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CustomerHome() -> impl IntoView {
    let gate = Gate::for_role(Role::Customer);
    let auth = expect_context::<Auth>();
    let change = ServerAction::<SetDeliveryDistrict>::new();
    let stores = Resource::new(
        move || change.version().get(),
        move |_| async move {
            gate.allowed()?;
            nearby_stores().await
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(user)) = change.value().get() {
            auth.set(Some(user));
        }
    });
    gate.render(move |user| {
        let current = user.district.clone().unwrap_or_default();
        view! {
            <Title text="가게 찾기" />
            <section class="page-head">
                <h1>"어떤 음식을 주문할까요?"</h1>
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
                    {user.district.clone().unwrap_or_else(|| "미설정".into())}
                </p>
            </section>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    stores
                        .await
                        .map(|stores| {
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
                        })
                })}
            </Suspense>
        }
        .into_any()
    })
}
