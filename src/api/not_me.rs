//! Server functions for the "This wasn't me" link of a new-device alert (the use case is
//! `server::service::new_device`).

use crate::{error::AppError, model::ReportedSignIn};
use leptos::prelude::*;

/// The sign-in the link is about, while the link still works; None otherwise. Changes nothing.
#[server(prefix = "/fn", endpoint = "not-me/sign-in")]
pub async fn not_me_sign_in(token: String) -> Result<Option<ReportedSignIn>, AppError> {
    use crate::server::{clock, service::new_device};
    let state = super::ctx::state()?;
    new_device::reported_sign_in(&state, &token, clock::now()).await
}

/// Signs that device out at once, forgets it, and mails a link to set a new password.
#[server(prefix = "/fn", endpoint = "not-me")]
pub async fn not_me(token: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::new_device};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    new_device::not_me(&state, &token, &client, clock::now()).await?;
    leptos_axum::redirect("/not-me?done=1");
    Ok(())
}
