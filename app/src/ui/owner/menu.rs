//! `/store/menu`, the owner's second page: per store, every dish's stock (what can still be
//! cooked today, following orders live), the form that adds or edits a dish, and the store's
//! delivery terms. Read with `my_stores`, re-read at every live hint and after every save.
//!
//! The two forms sit in disclosures (`<details>`) the owner opens now and then; the stock is
//! what the page is for. So each form's code is a file of its own (`on_request`, see
//! `crate::ui::on_request`), fetched when its disclosure is first opened, not with the page.
//! The server renders the disclosures closed and empty, as the browser first shows them.
//!
//! What the owner is in the middle of — a stock number being typed, the dish form, delivery
//! terms being typed — lives in the page, not in the rendered list, so a re-read (an order
//! taking stock) does not wipe it.

use super::super::auth::Gate;
use super::super::layout::Loading;
use super::super::live::LiveBadge;
use crate::api::{my_stores, SaveDeliveryTerms, SaveFood, SetFoodStock};
use crate::codec::load;
use crate::domain::{km, DeliveryTerms, FoodId, MenuItem, OwnedStore, Role, StoreId};
use crate::error::AppError;
use crate::ui::form::PostForm;
use crate::ui::{head, on_request};
use leptos::either::Either;
use leptos::ev::Event;
use leptos::html::Details;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};
use std::collections::{HashMap, HashSet};

