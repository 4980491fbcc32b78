//! Devices that signed in to an account before (ssr only) — OWASP's "device cookies".
//!
//! Every successful sign-in hands the client a **device token**: `ghd_` + 256 random bits. A
//! browser keeps it in an HttpOnly cookie (`cookies.rs`); an API client gets it as
//! `device_token` in the login answer and may send it back with its next login. The server
//! stores only its SHA-256, once per account it signed in to (`known_devices`), so one browser
//! shared by two people is known to both accounts, and a token is worth nothing for an
//! account it never signed in to — nobody can make a token "known for account X" without
//! signing in to X with it.
//!
//! What it is for: failed sign-ins from elsewhere never slow down or refuse a known device
//! (`throttle.rs`). It opens nothing by itself: the password is still checked.
//!
//! Each successful sign-in replaces the presented token with a fresh one that carries over
//! every account the old one was known to; the old one is forgotten. So a token planted in
//! someone's browser (cookie injection, a login-CSRF) never becomes known for their account,
//! and a copied token stops working once its owner signs in again. Tokens unused for
//! [`FORGET_AFTER_SECS`] are pruned.
//!
//! What it is for, too: a sign-in from a device the account does not know mails the owner
//! (`service::new_device`). Each row has a `device_id` that stays while the token is renewed,
//! and each session records the `device_id` it signed in from, so "This wasn't me" can
//! forget exactly that device for the account ([`forget_device_of_session_in`]).

use crate::{
    server::{
        db::{Db, Tx},
        secret::Secret,
    },
    with_db, with_tx,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "ghd_";
/// `ghd_` + base64url of 32 bytes.
pub const TOKEN_LEN: usize = 4 + 43;
/// A device not used to sign in for this long is no longer known (the cookie lives as long).
pub const FORGET_AFTER_SECS: i64 = 180 * 86400;

/// A device this account recognises: the throttle counts its failures on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub user_id: String,
    /// Names the device in the failure records: the start of its token's hash, which says
    /// nothing about the token.
    pub tag: String,
}

/// A brand-new device token from the OS's CSPRNG.
pub fn generate() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(format!("{PREFIX}{}", B64.encode(bytes)))
}

/// Accepts only strings shaped like our device tokens; anything else is no token at all
/// (the client is then simply an unknown device).
pub fn parse(text: &str) -> Option<Secret> {
    let body = text.strip_prefix(PREFIX)?;
    (text.len() == TOKEN_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Secret::new(text))
}

fn hash(token: &Secret) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

