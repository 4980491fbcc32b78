//! The bridge to `public/passkeys.js` (the browser's WebAuthn calls): options in and the
//! credential out, both as JSON text. Kept to a few imports so the WebAssembly barely grows;
//! on the server (rendering) nothing here is ever called.

use crate::error::AppError;

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn create(options: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn get(options: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey)]
        pub fn offer() -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = gatehousePasskey, js_name = isSupported)]
        pub fn supported() -> Result<bool, JsValue>;
    }

    pub async fn run(promise: Result<js_sys::Promise, JsValue>) -> Result<String, JsValue> {
        wasm_bindgen_futures::JsFuture::from(promise?).await?.as_string().ok_or(JsValue::NULL)
    }
}

/// What a refused or cancelled browser ceremony tells the person.
const NOT_DONE: &str = "The passkey request was cancelled or timed out. Try again.";

/// A new credential for creation options (JSON text), as JSON text.
pub async fn create(options: String) -> Result<String, AppError> {
    #[cfg(feature = "hydrate")]
    return js::run(js::create(&options)).await.map_err(|_| AppError::BadRequest(NOT_DONE.into()));
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(AppError::BadRequest(NOT_DONE.into()))
    }
}

/// An assertion for request options (JSON text), as JSON text.
pub async fn get(options: String) -> Result<String, AppError> {
    #[cfg(feature = "hydrate")]
    return js::run(js::get(&options)).await.map_err(|_| AppError::BadRequest(NOT_DONE.into()));
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
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
