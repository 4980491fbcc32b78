//! Recovery codes (ssr only): ten single-use codes, shown once when two-step verification is
//! switched on (or when new ones are asked for), each standing in for the authenticator once.
//!
//! A code is 80 random bits written as four groups of four (`k7qm-3xzp-…`, z-base-32's
//! alphabet), so a stored hash — SHA-256 over the account and the code — cannot
//! be walked back by guessing. Typing is forgiving: case, spaces and dashes do not matter.

use crate::{server::db::{Db, Tx}, with_db, with_tx};
use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const COUNT: usize = 10;
/// z-base-32: 32 lower-case symbols (5 bits each) chosen to be easy to read and type.
const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";
const SYMBOLS: usize = 16;

/// Ten new codes, as shown to the person.
pub fn generate() -> Vec<Zeroizing<String>> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let symbols: String = (0..SYMBOLS).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
            let groups: Vec<&str> = (0..SYMBOLS / 4).map(|g| &symbols[g * 4..g * 4 + 4]).collect();
            Zeroizing::new(groups.join("-"))
        })
        .collect()
}

/// What was typed, as stored: lower case, without spaces and dashes. `None` for anything
/// that cannot be one of our codes.
fn normalise(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect();
    (code.len() == SYMBOLS && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn hash(user_id: &str, normalised: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(user_id.as_bytes());
    h.update(b":");
    h.update(normalised.as_bytes());
    h.finalize().into()
}

/// Whether what was typed is shaped like a recovery code (rather than a six-digit code).
pub fn looks_like_one(typed: &str) -> bool {
    normalise(typed).is_some()
}

/// Replaces the account's codes with `codes` (the old ones stop working).
pub async fn replace_in(tx: &mut Tx, user_id: &str, codes: &[Zeroizing<String>], now: i64) -> Result<(), sqlx::Error> {
    remove_in(tx, user_id).await?;
    for code in codes {
        let normalised = normalise(code).expect("generated codes are well formed");
        with_tx!(tx, |conn| {
            sqlx::query("insert into recovery_codes (code_hash, user_id, created_at) values ($1, $2, $3)")
                .bind(&hash(user_id, &normalised)[..])
                .bind(user_id)
                .bind(now)
                .execute(conn)
                .await
                .map(|done| done.rows_affected())
        })?;
    }
    Ok(())
}

/// Uses a code: true exactly once per code (of two requests with the same code, one wins).
pub async fn spend_in(tx: &mut Tx, user_id: &str, typed: &str, now: i64) -> Result<bool, sqlx::Error> {
    let Some(normalised) = normalise(typed) else { return Ok(false) };
    let done = with_tx!(tx, |conn| {
        sqlx::query("update recovery_codes set used_at = $1 where code_hash = $2 and user_id = $3 and used_at is null")
            .bind(now)
            .bind(&hash(user_id, &normalised)[..])
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Codes the account has left, inside a transaction (after spending one).
pub async fn left_in(tx: &mut Tx, user_id: &str) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar("select count(*) from recovery_codes where user_id = $1 and used_at is null").bind(user_id).fetch_one(conn).await
    })
}

/// Codes the account has left.
pub async fn left(db: &Db, user_id: &str) -> Result<i64, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_scalar("select count(*) from recovery_codes where user_id = $1 and used_at is null").bind(user_id).fetch_one(pool).await
    })
}

/// Removes every code of the account.
pub async fn remove_in(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("delete from recovery_codes where user_id = $1").bind(user_id).execute(conn).await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_80_bit_codes_typed_forgivingly() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut distinct: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), COUNT);
        let code = codes[0].as_str();
        assert_eq!(code.len(), 19, "{code}");
        assert!(looks_like_one(code));
        let sloppy = format!("  {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(normalise(&sloppy), normalise(code));
        for bad in ["123456", "", "abcd-efgh", &format!("{code}a"), "0000-0000-0000-0000", "llll-llll-llll-llll"] {
            assert!(!looks_like_one(bad), "{bad:?}");
        }
        assert_ne!(hash("u-ada", "abcd"), hash("u-bob", "abcd"), "the same code hashes apart per account");
    }
}
