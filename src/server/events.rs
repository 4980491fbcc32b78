//! The security activity log (ssr only): sign-ins, password changes, sign-outs and theft
//! detection, recorded as they happen and told back in plain words.

use crate::{
    model::SecurityEvent,
    server::{
        clock::rfc3339,
        db::{Db, Tx},
        devices,
        sessions::Client,
    },
    with_db, with_tx,
};

pub const SIGNED_IN: &str = "signed_in";
pub const PASSWORD_CHANGED: &str = "password_changed";
pub const SESSION_REVOKED: &str = "session_revoked";
pub const REFRESH_TOKEN_REUSED: &str = "refresh_token_reused";

/// One event to record.
#[derive(Debug, Default)]
pub struct NewEvent<'a> {
    pub user_id: &'a str,
    pub kind: &'a str,
    pub session_id: Option<&'a str>,
    pub actor_session_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub client: Option<&'a Client>,
}

/// Records an event inside the caller's transaction, so it exists exactly when what it
/// describes does.
pub async fn record(tx: &mut Tx, event: NewEvent<'_>, now: i64) -> Result<(), sqlx::Error> {
    let (ip, ua) = event.client.map(|c| (c.ip.as_str(), c.user_agent.as_str())).unwrap_or(("", ""));
    let id = uuid::Uuid::now_v7().to_string();
    let ua: String = ua.chars().take(512).collect();
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into security_events (id, user_id, kind, session_id, actor_session_id, reason, ip, user_agent, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(event.user_id)
        .bind(event.kind)
        .bind(event.session_id)
        .bind(event.actor_session_id)
        .bind(event.reason)
        .bind(ip)
        .bind(&ua)
        .bind(now)
        .execute(conn)
        .await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    session_id: Option<String>,
    actor_session_id: Option<String>,
    reason: Option<String>,
    ip: String,
    user_agent: String,
    created_at: i64,
    /// The user agent of the session the event is about.
    subject_agent: Option<String>,
    subject_alive: Option<i64>,
}

/// The account's most recent events, newest first, told from `current_session`'s view.
pub async fn recent(db: &Db, user_id: &str, current_session: &str, limit: i64, now: i64) -> Result<Vec<SecurityEvent>, sqlx::Error> {
    // `cast(… as bigint)`: PostgreSQL's `case` of literals is an int4, SQLite's an integer.
    let rows: Vec<Row> = with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select e.id, e.kind, e.session_id, e.actor_session_id, e.reason, e.ip, e.user_agent, e.created_at,
                    s.user_agent as subject_agent,
                    cast(case when s.revoked_at is null and s.expires_at > $3 then 1 else 0 end as bigint) as subject_alive
               from security_events e left join sessions s on s.id = e.session_id
              where e.user_id = $1
              order by e.created_at desc, e.id desc
              limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .bind(now)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(|r| describe(r, current_session, now)).collect())
}

fn describe(r: Row, current: &str, now: i64) -> SecurityEvent {
    let device = devices::parse(r.subject_agent.as_deref().unwrap_or(&r.user_agent)).label();
    let is_this = r.session_id.as_deref() == Some(current);
    let which = if is_this { "This device".to_owned() } else { device.clone() };
    let by = match (r.actor_session_id.as_deref(), r.reason.as_deref()) {
        (_, Some("refresh_token_reused")) => "automatically, because a refresh token was used twice".to_owned(),
        (_, Some("password_changed")) => "because the password was changed".to_owned(),
        (Some(a), _) if a == current => "from this device".to_owned(),
        (Some(a), _) if Some(a) == r.session_id.as_deref() => "by signing out".to_owned(),
        (Some(_), _) => "from another device".to_owned(),
        (None, Some("reported_by_owner")) => "after you said the sign-in wasn't you".to_owned(),
        (None, _) => "by the server".to_owned(),
    };
    let text = match r.kind.as_str() {
        SIGNED_IN => {
            let ip = if r.ip.is_empty() { String::new() } else { format!(" from IP {}", r.ip) };
            if is_this { format!("New sign-in on this device ({device}){ip}") } else { format!("New sign-in on {device}{ip}") }
        }
        PASSWORD_CHANGED => "Password changed; other devices were signed out".to_owned(),
        SESSION_REVOKED => format!("{which} was signed out {by}"),
        REFRESH_TOKEN_REUSED => format!(
            "A refresh token of {which} was used twice — possible theft. That device was signed out to protect you."
        ),
        other => other.replace('_', " "),
    };
    SecurityEvent {
        id: r.id,
        kind: r.kind.clone(),
        text,
        at: rfc3339(r.created_at),
        ago: crate::server::clock::ago(r.created_at, now),
        session_id: r.session_id.clone(),
        can_disown: r.kind == SIGNED_IN && !is_this && r.subject_alive == Some(1),
    }
}
