//! The store owner's home: per store, the open/closed switch, incoming orders by stage with
//! their actions, today's numbers, and the stock of every dish (what can still be cooked
//! today).
//!
//! The whole page is one read (`owner_board`), made once in the page's body and re-read at
//! every live hint and after every action, so an owner of five stores waits no longer than an
//! owner of one and every part of the page shows the same moment. What the owner is in the
//! middle of — the tab they look at, a stock number being typed, the dish form — lives in the
//! page, not in the rendered board, so a new order arriving does not wipe it.

use super::auth::Gate;
use super::layout::Loading;
use super::live::LiveBadge;
use crate::api::{get_owner_board, OrderAction, SaveFood, SetFoodStock, SetStoreOpen};
use crate::domain::{
    FoodId, MenuItem, OrderId, OrderStatus, OwnerBoard, Role, StoreBoard, StoreId, StoreOrder,
    REJECT_REASONS,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{lazy_route, LazyRoute};
use std::collections::HashMap;

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

/// The page's actions, shared by every store panel (each knows which store it acted for).
#[derive(Clone, Copy)]
struct Actions {
    order: ServerAction<OrderAction>,
    open: ServerAction<SetStoreOpen>,
    stock: ServerAction<SetFoodStock>,
    food: ServerAction<SaveFood>,
}

/// A stock number being typed, and the stock shown when typing began (what the save expects
/// to still be there).
#[derive(Debug, Clone, PartialEq)]
struct StockDraft {
    text: String,
    shown: i64,
}

/// The dish form of one store.
#[derive(Debug, Clone, Default, PartialEq)]
struct DishForm {
    /// None for a new dish.
    food_id: Option<FoodId>,
    name: String,
    description: String,
    price: String,
    hidden: bool,
}

/// What the owner is doing on the page, kept across re-reads of the board.
#[derive(Clone, Copy)]
struct PageState {
    tabs: RwSignal<HashMap<StoreId, usize>>,
    drafts: RwSignal<HashMap<FoodId, StockDraft>>,
    forms: RwSignal<HashMap<StoreId, DishForm>>,
    /// The food whose stock was saved last, the store an order action or a dish save was for.
    stock_saved_for: RwSignal<Option<FoodId>>,
    order_acted_for: RwSignal<Option<StoreId>>,
    dish_saved_for: RwSignal<Option<StoreId>>,
}

impl PageState {
    fn new() -> Self {
        PageState {
            tabs: RwSignal::new(HashMap::new()),
            drafts: RwSignal::new(HashMap::new()),
            forms: RwSignal::new(HashMap::new()),
            stock_saved_for: RwSignal::new(None),
            order_acted_for: RwSignal::new(None),
            dish_saved_for: RwSignal::new(None),
        }
    }

    fn tab(&self, store_id: StoreId) -> usize {
        self.tabs
            .with(|tabs| tabs.get(&store_id).copied())
            .unwrap_or(0)
    }

    fn form(&self, store_id: StoreId) -> DishForm {
        self.forms
            .with(|forms| forms.get(&store_id).cloned())
            .unwrap_or_default()
    }

    fn edit_form(&self, store_id: StoreId, change: impl FnOnce(&mut DishForm)) {
        self.forms
            .update(|forms| change(forms.entry(store_id).or_default()));
    }
}

/// The page, loaded lazily (`#[lazy_route]`): its data is made at once by `data` (with the
/// main module's code), its view comes in a chunk of its own that only owners download.
pub struct StoreHome {
    gate: Gate,
    actions: Actions,
    board: Resource<Result<OwnerBoard, AppError>>,
    state: PageState,
}

#[lazy_route]
impl LazyRoute for StoreHome {
    fn data() -> Self {
        let gate = Gate::for_role(Role::Owner);
        let live = gate.live;
        let actions = Actions {
            order: ServerAction::new(),
            open: ServerAction::new(),
            stock: ServerAction::new(),
            food: ServerAction::new(),
        };
        // New orders arrive through the outbox worker, which pushes a hint (`/live`) once the
        // order is in the store's queue (and its stock taken); the board re-reads then and
        // after every action of this page.
        let board = Resource::new(
            move || {
                (
                    live.changes.get(),
                    actions.order.version().get(),
                    actions.open.version().get(),
                    actions.stock.version().get(),
                    actions.food.version().get(),
                )
            },
            move |_| async move {
                gate.allowed()?;
                get_owner_board().await
            },
        );
        StoreHome {
            gate,
            actions,
            board,
            state: PageState::new(),
        }
    }

    fn view(this: Self) -> AnyView {
        let StoreHome {
            gate,
            actions,
            board,
            state,
        } = this;
        let live = gate.live;
        // A saved or refused stock number stops being a draft: the row shows the stock as it
        // is now. A number the server could not read stays for the owner to correct.
        Effect::new(move |_| {
            let finished = matches!(
                actions.stock.value().get(),
                Some(Ok(())) | Some(Err(AppError::Conflict { .. }))
            );
            if let (true, Some(food_id)) = (finished, state.stock_saved_for.get_untracked()) {
                state.drafts.update(|drafts| {
                    drafts.remove(&food_id);
                });
            }
        });
        chime_on_new_orders(board);
        gate.render(move |_user| {
            view! {
                <Title text="내 상점" />
                <section class="page-head">
                    <h1>"내 상점" " " <LiveBadge updates=live /></h1>
                    <p class="muted">"들어온 주문을 수락하고, 요리 가능한 재고 수량을 입력하세요."</p>
                </section>
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        board
                            .await
                            .map(|board| {
                                if board.stores.is_empty() {
                                    return view! { <p class="empty">"등록된 상점이 없습니다."</p> }.into_any();
                                }
                                board
                                    .stores
                                    .into_iter()
                                    .map(|store| store_panel(store, actions, state))
                                    .collect_view()
                                    .into_any()
                            })
                    })}
                </Transition>
            }
            .into_any()
        })
        .into_any()
    }
}

