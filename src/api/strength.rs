//! The strength meter's question to the server: how guessable is this password?
//!
//! zxcvbn runs here, on the server, with the very rule registration and password change
//! enforce (`model::strength`), instead of shipping its dictionaries to every browser.
//! Rate-limited per client address like sign-in attempts; nothing is stored or logged.

use crate::{error::AppError, model::strength::Strength};
use leptos::prelude::*;

#[server(prefix = "/fn", endpoint = "password-strength")]
pub async fn password_strength(password: String) -> Result<Strength, AppError> {
    use crate::server::{http::client_ip, throttle::Endpoint, validate::PASSWORD_MAX_CHARS};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    state
        .throttle
        .request(Endpoint::Strength, client_ip(&state, &parts))
        .map_err(|retry_after| AppError::TooManyAttempts { retry_after })?;
    if password.chars().count() > PASSWORD_MAX_CHARS {
        return Err(AppError::invalid(
            std::iter::once(("password".to_string(), format!("Password must be at most {PASSWORD_MAX_CHARS} characters")))
                .collect(),
        ));
    }
    Ok(crate::model::strength::estimate(&password))
}
