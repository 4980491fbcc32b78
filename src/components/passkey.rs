//! The bridge to `public/passkeys.js`, which runs whole passkey ceremonies — the server calls
//! and the browser's WebAuthn call — so the WebAssembly only waits for their outcome: a few
//! imports, nothing that handles WebAuthn's data. A refusal comes back as the server's
//! `AppError` (JSON text). On the server (rendering) nothing here is ever called.

use crate::error::AppError;

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn run(what: &str, arg: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn offer() -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey, js_name = isSupported)]
        pub fn supported() -> Result<bool, JsValue>;
    }

    /// The promise's text, or the error it was refused with.
    pub async fn wait(promise: Result<js_sys::Promise, JsValue>) -> Result<String, super::AppError> {
        let refused = |e: JsValue| {
            e.as_string()
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_else(|| super::AppError::BadRequest(super::NOT_DONE.into()))
        };
        let value = wasm_bindgen_futures::JsFuture::from(promise.map_err(refused)?).await.map_err(refused)?;
        Ok(value.as_string().unwrap_or_default())
    }
}

/// What a browser that could not run the ceremony tells the person.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const NOT_DONE: &str = "The passkey request was cancelled or timed out. Try again.";

/// A ceremony of the script: `Ceremony::Add` (a name), `Remove` (an id) or `Confirm`;
/// answers its text (the new passkey's name, for `Add`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Add,
    Remove,
    Confirm,
}

pub async fn run(what: Ceremony, arg: String) -> Result<String, AppError> {
    #[cfg(feature = "hydrate")]
    {
        let what = match what {
            Ceremony::Add => "add",
            Ceremony::Remove => "remove",
            Ceremony::Confirm => "confirm",
        };
        js::wait(js::run(what, &arg)).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (what, arg);
        Err(AppError::BadRequest(NOT_DONE.into()))
    }
}

/// True in a browser that can use passkeys (and has the script).
pub fn supported() -> bool {
    #[cfg(feature = "hydrate")]
    return js::supported().unwrap_or(false);
    #[cfg(not(feature = "hydrate"))]
    false
}

/// The sign-in page: shows "Sign in with a passkey" and offers passkeys in autofill (also
/// after the app navigated here without loading a page).
pub fn offer() {
    #[cfg(feature = "hydrate")]
    let _ = js::offer();
}
