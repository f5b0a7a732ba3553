//! The rider's app (an installable PWA: manifest + service worker, see `public/`): deliveries
//! near the rider's position, claiming one, reporting pick-up and delivery.
//!
//! Position: the browser's geolocation when the rider allows it, else a district the rider
//! picks (their home area at first). Offline: the page keeps the last list it received and
//! shows it under an "offline" banner; actions are refused while offline, in words, rather
//! than queued — a claim sent minutes late could take a delivery the rider no longer wants.

use super::auth::{Auth, Gate};
use super::layout::Loading;
use super::live::LiveBadge;
use crate::api::{get_rider_board, RiderAction};
use crate::codec::load;
use crate::domain::{format_distance, District, OrderId, OrderStatus, RiderBoard, Role, UserId};
use crate::error::AppError;
use crate::ui::head;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// A query-string value (district names are Korean).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The page, loaded lazily (`#[lazy_route]`): its code, data included, comes in a file of its
/// own that only riders download (and
/// the service worker keeps for opening offline).
pub struct RiderHome;

#[lazy_route]
impl LazyRoute for RiderHome {
    fn data() -> Self {
        RiderHome
    }

    fn view(_page: Self) -> AnyView {
        let rider = expect_context::<Auth>().user.get_untracked();
        let home = rider
            .as_ref()
            .and_then(|r| r.district.clone())
            .unwrap_or_else(|| "마포구".into());
        let key = super::device::rider_board_key(rider.map(|r| r.id).unwrap_or(UserId(0)));
        let area = RwSignal::new(home);
        let position = RwSignal::new(None::<(f64, f64)>);
        // The live stream hears of the orders this list can show: it is centred where the list
        // is (the same values the board is read with), and reopens when that changes.
        let live_query = Signal::derive(move || match position.get() {
            Some((lat, lng)) => format!("lat={lat}&lng={lng}"),
            None => format!("area={}", percent_encode(&area.get())),
        });
        let gate = Gate::with_live_query(Some(Role::Rider), live_query);
        let live = gate.live;
        let act = ServerAction::<RiderAction>::new();
        let board = load(
            move || {
                (
                    position.get(),
                    area.get(),
                    live.changes.get(),
                    act.version().get(),
                )
            },
            move |(position, area, _, _)| async move {
                gate.allowed()?;
                let (lat, lng) = position
                    .map(|(lat, lng)| (lat.to_string(), lng.to_string()))
                    .unwrap_or_default();
                get_rider_board(lat, lng, area).await
            },
        );
        let locating = RwSignal::new("위치 확인 중…".to_string());
        let online = RwSignal::new(true);
        register_service_worker();
        locate(position, locating);
        follow_connectivity(online);
        gate.render(move |_user| {
            let key = key.clone();
            view! {
                {head::title("배달 목록")}
                {head::manifest()}
                <section class="page-head">
                    <h1>"배달 목록" " " <LiveBadge updates=live /></h1>
                    <p class="muted" data-testid="rider-area">
                        {move || match position.get() {
                            Some(_) => "기준: 현재 위치".to_string(),
                            None => format!("기준: {} 중심 · {}", area.get(), locating.get()),
                        }}
                    </p>
                    <label class="inline">
                        "활동 지역 "
                        <select
                            aria-label="활동 지역"
                            on:change=move |ev| {
                                position.set(None);
                                locating.set("선택한 지역 기준".into());
                                area.set(event_target_value(&ev));
                            }
                        >
                            {District::all()
                                .map(|d| {
                                    let name = d.name();
                                    view! { <option value=name selected=move || area.get() == name>{name}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                </section>
                {move || (!online.get()).then(|| view! {
                    <p class="offline-banner" role="status" data-testid="offline-banner">
                        "오프라인입니다. 마지막으로 받은 목록을 보여 줍니다. 배차·픽업·배달 완료는 연결된 뒤에 눌러 주세요."
                    </p>
                })}
                {move || act.value().get().and_then(Result::err).map(|e| view! {
                    <p class="form-error" role="alert" data-testid="rider-error">{e.to_string()}</p>
                })}
                <Transition fallback=Loading>
                    {move || {
                        let key = key.clone();
                        Suspend::new(async move {
                        match board.await {
                            Ok(board) => {
                                remember(&key, &board);
                                board_view(board, act, online, false).into_any()
                            }
                            Err(AppError::Network { .. }) => match recall(&key) {
                                Some(board) => board_view(board, act, online, true).into_any(),
                                None => view! { <p class="empty">"연결되면 배달 목록을 불러옵니다."</p> }.into_any(),
                            },
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })}}
                </Transition>
            }
            .into_any()
        })
        .into_any()
    }
}

fn board_view(
    board: RiderBoard,
    act: ServerAction<RiderAction>,
    online: RwSignal<bool>,
    stale: bool,
) -> impl IntoView {
    let send = move |order_id: OrderId, action: &'static str| {
        if online.get_untracked() {
            act.dispatch(RiderAction {
                order_id,
                action: action.to_string(),
            });
        }
    };
    let busy = move || !online.get() || act.pending().get();
    let mine = board.mine.clone();
    view! {
        {stale.then(|| view! { <p class="muted small" data-testid="stale-board">"마지막으로 받은 목록입니다."</p> })}
        <section class="panel">
            <h2>{format!("내 배달 ({}/{}건)", board.mine.len(), board.max_active)}</h2>
            {if mine.is_empty() {
                view! { <p class="empty">"진행 중인 배달이 없습니다."</p> }.into_any()
            } else {
                view! {
                    <ul class="card-list">
                        {mine.into_iter().map(|d| {
                            let id = d.order_id;
                            let button = match d.status {
                                OrderStatus::RiderAssigned => Some(("pick_up", "픽업 완료")),
                                OrderStatus::PickedUp => Some(("deliver", "배달 완료")),
                                _ => None,
                            };
                            view! {
                                <li class="card" data-testid="my-delivery" data-order-id=id.get()>
                                    <div class="card-title">
                                        <strong>{format!("#{} {}", id, d.store_name)}</strong>
                                        <span class="badge status">{d.status.label()}</span>
                                    </div>
                                    <p>{d.items}</p>
                                    <p class="muted small">{format!("픽업: {}", d.pickup_address)}</p>
                                    <p class="muted small">{format!("배달: {} · 배달비 {}", d.dropoff, d.fee)}</p>
                                    {d.rider_note.map(|note| view! { <p class="order-note" data-testid="rider-note">{format!("배달 요청: {note}")}</p> })}
                                    {button.map(|(action, label)| view! {
                                        <button class="button primary" disabled=busy on:click=move |_| send(id, action)>{label}</button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="panel">
            <h2>{format!("{} 반경 {} 배달", board.origin, format_distance(board.radius_m))}</h2>
            {if board.offers.is_empty() {
                view! { <p class="empty">"지금은 가까운 곳에 요리가 완료된 주문이 없습니다."</p> }.into_any()
            } else {
                view! {
                    <ul class="card-list" data-testid="delivery-offers">
                        {board.offers.into_iter().map(|offer| {
                            let id = offer.order_id;
                            let claimable = offer.claimable();
                            view! {
                                <li class="card" class:cooking=!claimable data-testid="delivery-offer" data-order-id=id.get()>
                                    <div class="card-title">
                                        <strong>{format!("#{} {}", id, offer.store_name)}</strong>
                                        <span class="badge status">{offer.status.label()}</span>
                                    </div>
                                    <p>{offer.items}</p>
                                    <p class="muted small">{format!("픽업: {}", offer.pickup_address)}</p>
                                    <p class="muted small">{format!("배달: {}", offer.dropoff)}</p>
                                    <p class="small">
                                        <strong>{format!("배달비 {}", offer.fee)}</strong>
                                        {format!(" · 나에게서 {} · 가게→고객 {}", format_distance(offer.distance_m), format_distance(offer.trip_m))}
                                    </p>
                                    {if claimable {
                                        view! { <button class="button primary" disabled=busy on:click=move |_| send(id, "claim")>"배차 받기"</button> }.into_any()
                                    } else {
                                        view! { <p class="muted small">"요리가 끝나면 배차받을 수 있습니다."</p> }.into_any()
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// Keeps the last list received, for when the network is gone.
fn remember(key: &str, board: &RiderBoard) {
    #[cfg(feature = "hydrate")]
    if let (Some(storage), Ok(json)) = (
        web_sys::window().and_then(|w| w.local_storage().ok().flatten()),
        serde_json::to_string(board),
    ) {
        let _ = storage.set_item(key, &json);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, board);
}

fn recall(key: &str) -> Option<RiderBoard> {
    #[cfg(feature = "hydrate")]
    {
        let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten())?;
        let json = storage.get_item(key).ok().flatten()?;
        crate::codec::from_json(&json).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Registers the rider app's service worker (scope `/rider`), which makes it installable and
/// lets it open offline.
fn register_service_worker() {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        if !super::hydrated() {
            return;
        }
        let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
            return;
        };
        let container = js_sys::Reflect::get(&navigator, &"serviceWorker".into()).ok();
        let Some(container) = container.filter(|c| !c.is_undefined()) else {
            return;
        };
        let register = js_sys::Reflect::get(&container, &"register".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(register) = register {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"scope".into(), &"/rider".into());
            let _ = register.call2(&container, &"/rider-sw.js".into(), &options);
        }
    });
}

/// Asks the browser where the rider is; on refusal the chosen area stays the reference.
#[allow(unused_variables)]
fn locate(position: RwSignal<Option<(f64, f64)>>, locating: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        // What the browser says changes the page: not before it is hydrated.
        if !super::hydrated() {
            return;
        }
        let Some(geolocation) = web_sys::window().and_then(|w| w.navigator().geolocation().ok())
        else {
            locating.set("이 브라우저는 위치를 알려 주지 않습니다".into());
            return;
        };
        let found = Closure::once_into_js(move |found: wasm_bindgen::JsValue| {
            let coords = js_sys::Reflect::get(&found, &"coords".into()).ok();
            let read = |name: &str| {
                coords
                    .as_ref()
                    .and_then(|c| js_sys::Reflect::get(c, &name.into()).ok())
                    .and_then(|v| v.as_f64())
            };
            if let (Some(lat), Some(lng)) = (read("latitude"), read("longitude")) {
                position.set(Some((lat, lng)));
            }
        });
        let refused = Closure::once_into_js(move |_: wasm_bindgen::JsValue| {
            locating.set("위치 권한이 없어 선택한 지역을 기준으로 보여 줍니다".into());
        });
        let _ = geolocation.get_current_position_with_error_callback(
            found.unchecked_ref(),
            Some(refused.unchecked_ref()),
        );
    });
}

/// Tracks `navigator.onLine` and its `online` / `offline` events.
#[allow(unused_variables)]
fn follow_connectivity(online: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // Offline shows a banner the server's HTML does not have: not before hydration ends.
        if !super::hydrated() {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        online.set(window.navigator().on_line());
        let up = window_event_listener_untyped("online", move |_| online.set(true));
        let down = window_event_listener_untyped("offline", move |_| online.set(false));
        on_cleanup(move || {
            up.remove();
            down.remove();
        });
    });
}
