//! What the app keeps on this device for the person signed in, and forgetting it at sign-out.
//!
//! Here rather than in the pages that keep it, because the shell's sign-out must reach it
//! without the shell depending on those pages (the rider's page depends on the shell).

/// Where the rider app keeps its last list, per rider (another rider on the same phone never
/// sees it).
const RIDER_BOARD_KEY: &str = "baedal.rider.board";

/// The rider service worker's cache (`public/rider-sw.js` names the same).
#[cfg(feature = "hydrate")]
const RIDER_CACHE: &str = "baedal-rider-v1";

/// The localStorage key of `rider_id`'s last list.
pub fn rider_board_key(rider_id: crate::domain::UserId) -> String {
    format!("{RIDER_BOARD_KEY}.{rider_id}")
}

/// Forgets what this device kept for the person signing out: the rider app's last lists and
/// its cached pages.
pub fn forget_signed_in_data() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Ok(Some(storage)) = window.local_storage() {
            let keys: Vec<String> = (0..storage.length().unwrap_or(0))
                .filter_map(|i| storage.key(i).ok().flatten())
                .filter(|k| k.starts_with(RIDER_BOARD_KEY))
                .collect();
            for key in keys {
                let _ = storage.remove_item(&key);
            }
        }
        let caches = js_sys::Reflect::get(&window, &"caches".into()).ok();
        if let Some(caches) = caches.filter(|c| !c.is_undefined()) {
            let delete = js_sys::Reflect::get(&caches, &"delete".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            if let Some(delete) = delete {
                let _ = delete.call1(&caches, &RIDER_CACHE.into());
            }
        }
    }
}
