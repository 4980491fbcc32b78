//! Server functions behind the dashboard.

use crate::{error::AppError, model::{Dashboard, SessionStatus}};
use leptos::prelude::*;

/// Everything the dashboard shows, for the signed-in caller.
#[server(prefix = "/fn", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use crate::server::{clock::{self, rfc3339}, sessions, users};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let user = users::by_id(&state.db, &me.user_id).await?.ok_or(AppError::InvalidToken)?;
    let session = sessions::find(&state.db, &me.session_id).await?.ok_or(AppError::InvalidToken)?;
    Ok(Dashboard {
        user: user.public(),
        session_id: session.id,
        signed_in_at: rfc3339(session.created_at),
        access_expires_at: rfc3339(me.claims.exp),
        access_expires_unix: me.claims.exp,
        rotations: session.rotations,
        server_now_unix: clock::now(),
    })
}

/// Is my session still good? Answers from the access token the call carried.
#[server(prefix = "/fn", endpoint = "session-status")]
pub async fn check_session() -> Result<SessionStatus, AppError> {
    use crate::server::clock::{self, rfc3339};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    Ok(SessionStatus {
        session_id: me.session_id,
        access_expires_at: rfc3339(me.claims.exp),
        access_expires_unix: me.claims.exp,
        checked_at_unix: clock::now(),
    })
}
