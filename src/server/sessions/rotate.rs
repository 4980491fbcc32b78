//! Refresh-token rotation (ssr only): every refresh token works once.
//!
//! Presenting the live token swaps it for its successor in one conditional `update … where
//! refresh_hash = <presented>`: of two requests racing with the same token exactly one
//! matches the row, so rotation is atomic without explicit locks, on SQLite and PostgreSQL
//! alike. The spent token's hash is kept in `spent_refresh_tokens`, written by a trigger of
//! that same statement.
//!
//! Presenting a spent token again means one of two things:
//! - **a race** — two tabs of one browser refreshed at once with the same cookie. Inside the
//!   grace window the loser gets the very same successor the winner got (it is derived, see
//!   `tokens::refresh`), so the person stays signed in and the session still has exactly one
//!   live refresh token. Only a request that looks like the browser holding that successor
//!   gets it: the same User-Agent from the same network (see [`holder`]), recorded on the
//!   session by each rotation;
//! - **theft** — anyone else: a token rotated a while ago, or one presented inside the window
//!   by another client (whoever rotated first, thief or owner, the other one's request finds
//!   the token spent by a stranger). The whole session is revoked: the thief and the victim
//!   both lose it, and the victim, who signs in again, is the only one who can.
//!
//! A session past its absolute end (or idle timeout) is over whatever is presented: a racing
//! tab arriving just after it is told so, not taken for a thief.

use super::{
    revocation_list::RevocationList,
    swaps::{Swap, Won},
    SessionRow, SessionSettings,
};
use crate::{
    server::{
        client::Client,
        db::Db,
        events::EndReason,
        secret::Secret,
        tokens::refresh::{self, SuccessorKeys},
    },
    with_db,
};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// A successful rotation.
#[derive(Debug)]
pub struct Rotated {
    pub session_id: String,
    pub user_id: String,
    /// The refresh token the client must use next.
    pub refresh: Secret,
    pub refresh_expires_at: i64,
    /// The session's absolute end; no access token of it may outlive this.
    pub session_expires_at: i64,
    /// True when this answered a racing request inside the grace window.
    pub in_grace: bool,
    /// When the person last proved who they are in this session, and how (refreshing is
    /// not proving: these carry over to the new access token unchanged).
    pub auth_time: i64,
    pub amr: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("unknown refresh token")]
    Invalid,
    #[error("refresh token expired")]
    Expired,
    #[error("session revoked")]
    Revoked,
    /// A spent token replayed outside the grace window; the session is now revoked.
    #[error("refresh token reused; session {session_id} revoked")]
    Reused { session_id: String, user_id: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// How far a racing replay may lag behind: each step is one rotation inside the window.
const MAX_GRACE_CHAIN: usize = 8;

/// Who a refresh token is handed to, as far as a racing tab of the same browser can be
/// recognised: the SHA-256 of the User-Agent and the client's network — its IPv4 address, or
/// its IPv6 address's /64 (privacy extensions change the rest between connections).
pub fn holder(client: &Client) -> [u8; 32] {
    let mut h = Sha256::new();
    let agent = client.user_agent.as_bytes();
    h.update((agent.len() as u64).to_be_bytes());
    h.update(agent);
    match client.ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => {
            h.update([4]);
            h.update(v4.octets());
        }
        Ok(IpAddr::V6(v6)) => {
            h.update([6]);
            h.update(&v6.octets()[..8]);
        }
        Err(_) => h.update([0]),
    }
    h.finalize().into()
}