fn tag(hash: &[u8; 32]) -> String {
    hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The device behind `token`, if it signed in to the account of `email` within the last
/// [`FORGET_AFTER_SECS`]. The query is the same whether or not `email` has an account.
pub async fn recognise(db: &Db, token: &Secret, email: &str, now: i64) -> Result<Option<KnownDevice>, sqlx::Error> {
    let hash = hash(token);
    let user_id: Option<String> = with_db!(db.read(), |pool| {
        sqlx::query_scalar(
            "select d.user_id from known_devices d join users u on u.id = d.user_id
              where d.token_hash = $1 and u.email = $2 and d.last_used_at > $3",
        )
        .bind(&hash[..])
        .bind(email)
        .bind(now - FORGET_AFTER_SECS)
        .fetch_optional(pool)
        .await
    })?;
    Ok(user_id.map(|user_id| KnownDevice { user_id, tag: tag(&hash) }))
}

/// After a successful sign-in to `user_id` (session `session_id`): a fresh token for this
/// device, known to this account and to every account the presented token (if any) was
/// known to. The presented token is forgotten; the device keeps its `device_id`, which the
/// session records.
pub async fn remember(db: &Db, user_id: &str, session_id: &str, presented: Option<&Secret>, now: i64) -> Result<Secret, sqlx::Error> {
    let token = generate();
    let new_hash = hash(&token);
    let old_hash = presented.map(hash);
    let fresh_id = uuid::Uuid::new_v4().to_string();
    with_db!(db.write(), |pool| {
        let mut tx = pool.begin().await?;
        if let Some(old_hash) = &old_hash {
            sqlx::query("update known_devices set token_hash = $1 where token_hash = $2")
                .bind(&new_hash[..])
                .bind(&old_hash[..])
                .execute(&mut *tx)
                .await?;
        }
        let device_id: String = sqlx::query_scalar(
            "insert into known_devices (token_hash, user_id, created_at, last_used_at, device_id) values ($1, $2, $3, $3, $4)
             on conflict (token_hash, user_id) do update
                set last_used_at = excluded.last_used_at, device_id = coalesce(known_devices.device_id, excluded.device_id)
             returning device_id",
        )
        .bind(&new_hash[..])
        .bind(user_id)
        .bind(now)
        .bind(&fresh_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("update sessions set device_id = $1 where id = $2 and user_id = $3")
            .bind(&device_id)
            .bind(session_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })?;
    Ok(token)
}

/// "This wasn't me": the device `session_id` signed in from is no longer known to `user_id`
/// (its next sign-in there is a new device again), inside the caller's transaction. Other
/// accounts that device signed in to still know it. False when there was nothing to forget
/// (the device was never remembered, or is forgotten already).
pub async fn forget_device_of_session_in(tx: &mut Tx, user_id: &str, session_id: &str) -> Result<bool, sqlx::Error> {
    let forgotten = with_tx!(tx, |conn| {
        sqlx::query(
            "delete from known_devices
              where user_id = $1 and device_id = (select device_id from sessions where id = $2 and user_id = $1)",
        )
        .bind(user_id)
        .bind(session_id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(forgotten > 0)
}

/// Forgets devices not used to sign in for [`FORGET_AFTER_SECS`].
pub async fn prune(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    with_db!(db.write(), |pool| {
        sqlx::query("delete from known_devices where last_used_at <= $1")
            .bind(now - FORGET_AFTER_SECS)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db;

    const T: i64 = 1_000_000_000;

    async fn database() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        for (id, email) in [("u-ada", "ada@example.com"), ("u-bob", "bob@example.com")] {
            with_db!(db.write(), |pool| {
                sqlx::query("insert into users (id, email, display_name, password_hash, created_at) values ($1, $2, 'x', 'x', 0)")
                    .bind(id)
                    .bind(email)
                    .execute(pool)
                    .await
                    .map(|_| ())
            })
            .unwrap();
        }
        (db, dir)
    }

    #[test]
    fn generated_tokens_are_well_formed_distinct_and_other_shapes_are_no_token() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(parse(a.expose()).is_some());
        assert_ne!(a.expose(), b.expose());
        assert!(parse("ghd_short").is_none());
        assert!(parse(&format!("ghr_{}", &a.expose()[4..])).is_none(), "a refresh token is not a device token");
        assert!(parse(&format!("{}!", &a.expose()[..TOKEN_LEN - 1])).is_none());
    }

    #[tokio::test]
    async fn a_token_is_known_only_to_the_accounts_it_signed_in_to() {
        let (db, _d) = database().await;
        let token = remember(&db, "u-ada", "s", None, T).await.unwrap();
        let known = recognise(&db, &token, "ada@example.com", T).await.unwrap().unwrap();
        assert_eq!(known.user_id, "u-ada");
        assert!(recognise(&db, &token, "bob@example.com", T).await.unwrap().is_none(), "not for another account");
        assert!(recognise(&db, &token, "nobody@example.com", T).await.unwrap().is_none());
        assert!(recognise(&db, &generate(), "ada@example.com", T).await.unwrap().is_none(), "a made-up token is unknown");
    }

    #[tokio::test]
    async fn signing_in_again_replaces_the_token_and_keeps_every_account_it_knew() {
        let (db, _d) = database().await;
        let first = remember(&db, "u-ada", "s", None, T).await.unwrap();
        let second = remember(&db, "u-bob", "s", Some(&first), T + 1).await.unwrap();
        assert_ne!(first.expose(), second.expose());
        for email in ["ada@example.com", "bob@example.com"] {
            assert!(recognise(&db, &second, email, T + 1).await.unwrap().is_some(), "{email}");
            assert!(recognise(&db, &first, email, T + 1).await.unwrap().is_none(), "the old token is forgotten: {email}");
        }
        // A token that was never known (planted, or made up) carries nothing over.
        let planted = generate();
        let third = remember(&db, "u-ada", "s", Some(&planted), T + 2).await.unwrap();
        assert!(recognise(&db, &third, "ada@example.com", T + 2).await.unwrap().is_some());
        assert!(recognise(&db, &third, "bob@example.com", T + 2).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn devices_unused_for_the_whole_period_are_forgotten_and_pruned() {
        let (db, _d) = database().await;
        let old = remember(&db, "u-ada", "s", None, T).await.unwrap();
        let recent = remember(&db, "u-bob", "s", None, T + 10).await.unwrap();
        let later = T + FORGET_AFTER_SECS;
        assert!(recognise(&db, &old, "ada@example.com", later).await.unwrap().is_none());
        assert!(recognise(&db, &recent, "bob@example.com", later).await.unwrap().is_some());
        assert_eq!(prune(&db, later).await.unwrap(), 1);
        assert!(recognise(&db, &recent, "bob@example.com", later).await.unwrap().is_some());
    }
}
