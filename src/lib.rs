//! Gatehouse: sign-in with short-lived access tokens and rotating refresh tokens.
//!
//! - `app`, `pages`, `components`: the UI, rendered on the server and hydrated in the browser.
//! - `api`: server functions, the browser's calls into the server.
//! - `error`, `model`: what crosses the wire.
//! - `time`, `csp`: small pieces both sides use (time in words, the page's security policy).
//! - `server` (ssr only): tokens, sessions, passwords, the database, the JSON API.

pub mod api;
pub mod app;
pub mod components;
pub mod csp;
pub mod error;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod time;

/// The wasm entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panics in the console while developing; a release bundle goes without the
    // hook and its formatting (a panic there still stops the page, as "unreachable").
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
