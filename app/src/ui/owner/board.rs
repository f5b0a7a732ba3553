//! One store's panel of the order board: the open/closed switch, today's numbers, the sold-out
//! dishes, and the incoming orders by stage (tabs) with each order's actions.

use super::{Actions, PageState};
use crate::api::{OrderAction, SetStoreOpen};
use crate::domain::{
    korea_clock, OrderStatus, StoreBoard, StoreId, StoreOrder, COOK_MINUTE_CHOICES, REJECT_REASONS,
};
use leptos::prelude::*;

/// The tabs of the incoming-orders board and which statuses each shows.
const TABS: [(&str, &[OrderStatus]); 5] = [
    ("신규", &[OrderStatus::Placed]),
    ("접수", &[OrderStatus::Accepted]),
    ("조리 중", &[OrderStatus::Cooking]),
    ("조리 완료", &[OrderStatus::Cooked]),
    (
        "완료",
        &[
            OrderStatus::RiderAssigned,
            OrderStatus::PickedUp,
            OrderStatus::Delivered,
            OrderStatus::Completed,
            OrderStatus::Rejected,
            OrderStatus::Cancelled,
        ],
    ),
];

fn minutes_ago(created_at_ms: i64, now_ms: i64) -> String {
    let minutes = ((now_ms - created_at_ms) / 60_000).max(0);
    if minutes == 0 {
        "방금".into()
    } else {
        format!("{minutes}분 전")
    }
}

fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys_now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> i64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| (p.time_origin() + p.now()) as i64)
        .unwrap_or_default()
}