/// Exchanges `presented` for its successor on behalf of `client` (see the module docs).
pub async fn rotate(
    db: &Db,
    keys: &SuccessorKeys,
    revoked: &RevocationList,
    presented: &Secret,
    client: &Client,
    settings: &SessionSettings,
    now: i64,
) -> Result<Rotated, RotateError> {
    let old_hash = refresh::hash(presented);
    let next = refresh::successor(&keys.current, presented);
    let next_hash = refresh::hash(&next);
    let holder = holder(client);

    // One statement: swap the live token for its successor (a conditional update), noting
    // who received it. The trigger `sessions_spend_refresh_token` (migrations/*/0006) records
    // the old hash in `spent_refresh_tokens` as part of the same statement, so the swap and
    // the record of the spent token happen together or not at all, in one round trip. On
    // SQLite the statement also carries the other swaps waiting for the writer (`swaps`).
    let won: Option<Won> = match db {
        Db::Sqlite { swaps, .. } => {
            let swap = Swap { old_hash, next_hash, now, issued_after: now - settings.idle_secs, holder };
            swaps.swap(swap).await?
        }
        Db::Postgres(pool) => {
            sqlx::query_as(
                "update sessions
                    set refresh_hash = $1, refresh_issued_at = $2, rotations = rotations + 1, last_used_at = $2,
                        refresh_holder = $5
                  where refresh_hash = $3 and revoked_at is null and expires_at > $2 and refresh_issued_at > $4
                  returning id, user_id, expires_at, coalesce(auth_time, created_at), amr",
            )
            .bind(&next_hash[..])
            .bind(now)
            .bind(&old_hash[..])
            .bind(now - settings.idle_secs)
            .bind(&holder[..])
            .fetch_optional(pool)
            .await?
        }
    };
    if let Some((session_id, user_id, expires_at, auth_time, amr)) = won {
        return Ok(Rotated {
            session_id,
            user_id,
            refresh: next,
            refresh_expires_at: (now + settings.idle_secs).min(expires_at),
            session_expires_at: expires_at,
            in_grace: false,
            auth_time,
            amr,
        });
    }

    // Not the live token of a usable session: find out why.
    let live: Option<(Option<i64>,)> = with_db!(db.read(), |pool| {
        sqlx::query_as("select revoked_at from sessions where refresh_hash = $1")
            .bind(&old_hash[..])
            .fetch_optional(pool)
            .await
    })?;
    if let Some((revoked_at,)) = live {
        return Err(if revoked_at.is_some() { RotateError::Revoked } else { RotateError::Expired });
    }

    let spent: Option<(String, i64)> = with_db!(db.read(), |pool| {
        sqlx::query_as("select session_id, spent_at from spent_refresh_tokens where token_hash = $1")
            .bind(&old_hash[..])
            .fetch_optional(pool)
            .await
    })?;
    let Some((session_id, spent_at)) = spent else {
        return Err(RotateError::Invalid);
    };
    let Some(session) = super::find(db, &session_id).await? else {
        return Err(RotateError::Invalid);
    };
    if session.revoked_at.is_some() {
        return Err(RotateError::Revoked);
    }
    // Over by time: nothing left to steal, and a racing tab just after the end is no thief.
    if session.expires_at <= now || session.refresh_issued_at <= now - settings.idle_secs {
        return Err(RotateError::Expired);
    }
    if in_window(spent_at, settings, now) {
        if let Some(rotated) = follow_race(db, keys, presented, &holder, &session, settings, now).await? {
            tracing::info!(session_id = %session.id, "racing refresh of the same browser served inside the grace window");
            return Ok(rotated);
        }
    }

    // Theft: a spent token came back too late, or from someone else. End the whole session.
    let why = super::revoke::Why { reason: EndReason::RefreshTokenReused, actor_session_id: None };
    super::revoke::revoke_session(db, revoked, &session.id, None, why, now).await?;
    tracing::warn!(session_id = %session.id, user_id = %session.user_id, "refresh token reuse detected; session revoked");
    Err(RotateError::Reused { session_id: session.id, user_id: session.user_id })
}

fn in_window(spent_at: i64, settings: &SessionSettings, now: i64) -> bool {
    settings.grace_secs > 0 && now - spent_at < settings.grace_secs
}

