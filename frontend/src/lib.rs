//! The browser entry point. `wasm-bindgen` exports `hydrate`, which the server-rendered page's
//! module script calls once the wasm is loaded; from then on the page is a live Leptos app.
//!
//! Every page is lazily loaded (`#[lazy_route]`, see `app::ui`): its own code is a separate
//! wasm file, fetched when the page is first shown. Hydration waits for the current page's
//! file, so it runs asynchronously; when it is done, `<body>` gets
//! `data-hydrated="true"` (what the end-to-end tests and `./baedal bench-load` wait for).

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console: development builds. The release wasm's standard library
    // aborts at once on a panic, before any hook (scripts/build.sh), so it has none.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // Ignored error: the executor was already started, which is fine.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        return;
    };
    leptos::task::spawn_local(async move {
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        app::ui::mark_hydrated();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
