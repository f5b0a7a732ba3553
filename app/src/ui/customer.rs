//! The customer's pages: stores near the delivery address, a store's menu, the cart and
//! checkout, and the orders (내 주문).

use super::auth::{Auth, Gate};
use super::cart::{confirm, new_idempotency_key, use_cart, Cart};
use super::layout::Loading;
use super::live::{LiveBadge, LiveUpdates};
use crate::api::{
    get_order, get_store_menu, my_orders, nearby_stores, CancelOrder, ConfirmDelivery, PlaceOrder,
    SetDeliveryDistrict,
};
use crate::domain::{
    format_distance, korea_clock, CheckoutInput, District, OrderDetail, Role, StoreMenu, Won,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::{lazy_route, LazyRoute};

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

/// The page's `:id` (0 when it is not a number: the server then answers "not found").
fn id_param<Id>() -> Memo<Id>
where
    Id: std::str::FromStr + From<i64> + PartialEq + Send + Sync + 'static,
{
    let params = use_params_map();
    Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| Id::from(0))
    })
}

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
                                        {(!store.is_open)
                                            .then(|| view! { <p class="form-error">"지금은 주문을 받지 않는 가게입니다."</p> })}
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

/// The page, loaded lazily (`#[lazy_route]`): `data` (in the main module) makes its data,
/// `view` comes in a chunk of its own, fetched when the page is first shown.
pub struct CheckoutPage {
    gate: Gate,
    cart: Cart,
    place: ServerAction<PlaceOrder>,
    card: RwSignal<String>,
    key: RwSignal<Option<String>>,
}

#[lazy_route]
impl LazyRoute for CheckoutPage {
    fn data() -> Self {
        let gate = Gate::for_role(Role::Customer);
        let cart = use_cart();
        let place = ServerAction::<PlaceOrder>::new();
        let card = RwSignal::new("4242 4242 4242 4242".to_string());
        // One key per submission: kept while the outcome is unknown or the provider was busy
        // (paying again is the same submission), replaced after a decline or a cart change.
        let key = RwSignal::new(None::<String>);
        CheckoutPage {
            gate,
            cart,
            place,
            card,
            key,
        }
    }

