//! Checkout (`/checkout`): the cart's lines, the customer's optional notes to the store and to
//! the rider (요청사항), the card (the sandbox's test cards are listed and the approved one
//! filled in only when the sandbox takes the payments), and paying once per submission (the
//! idempotency key). A lazy route: its view is a chunk of its own.

use crate::api::{get_checkout_options, get_store_menu, PlaceOrder};
use crate::codec::load;
use crate::domain::{CheckoutInput, Role, StoreMenu, Won};
use crate::error::AppError;
use crate::ui::auth::Gate;
use crate::ui::cart::{new_idempotency_key, use_cart};
use crate::ui::head;
use crate::ui::layout::Loading;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use leptos_router::{lazy_route, LazyRoute};

/// The sandbox provider's card that is approved; filled in only when the sandbox takes the
/// payments.
const APPROVED_TEST_CARD: &str = "4242 4242 4242 4242";

/// The fields whose errors are shown under their own input rather than above the pay button.
const NOTE_FIELDS: [&str; 2] = ["store_note", "rider_note"];

/// One optional note (요청사항): a text input limited to `CheckoutInput::MAX_NOTE_CHARS`
/// characters, how many are used, and its field error under it.
fn note_input(
    field: &'static str,
    label: &'static str,
    placeholder: &'static str,
    value: RwSignal<String>,
    error: impl Fn() -> Option<AppError> + Send + Sync + 'static,
) -> impl IntoView {
    let max = CheckoutInput::MAX_NOTE_CHARS;
    view! {
        <label>
            {label}
            <input
                type="text"
                name=field
                data-testid=field.replace('_', "-")
                maxlength=max
                placeholder=placeholder
                autocomplete="off"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
        <span class="muted small note-count">
            {move || format!("{}/{max}자", value.with(|v| v.chars().count()))}
        </span>
        {move || {
            error()
                .and_then(|e| e.field(field))
                .map(|message| view! { <p class="field-error" data-field=field role="alert">{message}</p> })
        }}
    }
}

/// The page, loaded lazily (`#[lazy_route]`): its code, data included, comes in a file of its
/// own, fetched when the page is first shown (preloaded by the server's HTML when it is the
/// page rendered).
pub struct CheckoutPage;

#[lazy_route]
impl LazyRoute for CheckoutPage {
    fn data() -> Self {
        CheckoutPage
    }

