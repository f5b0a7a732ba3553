//! Parts of a page whose code comes on request: the forms a page keeps in closed disclosures
//! (the owner's dish form and delivery terms). Each is a function
//! split into a wasm file of its own (`wasm_split` with `fallible`; Leptos's `#[lazy]` is the
//! same split, but a file that cannot be fetched stops the whole app there). The first call
//! fetches the file; the splitter keeps what such a part shares with its page in the page's
//! file (tools/wasm-split/vendor/README.md).
//!
//! If the file cannot be fetched (the phone is offline), the part says so with a button to try
//! again, and the rest of the page keeps working: only successful loads are remembered.

use crate::error::AppError;
use crate::ui::layout::Loading;
use leptos::prelude::*;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Shows the part `part` makes once its code is loaded, "불러오는 중…" until then.
pub fn show<F, Fut>(part: F) -> impl IntoView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, AppError>> + Send + 'static,
{
    let attempt = RwSignal::new(0u32);
    view! {
        <Suspense fallback=Loading>
            {move || {
                attempt.track();
                let part = part();
                Suspend::new(async move {
                    let part = part.await;
                    if part.is_ok() {
                        mark_loaded::<Fut>();
                    }
                    part.unwrap_or_else(|error| {
                        view! {
                            <p class="form-error" role="alert" data-testid="part-error">
                                {error.to_string()} ". 연결을 확인하고 다시 시도해 주세요. "
                                <button class="button small" on:click=move |_| attempt.update(|n| *n += 1)>
                                    "다시 시도"
                                </button>
                            </p>
                        }
                        .into_any()
                    })
                })
            }}
        </Suspense>
    }
}

/// The part at once, if its code has been loaded (by `show`) before: the split function's
/// future is then ready at its first poll. `None` otherwise, without starting a load.
pub fn ready<Fut>(part: Fut) -> Option<AnyView>
where
    Fut: Future<Output = Result<AnyView, AppError>> + 'static,
{
    if !loaded::<Fut>() {
        return None;
    }
    match pin!(part).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(part)) => Some(part),
        _ => None,
    }
}

/// Which parts' code has been loaded, by the type of their split function's future (one type
/// per split function).
fn loaded<Fut: 'static>() -> bool {
    LOADED.with(|loaded| loaded.borrow().contains(&std::any::TypeId::of::<Fut>()))
}

fn mark_loaded<Fut: 'static>() {
    LOADED.with(|loaded| loaded.borrow_mut().insert(std::any::TypeId::of::<Fut>()));
}

thread_local! {
    static LOADED: std::cell::RefCell<std::collections::HashSet<std::any::TypeId>> =
        Default::default();
}
