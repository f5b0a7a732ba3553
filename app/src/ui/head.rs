//! What a page puts in the document's `<head>`: its title, its description for link previews
//! and search engines, and the rider app's manifest.
//!
//! The server writes them into the page's HTML with leptos_meta. In the browser a page only sets
//! `document.title` when it is shown (and the rider's page adds its manifest link when it was
//! not the page the server sent): descriptions matter in the server's HTML, which is what
//! crawlers and link previews read. leptos_meta's browser half — a cursor over `<head>`, a
//! registry that adds and removes tags as pages come and go, a reactive title with a formatter —
//! was in every role's first load for that (docs/benchmarks.md, issue 16).
//!
//! These render nothing where they stand, on either side: leptos_meta's tags render into
//! `<head>` only, and in the browser they are [`Nothing`], which hydrates no node either. (Not
//! `()`: that renders and expects a placeholder node, which the server's HTML does not have.)

use leptos::prelude::*;

/// The page's title, "<text> · 배달".
pub fn title(text: impl Into<String>) -> impl IntoView {
    let text = format!("{} · 배달", text.into());
    #[cfg(feature = "ssr")]
    {
        view! { <leptos_meta::Title text /> }
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        if let Some(document) = web_sys::window().and_then(|window| window.document()) {
            document.set_title(&text);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
        Nothing
    }
}

/// The page's description and its link preview (Open Graph), in the server's HTML.
pub fn description(
    preview_title: impl Into<String>,
    description: impl Into<String>,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use leptos_meta::Meta;
        let description = description.into();
        view! {
            <Meta name="description" content=description.clone() />
            <Meta property="og:type" content="website" />
            <Meta property="og:title" content=preview_title.into() />
            <Meta property="og:description" content=description />
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (preview_title, description);
        Nothing
    }
}

/// The rider app's web app manifest (what makes it installable).
pub fn manifest() -> impl IntoView {
    const HREF: &str = "/manifest.webmanifest";
    #[cfg(feature = "ssr")]
    {
        view! { <leptos_meta::Link rel="manifest" href=HREF /> }
    }
    #[cfg(not(feature = "ssr"))]
    {
        #[cfg(feature = "hydrate")]
        add_manifest_link(HREF);
        #[cfg(not(feature = "hydrate"))]
        let _ = HREF;
        Nothing
    }
}

/// Adds `<link rel="manifest" href=…>` to `<head>` unless the page has one.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn add_manifest_link(href: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else {
        return;
    };
    if let (Ok(None), Some(head)) = (
        document.query_selector("link[rel=manifest]"),
        document.head(),
    ) {
        if let Ok(link) = document.create_element("link") {
            let _ = link.set_attribute("rel", "manifest");
            let _ = link.set_attribute("href", href);
            let _ = head.append_child(&link);
        }
    }
}

#[cfg(not(feature = "ssr"))]
pub use nothing::Nothing;

/// A view of no node at all, where the server's view wrote only into `<head>`.
#[cfg(not(feature = "ssr"))]
mod nothing {
    use leptos::tachys::html::attribute::any_attribute::AnyAttribute;
    use leptos::tachys::html::attribute::Attribute;
    use leptos::tachys::hydration::Cursor;
    use leptos::tachys::renderer::types::{Element, Node};
    use leptos::tachys::view::{
        add_attr::AddAnyAttr, Mountable, Position, PositionState, Render, RenderHtml,
    };

    pub struct Nothing;

    pub struct NothingState;

    impl Render for Nothing {
        type State = NothingState;

        fn build(self) -> NothingState {
            NothingState
        }

        fn rebuild(self, _state: &mut NothingState) {}
    }

    impl AddAnyAttr for Nothing {
        type Output<SomeNewAttr: Attribute> = Nothing;

        fn add_any_attr<NewAttr: Attribute>(self, _attr: NewAttr) -> Nothing {
            self
        }
    }

    impl RenderHtml for Nothing {
        type AsyncOutput = Self;
        type Owned = Self;

        const MIN_LENGTH: usize = 0;
        const EXISTS: bool = false;

        fn dry_resolve(&mut self) {}

        async fn resolve(self) -> Self {
            self
        }

        fn to_html_with_buf(
            self,
            _buf: &mut String,
            _position: &mut Position,
            _escape: bool,
            _mark_branches: bool,
            _extra_attrs: Vec<AnyAttribute>,
        ) {
        }

        fn hydrate<const FROM_SERVER: bool>(
            self,
            _cursor: &Cursor,
            _position: &PositionState,
        ) -> NothingState {
            NothingState
        }

        fn into_owned(self) -> Self {
            self
        }
    }

    impl Mountable for NothingState {
        fn unmount(&mut self) {}

        fn mount(&mut self, _parent: &Element, _marker: Option<&Node>) {}

        fn insert_before_this(&self, _child: &mut dyn Mountable) -> bool {
            false
        }

        fn elements(&self) -> Vec<Element> {
            vec![]
        }
    }
}
