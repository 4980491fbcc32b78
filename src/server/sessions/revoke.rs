//! Revocation (ssr only): a session ends, in the database and in the in-memory list that
//! every request checks, so its access tokens stop working on the next request. Each
//! revocation is recorded in the security activity, in the same transaction.

use super::{revocation_list::RevocationList, revocation_push, SessionSettings};
use crate::{
    server::{
        db::{Db, Tx},
        events::{self, EndReason},
        secret::Secret,
        tokens::refresh,
    },
    with_db, with_tx,
};

/// Why a session ended, and which session (if any) ended it.
#[derive(Debug, Clone, Copy)]
pub struct Why<'a> {
    pub reason: EndReason,
    pub actor_session_id: Option<&'a str>,
}

/// Revokes one session. With `user_id`, only if it belongs to that user (someone else's
/// session id behaves exactly like an unknown one). Returns false when nothing was revoked.
pub async fn revoke_session(
    db: &Db,
    list: &RevocationList,
    session_id: &str,
    user_id: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let revoked = revoke_session_in(&mut tx, session_id, user_id, why, now).await?;
    Ok(!commit_and_list(tx, list, revoked, now).await?.is_empty())
}

/// [`revoke_session`] inside the caller's transaction. Returns the revoked id (none or one);
/// the caller puts it on the revocation list once the transaction has committed.
pub async fn revoke_session_in(
    tx: &mut Tx,
    session_id: &str,
    user_id: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    // `cast($4 as text)`: PostgreSQL cannot type a parameter that is only compared with null.
    let owner: Option<String> = with_tx!(tx, |conn| {
        sqlx::query_scalar(
            "update sessions set revoked_at = $1, revoked_reason = $2
              where id = $3 and revoked_at is null and (cast($4 as text) is null or user_id = $4)
              returning user_id",
        )
        .bind(now)
        .bind(why.reason.as_str())
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
    })?;
    let Some(owner) = owner else {
        return Ok(Vec::new());
    };
    let ids = vec![session_id.to_owned()];
    record_revoked(tx, &owner, &ids, &ids, why, now).await?;
    Ok(ids)
}

/// How far a mass revocation reaches. Besides the live sessions (the ones the devices page
/// lists), it ends every session that may still have an unexpired access token: one that
/// ended less than an access-token lifetime plus clock leeway ago — a token minted before
/// tokens were capped at their session's end, or checked by an instance whose clock is behind.
#[derive(Debug, Clone, Copy)]
pub struct Reach {
    /// The refresh idle timeout: a session unused this long is no longer listed as live.
    pub idle_secs: i64,
    /// How long after its end a session may still have a valid access token.
    pub token_secs: i64,
}

impl Reach {
    pub fn new(settings: &SessionSettings, list: &RevocationList) -> Reach {
        // The revocation list keeps a session exactly as long as one of its tokens may live.
        Reach { idle_secs: settings.idle_secs, token_secs: list.keep_secs() }
    }
}

/// What a mass revocation ended.
#[derive(Debug, Default)]
pub struct Ended {
    /// Every session revoked: all of them go on the revocation list.
    pub ids: Vec<String>,
    /// How many of them were live — what the person saw on the devices page and is told was
    /// signed out; each has its event in the activity. The others had already ended.
    pub live: u64,
}

/// Revokes every session of a user except `keep` (all of them when `keep` is None) that is
/// live or may still hold a valid access token (see [`Reach`]). Returns how many live ones
/// were signed out.
pub async fn revoke_all_of_user(
    db: &Db,
    list: &RevocationList,
    settings: &SessionSettings,
    user_id: &str,
    keep: Option<&str>,
    why: Why<'_>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let ended = revoke_all_of_user_in(&mut tx, user_id, keep, why, Reach::new(settings, list), now).await?;
    commit_and_list(tx, list, ended.ids, now).await?;
    Ok(ended.live)
}

