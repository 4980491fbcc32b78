//! Server functions behind the dashboard (the use cases are `server::service::dashboard`).

use crate::{error::AppError, model::{Dashboard, SessionStatus}};
use leptos::prelude::*;

/// Everything the dashboard shows, for the signed-in caller.
#[server(prefix = "/fn", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use crate::server::{clock, service::dashboard};
    let (state, me) = super::ctx::caller()?;
    dashboard::dashboard(&state, &me, clock::now()).await
}

/// Is my session still good? Answers from the access token the call carried.
#[server(prefix = "/fn", endpoint = "session-status")]
pub async fn check_session() -> Result<SessionStatus, AppError> {
    use crate::server::service::dashboard;
    let (state, me) = super::ctx::caller()?;
    dashboard::status(&state, &me).await
}
