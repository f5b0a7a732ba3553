//! The store owner's home: per store, the open/closed switch, incoming orders by stage with
//! their actions, today's numbers, and the stock of every dish (what can still be cooked
//! today).
//!
//! The whole page is one read (`owner_board`), made once in the page's body and re-read at
//! every live hint and after every action, so an owner of five stores waits no longer than an
//! owner of one and every part of the page shows the same moment. What the owner is in the
//! middle of — the tab they look at, a stock number being typed, the dish form — lives in the
//! page, not in the rendered board, so a new order arriving does not wipe it.
//!
//! A new order is accepted with the cooking time the owner picks beside 수락 (the customer's
//! 도착 예정 시각 counts from it); accepted orders show that promise and the ETA, and a "지연"
//! badge once the order runs late (worked out by the server at each read).
//!
//! The page's state and its lazy route are here; a store's panel is in `board`, its menu and
//! stock in `menu`.

mod board;
mod menu;

use super::auth::Gate;
use super::layout::Loading;
use super::live::LiveBadge;
use crate::api::{
    get_owner_board, OrderAction, SaveDeliveryTerms, SaveFood, SetFoodStock, SetStoreOpen,
};
use crate::codec::{load, Loaded};
use crate::domain::{
    FoodId, OrderId, OrderStatus, OwnerBoard, Role, StoreId, DEFAULT_COOK_MINUTES,
};
use crate::error::AppError;
use crate::ui::head;
use board::store_panel;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};
use std::collections::{HashMap, HashSet};

/// The page's actions, shared by every store panel (each knows which store it acted for).
#[derive(Clone, Copy)]
struct Actions {
    order: ServerAction<OrderAction>,
    open: ServerAction<SetStoreOpen>,
    stock: ServerAction<SetFoodStock>,
    food: ServerAction<SaveFood>,
    terms: ServerAction<SaveDeliveryTerms>,
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
    /// A new dish's first stock (an existing dish's is changed in the stock table).
    stock: String,
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
    /// The store whose open/closed switch was pressed last.
    opened_for: RwSignal<Option<StoreId>>,
    /// The store whose delivery terms were saved last.
    terms_saved_for: RwSignal<Option<StoreId>>,
    /// The cooking time picked for a new order, until it is accepted (else the default).
    cook_minutes: RwSignal<HashMap<OrderId, i64>>,
    /// The stores whose dish form, and whose delivery terms form, the owner has opened (their
    /// code is loaded then; see `menu`).
    menu_opened: RwSignal<HashSet<StoreId>>,
    terms_opened: RwSignal<HashSet<StoreId>>,
    /// Delivery terms being typed, by store and field, until they are saved.
    terms_typed: RwSignal<HashMap<(StoreId, &'static str), String>>,
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
            opened_for: RwSignal::new(None),
            terms_saved_for: RwSignal::new(None),
            cook_minutes: RwSignal::new(HashMap::new()),
            menu_opened: RwSignal::new(HashSet::new()),
            terms_opened: RwSignal::new(HashSet::new()),
            terms_typed: RwSignal::new(HashMap::new()),
        }
    }

    fn cook_minutes(&self, order_id: OrderId) -> i64 {
        self.cook_minutes
            .with(|picked| picked.get(&order_id).copied())
            .unwrap_or(DEFAULT_COOK_MINUTES)
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

/// The page, loaded lazily (`#[lazy_route]`): its code, data included, comes in a file of its
/// own that only owners download.
pub struct StoreHome;

#[lazy_route]
impl LazyRoute for StoreHome {
    fn data() -> Self {
        StoreHome
    }

    fn view(_page: Self) -> AnyView {
        let gate = Gate::for_role(Role::Owner);
        let live = gate.live;
        let actions = Actions {
            order: ServerAction::new(),
            open: ServerAction::new(),
            stock: ServerAction::new(),
            food: ServerAction::new(),
            terms: ServerAction::new(),
        };
        // New orders arrive through the outbox worker, which pushes a hint (`/live`) once the
        // order is in the store's queue (and its stock taken); the board re-reads then and
        // after every action of this page.
        let board = load(
            move || {
                (
                    live.changes.get(),
                    actions.order.version().get(),
                    actions.open.version().get(),
                    actions.stock.version().get(),
                    actions.food.version().get(),
                    // Only a saved change re-reads the board: refused terms stay as typed.
                    actions.terms.value().get().and_then(Result::ok),
                )
            },
            move |_| async move {
                gate.allowed()?;
                get_owner_board().await
            },
        );
        let state = PageState::new();
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
        // Saved terms stop being typed: the form shows them as saved. Refused ones stay.
        Effect::new(move |_| {
            if let (Some(Ok(_)), Some(store_id)) = (
                actions.terms.value().get(),
                state.terms_saved_for.get_untracked(),
            ) {
                state
                    .terms_typed
                    .update(|typed| typed.retain(|(store, _), _| *store != store_id));
            }
        });
        chime_on_new_orders(board);
        gate.render(move |_user| {
            view! {
                {head::title("내 상점")}
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
fn chime_on_new_orders(board: Loaded<OwnerBoard>) {
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
