//! A store's menu (`/stores/:id`), where dishes go into the cart, and the bar that leads from
//! the cart to checkout. Open to anyone, and rendered on the server with the store's name,
//! address and dishes in its title and description, so a shared link shows the store (and
//! previews well); a visitor fills the cart here and is asked to sign in at checkout. A lazy
//! route: its view is a chunk of its own.

use super::id_param;
use crate::api::get_store_menu;
use crate::codec::load;
use crate::domain::{Role, StoreMenu};
use crate::error::AppError;
use crate::ui::auth::{Auth, Gate};
use crate::ui::cart::{confirm, use_cart};
use crate::ui::head;
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::{lazy_route, LazyRoute};

/// The page, loaded lazily (`#[lazy_route]`): its code, data included, comes in a file of its
/// own, fetched when the page is first shown (preloaded by the server's HTML when it is the
/// page rendered).
pub struct StorePage;

#[lazy_route]
impl LazyRoute for StorePage {
    fn data() -> Self {
        StorePage
    }

    fn view(_page: Self) -> AnyView {
        let gate = Gate::open_to(Role::Customer);
        let store_id = id_param();
        let menu = load(
            move || store_id.get(),
            move |id| async move {
                gate.may_load()?;
                get_store_menu(id).await
            },
        );
        let cart = use_cart();
        gate.render_open(move |_user| {
            view! {
                <Suspense fallback=Loading>
                    {move || Suspend::new(async move {
                        let store = match menu.await {
                            Err(AppError::NotFound) => return Ok(view! { <StoreNotFound /> }.into_any()),
                            store => store,
                        };
                        store
                            .map(|store| {
                                let store_id = store.id;
                                let store_name = store.name.clone();
                                let preview = store_preview(&store);
                                view! {
                                    {head::title(store.name.clone())}
                                    {head::description(format!("{} · 배달", store.name), preview)}
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
                                .into_any()
                            })
                    })}
                </Suspense>
            }
            .into_any()
        }).into_any()
    }
}

/// What a link to the store's page says about it (search results, link previews): where it
/// is and the first dishes with their prices.
pub fn store_preview(store: &StoreMenu) -> String {
    const SHOWN: usize = 5;
    let mut dishes = store
        .menu
        .iter()
        .take(SHOWN)
        .map(|dish| format!("{} {}", dish.name, dish.price))
        .collect::<Vec<_>>()
        .join(", ");
    if store.menu.len() > SHOWN {
        dishes.push_str(&format!(" 외 {}개", store.menu.len() - SHOWN));
    }
    if dishes.is_empty() {
        format!("{} · {}", store.district, store.address)
    } else {
        format!("{} · {} · 메뉴: {dishes}", store.district, store.address)
    }
}

/// No such store (or not a store number): a 404 page, not an empty one.
#[component]
fn StoreNotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::door::http::set_page_status(404);
    view! {
        {head::title("가게 없음")}
        <div class="panel" data-testid="store-not-found">
            <p class="status-code">"404"</p>
            <h1>"가게를 찾을 수 없습니다"</h1>
            <p class="muted">"주소가 바뀌었거나 더 이상 없는 가게입니다."</p>
            <A href="/" attr:class="button">"가게 목록으로"</A>
        </div>
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

/// The way from the cart to paying; a visitor is asked to sign in first, and comes back to
/// checkout with the cart (it is kept in the browser).
#[component]
fn CartBar() -> impl IntoView {
    let cart = use_cart();
    let auth = expect_context::<Auth>();
    move || {
        let state = cart.0.get();
        let checkout = if auth.user.with(Option::is_some) {
            "/checkout".to_string()
        } else {
            crate::access::sign_in_location("/checkout")
        };
        (state.count() > 0).then(|| {
            view! {
                <A href=checkout attr:class="cart-bar" attr:data-testid="cart-bar">
                    <span>{format!("{} · {}개", state.store_name, state.count())}</span>
                    <strong>{format!("{} 주문하기", state.total())}</strong>
                </A>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FoodId, MenuItem, StoreId, Won};

    #[test]
    fn a_store_link_previews_where_the_store_is_and_its_first_dishes() {
        let dish = |id: i64, name: &str, price: i64| MenuItem {
            id: FoodId(id),
            name: name.into(),
            description: String::new(),
            price: Won(price),
            stock: 1,
            is_hidden: false,
        };
        let mut store = StoreMenu {
            id: StoreId(1),
            name: "마포 즉석떡볶이".into(),
            district: "마포구".into(),
            address: "서울 마포구 양화로 1".into(),
            is_open: true,
            menu: vec![dish(1, "즉석떡볶이 (2인)", 14_000), dish(2, "순대", 5_000)],
            terms: crate::domain::DeliveryTerms::default(),
            delivery: None,
        };
        let preview = store_preview(&store);
        assert!(preview.starts_with("마포구 · 서울 마포구 양화로 1 · 메뉴: 즉석떡볶이 (2인) "));
        assert!(preview.contains(&format!("순대 {}", Won(5_000))));
        store.menu = (1..=7)
            .map(|i| dish(i, &format!("메뉴{i}"), 1_000))
            .collect();
        assert!(store_preview(&store).ends_with(" 외 2개"));
        assert!(!store_preview(&store).contains("메뉴6"));
        store.menu.clear();
        assert_eq!(store_preview(&store), "마포구 · 서울 마포구 양화로 1");
    }
}