/// The page's actions, shared by every store's section (each knows which store or dish it
/// saved).
#[derive(Clone, Copy)]
struct Actions {
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

/// What the owner is doing on the page, kept across re-reads.
#[derive(Clone, Copy)]
struct PageState {
    drafts: RwSignal<HashMap<FoodId, StockDraft>>,
    forms: RwSignal<HashMap<StoreId, DishForm>>,
    /// The food whose stock was saved last, the store a dish save was for.
    stock_saved_for: RwSignal<Option<FoodId>>,
    dish_saved_for: RwSignal<Option<StoreId>>,
    /// The store whose delivery terms were saved last.
    terms_saved_for: RwSignal<Option<StoreId>>,
    /// The stores whose dish form, and whose delivery terms form, the owner has opened (their
    /// code is loaded then).
    menu_opened: RwSignal<HashSet<StoreId>>,
    terms_opened: RwSignal<HashSet<StoreId>>,
    /// Delivery terms being typed, by store and field, until they are saved.
    terms_typed: RwSignal<HashMap<(StoreId, &'static str), String>>,
}

impl PageState {
    fn new() -> Self {
        PageState {
            drafts: RwSignal::new(HashMap::new()),
            forms: RwSignal::new(HashMap::new()),
            stock_saved_for: RwSignal::new(None),
            dish_saved_for: RwSignal::new(None),
            terms_saved_for: RwSignal::new(None),
            menu_opened: RwSignal::new(HashSet::new()),
            terms_opened: RwSignal::new(HashSet::new()),
            terms_typed: RwSignal::new(HashMap::new()),
        }
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
/// own, fetched when an owner first opens it.
pub struct StoreMenu;

#[lazy_route]
impl LazyRoute for StoreMenu {
    fn data() -> Self {
        StoreMenu
    }

    fn view(_page: Self) -> AnyView {
        let gate = Gate::for_role(Role::Owner);
        let live = gate.live;
        let actions = Actions {
            stock: ServerAction::new(),
            food: ServerAction::new(),
            terms: ServerAction::new(),
        };
        // Orders take stock through the outbox worker, which pushes a hint (`/live`) once they
        // are in the store's queue; the page re-reads then and after every save.
        let stores = load(
            move || {
                (
                    live.changes.get(),
                    actions.stock.version().get(),
                    actions.food.version().get(),
                    // Only a saved change re-reads: refused terms stay as typed.
                    actions.terms.value().get().and_then(Result::ok),
                )
            },
            move |_| async move {
                gate.allowed()?;
                my_stores().await
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
        gate.render(move |_user| {
            view! {
                {head::title("메뉴 · 재고")}
                <section class="page-head">
                    <h1>"메뉴 · 재고" " " <LiveBadge updates=live /></h1>
                    <p class="muted">"요리 가능한 재고 수량을 입력하고, 메뉴와 배달 조건을 고치세요."</p>
                </section>
                <Transition fallback=Loading>
                    {move || Suspend::new(async move {
                        stores
                            .await
                            .map(|stores| {
                                if stores.is_empty() {
                                    return view! { <p class="empty">"등록된 상점이 없습니다."</p> }.into_any();
                                }
                                stores
                                    .into_iter()
                                    .map(|store| store_menu(store, actions, state))
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

/// One store's section: its stock table, then the two forms.
fn store_menu(store: OwnedStore, actions: Actions, state: PageState) -> impl IntoView {
    let OwnedStore {
        id: store_id,
        name,
        is_open,
        terms,
        menu,
        ..
    } = store;
    view! {
        <section class="panel store-panel" data-testid="owned-store" data-store-id=store_id.get()>
            <div class="card-title">
                <h2>{name}</h2>
                <a
                    class=if is_open { "badge open" } else { "badge closed" }
                    href="/store"
                    title="영업 시작과 마감은 주문 접수 화면에서"
                >
                    {if is_open { "영업 중" } else { "영업 종료" }}
                </a>
            </div>
            <h3>"재고"</h3>
            <table class="menu-table stock-table">
                <thead>
                    <tr>
                        <th>"메뉴"</th>
                        <th class="num">"재고"</th>
                    </tr>
                </thead>
                <tbody>
                    {menu.iter().cloned().map(|item| stock_row(item, actions, state)).collect_view()}
                </tbody>
            </table>
            {menu_editor(store_id, menu, actions, state)}
            {terms_editor(store_id, terms, actions, state)}
        </section>
    }
}

/// The body of a disclosure, made by `body` (loading its code) once the owner has opened it
/// for this store (`opened`, kept in the page's state so that a re-read of the stores, which
/// renders each store's section anew, keeps it); closing it again keeps it made.
///
/// A re-read renders every section anew: a part made inside a reactive closure would be built
/// again from nothing each time (new elements: the field being typed in loses focus). So once
/// the part's code is loaded, a section made with the disclosure open makes the part at once, in
/// place, and a re-render updates those elements as it does the rest of the section.
fn on_demand<F, Fut>(
    opened: RwSignal<HashSet<StoreId>>,
    store_id: StoreId,
    body: F,
) -> impl IntoView
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<AnyView, AppError>> + Send + 'static,
{
    let is_open = move || opened.with(|opened| opened.contains(&store_id));
    if let Some(part) = is_open().then(|| on_request::ready(body())).flatten() {
        return Either::Left(part);
    }
    // One store's disclosure opening does not touch another's.
    let is_open = Memo::new(move |_| is_open());
    Either::Right(move || is_open.get().then(|| on_request::show(body.clone())))
}

/// Follows a disclosure of this store: once it is open, its part is made (`opened`). Read from
/// the `<details>` element itself — at its `toggle` event (the returned handler), and once the
/// page is live, since an owner may open it before the page has hydrated (a summary works
/// without scripts), when nothing listened yet.
fn follow_open(
    opened: RwSignal<HashSet<StoreId>>,
    store_id: StoreId,
) -> (NodeRef<Details>, impl Fn(Event) + Copy) {
    let details = NodeRef::<Details>::new();
    let mark_if_open = move || {
        let is_open = details
            .get_untracked()
            .is_some_and(|details| details.open());
        if is_open && !opened.with_untracked(|opened| opened.contains(&store_id)) {
            opened.update(|opened| {
                opened.insert(store_id);
            });
        }
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if details.get().is_some() && crate::ui::hydrated() {
            mark_if_open();
        }
    });
    (details, move |_| mark_if_open())
}

/// Add a dish with its first stock, or pick one to edit its name, description, price, or hide
/// it from customers (its stock is changed in the stock table).
fn menu_editor(
    store_id: StoreId,
    menu: Vec<MenuItem>,
    actions: Actions,
    state: PageState,
) -> impl IntoView {
    let form = on_demand(state.menu_opened, store_id, move || {
        menu_form(store_id, menu.clone(), actions, state)
    });
    let (details, toggled) = follow_open(state.menu_opened, store_id);
    view! {
        <details class="menu-editor" node_ref=details on:toggle=toggled>
            <summary>"메뉴 추가 · 수정"</summary>
            {form}
        </details>
    }
}

#[leptos::wasm_split::wasm_split(baedal_owner_menu_form, wasm_split_path = ::leptos::wasm_split, fallible)]
fn menu_form(
    store_id: StoreId,
    menu: Vec<MenuItem>,
    actions: Actions,
    state: PageState,
) -> Result<AnyView, AppError> {
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
            stock: if form.food_id.is_none() {
                form.stock
            } else {
                String::new()
            },
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
    Ok(view! {
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
                            stock: String::new(),
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
                {move || state.form(store_id).food_id.is_none().then(|| view! {
                    <label>"재고 (개)" <input type="number" min="0" step="1" inputmode="numeric" placeholder="0" prop:value=field(|f| f.stock.clone()) on:input=move |ev| state.edit_form(store_id, |f| f.stock = event_target_value(&ev)) /></label>
                })}
                {move || error("stock").map(|m| view! { <p class="field-error">{m}</p> })}
                <label class="check"><input type="checkbox" prop:checked=move || state.form(store_id).hidden on:change=move |ev| state.edit_form(store_id, |f| f.hidden = event_target_checked(&ev)) /> "고객에게 숨기기"</label>
                <button class="button primary" on:click=submit disabled=move || save.pending().get()>"메뉴 저장"</button>
                {move || (ours() && matches!(save.value().get(), Some(Ok(_)))).then(|| view! { <p class="saved">"저장되었습니다."</p> })}
            </div>
    }
    .into_any())
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

/// The store's delivery terms: 최소주문금액, 배달팁 (and what it adds per kilometre), and how
/// far it delivers. Customers see them on the store list, the menu and the cart.
fn terms_editor(
    store_id: StoreId,
    terms: DeliveryTerms,
    actions: Actions,
    state: PageState,
) -> impl IntoView {
    let ours = move || state.terms_saved_for.get() == Some(store_id);
    let summary = [
        Some(
            terms
                .min_order_label()
                .unwrap_or_else(|| "최소주문금액 없음".into()),
        ),
        Some(terms.tip_label()),
        Some(terms.radius_label()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let form = on_demand(state.terms_opened, store_id, move || {
        terms_form(store_id, terms, actions, state)
    });
    let (details, toggled) = follow_open(state.terms_opened, store_id);
    view! {
        <details class="terms-editor" data-testid="terms-editor" open=ours node_ref=details on:toggle=toggled>
            <summary>"배달 조건: " <span data-testid="terms-summary">{summary}</span></summary>
            {form}
        </details>
    }
}

#[leptos::wasm_split::wasm_split(baedal_owner_terms_form, wasm_split_path = ::leptos::wasm_split, fallible)]
fn terms_form(
    store_id: StoreId,
    terms: DeliveryTerms,
    actions: Actions,
    state: PageState,
) -> Result<AnyView, AppError> {
    let save = actions.terms;
    let ours = move || state.terms_saved_for.get() == Some(store_id);
    let error = move |field: &'static str| {
        move || {
            ours()
                .then(|| save.value().get().and_then(Result::err))
                .flatten()
                .and_then(|e| e.field(field))
                .map(|m| view! { <p class="field-error" data-field=field>{m}</p> })
        }
    };
    let saved = move || ours() && matches!(save.value().get(), Some(Ok(_)));
    let radius = km(terms.radius_m);
    let radius = radius.trim_end_matches("km").to_string();
    // What the owner typed (kept in the page's state until saved), else the saved terms.
    let shown = move |field: &'static str, saved: String| {
        move || {
            state
                .terms_typed
                .with(|typed| typed.get(&(store_id, field)).cloned())
                .unwrap_or_else(|| saved.clone())
        }
    };
    let typing = move |field: &'static str| {
        move |ev| {
            let text = event_target_value(&ev);
            state.terms_typed.update(|typed| {
                typed.insert((store_id, field), text);
            });
        }
    };
    let (min_order, tip, tip_per_km) = (
        terms.min_order.0.to_string(),
        terms.tip.0.to_string(),
        terms.tip_per_km.0.to_string(),
    );
    Ok(view! {
            <PostForm
                action=save
                read=move |fields| {
                    state.terms_saved_for.set(Some(store_id));
                    SaveDeliveryTerms {
                        store_id,
                        min_order: fields.text("min_order"),
                        tip: fields.text("tip"),
                        tip_per_km: fields.text("tip_per_km"),
                        radius_km: fields.text("radius_km"),
                    }
                }
                class="form"
                novalidate=true
            >
                <input type="hidden" name="store_id" value=store_id.to_string() />
                <label>"최소주문금액 (원)" <input type="number" name="min_order" min="0" step="100" inputmode="numeric" prop:value=shown("min_order", min_order) on:input=typing("min_order") /></label>
                {error("min_order")}
                <label>"배달팁 (원, 1km까지)" <input type="number" name="tip" min="0" step="100" inputmode="numeric" prop:value=shown("tip", tip) on:input=typing("tip") /></label>
                {error("tip")}
                <label>"1km마다 추가 배달팁 (원, 0이면 고정)" <input type="number" name="tip_per_km" min="0" step="100" inputmode="numeric" prop:value=shown("tip_per_km", tip_per_km) on:input=typing("tip_per_km") /></label>
                {error("tip_per_km")}
                <label>"배달 가능 거리 (km)" <input type="number" name="radius_km" min="0.5" max="10" step="0.1" inputmode="decimal" prop:value=shown("radius_km", radius) on:input=typing("radius_km") /></label>
                {error("radius_km")}
                <button type="submit" class="button small" data-testid="terms-save">"배달 조건 저장"</button>
                {move || saved().then(|| view! { <p class="muted small" role="status">"저장했습니다."</p> })}
            </PostForm>
    }
    .into_any())
}
