//! Server functions behind the dashboard.

use crate::{error::AppError, model::{Dashboard, SessionStatus}};
use leptos::prelude::*;

/// Everything the dashboard shows, for the signed-in caller.
#[server(prefix = "/fn", endpoint = "dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use crate::{
        model::{FlowView, Moment},
        server::{clock::{self, ago, rfc3339}, events, sessions},
    };
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let now = clock::now();
    state.activity.touch(&state.db, &me.session_id, now).await?;
    let user = state.profiles.get(&state.db, &me.user_id).await?.ok_or(AppError::InvalidToken)?;
    let session = sessions::find(&state.db, &me.session_id).await?.ok_or(AppError::InvalidToken)?;
    let events = events::recent(&state.db, &me.user_id, &me.session_id, 20, now).await?;
    let c = &me.claims;
    let claims = vec![
        ("alg".to_string(), "EdDSA (Ed25519)".to_string()),
        ("kid".to_string(), me.kid.clone()),
        ("iss".to_string(), c.iss.clone()),
        ("aud".to_string(), c.aud.clone()),
        ("sub".to_string(), c.sub.clone()),
        ("sid".to_string(), c.sid.clone()),
        ("iat".to_string(), format!("{} ({})", c.iat, rfc3339(c.iat))),
        ("exp".to_string(), format!("{} ({})", c.exp, rfc3339(c.exp))),
        ("jti".to_string(), c.jti.clone()),
    ];
    let rotated = (session.rotations > 0).then_some(session.refresh_issued_at);
    let moment = |unix: i64| Moment { unix, at: rfc3339(unix) };
    let rotated_times = rotation_times(&state.db, &session.id, 5).await?;
    Ok(Dashboard {
        signed_in: moment(session.created_at),
        rotated: rotated_times.into_iter().map(moment).collect(),
        access_issued: moment(c.iat),
        user,
        session_id: session.id,
        signed_in_at: rfc3339(session.created_at),
        access_expires_at: rfc3339(c.exp),
        access_expires_unix: c.exp,
        rotations: session.rotations,
        server_now_unix: now,
        flow: FlowView {
            claims,
            issued_at: rfc3339(c.iat),
            rotations: session.rotations,
            last_rotated_at: rotated.map(rfc3339),
            last_rotated_ago: rotated.map(|t| ago(t, now)),
        },
        events,
    })
}

/// Is my session still good? Answers from the access token the call carried.
#[server(prefix = "/fn", endpoint = "session-status")]
pub async fn check_session() -> Result<SessionStatus, AppError> {
    use crate::{model::Moment, server::{clock::{self, rfc3339}, sessions}};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let session = sessions::find(&state.db, &me.session_id).await?.ok_or(AppError::InvalidToken)?;
    let last = rotation_times(&state.db, &session.id, 1).await?.pop();
    Ok(SessionStatus {
        session_id: me.session_id,
        access_expires_at: rfc3339(me.claims.exp),
        access_expires_unix: me.claims.exp,
        checked_at_unix: clock::now(),
        rotations: session.rotations,
        last_rotated: last.map(|unix| Moment { unix, at: rfc3339(unix) }),
    })
}

/// When this session's refresh token was last rotated, up to `limit` times, oldest first
/// (each rotation spends one token; its hash is kept with the time).
#[cfg(feature = "ssr")]
async fn rotation_times(db: &crate::server::db::Db, session_id: &str, limit: i64) -> Result<Vec<i64>, AppError> {
    let mut times: Vec<i64> = crate::with_db!(db.read(), |pool| {
        sqlx::query_scalar("select spent_at from spent_refresh_tokens where session_id = $1 order by spent_at desc limit $2")
            .bind(session_id)
            .bind(limit)
            .fetch_all(pool)
            .await
    })?;
    times.reverse();
    Ok(times)
}
