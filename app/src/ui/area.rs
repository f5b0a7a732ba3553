//! The delivery area a visitor picked (see `crate::area`), shared by the pages: the home page
//! lists stores from it, the sign-up form starts with it. The server reads the cookie while it
//! renders, and the value travels to the browser inside the page, so the hydrated page starts
//! from exactly what the server rendered.

use crate::domain::District;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct DeliveryArea(RwSignal<Option<String>>);

impl DeliveryArea {
    pub fn provide() {
        let remembered =
            SharedValue::<_, crate::codec::Json>::new_with_encoding(remembered_on_server)
                .into_inner();
        provide_context(DeliveryArea(RwSignal::new(remembered)));
    }

    /// The chosen district (tracked).
    pub fn get(self) -> Option<District> {
        self.0.with(|name| parse(name.as_deref()))
    }

    /// The chosen district (not tracked).
    pub fn get_untracked(self) -> Option<District> {
        self.0.with_untracked(|name| parse(name.as_deref()))
    }

    /// Chooses `district` and remembers it in the browser (the cookie) for the next visits:
    /// written by the page in the browser, or by the server's answer while it renders a page
    /// that chose it (`/?area=…`, the picker without scripts).
    pub fn choose(self, district: District) {
        #[cfg(feature = "hydrate")]
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            let _ = js_sys::Reflect::set(
                &document,
                &"cookie".into(),
                &crate::area::cookie(district).into(),
            );
        }
        #[cfg(feature = "ssr")]
        crate::door::http::set_cookie(&crate::area::cookie(district));
        self.0.set(Some(district.name().to_string()));
    }
}

fn parse(name: Option<&str>) -> Option<District> {
    name.and_then(|name| District::parse("area", name).ok())
}

pub fn use_area() -> DeliveryArea {
    expect_context::<DeliveryArea>()
}

fn remembered_on_server() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        crate::door::http::remembered_area().map(|d| d.name().to_string())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}