/// Walks from the presented token along its successors, each spent inside the window, to
/// the session's live token, and hands that one back — if `holder` is who received it.
/// `None` when the presenter is someone else or the chain breaks. Each step may have been
/// taken with the current key or the previous one (a new key rolling out to the instances).
async fn follow_race(
    db: &Db,
    keys: &SuccessorKeys,
    presented: &Secret,
    holder: &[u8; 32],
    session: &SessionRow,
    settings: &SessionSettings,
    now: i64,
) -> Result<Option<Rotated>, sqlx::Error> {
    let (live_hash, live_holder, auth_time, amr): (Vec<u8>, Option<Vec<u8>>, i64, String) = with_db!(db.read(), |pool| {
        sqlx::query_as("select refresh_hash, refresh_holder, coalesce(auth_time, created_at), amr from sessions where id = $1")
            .bind(&session.id)
            .fetch_one(pool)
            .await
    })?;
    if live_holder.as_deref() != Some(&holder[..]) {
        return Ok(None);
    }
    let mut token = presented.clone();
    for _ in 0..MAX_GRACE_CHAIN {
        let mut next = None;
        for key in keys.all() {
            let candidate = refresh::successor(key, &token);
            let h = refresh::hash(&candidate);
            if h[..] == live_hash[..] {
                return Ok(Some(Rotated {
                    session_id: session.id.clone(),
                    user_id: session.user_id.clone(),
                    refresh: candidate,
                    refresh_expires_at: session.refresh_expires_at(settings),
                    session_expires_at: session.expires_at,
                    in_grace: true,
                    auth_time,
                    amr: amr.clone(),
                }));
            }
            let spent: Option<i64> = with_db!(db.read(), |pool| {
                sqlx::query_scalar("select spent_at from spent_refresh_tokens where token_hash = $1 and session_id = $2")
                    .bind(&h[..])
                    .bind(&session.id)
                    .fetch_optional(pool)
                    .await
            })?;
            if spent.is_some_and(|spent_at| in_window(spent_at, settings, now)) {
                next = Some(candidate);
                break;
            }
        }
        match next {
            Some(candidate) => token = candidate,
            None => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{client::Client, db, sessions::start, tokens::refresh::SuccessorKey};

    const T0: i64 = 1_800_000_000;

    /// The browser the tests' requests come from.
    fn tab() -> Client {
        Client { user_agent: "Mozilla/5.0 Firefox/128.0".into(), ip: "203.0.113.7".into(), device_token: None }
    }

    async fn setup(grace_secs: i64) -> (Db, SuccessorKeys, RevocationList, SessionSettings, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        crate::server::users::insert(&db, "a@b.co", "A", "x", 0).await.unwrap();
        let settings = SessionSettings { idle_secs: 7 * 86400, absolute_secs: 30 * 86400, grace_secs };
        let user = crate::server::users::by_email(&db, "a@b.co").await.unwrap().unwrap().id;
        (db, SuccessorKeys::new(SuccessorKey::generate()), RevocationList::new(900), settings, user, dir)
    }

    async fn start(db: &Db, user: &str, client: &Client, s: &SessionSettings, now: i64) -> Result<start::Started, sqlx::Error> {
        let mut tx = db.begin().await?;
        let started = start::start(&mut tx, user, client, s, now).await?;
        tx.commit().await?;
        Ok(started)
    }

    #[tokio::test]
    async fn the_live_token_rotates_to_a_new_one_that_works_next() {
        let (db, key, list, s, user, _d) = setup(0).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let r1 = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0 + 60).await.unwrap();
        assert_ne!(r1.refresh.expose(), started.refresh.expose());
        let r2 = rotate(&db, &key, &list, &r1.refresh, &tab(), &s, T0 + 120).await.unwrap();
        assert_eq!(r2.session_id, started.session_id);
        let row = crate::server::sessions::find(&db, &started.session_id).await.unwrap().unwrap();
        assert_eq!(row.rotations, 2);
    }

    #[tokio::test]
    async fn reusing_a_rotated_refresh_token_revokes_the_session() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let r1 = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
        let replay = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0 + 6).await;
        assert!(matches!(replay, Err(RotateError::Reused { .. })), "{replay:?}");
        assert!(list.is_revoked(&started.session_id));
        // The successor the legitimate client holds is dead too.
        assert!(matches!(rotate(&db, &key, &list, &r1.refresh, &tab(), &s, T0 + 7).await, Err(RotateError::Revoked)));
    }

    #[tokio::test]
    async fn a_racing_replay_inside_the_grace_window_gets_the_same_successor() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let winner = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
        let loser = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0 + 4).await.unwrap();
        assert!(loser.in_grace);
        assert_eq!(winner.refresh.expose(), loser.refresh.expose(), "one live token, not two");
        assert!(!list.is_revoked(&started.session_id));
        // And that one token keeps working.
        rotate(&db, &key, &list, &winner.refresh, &tab(), &s, T0 + 10).await.unwrap();
    }

    #[tokio::test]
    async fn a_late_replay_after_two_quick_rotations_follows_the_chain_inside_the_window() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let r1 = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
        let r2 = rotate(&db, &key, &list, &r1.refresh, &tab(), &s, T0 + 1).await.unwrap();
        let late = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0 + 2).await.unwrap();
        assert_eq!(late.refresh.expose(), r2.refresh.expose());
    }

    #[tokio::test]
    async fn inside_the_grace_window_another_client_presenting_the_spent_token_is_theft() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let strangers = [
            Client { user_agent: "Mozilla/5.0 Safari/604.1".into(), ..tab() },
            Client { ip: "203.0.113.8".into(), ..tab() },
            Client { ip: String::new(), ..tab() },
        ];
        for stranger in strangers {
            let started = start(&db, &user, &tab(), &s, T0).await.unwrap();
            rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
            let replay = rotate(&db, &key, &list, &started.refresh, &stranger, &s, T0 + 1).await;
            assert!(matches!(replay, Err(RotateError::Reused { .. })), "{stranger:?}: {replay:?}");
            assert!(list.is_revoked(&started.session_id));
        }
    }

    #[tokio::test]
    async fn a_racing_replay_just_after_the_absolute_end_is_expired_not_theft() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let s = SessionSettings { absolute_secs: 3600, ..s };
        let started = start(&db, &user, &tab(), &s, T0).await.unwrap();
        let end = T0 + s.absolute_secs;
        rotate(&db, &key, &list, &started.refresh, &tab(), &s, end - 2).await.unwrap();
        let late = rotate(&db, &key, &list, &started.refresh, &tab(), &s, end).await;
        assert!(matches!(late, Err(RotateError::Expired)), "{late:?}");
        let stranger = Client { user_agent: "curl/8".into(), ..tab() };
        let late = rotate(&db, &key, &list, &started.refresh, &stranger, &s, end + 1).await;
        assert!(matches!(late, Err(RotateError::Expired)), "{late:?}");
        assert!(list.is_empty(), "nothing revoked");
    }

    #[tokio::test]
    async fn after_the_key_changes_a_racing_tab_is_still_served_while_the_old_key_is_the_previous_one() {
        let (db, old, list, s, user, _d) = setup(5).await;
        let new = SuccessorKeys { current: SuccessorKey::generate(), previous: Some(old.current.clone()) };
        let started = start(&db, &user, &tab(), &s, T0).await.unwrap();
        // An instance still on the old key rotates; one on the new key rotates again ...
        let r1 = rotate(&db, &old, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
        let r2 = rotate(&db, &new, &list, &r1.refresh, &tab(), &s, T0 + 1).await.unwrap();
        assert_eq!(r2.refresh.expose(), refresh::successor(&new.current, &r1.refresh).expose());
        // ... and a tab still holding the first token follows both steps.
        let late = rotate(&db, &new, &list, &started.refresh, &tab(), &s, T0 + 2).await.unwrap();
        assert_eq!(late.refresh.expose(), r2.refresh.expose());
        // Without the previous key the chain is lost: that tab is taken for a thief.
        let started = start(&db, &user, &tab(), &s, T0).await.unwrap();
        rotate(&db, &old, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
        let only_new = SuccessorKeys::new(new.current.clone());
        let lost = rotate(&db, &only_new, &list, &started.refresh, &tab(), &s, T0 + 1).await;
        assert!(matches!(lost, Err(RotateError::Reused { .. })), "{lost:?}");
    }

    #[test]
    fn the_holder_is_the_user_agent_and_the_network_an_ipv6_address_keeps_within_its_64() {
        let at = |ua: &str, ip: &str| holder(&Client { user_agent: ua.into(), ip: ip.into(), device_token: None });
        assert_eq!(at("A", "203.0.113.7"), at("A", "203.0.113.7"));
        assert_ne!(at("A", "203.0.113.7"), at("B", "203.0.113.7"));
        assert_ne!(at("A", "203.0.113.7"), at("A", "203.0.113.8"), "IPv4: the exact address");
        assert_eq!(at("A", "2001:db8:1:2::1"), at("A", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "IPv6: the /64");
        assert_ne!(at("A", "2001:db8:1:2::1"), at("A", "2001:db8:1:3::1"));
        assert_eq!(at("A", "::ffff:203.0.113.7"), at("A", "203.0.113.7"), "a mapped IPv4 address is that address");
        assert_ne!(at("A", ""), at("A", "203.0.113.7"));
        // The User-Agent's length is part of the input: no splicing one field into the other.
        assert_ne!(at("A1", "2.3.4.5"), at("A", "12.3.4.5"));
    }

    #[tokio::test]
    async fn with_no_grace_window_any_replay_is_theft() {
        let (db, key, list, s, user, _d) = setup(0).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0).await.unwrap();
        assert!(matches!(
            rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0).await,
            Err(RotateError::Reused { .. })
        ));
    }

    #[tokio::test]
    async fn idle_and_absolute_timeouts_expire_the_token() {
        let (db, key, list, s, user, _d) = setup(0).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let idle = rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0 + s.idle_secs).await;
        assert!(matches!(idle, Err(RotateError::Expired)), "{idle:?}");

        // Active every day, but the absolute lifetime still ends it.
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let mut token = started.refresh;
        let mut t = T0;
        while t + 86400 < T0 + s.absolute_secs {
            t += 86400;
            token = rotate(&db, &key, &list, &token, &tab(), &s, t).await.unwrap().refresh;
        }
        let end = rotate(&db, &key, &list, &token, &tab(), &s, T0 + s.absolute_secs).await;
        assert!(matches!(end, Err(RotateError::Expired)), "{end:?}");
    }

    #[tokio::test]
    async fn an_unknown_token_is_invalid_and_touches_nothing() {
        let (db, key, list, s, _user, _d) = setup(5).await;
        let r = rotate(&db, &key, &list, &refresh::generate(), &tab(), &s, T0).await;
        assert!(matches!(r, Err(RotateError::Invalid)));
        assert!(list.is_empty());
    }

    #[tokio::test]
    async fn a_revoked_session_cannot_refresh() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        crate::server::sessions::revoke::revoke_session(
            &db,
            &list,
            &started.session_id,
            None,
            crate::server::sessions::revoke::Why { reason: EndReason::SignedOut, actor_session_id: None },
            T0,
        )
            .await
            .unwrap();
        assert!(matches!(rotate(&db, &key, &list, &started.refresh, &tab(), &s, T0 + 1).await, Err(RotateError::Revoked)));
    }

    /// Many sessions rotating at once: on SQLite their swaps share statements (`swaps`), and
    /// each request still wins exactly its own session's swap.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rotations_of_many_sessions_at_once_each_win_their_own_swap() {
        let (db, key, list, s, user, _d) = setup(5).await;
        let mut tokens = Vec::new();
        for _ in 0..40 {
            let started = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
            tokens.push((started.session_id, started.refresh));
        }
        let browser = tab();
        for round in 1..=2 {
            let rotated = futures::future::join_all(tokens.iter().map(|(_, refresh)| rotate(&db, &key, &list, refresh, &browser, &s, T0 + round))).await;
            let mut next = Vec::new();
            for ((session_id, _), after) in tokens.iter().zip(rotated) {
                let after = after.unwrap();
                assert_eq!(&after.session_id, session_id, "each request gets its own session back");
                assert!(!after.in_grace);
                next.push((after.session_id, after.refresh));
            }
            tokens = next;
        }
        for (session_id, _) in &tokens {
            let row = crate::server::sessions::find(&db, session_id).await.unwrap().unwrap();
            assert_eq!(row.rotations, 2, "rotated twice, no more, no less");
        }
        let spent: i64 = with_db!(db.read(), |pool| sqlx::query_scalar("select count(*) from spent_refresh_tokens").fetch_one(pool).await).unwrap();
        assert_eq!(spent, 80, "every spent token recorded once");
    }

    /// The same token presented many times at once (no grace window): exactly one request
    /// wins; the rest are replays, which end the session — while other sessions' rotations
    /// in the same statements go through untouched.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_token_raced_at_once_wins_exactly_once() {
        let (db, key, list, s, user, _d) = setup(0).await;
        let raced = start(&db, &user, &Client::default(), &s, T0).await.unwrap();
        let mut others = Vec::new();
        for _ in 0..10 {
            others.push(start(&db, &user, &Client::default(), &s, T0).await.unwrap());
        }
        let browser = tab();
        let racing = futures::future::join_all((0..12).map(|_| rotate(&db, &key, &list, &raced.refresh, &browser, &s, T0 + 1)));
        let bystanders = futures::future::join_all(others.iter().map(|t| rotate(&db, &key, &list, &t.refresh, &browser, &s, T0 + 1)));
        let (racing, bystanders) = futures::join!(racing, bystanders);
        let won = racing.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{racing:?}");
        assert!(racing.iter().all(|r| matches!(r, Ok(_) | Err(RotateError::Reused { .. } | RotateError::Revoked))), "{racing:?}");
        assert!(list.is_revoked(&raced.session_id));
        assert!(bystanders.iter().all(Result::is_ok), "{bystanders:?}");
        for t in &others {
            assert!(!list.is_revoked(&t.session_id));
        }
    }
}
