//! What the dashboard shows (ssr only): the person, this session's timeline, the access
//! token's claims, and the account's security activity.

use super::account::profile;
use crate::{
    error::AppError,
    model::{Dashboard, FlowView, Moment, SessionStatus},
    server::{
        auth::AuthUser,
        clock::{ago, rfc3339},
        events,
        sessions::{self, SessionRow},
        state::AppState,
    },
};

/// Events listed on the dashboard, newest first.
const RECENT_EVENTS: i64 = 20;
/// Rotations drawn on the session's timeline (older ones are counted, not drawn).
const TIMELINE_ROTATIONS: i64 = 5;

/// Everything the dashboard shows, for the caller. Opening it counts as activity.
pub async fn dashboard(state: &AppState, caller: &AuthUser, now: i64) -> Result<Dashboard, AppError> {
    state.activity.touch(&state.db, &caller.session_id, now).await?;
    let user = profile(state, &caller.user_id).await?;
    let session = this_session(state, caller).await?;
    let events = events::recent(&state.db, &caller.user_id, &caller.session_id, RECENT_EVENTS, state.max_sessions, now).await?;
    let c = &caller.claims;
    let claims = vec![
        ("alg".to_string(), "EdDSA (Ed25519)".to_string()),
        ("kid".to_string(), caller.kid.clone()),
        ("iss".to_string(), c.iss.clone()),
        ("aud".to_string(), c.aud.clone()),
        ("sub".to_string(), c.sub.clone()),
        ("sid".to_string(), c.sid.clone()),
        ("iat".to_string(), format!("{} ({})", c.iat, rfc3339(c.iat))),
        ("exp".to_string(), format!("{} ({})", c.exp, rfc3339(c.exp))),
        ("jti".to_string(), c.jti.clone()),
    ];
    let last_rotated = (session.rotations > 0).then_some(session.refresh_issued_at);
    let rotated = sessions::rotation_times(&state.db, &session.id, TIMELINE_ROTATIONS).await?;
    Ok(Dashboard {
        user: std::sync::Arc::unwrap_or_clone(user),
        signed_in: moment(session.created_at),
        rotated: rotated.into_iter().map(moment).collect(),
        access_expires_at: rfc3339(c.exp),
        access_expires_unix: c.exp,
        rotations: session.rotations,
        server_now_unix: now,
        flow: FlowView {
            claims,
            issued_at: rfc3339(c.iat),
            rotations: session.rotations,
            last_rotated_at: last_rotated.map(rfc3339),
            last_rotated_ago: last_rotated.map(|t| ago(t, now)),
        },
        events,
    })
}

/// Is my session still good? Answered from the access token the call carried.
pub async fn status(state: &AppState, caller: &AuthUser) -> Result<SessionStatus, AppError> {
    let session = this_session(state, caller).await?;
    let last = sessions::rotation_times(&state.db, &session.id, 1).await?.pop();
    Ok(SessionStatus {
        access_expires_at: rfc3339(caller.claims.exp),
        access_expires_unix: caller.claims.exp,
        rotations: session.rotations,
        last_rotated: last.map(moment),
    })
}

async fn this_session(state: &AppState, caller: &AuthUser) -> Result<SessionRow, AppError> {
    sessions::find(&state.db, &caller.session_id).await?.ok_or(AppError::InvalidToken)
}

fn moment(unix: i64) -> Moment {
    Moment { unix, at: rfc3339(unix) }
}
