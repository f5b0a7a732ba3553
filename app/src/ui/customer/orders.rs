//! The customer's orders (내 주문): the list (`/orders`) and one order (`/orders/:id`), each a
//! lazy route with its progress and 도착 예정 시각 (from the store's
//! acceptance on, re-read with the order at every step), cancelling, confirming delivery and
//! ordering it again (재주문: today's prices and stock, what changed shown before the cart).

use super::id_param;
use crate::api::{get_order, my_orders, CancelOrder, ConfirmDelivery, Reorder};
use crate::codec::load;
use crate::domain::{korea_clock, OrderDetail, OrderId, ReorderPlan, Role};
use crate::ui::auth::Gate;
use crate::ui::cart::{confirm, use_cart, CartItem};
use crate::ui::head;
use crate::ui::layout::Loading;
use crate::ui::live::{LiveBadge, LiveUpdates};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use leptos_router::{lazy_route, LazyRoute};

fn order_view(
    order: OrderDetail,
    cancel: ServerAction<CancelOrder>,
    confirm_received: ServerAction<ConfirmDelivery>,
    again: ServerAction<Reorder>,
    live: LiveUpdates,
) -> impl IntoView {
    let order_id = order.id;
    let can_cancel = order.status.customer_can_cancel();
    let can_confirm = order.status.customer_can_confirm();
    view! {
        {head::title(format!("주문 #{}", order.id))}
        <section class="page-head">
            <A href="/orders">"← 내 주문"</A>
            <h1 data-testid="order-number">{format!("주문 #{}", order.id)} " " <LiveBadge updates=live /></h1>
            <p class="status-line" data-testid="order-status">
                <span class="badge open">{order.payment.status_label.clone()}</span>
                " "
                <span class="badge status">{order.status.label()}</span>
            </p>
            {order.eta_ms.map(|eta| view! {
                <p class="eta" data-testid="eta">"도착 예정 시각 " <strong>{korea_clock(eta)}</strong></p>
            })}
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
            {(order.delivery_tip.0 > 0).then(|| view! {
                <p class="muted" data-testid="order-tip">{format!("배달팁 {}", order.delivery_tip)}</p>
            })}
            <p class="total" data-testid="order-total">"결제 금액 " <strong>{order.total.to_string()}</strong></p>
            {order.delivery_address.clone().map(|address| view! {
                <p class="muted small" data-testid="order-address">{format!("배달 주소: {address}")}</p>
            })}
            <p class="muted small">{format!("결제 수단: {}", order.payment.card_hint)}</p>
            {order.store_note.map(|note| view! { <p class="order-note" data-testid="store-note">{format!("가게 요청사항: {note}")}</p> })}
            {order.rider_note.map(|note| view! { <p class="order-note" data-testid="rider-note">{format!("배달 요청사항: {note}")}</p> })}
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
        {reorder_panel(order_id, again)}
    }
}

/// 재주문: asks the server for today's version of this order, shows what changed, and only then
/// puts it in the cart (replacing what was there) and opens checkout.
fn reorder_panel(order_id: OrderId, again: ServerAction<Reorder>) -> impl IntoView {
    let cart = use_cart();
    let navigate = use_navigate();
    let planned = move |plan: ReorderPlan| {
        let total = plan.total().to_string();
        let orderable = plan.store_open && !plan.lines.is_empty();
        let lines = plan
            .lines
            .iter()
            .map(|l| view! { <li>{format!("{} ×{} · {}", l.name, l.quantity, l.unit_price)}</li> })
            .collect_view();
        let changes = plan
            .changes
            .iter()
            .map(|c| view! { <li>{c.clone()}</li> })
            .collect_view();
        let unchanged = plan.changes.is_empty();
        let navigate = navigate.clone();
        view! {
            <div data-testid="reorder-plan">
                {unchanged.then(|| view! { <p class="muted small">"지난번과 같은 메뉴, 같은 가격입니다."</p> })}
                {(!unchanged).then(|| view! {
                    <p class="small"><strong>"지난 주문과 달라진 점"</strong></p>
                    <ul class="small" data-testid="reorder-changes">{changes}</ul>
                })}
                <ul class="small">{lines}</ul>
                <p class="total">"예상 금액 " <strong data-testid="reorder-total">{total}</strong></p>
                <button
                    class="button primary"
                    data-testid="reorder-to-cart"
                    disabled=!orderable
                    on:click=move |_| {
                        let items = plan
                            .lines
                            .iter()
                            .map(|l| CartItem {
                                food_id: l.food_id,
                                name: l.name.clone(),
                                price: l.unit_price,
                                quantity: l.quantity,
                            })
                            .collect();
                        cart.0.update(|c| c.refill(plan.store_id, &plan.store_name, items));
                        navigate("/checkout", Default::default());
                    }
                >
                    "장바구니에 담고 결제하기"
                </button>
            </div>
        }
    };
    view! {
        <section class="panel">
            <button
                class="button"
                data-testid="reorder"
                disabled=move || again.pending().get()
                on:click=move |_| {
                    again.dispatch(Reorder { order_id });
                }
            >
                "재주문"
            </button>
            {move || again.value().get().map(|answer| match answer {
                Ok(plan) => planned(plan).into_any(),
                Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

/// The page, loaded lazily (`#[lazy_route]`): its code, data included, comes in a file of its
/// own, fetched when the page is first shown (preloaded by the server's HTML when it is the
/// page rendered).
pub struct OrderPage;

#[lazy_route]
impl LazyRoute for OrderPage {
    fn data() -> Self {
        OrderPage
    }

    fn view(_page: Self) -> AnyView {
        let gate = Gate::for_role(Role::Customer);
        let order_id = id_param();
        let cancel = ServerAction::<CancelOrder>::new();
        let confirm_received = ServerAction::<ConfirmDelivery>::new();
        let again = ServerAction::<Reorder>::new();
        // The store, riders and the worker move the order along; the server pushes a hint at
        // each step and the page re-reads the order.
        let live = gate.live;
        let order = load(
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
        gate.render(move |_user| {
            view! {
                <Transition fallback=Loading>
                    {move || Suspend::new(async move { order.await.map(|o| order_view(o, cancel, confirm_received, again, live)) })}
                </Transition>
            }
            .into_any()
        }).into_any()
    }
}

/// The page, loaded lazily (`#[lazy_route]`) like every other: the main module holds only
/// what every page needs, so the owner's and the rider's first loads do not carry it.
pub struct OrdersPage;

#[lazy_route]
impl LazyRoute for OrdersPage {
    fn data() -> Self {
        OrdersPage
    }

    fn view(_page: Self) -> AnyView {
        orders_page().into_any()
    }
}

fn orders_page() -> impl IntoView {
    let gate = Gate::for_role(Role::Customer);
    let live = gate.live;
    let orders = load(
        move || live.changes.get(),
        move |_| async move {
            gate.allowed()?;
            my_orders().await
        },
    );
    gate.render(move |_user| {
        view! {
            {head::title("내 주문")}
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
