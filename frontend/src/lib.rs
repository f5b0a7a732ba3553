//! The browser entry point. `wasm-bindgen` exports `hydrate`, which the server-rendered page's
//! module script calls once the wasm is loaded; from then on the page is a live Leptos app.

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