    fn view(this: Self) -> AnyView {
        let CheckoutPage {
            gate,
            cart,
            place,
            card,
            key,
        } = this;
        Effect::new(move |_| {
            cart.0.track();
            key.set(None);
        });
        let navigate = use_navigate();
        Effect::new(move |_| match place.value().get() {
            Some(Ok(order)) => {
                key.set(None);
                cart.0.set(Default::default());
                navigate(&format!("/orders/{}", order.id), Default::default());
            }
            Some(Err(AppError::PaymentDeclined { .. })) | Some(Err(AppError::Invalid { .. })) => {
                key.set(None)
            }
            _ => {}
        });
        gate.render(move |_user| {
            let pay = move |_| {
                let state = cart.0.get_untracked();
                let Some(store_id) = state.store_id else {
                    return;
                };
                let submission = key.get_untracked().unwrap_or_else(new_idempotency_key);
                key.set(Some(submission.clone()));
                place.dispatch(PlaceOrder {
                    checkout: CheckoutInput::new(
                        store_id,
                        &state.lines(),
                        &submission,
                        &card.get_untracked(),
                    ),
                });
            };
            let error = move || place.value().get().and_then(Result::err);
            view! {
                <Title text="주문하기" />
                <section class="page-head">
                    <h1>"주문하기"</h1>
                </section>
                {move || {
                    let state = cart.0.get();
                    if state.items.is_empty() {
                        return view! {
                            <p class="empty">"장바구니가 비어 있습니다. " <A href="/">"가게 보러 가기"</A></p>
                        }
                            .into_any();
                    }
                    view! {
                        <section class="panel">
                            <h2>{state.store_name.clone()}</h2>
                            <ul class="cart-lines" data-testid="cart-lines">
                                {state
                                    .items
                                    .iter()
                                    .map(|item| {
                                        let food_id = item.food_id;
                                        let quantity = item.quantity;
                                        view! {
                                            <li class="cart-line">
                                                <span class="cart-name">{item.name.clone()}</span>
                                                <span class="stepper">
                                                    <button class="button small" aria-label="빼기" on:click=move |_| cart.0.update(|c| c.set_quantity(food_id, quantity - 1))>"−"</button>
                                                    <span class="qty">{quantity}</span>
                                                    <button class="button small" aria-label="더하기" disabled={quantity >= 99} on:click=move |_| cart.0.update(|c| c.set_quantity(food_id, quantity + 1))>"+"</button>
                                                </span>
                                                <span class="num">{Won(item.price.0 * quantity).to_string()}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                            <p class="total">"예상 결제 금액 " <strong>{state.total().to_string()}</strong></p>
                            <p class="muted small">"최종 금액은 주문 시 가게의 현재 가격으로 계산됩니다."</p>
                        </section>
                    }
                        .into_any()
                }}
                <section class="panel form">
                    <label>
                        "카드 번호"
                        <input
                            type="text"
                            inputmode="numeric"
                            name="card_number"
                            autocomplete="cc-number"
                            prop:value=move || card.get()
                            on:input=move |ev| card.set(event_target_value(&ev))
                        />
                    </label>
                    <p class="muted small">
                        "테스트 카드: 4242 4242 4242 4242 승인 · 4000 0000 0000 0002 거절 · 4000 0000 0000 3000 지연 · 4000 0000 0000 5000 오류"
                    </p>
                    {move || error().map(|e| {
                        let busy = matches!(e, AppError::PaymentUnavailable { .. });
                        let message = match &e {
                            AppError::Invalid { fields } => fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join(" "),
                            other => other.to_string(),
                        };
                        view! { <p class="form-error" class:busy=busy role="alert">{message}</p> }
                    })}
                    <button
                        class="button primary"
                        data-testid="pay"
                        disabled=move || place.pending().get() || cart.0.with(|c| c.items.is_empty())
                        on:click=pay
                    >
                        {move || {
                            if place.pending().get() {
                                "결제 중…".to_string()
                            } else if matches!(error(), Some(AppError::PaymentUnavailable { .. })) {
                                "다시 결제하기".to_string()
                            } else {
                                format!("{} 결제하기", cart.0.with(|c| c.total()))
                            }
                        }}
                    </button>
                </section>
            }
            .into_any()
        }).into_any()
    }
}

fn order_view(
    order: OrderDetail,
    cancel: ServerAction<CancelOrder>,
    confirm_received: ServerAction<ConfirmDelivery>,
    live: LiveUpdates,
) -> impl IntoView {
    let order_id = order.id;
    let can_cancel = order.status.customer_can_cancel();
    let can_confirm = order.status.customer_can_confirm();
    view! {
        <Title text=format!("주문 #{}", order.id) />
        <section class="page-head">
            <A href="/orders">"← 내 주문"</A>
            <h1 data-testid="order-number">{format!("주문 #{}", order.id)} " " <LiveBadge updates=live /></h1>
            <p class="status-line" data-testid="order-status">
                <span class="badge open">{order.payment.status_label.clone()}</span>
                " "
                <span class="badge status">{order.status.label()}</span>
            </p>
            {order.note.clone().map(|note| view! { <p class="form-error" data-testid="order-note">{note}</p> })}
            {order.rider_name.clone().map(|rider| view! { <p class="muted" data-testid="order-rider">{format!("라이더: {rider}")}</p> })}
        </section>
        {can_confirm.then(|| view! {
            <section class="panel confirm-panel">
                <p>"음식을 받으셨나요? 배송확인을 누르면 주문이 완료됩니다."</p>
                {move || confirm_received.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                <button
                    class="button primary"
                    data-testid="confirm-delivery"
                    disabled=move || confirm_received.pending().get()
                    on:click=move |_| { confirm_received.dispatch(ConfirmDelivery { order_id }); }
                >
                    "배송확인"
                </button>
            </section>
        })}
        <section class="panel">
            <h2>"진행 상황"</h2>
            <ol class="timeline" data-testid="timeline">
                {order
                    .timeline
                    .iter()
                    .map(|entry| {
                        view! {
                            <li>
                                <span class="time">{korea_clock(entry.at_ms)}</span>
                                {entry.status.label()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
        <section class="panel">
            <h2>{order.store_name.clone()}</h2>
            <table class="menu-table">
                <tbody>
                    {order
                        .lines
                        .into_iter()
                        .map(|line| {
                            view! {
                                <tr>
                                    <td>{line.name}</td>
                                    <td class="num">{format!("{}개", line.quantity)}</td>
                                    <td class="num">{line.subtotal.to_string()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="total" data-testid="order-total">"결제 금액 " <strong>{order.total.to_string()}</strong></p>
            <p class="muted small">{format!("결제 수단: {}", order.payment.card_hint)}</p>
        </section>
        {can_cancel.then(|| view! {
            <section class="panel">
                <p class="muted small">"요리가 시작되기 전까지 주문을 취소할 수 있습니다. 취소하면 결제 금액이 환불됩니다."</p>
                {move || cancel.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
                <button
                    class="button"
                    data-testid="cancel-order"
                    disabled=move || cancel.pending().get()
                    on:click=move |_| {
                        if confirm("이 주문을 취소할까요? 결제 금액은 환불됩니다.") {
                            cancel.dispatch(CancelOrder { order_id });
                        }
                    }
                >
                    "주문 취소"
                </button>
            </section>
        })}
    }
}

/// The page, loaded lazily (`#[lazy_route]`): `data` (in the main module) makes its data,
/// `view` comes in a chunk of its own, fetched when the page is first shown.
pub struct OrderPage {
    gate: Gate,
    cancel: ServerAction<CancelOrder>,
    confirm_received: ServerAction<ConfirmDelivery>,
    live: LiveUpdates,
    order: Resource<Result<OrderDetail, AppError>>,
}

#[lazy_route]
impl LazyRoute for OrderPage {
    fn data() -> Self {
        let gate = Gate::for_role(Role::Customer);
        let order_id = id_param();
        let cancel = ServerAction::<CancelOrder>::new();
        let confirm_received = ServerAction::<ConfirmDelivery>::new();
        // The store, riders and the worker move the order along; the server pushes a hint at
        // each step and the page re-reads the order.
        let live = gate.live;
        let order = Resource::new(
            move || {
                (
                    order_id.get(),
                    live.changes.get(),
                    cancel.version().get() + confirm_received.version().get(),
                )
            },
            move |(id, _, _)| async move {
                gate.allowed()?;
                get_order(id).await
            },
        );
        OrderPage {
            gate,
            cancel,
            confirm_received,
            live,
            order,
        }
    }

    fn view(this: Self) -> AnyView {
        let OrderPage {
            gate,
            cancel,
            confirm_received,
            live,
            order,
        } = this;
        gate.render(move |_user| {
            view! {
                <Transition fallback=Loading>
                    {move || Suspend::new(async move { order.await.map(|o| order_view(o, cancel, confirm_received, live)) })}
                </Transition>
            }
            .into_any()
        }).into_any()
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let gate = Gate::for_role(Role::Customer);
    let live = gate.live;
    let orders = Resource::new(
        move || live.changes.get(),
        move |_| async move {
            gate.allowed()?;
            my_orders().await
        },
    );
    gate.render(move |_user| {
        view! {
            <Title text="내 주문" />
            <section class="page-head">
                <h1>"내 주문"</h1>
            </section>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    orders.await.map(|orders| {
                        if orders.is_empty() {
                            return view! { <p class="empty">"아직 주문이 없습니다."</p> }.into_any();
                        }
                        view! {
                            <ul class="card-list" data-testid="order-list">
                                {orders
                                    .into_iter()
                                    .map(|order| {
                                        view! {
                                            <li class="card">
                                                <a class="card-link" href=format!("/orders/{}", order.id)>
                                                    <div class="card-title">
                                                        <strong>{format!("#{} {}", order.id, order.store_name)}</strong>
                                                        <span class="badge status">{order.status.label()}</span>
                                                    </div>
                                                    <p class="muted">{format!("{} · {}", order.items, order.total)}</p>
                                                </a>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    })
                })}
            </Transition>
        }
        .into_any()
    })
}
