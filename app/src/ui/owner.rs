//! The store owner's home: per store, the open/closed switch, incoming orders by stage with
//! their actions, and the stock of every dish (what can still be cooked today).

use super::auth::role_page;
use super::layout::Loading;
use super::live::{use_live, LiveBadge};
use crate::api::{
    get_store_dashboard, my_stores, store_orders, OrderAction, SaveFood, SetFoodStock, SetStoreOpen,
};
use crate::domain::{MenuItem, OrderStatus, OwnedStore, Role, StoreOrder, REJECT_REASONS};
use leptos::prelude::*;
use leptos_meta::Title;

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

#[component]
pub fn StoreHome() -> impl IntoView {
    role_page(Role::Owner, |_user| {
        // Bumped after a dish is added or edited, to re-read the menus.
        let menus = RwSignal::new(0u32);
        provide_context(MenuVersion(menus));
        let stores = Resource::new(move || menus.get(), |_| my_stores());
        let live = use_live();
        view! {
            <Title text="내 상점" />
            <section class="page-head">
                <h1>"내 상점" " " <LiveBadge updates=live /></h1>
                <p class="muted">"들어온 주문을 수락하고, 요리 가능한 재고 수량을 입력하세요."</p>
            </section>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    stores
                        .await
                        .map(|stores| {
                            if stores.is_empty() {
                                return view! { <p class="empty">"등록된 상점이 없습니다."</p> }.into_any();
                            }
                            stores.into_iter().map(|store| view! { <StorePanel store /> }).collect_view().into_any()
                        })
                })}
            </Suspense>
        }
        .into_any()
    })
}

#[derive(Clone, Copy)]
struct MenuVersion(RwSignal<u32>);

#[component]
fn StorePanel(store: OwnedStore) -> impl IntoView {
    let store_id = store.id;
    let open = RwSignal::new(store.is_open);
    let set_open = ServerAction::<SetStoreOpen>::new();
    let act = ServerAction::<OrderAction>::new();
    // New orders arrive through the outbox worker, which pushes a hint (`/live`) once the
    // order is in the store's queue; the board re-reads then and after every action.
    let tick = use_live().changes;
    let orders = Resource::new(
        move || (store_id, tick.get(), act.version().get()),
        |(id, _, _)| store_orders(id),
    );
    let dashboard = Resource::new(
        move || (store_id, tick.get(), act.version().get()),
        |(id, _, _)| get_store_dashboard(id),
    );
    let tab = RwSignal::new(0usize);
    let seen_new = RwSignal::new(None::<usize>);
    let alert = RwSignal::new(false);
    view! {
        <section class="panel store-panel" data-testid="owned-store">
            <div class="card-title">
                <h2>{store.name.clone()}</h2>
                <button
                    class=move || if open.get() { "badge open toggle" } else { "badge closed toggle" }
                    data-testid="open-toggle"
                    on:click=move |_| {
                        let next = !open.get_untracked();
                        open.set(next);
                        set_open.dispatch(SetStoreOpen { store_id, open: next });
                    }
                >
                    {move || if open.get() { "영업 중 (눌러서 마감)" } else { "영업 종료 (눌러서 시작)" }}
                </button>
            </div>
            <p class="muted">{format!("{} · {}", store.district, store.address)}</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    dashboard.await.map(|today| {
                        let peak = today.orders_per_hour.iter().copied().max().unwrap_or(0).max(1);
                        view! {
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
                        }
                    })
                })}
            </Transition>
            {move || alert.get().then(|| view! { <p class="new-order-alert" role="status">"새 주문이 들어왔습니다!"</p> })}
            <nav class="tabs" role="tablist">
                {TABS
                    .iter()
                    .enumerate()
                    .map(|(i, (label, statuses))| {
                        let count = move || {
                            orders.get().and_then(Result::ok).map(|o| o.iter().filter(|o| statuses.contains(&o.status)).count()).unwrap_or(0)
                        };
                        view! {
                            <button role="tab" class="tab" class:active=move || tab.get() == i on:click=move |_| { tab.set(i); if i == 0 { alert.set(false); } }>
                                {*label} " " <span class="count">{count}</span>
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    orders.await.map(|orders| {
                        let new_count = orders.iter().filter(|o| o.status == OrderStatus::Placed).count();
                        if let Some(previous) = seen_new.get_untracked() {
                            if new_count > previous {
                                alert.set(true);
                                chime();
                            }
                        }
                        seen_new.set(Some(new_count));
                        let statuses = TABS[tab.get()].1;
                        let shown: Vec<StoreOrder> = orders.into_iter().filter(|o| statuses.contains(&o.status)).collect();
                        if shown.is_empty() {
                            return view! { <p class="empty">"주문이 없습니다."</p> }.into_any();
                        }
                        let now = now_ms();
                        view! {
                            <ul class="card-list store-orders" data-testid="store-orders">
                                {shown.into_iter().map(|order| order_card(order, now, act)).collect_view()}
                            </ul>
                        }
                        .into_any()
                    })
                })}
            </Transition>
            {move || act.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
            <h3>"메뉴와 재고"</h3>
            <table class="menu-table stock-table">
                <thead>
                    <tr>
                        <th>"메뉴"</th>
                        <th class="num">"재고"</th>
                    </tr>
                </thead>
                <tbody>
                    {store.menu.iter().cloned().map(|item| view! { <StockRow food_id=item.id name=item.name price=item.price.to_string() stock=item.stock /> }).collect_view()}
                </tbody>
            </table>
            <MenuEditor store_id menu=store.menu />
        </section>
    }
}

