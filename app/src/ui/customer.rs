//! The customer's home: stores near the delivery address.

use super::auth::role_page;
use super::layout::Loading;
use crate::api::nearby_stores;
use crate::domain::{format_distance, Role};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CustomerHome() -> impl IntoView {
    role_page(Role::Customer, |user| {
        let stores = Resource::new(|| (), |_| nearby_stores());
        view! {
            <Title text="가게 찾기" />
            <section class="page-head">
                <h1>"어떤 음식을 주문할까요?"</h1>
                <p class="muted" data-testid="delivery-district">
                    "배달 주소: " {user.district.unwrap_or_else(|| "미설정".into())}
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
