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
        pub fn add(name: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn remove(id: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn confirm() -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn offer() -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey, js_name = isSupported)]
        pub fn supported() -> Result<bool, JsValue>;
    }

    /// The promise's text, or the error it was refused with.
    pub async fn run(promise: Result<js_sys::Promise, JsValue>) -> Result<String, super::AppError> {
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

/// "Add a passkey" named `name`; answers the name it got.
pub async fn add(name: String) -> Result<String, AppError> {
    #[cfg(feature = "hydrate")]
    return js::run(js::add(&name)).await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        Err(AppError::BadRequest(NOT_DONE.into()))
    }
}

/// "Remove" one of the account's passkeys.
pub async fn remove(id: String) -> Result<(), AppError> {
    #[cfg(feature = "hydrate")]
    return js::run(js::remove(&id)).await.map(|_| ());
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        Err(AppError::BadRequest(NOT_DONE.into()))
    }
}

/// "Confirm it's you" with one of the account's passkeys.
pub async fn confirm() -> Result<(), AppError> {
    #[cfg(feature = "hydrate")]
    return js::run(js::confirm()).await.map(|_| ());
    #[cfg(not(feature = "hydrate"))]
    Err(AppError::BadRequest(NOT_DONE.into()))
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