    fn view(_page: Self) -> AnyView {
        let gate = Gate::for_role(Role::Customer);
        let cart = use_cart();
        // Which provider takes the payment (the sandbox's test cards are shown only for it). Read
        // during the server render, so the page never shows them and then takes them away.
        let options = load(
            || (),
            move |_| async move {
                gate.allowed()?;
                get_checkout_options().await
            },
        );
        let place = ServerAction::<PlaceOrder>::new();
        // The cart's store with its delivery terms at the customer's address, read in the browser
        // once the cart is (it only exists there). A signal set by an effect, not a resource: a
        // resource read under the payment section's `<Transition>` would hold the server's render
        // on something the server never loads.
        let store = RwSignal::new(None::<StoreMenu>);
        Effect::new(move |_| {
            let store_id = cart.0.with(|c| c.store_id);
            if store.with_untracked(|s| s.as_ref().map(|s| s.id)) == store_id {
                return;
            }
            store.set(None);
            if let Some(id) = store_id {
                leptos::task::spawn_local(async move {
                    if let Ok(menu) = get_store_menu(id).await {
                        store.set(Some(menu));
                    }
                });
            }
        });
        let card = RwSignal::new(String::new());
        // 가게 요청사항 and 배달 요청사항, as typed.
        let store_note = RwSignal::new(String::new());
        let rider_note = RwSignal::new(String::new());
        // One key per submission: kept while the outcome is unknown or the provider was busy
        // (paying again is the same submission), replaced after a decline or a change to the
        // cart or the notes (the server takes the same key with other notes for another cart).
        let key = RwSignal::new(None::<String>);
        // What paying needs from the store's terms: the tip to add, and whether the minimum and
        // the radius allow it (None until the terms are read).
        let priced = move || {
            let menu = store.get()?;
            let dishes = cart.0.with(|c| c.total());
            let quote = menu.delivery?;
            Some((menu.terms, quote, dishes))
        };
        let payable = move || {
            priced().is_some_and(|(terms, quote, dishes)| {
                quote.deliverable && terms.check_minimum(dishes).is_ok()
            })
        };
        Effect::new(move |_| {
            cart.0.track();
            store_note.track();
            rider_note.track();
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
            let pay = move |_: leptos::ev::MouseEvent| {
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
                    )
                    .with_notes(&store_note.get_untracked(), &rider_note.get_untracked()),
                });
            };
            let error = move || place.value().get().and_then(Result::err);
            view! {
                {head::title("주문하기")}
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
                            <dl class="bill" data-testid="bill">
                                <dt>"주문금액"</dt>
                                <dd data-testid="dishes-total">{state.total().to_string()}</dd>
                                {move || priced().map(|(_, quote, _)| view! {
                                    <dt>{format!("배달팁 ({})", crate::domain::format_distance(quote.distance_m))}</dt>
                                    <dd data-testid="delivery-tip">{quote.tip.to_string()}</dd>
                                })}
                                <dt>"결제 예정 금액"</dt>
                                <dd class="total" data-testid="bill-total">
                                    <strong>
                                        {move || {
                                            let tip = priced().map(|(_, q, _)| q.tip.0).unwrap_or(0);
                                            Won(cart.0.with(|c| c.total()).0 + tip).to_string()
                                        }}
                                    </strong>
                                </dd>
                            </dl>
                            {move || {
                                let menu = store.get()?;
                                let Some(quote) = menu.delivery else {
                                    return Some(view! {
                                        <p class="form-error" data-testid="address-needed">
                                            "배달 받을 주소를 먼저 입력해 주세요. " <A href="/">"주소 입력"</A>
                                        </p>
                                    }.into_any());
                                };
                                if !quote.deliverable {
                                    return Some(view! {
                                        <p class="form-error" data-testid="not-deliverable">
                                            {format!(
                                                "배달 불가 지역입니다: {}에서 {} 떨어져 있습니다. (배달 가능 거리 {})",
                                                menu.name,
                                                crate::domain::format_distance(quote.distance_m),
                                                crate::domain::km(menu.terms.radius_m),
                                            )}
                                        </p>
                                    }.into_any());
                                }
                                menu.terms.check_minimum(cart.0.with(|c| c.total())).err().map(|e| view! {
                                    <p class="form-error" data-testid="below-minimum">{e.message}</p>
                                }.into_any())
                            }}
                            <p class="muted small">"최종 금액은 주문 시 가게의 현재 가격으로 계산됩니다."</p>
                        </section>
                    }
                        .into_any()
                }}
                <section class="panel form" data-testid="notes">
                    {note_input("store_note", "가게 요청사항 (선택)", "예: 덜 맵게 해 주세요", store_note, error)}
                    {note_input("rider_note", "배달 요청사항 (선택)", "예: 문 앞에 두고 벨 누르지 말아 주세요", rider_note, error)}
                </section>
                <section class="panel form">
                    <Transition fallback=Loading>
                        {move || Suspend::new(async move {
                            let sandbox = options.await.map(|o| o.sandbox).unwrap_or(false);
                            if sandbox {
                                // The approved test card, unless the customer typed something.
                                card.update(|c| {
                                    if c.is_empty() {
                                        *c = APPROVED_TEST_CARD.to_string();
                                    }
                                });
                            }
                            view! {
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
                                {sandbox.then(|| view! {
                                    <p class="muted small" data-testid="test-cards">
                                        "테스트 카드: 4242 4242 4242 4242 승인 · 4000 0000 0000 0002 거절 · 4000 0000 0000 3000 지연 · 4000 0000 0000 5000 오류"
                                    </p>
                                })}
                                {move || error().and_then(|e| {
                                    let busy = matches!(e, AppError::PaymentUnavailable { .. });
                                    // The notes' errors are shown under the notes.
                                    let message = match &e {
                                        AppError::Invalid { fields } => fields
                                            .iter()
                                            .filter(|f| !NOTE_FIELDS.contains(&f.field.as_str()))
                                            .map(|f| f.message.clone())
                                            .collect::<Vec<_>>()
                                            .join(" "),
                                        other => other.to_string(),
                                    };
                                    (!message.is_empty()).then(|| view! { <p class="form-error" class:busy=busy role="alert">{message}</p> })
                                })}
                                <button
                                    class="button primary"
                                    data-testid="pay"
                                    disabled=move || place.pending().get() || cart.0.with(|c| c.items.is_empty()) || !payable()
                                    on:click=pay
                                >
                                    {move || {
                                        if place.pending().get() {
                                            "결제 중…".to_string()
                                        } else if matches!(error(), Some(AppError::PaymentUnavailable { .. })) {
                                            "다시 결제하기".to_string()
                                        } else {
                                            let tip = priced().map(|(_, q, _)| q.tip.0).unwrap_or(0);
                                            format!("{} 결제하기", Won(cart.0.with(|c| c.total()).0 + tip))
                                        }
                                    }}
                                </button>
                            }
                        })}
                    </Transition>
                </section>
            }
            .into_any()
        }).into_any()
    }
}
