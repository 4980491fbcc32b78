//! Server functions behind the security page's "Two-step verification" (the use cases are
//! `server::service::two_step`).

use crate::{
    error::AppError,
    model::{SecondFactorState, TotpSetup},
};
use leptos::prelude::*;

/// The security page's second factors: whether two-step verification is on (and recovery
/// codes left), and the account's passkeys.
#[server(prefix = "/fn", endpoint = "second-factors")]
pub async fn second_factors() -> Result<SecondFactorState, AppError> {
    use crate::server::service::two_step;
    let (state, me) = super::ctx::caller()?;
    two_step::second_factors(&state, &me.user_id).await
}

/// "Set up authenticator app": a new secret, its QR code, pending until a code is entered.
#[server(prefix = "/fn", endpoint = "totp-begin")]
pub async fn begin_totp() -> Result<TotpSetup, AppError> {
    use crate::server::{clock, service::two_step};
    let (state, me) = super::ctx::caller()?;
    two_step::begin(&state, &me, clock::now()).await
}

/// "Verify": switches it on with a code from the app; answers the recovery codes.
#[server(prefix = "/fn", endpoint = "totp-confirm")]
pub async fn confirm_totp(code: String) -> Result<Vec<String>, AppError> {
    use crate::server::{clock, http::client_of, service::two_step};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    two_step::confirm(&state, &me, &client, &code, clock::now()).await
}

/// "Turn off".
#[server(prefix = "/fn", endpoint = "totp-off")]
pub async fn turn_off_totp() -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::two_step};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    two_step::turn_off(&state, &me, &client, clock::now()).await?;
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/settings/password?two_step=off");
    }
    Ok(())
}

/// "Show new recovery codes": ten new ones; the old ones stop working.
#[server(prefix = "/fn", endpoint = "recovery-codes")]
pub async fn renew_recovery_codes() -> Result<Vec<String>, AppError> {
    use crate::server::{clock, http::client_of, service::two_step};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    two_step::renew_codes(&state, &me, &client, clock::now()).await
}
