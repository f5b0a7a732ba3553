//! A store's menu (`/stores/:id`), where dishes go into the cart, and the bar that leads from
//! the cart to checkout. A lazy route: its view is a chunk of its own.

use super::id_param;
use crate::api::get_store_menu;
use crate::domain::{Role, StoreMenu};
use crate::error::AppError;
use crate::ui::auth::Gate;
use crate::ui::cart::{confirm, use_cart, Cart};
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::{lazy_route, LazyRoute};

/// The page, loaded lazily (`#[lazy_route]`): `data` (in the main module) makes its data,
/// `view` comes in a chunk of its own, fetched when the page is first shown.
pub struct StorePage {
    gate: Gate,
    menu: Resource<Result<StoreMenu, AppError>>,
    cart: Cart,
}

#[lazy_route]
impl LazyRoute for StorePage {
    fn data() -> Self {
        let gate = Gate::for_role(Role::Customer);
        let store_id = id_param();
        let menu = Resource::new(
            move || store_id.get(),
            move |id| async move {
                gate.allowed()?;
                get_store_menu(id).await
            },
        );
        let cart = use_cart();
        StorePage { gate, menu, cart }
    }

    fn view(this: Self) -> AnyView {
        let StorePage { gate, menu, cart } = this;
        gate.render(move |_user| {
            view! {
                <Suspense fallback=Loading>
                    {move || Suspend::new(async move {
                        menu.await
                            .map(|store| {
                                let store_id = store.id;
                                let store_name = store.name.clone();
                                view! {
                                    <Title text=store.name.clone() />
                                    <section class="page-head">
                                        <A href="/">"← 가게 목록"</A>
                                        <h1>{store.name.clone()}</h1>
                                        <p class="muted">{format!("{} · {}", store.district, store.address)}</p>
                                        <p class="store-terms" data-testid="store-terms">
                                            {delivery_terms_line(&store)}
                                        </p>
                                        {(!store.is_open)
                                            .then(|| view! { <p class="form-error">"지금은 주문을 받지 않는 가게입니다."</p> })}
                                        {store.delivery.filter(|d| !d.deliverable).map(|_| view! {
                                            <p class="form-error" data-testid="not-deliverable">
                                                {format!("배달 불가 지역입니다: 이 가게는 {} 이내로 배달합니다.", crate::domain::km(store.terms.radius_m))}
                                            </p>
                                        })}
                                    </section>
                                    <ul class="menu-list" data-testid="menu">
                                        {store
                                            .menu
                                            .into_iter()
                                            .map(|item| {
                                                let sold_out = item.stock == 0;
                                                let orderable = store.is_open && !sold_out;
                                                let store_name = store_name.clone();
                                                let (food_id, name, price) = (item.id, item.name.clone(), item.price);
                                                let add = move |_| {
                                                    let name = name.clone();
                                                    let added = cart.0.try_update(|c| c.add(store_id, &store_name, food_id, &name, price)).unwrap_or(false);
                                                    if !added && confirm("장바구니에는 한 가게의 메뉴만 담을 수 있습니다. 담긴 메뉴를 비우고 이 메뉴를 담을까요?") {
                                                        cart.0.update(|c| {
                                                            *c = Default::default();
                                                            c.add(store_id, &store_name, food_id, &name, price);
                                                        });
                                                    }
                                                };
                                                view! {
                                                    <li class="card menu-item" class:sold-out=sold_out data-testid="menu-item">
                                                        <div>
                                                            <strong>{item.name.clone()}</strong>
                                                            <p class="muted">{item.description}</p>
                                                            <p class="price">{item.price.to_string()}</p>
                                                        </div>
                                                        <div class="menu-side">
                                                            <span class="stock">
                                                                {if sold_out { "품절".to_string() } else { format!("남은 수량 {}개", item.stock) }}
                                                            </span>
                                                            <button
                                                                class="button small primary"
                                                                disabled=!orderable
                                                                on:click=add
                                                                aria-label=format!("{} 담기", item.name)
                                                            >
                                                                "담기"
                                                            </button>
                                                        </div>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                    <CartBar />
                                }
                            })
                    })}
                </Suspense>
            }
            .into_any()
        }).into_any()
    }
}

/// "최소주문 15,000원 · 배달팁 3,500원 (1.2km)": the terms at the customer's address, or the
/// store's rules when the address is not known.
fn delivery_terms_line(store: &StoreMenu) -> String {
    let tip = match store.delivery {
        Some(quote) => format!(
            "배달팁 {} ({})",
            quote.tip,
            crate::domain::format_distance(quote.distance_m)
        ),
        None => store.terms.tip_label(),
    };
    [store.terms.min_order_label(), Some(tip)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

#[component]
fn CartBar() -> impl IntoView {
    let cart = use_cart();
    move || {
        let state = cart.0.get();
        (state.count() > 0).then(|| {
            view! {
                <A href="/checkout" attr:class="cart-bar" attr:data-testid="cart-bar">
                    <span>{format!("{} · {}개", state.store_name, state.count())}</span>
                    <strong>{format!("{} 주문하기", state.total())}</strong>
                </A>
            }
        })
    }
}