/// Rings when an order arrives that this page has not seen before (not at the first read).
fn chime_on_new_orders(board: Resource<Result<OwnerBoard, AppError>>) {
    let newest_seen = StoredValue::new(None::<OrderId>);
    Effect::new(move |_| {
        let Some(Ok(board)) = board.get() else {
            return;
        };
        let newest = board
            .stores
            .iter()
            .flat_map(|s| s.orders.iter())
            .filter(|o| o.status == OrderStatus::Placed)
            .map(|o| o.id)
            .max();
        let seen = newest_seen.get_value();
        if let (Some(seen), Some(newest)) = (seen, newest) {
            if newest > seen {
                chime();
            }
        }
        newest_seen.set_value(seen.max(newest).or(Some(OrderId(0))));
    });
}

fn store_panel(board: StoreBoard, actions: Actions, state: PageState) -> impl IntoView {
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
                        actions.open.dispatch(SetStoreOpen { store_id, open: !open() });
                    }
                >
                    {move || if open() { "영업 중 (눌러서 마감)" } else { "영업 종료 (눌러서 시작)" }}
                </button>
            </div>
            <p class="muted">{format!("{} · {}", store.district, store.address)}</p>
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
            <h3>"메뉴와 재고"</h3>
            <table class="menu-table stock-table">
                <thead>
                    <tr>
                        <th>"메뉴"</th>
                        <th class="num">"재고"</th>
                    </tr>
                </thead>
                <tbody>
                    {store.menu.iter().cloned().map(|item| stock_row(item, actions, state)).collect_view()}
                </tbody>
            </table>
            {menu_editor(store_id, store.menu, actions, state)}
        </section>
    }
}