/// [`revoke_all_of_user`] inside the caller's transaction; the caller puts `ids` on the
/// revocation list after commit.
pub async fn revoke_all_of_user_in(
    tx: &mut Tx,
    user_id: &str,
    keep: Option<&str>,
    why: Why<'_>,
    reach: Reach,
    now: i64,
) -> Result<Ended, sqlx::Error> {
    // `live` is the devices page's test (sessions::active_for_user); `cast(… as bigint)`:
    // PostgreSQL's `case` of literals is an int4, SQLite's an integer.
    let rows: Vec<(String, i64)> = with_tx!(tx, |conn| {
        sqlx::query_as(
            "update sessions set revoked_at = $1, revoked_reason = $2
              where user_id = $3 and revoked_at is null and expires_at > $5 and (cast($4 as text) is null or id <> $4)
              returning id, cast(case when expires_at > $1 and refresh_issued_at > $6 then 1 else 0 end as bigint)",
        )
        .bind(now)
        .bind(why.reason.as_str())
        .bind(user_id)
        .bind(keep)
        .bind(now.saturating_sub(reach.token_secs))
        .bind(now.saturating_sub(reach.idle_secs))
        .fetch_all(conn)
        .await
    })?;
    let live: Vec<String> = rows.iter().filter(|(_, live)| *live == 1).map(|(id, _)| id.clone()).collect();
    let ids: Vec<String> = rows.into_iter().map(|(id, _)| id).collect();
    record_revoked(tx, user_id, &live, &ids, why, now).await?;
    Ok(Ended { ids, live: live.len() as u64 })
}

/// Commits, then puts the revoked sessions on this instance's list (the others hear of them
/// by the notification the transaction carried).
pub async fn commit_and_list(tx: Tx, list: &RevocationList, revoked: Vec<String>, now: i64) -> Result<Vec<String>, sqlx::Error> {
    tx.commit().await?;
    list.insert_all(&revoked, now);
    Ok(revoked)
}

/// What every revocation leaves behind in its transaction: one activity event per session
/// that was live (`live`), and (PostgreSQL) a notification naming every revoked one (`all`)
/// that reaches the other instances when it commits.
async fn record_revoked(
    tx: &mut Tx,
    user_id: &str,
    live: &[String],
    all: &[String],
    why: Why<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    for id in live {
        let event = events::NewEvent {
            session_id: Some(id),
            actor_session_id: why.actor_session_id,
            reason: Some(why.reason),
            ..events::NewEvent::new(user_id, why.reason.event_kind())
        };
        events::record(tx, event, now).await?;
    }
    crate::server::metrics::revoked(why.reason.as_str(), all.len());
    revocation_push::notify(tx, all, now).await
}

/// The session a refresh token (live or spent) belongs to, if any — for signing out with
/// only the refresh cookie in hand.
pub async fn session_of_refresh_token(db: &Db, token: &Secret) -> Result<Option<String>, sqlx::Error> {
    let h = refresh::hash(token);
    with_db!(db.read(), |pool| {
        sqlx::query_scalar(
            "select id from sessions where refresh_hash = $1
             union all
             select session_id from spent_refresh_tokens where token_hash = $1",
        )
        .bind(&h[..])
        .fetch_optional(pool)
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{client::Client, db, sessions::start};

    const T0: i64 = 1_800_000_000;

    #[tokio::test]
    async fn a_mass_revocation_reaches_sessions_that_may_hold_a_valid_token_and_counts_only_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        let user = crate::server::users::insert(&db, "a@b.co", "A", "x", 0).await.unwrap().id;
        let settings = SessionSettings { idle_secs: 7 * 86400, absolute_secs: 30 * 86400, grace_secs: 5 };
        let list = RevocationList::new(900);
        let mut ids = Vec::new();
        for _ in 0..4 {
            let mut tx = db.begin().await.unwrap();
            ids.push(start::start(&mut tx, &user, &Client::default(), &settings, T0).await.unwrap().session_id);
            tx.commit().await.unwrap();
        }
        let (keep, live, just_ended, long_ended) = (&ids[0], &ids[1], &ids[2], &ids[3]);
        let now = T0 + 3600;
        for (id, end) in [(just_ended, now - 30), (long_ended, now - 900 - 61)] {
            with_db!(db.write(), |pool| sqlx::query("update sessions set expires_at = $1 where id = $2")
                .bind(end)
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))
            .unwrap();
        }
        let why = Why { reason: EndReason::SignedOutElsewhere, actor_session_id: Some(keep) };

        let counted = revoke_all_of_user(&db, &list, &settings, &user, Some(keep), why, now).await.unwrap();

        assert_eq!(counted, 1, "only the live one is counted");
        assert!(list.is_revoked(live) && list.is_revoked(just_ended));
        assert!(!list.is_revoked(keep) && !list.is_revoked(long_ended), "no token of the long-ended one can be valid");
        let revoked_at = |row: Option<crate::server::sessions::SessionRow>| row.and_then(|r| r.revoked_at);
        assert!(revoked_at(crate::server::sessions::find(&db, just_ended).await.unwrap()).is_some());
        assert!(revoked_at(crate::server::sessions::find(&db, long_ended).await.unwrap()).is_none());
    }
}
