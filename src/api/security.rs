//! Server functions behind the security page (the use cases are `server::service::account`).

use crate::error::AppError;
use leptos::prelude::*;

/// Changes the password; every other device is signed out, this one stays.
/// Returns how many devices were signed out.
#[server(prefix = "/fn", endpoint = "password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<u64, AppError> {
    use crate::server::{clock, http::client_of, service::account};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    account::change_password(&state, &me, &client, &current_password, &new_password, clock::now()).await
}

/// The caller's account, for the frame of pages that need nothing else.
#[server(prefix = "/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<crate::model::User, AppError> {
    use crate::server::service::account;
    let (state, me) = super::ctx::caller()?;
    account::profile(&state, &me.user_id).await
}