/// Add a dish, or pick one to edit its name, description, price, or hide it from customers.
fn menu_editor(
    store_id: StoreId,
    menu: Vec<MenuItem>,
    actions: Actions,
    state: PageState,
) -> impl IntoView {
    let save = actions.food;
    let ours = move || state.dish_saved_for.get() == Some(store_id);
    let error = move |field: &'static str| {
        ours()
            .then(|| save.value().get().and_then(Result::err))
            .flatten()
            .and_then(|e| e.field(field))
    };
    let submit = move |_| {
        let form = state.form(store_id);
        state.dish_saved_for.set(Some(store_id));
        save.dispatch(SaveFood {
            store_id,
            food_id: form.food_id.map_or(0, FoodId::get),
            name: form.name,
            description: form.description,
            price: form.price,
            hidden: form.hidden,
        });
    };
    let field = move |read: fn(&DishForm) -> String| move || read(&state.form(store_id));
    let options = menu
        .iter()
        .map(|m| {
            let (id, label) = (m.id, format!("{}{}", m.name, if m.is_hidden { " (숨김)" } else { "" }));
            view! { <option value=id.to_string() selected=move || state.form(store_id).food_id == Some(id)>{label}</option> }
        })
        .collect_view();
    view! {
        <details class="menu-editor">
            <summary>"메뉴 추가 · 수정"</summary>
            <div class="form">
                <label>
                    "수정할 메뉴"
                    <select aria-label="수정할 메뉴" on:change=move |ev| {
                        let chosen = event_target_value(&ev).parse::<FoodId>().ok();
                        let form = menu.iter().find(|m| Some(m.id) == chosen).map(|item| DishForm {
                            food_id: Some(item.id),
                            name: item.name.clone(),
                            description: item.description.clone(),
                            price: item.price.0.to_string(),
                            hidden: item.is_hidden,
                        }).unwrap_or_default();
                        state.edit_form(store_id, |current| *current = form);
                    }>
                        <option value="0">"새 메뉴"</option>
                        {options}
                    </select>
                </label>
                <label>"메뉴 이름" <input type="text" maxlength="40" prop:value=field(|f| f.name.clone()) on:input=move |ev| state.edit_form(store_id, |f| f.name = event_target_value(&ev)) /></label>
                {move || error("name").map(|m| view! { <p class="field-error">{m}</p> })}
                <label>"설명" <input type="text" maxlength="200" prop:value=field(|f| f.description.clone()) on:input=move |ev| state.edit_form(store_id, |f| f.description = event_target_value(&ev)) /></label>
                {move || error("description").map(|m| view! { <p class="field-error">{m}</p> })}
                <label>"가격 (원)" <input type="number" min="1" step="1" inputmode="numeric" prop:value=field(|f| f.price.clone()) on:input=move |ev| state.edit_form(store_id, |f| f.price = event_target_value(&ev)) /></label>
                {move || error("price").map(|m| view! { <p class="field-error">{m}</p> })}
                <label class="check"><input type="checkbox" prop:checked=move || state.form(store_id).hidden on:change=move |ev| state.edit_form(store_id, |f| f.hidden = event_target_checked(&ev)) /> "고객에게 숨기기"</label>
                <button class="button primary" on:click=submit disabled=move || save.pending().get()>"메뉴 저장"</button>
                {move || (ours() && matches!(save.value().get(), Some(Ok(_)))).then(|| view! { <p class="saved">"저장되었습니다."</p> })}
            </div>
        </details>
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
    let send = move |action: &'static str, reason: String| {
        state.order_acted_for.set(Some(store_id));
        actions.order.dispatch(OrderAction {
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
        <li class="card store-order" data-testid="store-order" data-order-id=id.get()>
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

/// One dish's stock: the number as it is now (following orders live) until the owner types;
/// saving then only succeeds if no order changed it meanwhile.
fn stock_row(item: MenuItem, actions: Actions, state: PageState) -> impl IntoView {
    let MenuItem {
        id: food_id,
        name,
        price,
        stock,
        ..
    } = item;
    let label = format!("{name} 재고");
    let draft = move || state.drafts.with(|d| d.get(&food_id).cloned());
    let text = move || draft().map(|d| d.text).unwrap_or_else(|| stock.to_string());
    let save = move |_| {
        let Some(draft) = draft() else {
            return;
        };
        state.stock_saved_for.set(Some(food_id));
        actions.stock.dispatch(SetFoodStock {
            food_id,
            stock: draft.text,
            expected: draft.shown.to_string(),
        });
    };
    let message = move || {
        if state.stock_saved_for.get() != Some(food_id) || actions.stock.pending().get() {
            return ().into_any();
        }
        match actions.stock.value().get() {
            Some(Ok(())) => view! { <span class="saved stock-message">"저장됨"</span> }.into_any(),
            Some(Err(e)) => view! {
                <span class="field-error stock-message" role="alert">{e.field("stock").unwrap_or_else(|| e.to_string())}</span>
            }
            .into_any(),
            None => ().into_any(),
        }
    };
    view! {
        <tr class:sold-out=move || text().trim() == "0" data-testid="stock-row" data-food-id=food_id.get()>
            <td>{name} <span class="muted small price-note">{price.to_string()}</span></td>
            <td class="num stock-cell">
                <input
                    class="stock-input"
                    type="number"
                    min="0"
                    step="1"
                    inputmode="numeric"
                    aria-label=label
                    value=stock.to_string()
                    prop:value=text
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        state.drafts.update(|drafts| {
                            let shown = drafts.get(&food_id).map(|d| d.shown).unwrap_or(stock);
                            drafts.insert(food_id, StockDraft { text: typed, shown });
                        });
                    }
                />
                <button class="button small" disabled=move || draft().is_none() on:click=save>"저장"</button>
                {message}
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
