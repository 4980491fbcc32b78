//! Revocations reaching every instance (ssr only, PostgreSQL).
//!
//! Each instance keeps its own in-memory revocation list. When one instance revokes a
//! session it tells the others with PostgreSQL's NOTIFY, sent inside the revoking
//! transaction, so the message goes out exactly when the revocation commits (and never for
//! one that rolled back). Every instance LISTENs and adds what it hears to its list.
//!
//! A notification sent while a listener is disconnected is lost, so the listener never
//! trusts the push alone: whenever it (re)connects it re-reads the sessions revoked since
//! it last knew it was up to date, and while it cannot listen it polls the database every
//! [`POLL_WHEN_DISCONNECTED`]. Even while connected it re-reads every
//! [`POLL_WHEN_CONNECTED`], a cheap indexed query, as a last line of defence.
//!
//! SQLite is one instance by construction: nothing is sent or heard.

use super::revocation_list::RevocationList;
use crate::{
    server::{clock, db::Tx},
    with_tx,
};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::{sync::Arc, time::Duration};

/// The NOTIFY channel. Payload: `<revoked_at> <session id>,<session id>,…`.
pub const CHANNEL: &str = "gatehouse_revoked";

/// How often an instance re-reads recent revocations while it cannot listen.
pub const POLL_WHEN_DISCONNECTED: Duration = Duration::from_secs(1);
/// How often it re-reads them anyway.
pub const POLL_WHEN_CONNECTED: Duration = Duration::from_secs(30);

/// PostgreSQL refuses payloads of 8,000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7_000;

/// Queues the notification for `ids` in the revoking transaction (PostgreSQL only).
pub async fn notify(tx: &mut Tx, ids: &[String], revoked_at: i64) -> Result<(), sqlx::Error> {
    if !tx.is_postgres() || ids.is_empty() {
        return Ok(());
    }
    for payload in payloads(ids, revoked_at) {
        with_tx!(tx, |conn| {
            sqlx::query("select pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(conn).await.map(|done| done.rows_affected())
        })?;
    }
    Ok(())
}

/// Splits the ids into as few payloads as fit.
fn payloads(ids: &[String], revoked_at: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for id in ids {
        if !current.is_empty() && current.len() + 1 + id.len() > MAX_PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current = format!("{revoked_at} {id}");
        } else {
            current.push(',');
            current.push_str(id);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Reads a payload back: `(revoked_at, ids)`; None for anything malformed.
fn parse(payload: &str) -> Option<(i64, Vec<String>)> {
    let (at, ids) = payload.split_once(' ')?;
    let at = at.parse().ok()?;
    let ids: Vec<String> = ids.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect();
    (!ids.is_empty()).then_some((at, ids))
}

/// Options for [`spawn_listener`].
#[derive(Debug, Clone, Copy)]
pub struct ListenOptions {
    /// False: never LISTEN, only poll every [`POLL_WHEN_DISCONNECTED`] (the fallback path,
    /// selectable so that it can be tested on its own).
    pub push: bool,
}

/// Keeps `list` up to date with every instance's revocations, for as long as the process
/// runs. The listener uses its own connection, outside the request pool.
pub fn spawn_listener(
    db: crate::server::db::Db,
    pool: &PgPool,
    list: Arc<RevocationList>,
    options: ListenOptions,
) -> tokio::task::JoinHandle<()> {
    let listen_pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with((*pool.connect_options()).clone());
    tokio::spawn(async move {
        // Everything revoked from here on must be caught; start-up already loaded the past.
        let mut synced_to = clock::now();
        loop {
            let listener = if options.push { connect(&listen_pool).await } else { None };
            // Whatever was revoked while nobody listened. This runs after LISTEN is in place,
            // so a revocation is either heard or already in the database when we read it.
            synced_to = resync(&db, &list, synced_to).await;
            let Some(mut listener) = listener else {
                // Fallback: poll until listening works again.
                tokio::time::sleep(POLL_WHEN_DISCONNECTED).await;
                continue;
            };
            tracing::debug!("listening for revocations from other instances");
            let mut safety = tokio::time::interval(POLL_WHEN_CONNECTED);
            safety.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            safety.tick().await;
            loop {
                tokio::select! {
                    message = listener.try_recv() => match message {
                        Ok(Some(notification)) => match parse(notification.payload()) {
                            Some((at, ids)) => list.insert_all(&ids, at),
                            None => tracing::warn!("ignoring a malformed revocation notification"),
                        },
                        Ok(None) => {
                            tracing::warn!("revocation listener lost its connection; reconnecting and catching up");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "revocation listener failed; reconnecting and catching up");
                            break;
                        }
                    },
                    _ = safety.tick() => synced_to = resync(&db, &list, synced_to).await,
                }
            }
        }
    })
}

async fn connect(pool: &PgPool) -> Option<PgListener> {
    let connecting = tokio::time::timeout(Duration::from_secs(5), PgListener::connect_with(pool));
    let mut listener = match connecting.await.unwrap_or(Err(sqlx::Error::PoolTimedOut)) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for revocations; polling instead");
            return None;
        }
    };
    // A lost connection surfaces as Ok(None); the caller then starts over with a new
    // listener, LISTEN first and catch-up second.
    listener.eager_reconnect(false);
    match listener.listen(CHANNEL).await {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "LISTEN failed; polling instead");
            None
        }
    }
}

/// Reads revocations since `since` (with a margin for clocks and in-flight transactions)
/// into the list; returns the new "up to date as of" time, or `since` when the database did
/// not answer (so the next attempt covers the gap).
async fn resync(db: &crate::server::db::Db, list: &RevocationList, since: i64) -> i64 {
    let now = clock::now();
    match list.load_since(db, since - RESYNC_MARGIN_SECS).await {
        Ok(_) => now,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read recent revocations");
            since
        }
    }
}

/// Revocations are stamped with the revoking instance's clock, and a transaction may commit
/// a little after its timestamp; re-reading a few seconds back covers both.
const RESYNC_MARGIN_SECS: i64 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_stay_under_the_limit() {
        let ids: Vec<String> = (0..500).map(|i| format!("{i:08}-0000-4000-8000-000000000000")).collect();
        let chunks = payloads(&ids, 1_700_000_000);
        assert!(chunks.len() > 1, "500 ids do not fit one notification");
        let mut back = Vec::new();
        for chunk in &chunks {
            assert!(chunk.len() < 8000);
            let (at, ids) = parse(chunk).unwrap();
            assert_eq!(at, 1_700_000_000);
            back.extend(ids);
        }
        assert_eq!(back, ids);
    }

    #[test]
    fn malformed_payloads_are_refused() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("soon abc"), None);
        assert_eq!(parse("12 "), None);
        assert_eq!(parse("12"), None);
        assert_eq!(parse("12 a,b"), Some((12, vec!["a".into(), "b".into()])));
    }
}
