//! Link tokens (ssr only): the single-use secrets in links we mail — minted, stored as a
//! hash, and spent here.
//!
//! A link token is 256 random bits, base64url (43 characters), stored only as its SHA-256.
//! It does one thing ([`Purpose`]), for one account, until it expires, once — and only while
//! what it was made under still holds (`bound_to`: a reset link carries the fingerprint of
//! the password hash it was made under, so any change of password, by any route, kills it).
//! Spending is one conditional `update … where used_at is null`: of two requests with the
//! same link exactly one wins.

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

const RANDOM_BYTES: usize = 32;
const TOKEN_CHARS: usize = 43;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    /// Proves the account's address (bound to the address).
    VerifyEmail,
    /// Moves the account to a new address, sent to that address (bound to the old one).
    ChangeEmail,
    /// "This wasn't me" in a new-device sign-in alert; bound to the session it ends.
    NotMe,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::VerifyEmail => "verify_email",
            Purpose::ChangeEmail => "change_email",
            Purpose::NotMe => "not_me",
        }
    }
}

/// A brand-new link token from the OS's CSPRNG.
pub fn generate() -> Secret {
    let mut bytes = [0u8; RANDOM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(B64.encode(bytes))
}

/// Only strings shaped like our tokens reach the database.
pub fn parse(text: &str) -> Option<Secret> {
    let text = text.trim();
    (text.len() == TOKEN_CHARS && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Secret::new(text))
}

fn hash(token: &Secret) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

/// A short, one-way fingerprint of something a link is bound to (a password hash).
pub fn fingerprint(value: &str) -> String {
    B64.encode(&Sha256::digest(value.as_bytes())[..16])
}

/// Stores a new link token inside the caller's transaction; returns the token for the link.
pub async fn mint_in(
    tx: &mut Tx,
    user_id: &str,
    purpose: Purpose,
    bound_to: &str,
    lifetime_secs: i64,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    mint_with_in(tx, user_id, purpose, bound_to, None, lifetime_secs, now).await
}

/// [`mint_in`] for an email change: the link also carries the address it moves the account to.
pub async fn mint_with_in(
    tx: &mut Tx,
    user_id: &str,
    purpose: Purpose,
    bound_to: &str,
    new_email: Option<&str>,
    lifetime_secs: i64,
    now: i64,
) -> Result<Secret, sqlx::Error> {
    let token = generate();
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into link_tokens (token_hash, user_id, purpose, bound_to, created_at, expires_at, new_email)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&hash(&token)[..])
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(bound_to)
        .bind(now)
        .bind(now + lifetime_secs)
        .bind(new_email)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(token)
}

/// Links of this purpose made for the account since `since` (for throttling how many are
/// sent), inside the caller's transaction.
pub async fn count_since_in(tx: &mut Tx, user_id: &str, purpose: Purpose, since: i64) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from link_tokens where user_id = $1 and purpose = $2 and created_at >= $3")
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(since)
            .fetch_one(conn)
            .await
    })
}

/// When the oldest link of this purpose made for the account since `since` was made (the
/// hourly limit frees a place an hour after it).
pub async fn first_since_in(tx: &mut Tx, user_id: &str, purpose: Purpose, since: i64) -> Result<Option<i64>, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar("select min(created_at) from link_tokens where user_id = $1 and purpose = $2 and created_at >= $3")
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(since)
            .fetch_one(conn)
            .await
    })
}

/// Spends every unused link of these purposes the account has (its address changed: links
/// that went to the old one, or that verify it, must not work any more).
pub async fn void_all_in(tx: &mut Tx, user_id: &str, purposes: &[Purpose], now: i64) -> Result<u64, sqlx::Error> {
    let mut voided = 0;
    for purpose in purposes {
        voided += with_tx!(tx, |conn| {
            sqlx::query("update link_tokens set used_at = $1 where user_id = $2 and purpose = $3 and used_at is null")
                .bind(now)
                .bind(user_id)
                .bind(purpose.as_str())
                .execute(conn)
                .await
                .map(|done| done.rows_affected())
        })?;
    }
    Ok(voided)
}

/// A link that was good: whose account, what it was bound to, and (an email change) the
/// address it moves the account to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Spent {
    pub user_id: String,
    pub bound_to: String,
    pub new_email: Option<String>,
}

/// Spends a link token inside the caller's transaction: `None` when it is unknown, of
/// another purpose, expired or already used — one answer for all of them. The caller checks
/// `bound_to` and rolls back if that no longer holds.
pub async fn spend_in(tx: &mut Tx, token: &Secret, purpose: Purpose, now: i64) -> Result<Option<Spent>, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_as(
            "update link_tokens set used_at = $1
              where token_hash = $2 and purpose = $3 and used_at is null and expires_at > $1
              returning user_id, bound_to, new_email",
        )
        .bind(now)
        .bind(&hash(token)[..])
        .bind(purpose.as_str())
        .fetch_optional(conn)
        .await
    })
}

/// The link a token belongs to, if it would be accepted now — without spending it (the page
/// a link opens asks; following a link changes nothing).
pub async fn peek(db: &Db, token: &Secret, purpose: Purpose, now: i64) -> Result<Option<Spent>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select user_id, bound_to, new_email from link_tokens
              where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
        )
        .bind(&hash(token)[..])
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(pool)
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_and_only_their_shape_is_accepted() {
        let a = generate();
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        assert_ne!(a.expose(), generate().expose());
        assert!(parse(a.expose()).is_some());
        for bad in ["", "short", &"a".repeat(44), &format!("{}!", &"a".repeat(42)), "ghr_abc"] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(fingerprint("x"), fingerprint("x"));
        assert_ne!(fingerprint("x"), fingerprint("y"));
    }
}
