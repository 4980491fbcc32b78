//! Gatehouse: sign-in with short-lived access tokens and rotating refresh tokens.
//!
//! - `app`, `pages`, `components`: the UI, rendered on the server; only its `#[island]`s are
//!   hydrated in the browser (Leptos islands mode).
//! - `api`: server functions, the browser's calls into the server.
//! - `error`, `model`: what crosses the wire.
//! - `time`, `csp`: small pieces both sides use (time in words, the page's security policy).
//! - `server` (ssr only): tokens, sessions, passwords, the database, the JSON API.

// Islands wrap a view in two more types (`Island<OwnedView<…>>`); without the type erasure
// cargo-leptos's debug builds turn on (`--cfg erase_components`) — `cargo test`, release
// server builds — the sign-in page's view type then needs more than the default 128 levels.
#![recursion_limit = "256"]

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

/// The wasm entry point. Islands mode: the page is the server's; this only sets up what every
/// island of the page shares, and the island script then hydrates each `#[island]` in turn.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::*;
    // Readable panics in the console while developing; a release bundle goes without the
    // hook and its formatting (a panic there still stops the page, as "unreachable").
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // The root owner every island's owner hangs from: context provided here reaches them all
    // (islands that are not nested share nothing else).
    leptos::mount::hydrate_islands();
    // A form sent without JavaScript that failed comes back with its error in the URL. On
    // the server the router hands it to the page; there is no router in the browser, so the
    // islands' actions get it from here and start out holding it, as the server rendered.
    if let Ok(search) = window().location().search() {
        if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) {
            if let (Some(path), Some(err)) = (params.get("__path"), params.get("__err")) {
                provide_context(leptos::server::ServerActionError::new(&path, &err));
            }
        }
    }
    // "Confirm it's you": one question per page, asked by any island's action and answered
    // in the panel (the header's island, `layout::FrameLive`).
    components::step_up::StepUp::provide();
    // The dashboard's access-token expiry, which its two islands share.
    pages::dashboard::AccessExpiry::provide();
    // No redirect hook: the islands' server functions answer a call from the page with data
    // and redirect only a plain form (`api::ctx::plain_form`), which the browser follows.
}
