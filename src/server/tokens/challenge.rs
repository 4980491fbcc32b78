//! Sign-in challenges (ssr only): a right password waiting for its second factor.
//!
//! When an account has two-step verification on, a right password starts no session: it
//! mints a challenge — 256 random bits, stored only as a hash, alive [`LIFETIME_SECS`] — and
//! the client must present it with a code. It names the account and nothing else: no access
//! or refresh token exists until the code is right. It is bound to the password hash it was
//! made under (a password change kills it), dies after [`MAX_FAILURES`] wrong codes (the
//! password must then be typed again, so a stolen challenge buys five guesses, not a
//! million), and is spent by the code that succeeds.
//!
//! A browser keeps it in an HttpOnly, SameSite=Strict cookie scoped to the sign-in step
//! (`cookies.rs`): page scripts never see it, and another browser cannot finish a sign-in
//! this one began. An API client gets it in the `second_factor_required` answer.

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

pub const LIFETIME_SECS: i64 = 300;
pub const MAX_FAILURES: i64 = 5;
const TOKEN_CHARS: usize = 43;
const PREFIX: &str = "ghc_";

fn hash(token: &Secret) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

/// Only strings shaped like our challenges reach the database.
pub fn parse(text: &str) -> Option<Secret> {
    let body = text.trim().strip_prefix(PREFIX)?;
    (body.len() == TOKEN_CHARS && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Secret::new(text.trim()))
}

/// A new challenge for the account, made under the password hash fingerprint `bound_to`.
pub async fn mint(db: &Db, user_id: &str, bound_to: &str, now: i64) -> Result<Secret, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = Secret::new(format!("{PREFIX}{}", B64.encode(bytes)));
    with_db!(db.write(), |pool| {
        sqlx::query(
            "insert into sign_in_challenges (token_hash, user_id, bound_to, created_at, expires_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(&hash(&token)[..])
        .bind(user_id)
        .bind(bound_to)
        .bind(now)
        .bind(now + LIFETIME_SECS)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(token)
}

/// A live challenge: whose sign-in it is, and the password it was made under.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub user_id: String,
    pub bound_to: String,
}

/// The challenge, if it is live: unknown, expired, spent or failed too often is `None`.
pub async fn find(db: &Db, token: &Secret, now: i64) -> Result<Option<Pending>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select user_id, bound_to from sign_in_challenges
              where token_hash = $1 and used_at is null and expires_at > $2 and failures < $3",
        )
        .bind(&hash(token)[..])
        .bind(now)
        .bind(MAX_FAILURES)
        .fetch_optional(pool)
        .await
    })
}

/// Counts a wrong code against the challenge.
pub async fn fail(db: &Db, token: &Secret) -> Result<(), sqlx::Error> {
    with_db!(db.write(), |pool| {
        sqlx::query("update sign_in_challenges set failures = failures + 1 where token_hash = $1")
            .bind(&hash(token)[..])
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Spends the challenge inside the transaction that starts the session: true for exactly one
/// of two requests racing with it.
pub async fn spend_in(tx: &mut Tx, token: &Secret, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query(
            "update sign_in_challenges set used_at = $1
              where token_hash = $2 and used_at is null and expires_at > $1 and failures < $3",
        )
        .bind(now)
        .bind(&hash(token)[..])
        .bind(MAX_FAILURES)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_shape_is_a_challenge() {
        let good = format!("{PREFIX}{}", "a".repeat(TOKEN_CHARS));
        assert!(parse(&good).is_some());
        for bad in ["", "ghc_", "ghr_aaaa", &format!("{good}a"), &format!("{PREFIX}{}!", "a".repeat(TOKEN_CHARS - 1))] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
