//! The customer's home (`/`): the stores that deliver to their address, and the address itself.
//! An eager page (in the main wasm module, see `ui`): a customer's first load is this page.

use crate::api::{nearby_stores, SetDeliveryAddress};
use crate::domain::{format_distance, full_address, Role};
use crate::error::AppError;
use crate::ui::auth::{Auth, Gate};
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CustomerHome() -> impl IntoView {
    let gate = Gate::for_role(Role::Customer);
    let auth = expect_context::<Auth>();
    let change = ServerAction::<SetDeliveryAddress>::new();
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
    gate.render(move |user| {
        let road = user.address.clone().unwrap_or_default();
        let detail = user.address_detail.clone().unwrap_or_default();
        let shown = match &user.address {
            Some(road) => full_address(road, &detail),
            None => "미설정: 도로명 주소를 입력해 주세요".into(),
        };
        view! {
            <Title text="가게 찾기" />
            <section class="page-head">
                <h1>"어떤 음식을 주문할까요?"</h1>
                <p class="muted" data-testid="delivery-address">"배달 주소: " {shown}</p>
                <details class="address-change" open=user.address.is_none()>
                    <summary>"배달 주소 변경"</summary>
                    <ActionForm action=change attr:class="address-form">
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
                    </ActionForm>
                </details>
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
                        })
                })}
            </Suspense>
        }
        .into_any()
    })
}
