//! Passkeys' storage (ssr only): the registered credentials, and the WebAuthn ceremonies
//! under way.
//!
//! A ceremony's state (its challenge among it) is webauthn-rs's serialised state, kept in
//! the database under the SHA-256 of a random handle the client holds: any instance can
//! finish a ceremony another began. [`take_ceremony`] deletes the row it reads in one
//! statement (`delete … returning`), so a challenge is answered once, whatever the outcome;
//! it lives [`CEREMONY_SECS`], and expired rows are pruned (`retention.rs`).
//!
//! A credential is stored as webauthn-rs's `Passkey` (public key, signature counter, flags)
//! in JSON. [`record_use_in`] writes it back after a sign-in only if nobody else did so in
//! between (compare-and-set on the stored text), so two assertions racing with the same
//! counter cannot both pass.

use crate::{
    server::db::{Db, Tx},
    with_db, with_tx,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a ceremony may take, from options to answer.
pub const CEREMONY_SECS: i64 = 300;
/// Longest passkey name, in characters.
pub const NAME_MAX_CHARS: usize = 64;
/// Passkeys one account may hold.
pub const MAX_PER_ACCOUNT: i64 = 20;
const HANDLE_PREFIX: &str = "ghk_";

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey to a signed-in account.
    Register,
    /// Signing in, or confirming who one is (step-up), with a passkey.
    SignIn,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
        }
    }
}

fn hash(handle: &str) -> [u8; 32] {
    Sha256::digest(handle.as_bytes()).into()
}

/// Who began a registration: it may only be finished by the same account and session.
#[derive(Debug, Clone)]
pub struct Owner<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
}

/// Stores a ceremony's state; answers the handle the client sends back with its answer.
pub async fn begin_ceremony(db: &Db, purpose: Purpose, owner: Option<Owner<'_>>, state: &str, now: i64) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let handle = format!("{HANDLE_PREFIX}{}", B64.encode(bytes));
    with_db!(db.write(), |pool| {
        sqlx::query(
            "insert into passkey_ceremonies (handle_hash, purpose, user_id, session_id, state, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&hash(&handle)[..])
        .bind(purpose.as_str())
        .bind(owner.as_ref().map(|o| o.user_id))
        .bind(owner.as_ref().map(|o| o.session_id))
        .bind(state)
        .bind(now)
        .bind(now + CEREMONY_SECS)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(handle)
}

#[derive(sqlx::FromRow)]
struct TakenRow {
    purpose: String,
    user_id: Option<String>,
    session_id: Option<String>,
    state: String,
    expires_at: i64,
}

/// Takes a ceremony for good and answers its state, if it is live and was begun for this
/// purpose (and, for a registration, by this account and session). Whatever the answer,
/// the handle never works again.
pub async fn take_ceremony(db: &Db, handle: &str, purpose: Purpose, owner: Option<Owner<'_>>, now: i64) -> Result<Option<String>, sqlx::Error> {
    if !handle.starts_with(HANDLE_PREFIX) || handle.len() > 64 {
        return Ok(None);
    }
    let row: Option<TakenRow> = with_db!(db.write(), |pool| {
        sqlx::query_as(
            "delete from passkey_ceremonies where handle_hash = $1
             returning purpose, user_id, session_id, state, expires_at",
        )
        .bind(&hash(handle)[..])
        .fetch_optional(pool)
        .await
    })?;
    let Some(row) = row else { return Ok(None) };
    let owned = match owner {
        None => row.user_id.is_none(),
        Some(o) => row.user_id.as_deref() == Some(o.user_id) && row.session_id.as_deref() == Some(o.session_id),
    };
    Ok((row.purpose == purpose.as_str() && row.expires_at > now && owned).then_some(row.state))
}

/// One stored passkey.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredPasskey {
    pub id: String,
    pub user_id: String,
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, JSON.
    pub credential: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, credential_id, name, credential, created_at, last_used_at";

/// The account's passkeys, oldest first.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<StoredPasskey>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from passkeys where user_id = $1 order by created_at, id");
    with_db!(db.read(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(pool).await)
}

/// The passkey with this credential id (base64url), whoever's it is.
pub async fn by_credential_id(db: &Db, credential_id: &str) -> Result<Option<StoredPasskey>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from passkeys where credential_id = $1");
    with_db!(db.read(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(credential_id).fetch_optional(pool).await)
}

/// How many passkeys the account holds (inside a transaction: the count a new one is
/// checked against).
pub async fn count_in(tx: &mut Tx, user_id: &str) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |conn| sqlx::query_scalar("select count(*) from passkeys where user_id = $1").bind(user_id).fetch_one(conn).await)
}

/// A new passkey for the account. A credential id already registered (to anyone) is a
/// unique violation.
pub async fn insert_in(tx: &mut Tx, passkey: &StoredPasskey) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into passkeys (id, user_id, credential_id, name, credential, created_at, last_used_at)
             values ($1, $2, $3, $4, $5, $6, null)",
        )
        .bind(&passkey.id)
        .bind(&passkey.user_id)
        .bind(&passkey.credential_id)
        .bind(&passkey.name)
        .bind(&passkey.credential)
        .bind(passkey.created_at)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Removes one of the account's passkeys; answers its name, or `None` when the account
/// has no passkey of that id.
pub async fn remove_in(tx: &mut Tx, user_id: &str, id: &str) -> Result<Option<String>, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar("delete from passkeys where id = $1 and user_id = $2 returning name")
            .bind(id)
            .bind(user_id)
            .fetch_optional(conn)
            .await
    })
}

/// After a successful assertion: the updated credential (its counter) and when it was
/// used, written only if the stored credential is still `was` — false when another
/// assertion of the same passkey got there first.
pub async fn record_use_in(tx: &mut Tx, id: &str, was: &str, credential: &str, now: i64) -> Result<bool, sqlx::Error> {
    let changed = with_tx!(tx, |conn| {
        sqlx::query("update passkeys set credential = $1, last_used_at = $2 where id = $3 and credential = $4")
            .bind(credential)
            .bind(now)
            .bind(id)
            .bind(was)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(changed == 1)
}

/// The credential id as stored: base64url without padding.
pub fn encode_credential_id(raw: &[u8]) -> String {
    B64.encode(raw)
}