pub(super) fn store_panel(board: StoreBoard, actions: Actions, state: PageState) -> impl IntoView {
    let StoreBoard {
        store,
        orders,
        today,
    } = board;
    let store_id = store.id;
    let is_open = store.is_open;
    // Shown at once when pressed; the next read confirms it.
    let open = move || match (actions.open.input().get(), actions.open.pending().get()) {
        (Some(pressed), true) if pressed.store_id == store_id => pressed.open,
        _ => is_open,
    };
    let new_orders = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Placed)
        .count();
    let peak = today
        .orders_per_hour
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let counts: Vec<usize> = TABS
        .iter()
        .map(|(_, statuses)| {
            orders
                .iter()
                .filter(|o| statuses.contains(&o.status))
                .count()
        })
        .collect();
    let now = now_ms();
    let shown_orders = move || {
        let statuses = TABS[state.tab(store_id)].1;
        let shown: Vec<StoreOrder> = orders
            .iter()
            .filter(|o| statuses.contains(&o.status))
            .cloned()
            .collect();
        if shown.is_empty() {
            return view! { <p class="empty">"주문이 없습니다."</p> }.into_any();
        }
        view! {
            <ul class="card-list store-orders" data-testid="store-orders">
                {shown.into_iter().map(|order| order_card(order, now, store_id, actions, state)).collect_view()}
            </ul>
        }
        .into_any()
    };
    // A refused opening (nothing in stock) says why, under the switch.
    let open_error = move || {
        (state.opened_for.get() == Some(store_id))
            .then(|| actions.open.value().get().and_then(Result::err))
            .flatten()
            .map(|e| view! { <p class="form-error" role="alert" data-testid="open-error">{e.to_string()}</p> })
    };
    let order_error = move || {
        (state.order_acted_for.get() == Some(store_id))
            .then(|| actions.order.value().get().and_then(Result::err))
            .flatten()
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <section class="panel store-panel" data-testid="owned-store" data-store-id=store_id.get()>
            <div class="card-title">
                <h2>{store.name.clone()}</h2>
                <button
                    class=move || if open() { "badge open toggle" } else { "badge closed toggle" }
                    data-testid="open-toggle"
                    on:click=move |_| {
                        state.opened_for.set(Some(store_id));
                        actions.open.dispatch(SetStoreOpen { store_id, open: !open() });
                    }
                >
                    {move || if open() { "영업 중 (눌러서 마감)" } else { "영업 종료 (눌러서 시작)" }}
                </button>
            </div>
            {open_error}
            <p class="muted">{format!("{} · {}", store.district, store.address)}</p>
            <p class="sold-out-note" class:none=store.sold_out.is_empty() data-testid="sold-out">
                {if store.sold_out.is_empty() {
                    "품절된 메뉴가 없습니다.".to_string()
                } else {
                    format!("품절 {}개: {}", store.sold_out.len(), store.sold_out.join(", "))
                }}
                " " <a href="/store/menu">"재고 입력 →"</a>
            </p>
            <div class="dashboard" data-testid="dashboard">
                <p>
                    "오늘 주문 " <strong data-testid="orders-today">{format!("{}건", today.orders_today)}</strong>
                    " · 매출 " <strong data-testid="sales-today">{today.sales_today.to_string()}</strong>
                </p>
                <div class="hour-chart" aria-label="시간대별 주문 수">
                    {today.orders_per_hour.iter().enumerate().map(|(hour, count)| {
                        let height = format!("height: {}%", count * 100 / peak);
                        view! { <span class="bar" style=height title=format!("{hour}시 {count}건")></span> }
                    }).collect_view()}
                </div>
                <div class="hour-axis"><span>"0시"</span><span>"12시"</span><span>"23시"</span></div>
            </div>
            {(new_orders > 0).then(|| view! {
                <p class="new-order-alert" role="status" data-testid="new-order-alert">
                    {format!("새 주문 {new_orders}건이 들어왔습니다! 수락하거나 거절해 주세요.")}
                </p>
            })}
            <nav class="tabs" role="tablist">
                {TABS
                    .iter()
                    .enumerate()
                    .map(|(i, (label, _))| {
                        let count = counts[i];
                        view! {
                            <button
                                role="tab"
                                class="tab"
                                class:active=move || state.tab(store_id) == i
                                on:click=move |_| state.tabs.update(|tabs| { tabs.insert(store_id, i); })
                            >
                                {*label} " " <span class="count">{count}</span>
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            {shown_orders}
            {order_error}
        </section>
    }
}

fn order_card(
    order: StoreOrder,
    now: i64,
    store_id: StoreId,
    actions: Actions,
    state: PageState,
) -> impl IntoView {
    let id = order.id;
    let promised = promise(&order);
    let send = move |action: &'static str, reason: String| {
        state.order_acted_for.set(Some(store_id));
        let cook_minutes = match action {
            "accept" => state.cook_minutes(id).to_string(),
            _ => String::new(),
        };
        actions.order.dispatch(OrderAction {
            order_id: id,
            action: action.to_string(),
            reason,
            cook_minutes,
        });
    };
    let buttons = match order.status {
        OrderStatus::Placed => view! {
            <select
                class="cook-minutes"
                aria-label="조리 시간"
                data-testid="cook-minutes"
                prop:value=move || state.cook_minutes(id).to_string()
                on:change=move |ev| {
                    if let Ok(minutes) = event_target_value(&ev).parse::<i64>() {
                        state.cook_minutes.update(|picked| { picked.insert(id, minutes); });
                    }
                }
            >
                {COOK_MINUTE_CHOICES
                    .iter()
                    .map(|m| view! { <option value=m.to_string() selected=*m == state.cook_minutes(id)>{format!("{m}분")}</option> })
                    .collect_view()}
            </select>
            <button class="button small primary" on:click=move |_| send("accept", String::new())>"수락"</button>
            <select class="reject-reason" aria-label="거절 사유" on:change=move |ev| {
                let reason = event_target_value(&ev);
                if !reason.is_empty() {
                    send("reject", reason);
                }
            }>
                <option value="">"거절…"</option>
                {REJECT_REASONS.iter().map(|r| view! { <option value=*r>{*r}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        OrderStatus::Accepted => view! { <button class="button small primary" on:click=move |_| send("start_cooking", String::new())>"요리 시작"</button> }.into_any(),
        OrderStatus::Cooking => view! { <button class="button small primary" on:click=move |_| send("finish_cooking", String::new())>"요리 완료"</button> }.into_any(),
        _ => ().into_any(),
    };
    view! {
        <li class="card store-order" data-testid="store-order" data-order-id=id.get()>
            <div class="card-title">
                <strong>{format!("#{} · {}", order.id, order.status.label())}</strong>
                {order.late.then(|| view! { <span class="badge late" data-testid="late">"지연"</span> })}
                <span class="muted small">{minutes_ago(order.created_at_ms, now)}</span>
            </div>
            <p>{order.lines.join(", ")}</p>
            {order.store_note.map(|note| view! { <p class="order-note" data-testid="store-note">{format!("요청사항: {note}")}</p> })}
            <p class="muted small">{format!("{} · 배달지 {}", order.total, order.delivery_district)}</p>
            {promised}
            <div class="actions">{buttons}</div>
        </li>
    }
}

/// "조리 19:20까지 · 도착 예정 19:42": the cooking time promised while it is being cooked,
/// then the customer's ETA.
fn promise(order: &StoreOrder) -> Option<impl IntoView> {
    let cooking = matches!(order.status, OrderStatus::Accepted | OrderStatus::Cooking);
    let cook_by = order
        .cook_by_ms
        .filter(|_| cooking)
        .map(|at| format!("조리 {}까지", korea_clock(at)));
    let eta = order
        .eta_ms
        .map(|at| format!("도착 예정 {}", korea_clock(at)));
    let text = cook_by
        .into_iter()
        .chain(eta)
        .collect::<Vec<_>>()
        .join(" · ");
    (!text.is_empty()).then(|| view! { <p class="small promise" data-testid="promise">{text}</p> })
}