/// Add a dish, or pick one to edit its name, description, price, or hide it from customers.
#[component]
fn MenuEditor(store_id: i64, menu: Vec<MenuItem>) -> impl IntoView {
    let save = ServerAction::<SaveFood>::new();
    let version = expect_context::<MenuVersion>().0;
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            version.update(|v| *v += 1);
        }
    });
    let food_id = RwSignal::new(0i64);
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let price = RwSignal::new(String::new());
    let hidden = RwSignal::new(false);
    let error = move |field: &'static str| {
        save.value()
            .get()
            .and_then(Result::err)
            .and_then(|e| e.field(field))
    };
    let submit = move |_| {
        save.dispatch(SaveFood {
            store_id,
            food_id: food_id.get_untracked(),
            name: name.get_untracked(),
            description: description.get_untracked(),
            price: price.get_untracked(),
            hidden: hidden.get_untracked(),
        });
    };
    view! {
        <details class="menu-editor">
            <summary>"메뉴 추가 · 수정"</summary>
            <div class="form">
                <label>
                    "수정할 메뉴"
                    <select aria-label="수정할 메뉴" on:change={
                        let menu = menu.clone();
                        move |ev| {
                            let chosen: i64 = event_target_value(&ev).parse().unwrap_or(0);
                            match menu.iter().find(|m| m.id == chosen) {
                                Some(item) => {
                                    food_id.set(item.id);
                                    name.set(item.name.clone());
                                    description.set(item.description.clone());
                                    price.set(item.price.0.to_string());
                                    hidden.set(item.is_hidden);
                                }
                                None => {
                                    food_id.set(0);
                                    name.set(String::new());
                                    description.set(String::new());
                                    price.set(String::new());
                                    hidden.set(false);
                                }
                            }
                        }
                    }>
                        <option value="0">"새 메뉴"</option>
                        {menu.iter().map(|m| view! { <option value=m.id.to_string()>{m.name.clone()}{if m.is_hidden { " (숨김)" } else { "" }}</option> }).collect_view()}
                    </select>
                </label>
                <label>"메뉴 이름" <input type="text" maxlength="40" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                {move || error("name").map(|m| view! { <p class="field-error">{m}</p> })}
                <label>"설명" <input type="text" maxlength="200" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) /></label>
                {move || error("description").map(|m| view! { <p class="field-error">{m}</p> })}
                <label>"가격 (원)" <input type="number" min="1" step="1" inputmode="numeric" prop:value=move || price.get() on:input=move |ev| price.set(event_target_value(&ev)) /></label>
                {move || error("price").map(|m| view! { <p class="field-error">{m}</p> })}
                <label class="check"><input type="checkbox" prop:checked=move || hidden.get() on:change=move |ev| hidden.set(event_target_checked(&ev)) /> "고객에게 숨기기"</label>
                <button class="button primary" on:click=submit disabled=move || save.pending().get()>"메뉴 저장"</button>
                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <p class="saved">"저장되었습니다."</p> })}
            </div>
        </details>
    }
}

fn order_card(order: StoreOrder, now: i64, act: ServerAction<OrderAction>) -> impl IntoView {
    let id = order.id;
    let send = move |action: &'static str, reason: String| {
        act.dispatch(OrderAction {
            order_id: id,
            action: action.to_string(),
            reason,
        });
    };
    let buttons = match order.status {
        OrderStatus::Placed => view! {
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
        <li class="card store-order" data-testid="store-order" data-order-id=id>
            <div class="card-title">
                <strong>{format!("#{} · {}", order.id, order.status.label())}</strong>
                <span class="muted small">{minutes_ago(order.created_at_ms, now)}</span>
            </div>
            <p>{order.lines.join(", ")}</p>
            <p class="muted small">{format!("{} · 배달지 {}", order.total, order.delivery_district)}</p>
            <div class="actions">{buttons}</div>
        </li>
    }
}

#[component]
fn StockRow(food_id: i64, name: String, price: String, stock: i64) -> impl IntoView {
    let save = ServerAction::<SetFoodStock>::new();
    let value = RwSignal::new(stock.to_string());
    let label = format!("{name} 재고");
    view! {
        <tr class:sold-out=move || value.get().trim() == "0">
            <td>{name} <span class="muted small price-note">{price}</span></td>
            <td class="num stock-cell">
                <input
                    class="stock-input"
                    type="number"
                    min="0"
                    step="1"
                    inputmode="numeric"
                    aria-label=label
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
                <button class="button small" on:click=move |_| { save.dispatch(SetFoodStock { food_id, stock: value.get_untracked() }); }>"저장"</button>
                {move || match save.value().get() {
                    Some(Ok(())) => view! { <span class="saved stock-message">"저장됨"</span> }.into_any(),
                    Some(Err(e)) => view! { <span class="field-error stock-message">{e.field("stock").unwrap_or_else(|| e.to_string())}</span> }.into_any(),
                    None => ().into_any(),
                }}
            </td>
        </tr>
    }
}

/// A short two-tone chime for a new order (browsers may keep it silent until the page has
/// been interacted with).
fn chime() {
    #[cfg(feature = "hydrate")]
    {
        let Ok(context) = web_sys::AudioContext::new() else {
            return;
        };
        for (i, frequency) in [880.0f32, 1320.0].into_iter().enumerate() {
            if let Ok(oscillator) = context.create_oscillator() {
                oscillator.frequency().set_value(frequency);
                let _ = oscillator.connect_with_audio_node(&context.destination());
                let start = context.current_time() + i as f64 * 0.15;
                let _ = oscillator.start_with_when(start);
                let _ = oscillator.stop_with_when(start + 0.12);
            }
        }
    }
}
