//! Forms that post to a server function.
//!
//! Without scripts (or before the page has hydrated) the browser posts the form to the server
//! function's URL as `application/x-www-form-urlencoded`, which the server function reads as
//! usual. Once hydrated, submitting reads the form's fields and dispatches the page's action, so
//! the page shows the answer in place.
//!
//! Leptos's `ActionForm` does the same, but turns the fields into the server function's
//! arguments with serde_qs's deserialiser, one copy per argument type: its query-string parser,
//! its tree of levels and their `BTreeMap`s were 44 KB of the browser's main module before
//! wasm-opt, in every role's first load, for five forms whose arguments are a few strings
//! (docs/benchmarks.md, issue 16). Here each form says which named fields make its arguments.

use leptos::prelude::*;
use leptos::server_fn::codec::PostUrl;
use leptos::server_fn::{Http, ServerFn};

/// The fields of a submitted form, by name.
pub struct Fields(#[cfg(feature = "hydrate")] web_sys::FormData);

impl Fields {
    /// The field's text; empty when the form has no such field (an unchecked box, a missing
    /// input), as the server reads a form posted without scripts.
    pub fn text(&self, name: &str) -> String {
        #[cfg(feature = "hydrate")]
        {
            self.0.get(name).as_string().unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = name;
            String::new()
        }
    }
}

/// A `<form>` posting to `S`'s URL. `read` makes `S`'s arguments from the submitted fields.
#[component]
pub fn PostForm<S, R, Answer>(
    action: ServerAction<S>,
    read: R,
    #[prop(optional)] class: &'static str,
    /// The page checks the fields (the server's errors are shown by each field), not the
    /// browser.
    #[prop(optional)]
    novalidate: bool,
    children: Children,
) -> impl IntoView
where
    // Posted as a form: the server function must read its arguments as one (`PostUrl`).
    S: ServerFn<Protocol = Http<PostUrl, Answer>> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
    R: Fn(&Fields) -> S + 'static,
{
    let submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let form = ev
                .target()
                .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok());
            if let Some(data) = form.and_then(|form| web_sys::FormData::new_with_form(&form).ok()) {
                action.dispatch(read(&Fields(data)));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&action, &read);
    };
    view! {
        <form action=S::url() method="post" class=class novalidate=novalidate on:submit=submit>
            {children()}
        </form>
    }
}
