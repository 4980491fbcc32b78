//! The in-memory list of revoked sessions (ssr only).
//!
//! An access token is self-contained: on its own it stays valid until `exp`. To make a
//! sign-out take effect at once, every request also asks this list whether the token's
//! `sid` was revoked — a read-locked hash-map lookup, no database round trip.
//!
//! An entry only has to outlive the last access token its session could have minted, so it
//! is kept for the access-token lifetime (plus clock leeway) and then dropped; the list
//! stays as small as the number of sessions revoked in the last few minutes. On start-up it
//! is filled from the database, so a restart forgets nothing. With several instances,
//! `revocation_push` adds what the others revoke.

use crate::{server::db::Db, with_db};
use std::{collections::HashMap, sync::RwLock};

#[derive(Debug)]
pub struct RevocationList {
    /// session id → unix second after which the entry is no longer needed.
    revoked: RwLock<HashMap<String, i64>>,
    keep_secs: i64,
}

impl RevocationList {
    /// `access_ttl_secs`: how long an access token lives.
    pub fn new(access_ttl_secs: i64) -> Self {
        RevocationList { revoked: RwLock::new(HashMap::new()), keep_secs: access_ttl_secs + 60 }
    }

    /// How long after a session's revocation (or end) one of its access tokens may still be
    /// valid: the access-token lifetime plus clock leeway.
    pub fn keep_secs(&self) -> i64 {
        self.keep_secs
    }

    /// Loads the sessions revoked recently enough that some access token may still carry them.
    pub async fn load(&self, db: &Db, now: i64) -> Result<usize, sqlx::Error> {
        self.load_since(db, now - self.keep_secs).await
    }

    /// Loads the sessions revoked at or after `since` (unix seconds).
    pub async fn load_since(&self, db: &Db, since: i64) -> Result<usize, sqlx::Error> {
        let rows: Vec<(String, i64)> = with_db!(db.read(), |pool| {
            sqlx::query_as("select id, revoked_at from sessions where revoked_at is not null and revoked_at >= $1")
                .bind(since)
                .fetch_all(pool)
                .await
        })?;
        let count = rows.len();
        self.insert_rows(rows);
        Ok(count)
    }

    /// Records that a session was revoked at `revoked_at`.
    pub fn insert(&self, session_id: String, revoked_at: i64) {
        self.insert_rows([(session_id, revoked_at)]);
    }

    /// Records several sessions revoked at the same moment.
    pub fn insert_all(&self, session_ids: &[String], revoked_at: i64) {
        self.insert_rows(session_ids.iter().map(|id| (id.clone(), revoked_at)));
    }

    /// One write lock and one sweep of expired entries per batch.
    fn insert_rows(&self, rows: impl IntoIterator<Item = (String, i64)>) {
        let rows: Vec<(String, i64)> = rows.into_iter().collect();
        let Some(latest) = rows.iter().map(|(_, at)| *at).max() else { return };
        let mut map = self.revoked.write().unwrap_or_else(|p| p.into_inner());
        // Entries past their keep time as of the latest revocation can go.
        map.retain(|_, keep_until| *keep_until > latest);
        for (id, revoked_at) in rows {
            let until = revoked_at + self.keep_secs;
            let entry = map.entry(id).or_insert(until);
            *entry = (*entry).max(until);
        }
    }

    /// True when the session was revoked. Called on every authenticated request.
    pub fn is_revoked(&self, session_id: &str) -> bool {
        self.revoked.read().unwrap_or_else(|p| p.into_inner()).contains_key(session_id)
    }

    pub fn len(&self) -> usize {
        self.revoked.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_session_is_listed_and_others_are_not() {
        let list = RevocationList::new(900);
        list.insert("a".into(), 1000);
        assert!(list.is_revoked("a"));
        assert!(!list.is_revoked("b"));
    }

    #[test]
    fn entries_older_than_any_live_access_token_are_dropped() {
        let list = RevocationList::new(900);
        list.insert("old".into(), 1000);
        // 900 s TTL + 60 s leeway later, no token of "old" can still be valid.
        list.insert("new".into(), 1000 + 961);
        assert!(!list.is_revoked("old"));
        assert!(list.is_revoked("new"));
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn a_batch_is_listed_whole_and_an_older_report_does_not_shorten_an_entry() {
        let list = RevocationList::new(900);
        list.insert("a".into(), 2000);
        list.insert_all(&["b".into(), "c".into()], 2000);
        // The same revocation heard again with an older time (a catch-up read) keeps the later end.
        list.insert_rows([("a".to_string(), 1000)]);
        list.insert("d".into(), 2000 + 959);
        assert!(list.is_revoked("a") && list.is_revoked("b") && list.is_revoked("c"));
        list.insert("e".into(), 2000 + 961);
        assert!(!list.is_revoked("a") && !list.is_revoked("b"), "gone once no token of theirs can be valid");
        assert!(list.is_revoked("d") && list.is_revoked("e"));
    }
}
