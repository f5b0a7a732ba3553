//! The store owner's two pages.
//!
//! `/store` (`StoreHome`), what an owner keeps open all service long: per store, the
//! open/closed switch, today's numbers, the incoming orders by stage with their actions, and
//! which dishes are sold out. `/store/menu` (`StoreMenu`, in `menu`), what they open now and
//! then: every dish's stock, the dish form and the delivery terms. Two pages, as delivery apps'
//! store apps have them, so the order board, the page every owner opens first, comes with the
//! code of its own actions only (docs/benchmarks.md, issue 16).
//!
//! The order board is one read (`owner_board`), made once in the page's body and re-read at
//! every live hint and after every action, so an owner of five stores waits no longer than an
//! owner of one and every part of the page shows the same moment. What the owner is in the
//! middle of — the tab they look at, the cooking time picked for a new order — lives in the
//! page, not in the rendered board, so a new order arriving does not wipe it.
//!
//! A new order is accepted with the cooking time the owner picks beside 수락 (the customer's
//! 도착 예정 시각 counts from it); accepted orders show that promise and the ETA, and a "지연"
//! badge once the order runs late (worked out by the server at each read).
//!
//! The order board's page and state are here, a store's panel in `board`.

mod board;
mod menu;

pub use menu::StoreMenu;

use super::auth::Gate;
use super::layout::Loading;
use super::live::LiveBadge;
use crate::api::{get_owner_board, OrderAction, SetStoreOpen};
use crate::codec::{load, Loaded};
use crate::domain::{OrderId, OrderStatus, OwnerBoard, Role, StoreId, DEFAULT_COOK_MINUTES};
use crate::ui::head;
use board::store_panel;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};
use std::collections::HashMap;

/// The page's actions, shared by every store panel (each knows which store it acted for).
#[derive(Clone, Copy)]
struct Actions {
    order: ServerAction<OrderAction>,
    open: ServerAction<SetStoreOpen>,
}

/// What the owner is doing on the page, kept across re-reads of the board.
#[derive(Clone, Copy)]
struct PageState {
    tabs: RwSignal<HashMap<StoreId, usize>>,
    /// The store an order action was for.
    order_acted_for: RwSignal<Option<StoreId>>,
    /// The store whose open/closed switch was pressed last.
    opened_for: RwSignal<Option<StoreId>>,
    /// The cooking time picked for a new order, until it is accepted (else the default).
    cook_minutes: RwSignal<HashMap<OrderId, i64>>,
}

impl PageState {
    fn new() -> Self {
        PageState {
            tabs: RwSignal::new(HashMap::new()),
            order_acted_for: RwSignal::new(None),
            opened_for: RwSignal::new(None),
            cook_minutes: RwSignal::new(HashMap::new()),
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
}

/// The order board, loaded lazily (`#[lazy_route]`): its code, data included, comes in a file
/// of its own that only owners download.
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
                )
            },
            move |_| async move {
                gate.allowed()?;
                get_owner_board().await
            },
        );
        let state = PageState::new();
        chime_on_new_orders(board);
        gate.render(move |_user| {
            view! {
                {head::title("내 상점")}
                <section class="page-head">
                    <h1>"내 상점" " " <LiveBadge updates=live /></h1>
                    <p class="muted">"들어온 주문을 수락하고, 요리 시작과 완료를 알려 주세요."</p>
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
