//! The store owner's home: their stores, open or closed, with menu prices and stock.

use super::auth::role_page;
use super::layout::Loading;
use crate::api::my_stores;
use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn StoreHome() -> impl IntoView {
    role_page(Role::Owner, |_user| {
        let stores = Resource::new(|| (), |_| my_stores());
        view! {
            <Title text="내 상점" />
            <section class="page-head">
                <h1>"내 상점"</h1>
                <p class="muted">"요리 가능한 재고 수량과 영업 상태를 확인하세요."</p>
            </section>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    stores
                        .await
                        .map(|stores| {
                            if stores.is_empty() {
                                return view! { <p class="empty">"등록된 상점이 없습니다."</p> }
                                    .into_any();
                            }
                            stores
                                .into_iter()
                                .map(|store| {
                                    view! {
                                        <section class="panel store-panel" data-testid="owned-store">
                                            <div class="card-title">
                                                <h2>{store.name}</h2>
                                                <span class=if store.is_open {
                                                    "badge open"
                                                } else {
                                                    "badge closed"
                                                }>{if store.is_open { "영업 중" } else { "영업 종료" }}</span>
                                            </div>
                                            <p class="muted">{format!("{} · {}", store.district, store.address)}</p>
                                            <table class="menu-table">
                                                <thead>
                                                    <tr>
                                                        <th>"메뉴"</th>
                                                        <th class="num">"가격"</th>
                                                        <th class="num">"재고"</th>
                                                    </tr>
                                                </thead>
                                                <tbody>
                                                    {store
                                                        .menu
                                                        .into_iter()
                                                        .map(|item| {
                                                            view! {
                                                                <tr class:sold-out=item.stock == 0>
                                                                    <td>{item.name}</td>
                                                                    <td class="num">{item.price.to_string()}</td>
                                                                    <td class="num">
                                                                        {if item.stock == 0 {
                                                                            "품절".to_string()
                                                                        } else {
                                                                            format!("{}개", item.stock)
                                                                        }}
                                                                    </td>
                                                                </tr>
                                                            }
                                                        })
                                                        .collect_view()}
                                                </tbody>
                                            </table>
                                        </section>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        })
                })}
            </Suspense>
        }
        .into_any()
    })
}
