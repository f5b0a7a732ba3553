//! Baedal (배달): one Leptos app for customers, store owners and riders.
//!
//! This crate is compiled twice: with `ssr` into the server (pages rendered to HTML, server
//! functions executed against the database) and with `hydrate` into the browser's wasm (the
//! same pages made interactive, server functions called over HTTP). Types shared by both sides
//! live in the `domain` crate (re-exported here as `app::domain`); everything that touches the
//! database lives in the `backend` crate (re-exported as `app::backend`, behind `ssr`), which
//! the server functions reach through `door`.

pub mod access;
pub mod api;
pub mod area;
pub mod codec;
#[cfg(feature = "ssr")]
pub use backend;
#[cfg(feature = "ssr")]
pub mod door;
pub use domain;
pub mod error;
pub mod ui;

pub use ui::{shell, App};
