//! Refresh tokens (ssr only): generated, hashed, and their successors derived.
//!
//! A refresh token is `ghr_` + 43 base64url characters: 256 random bits. The server keeps only
//! its SHA-256 (a fast hash is right here: the token is random, not a guessable password).
//!
//! When a token is rotated, its successor is `HMAC-SHA256(successor_key, old token)` rather
//! than fresh randomness. That lets the server hand a racing second tab *the same* successor
//! inside the grace window — without ever storing a token in a readable form, and without
//! leaving two live tokens for one session. Without the server's key, the successor of a
//! stolen token cannot be computed.

use crate::server::secret::Secret;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "ghr_";
const RANDOM_BYTES: usize = 32;
/// `ghr_` + base64url of 32 bytes.
pub const TOKEN_LEN: usize = 4 + 43;

/// The SHA-256 of a refresh token: what the database stores.
pub type TokenHash = [u8; 32];

/// A brand-new refresh token from the OS's CSPRNG.
pub fn generate() -> Secret {
    let mut bytes = [0u8; RANDOM_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::new(format!("{PREFIX}{}", B64.encode(bytes)))
}

/// The successor of `token` under `key` (see the module docs).
pub fn successor(key: &SuccessorKey, token: &Secret) -> Secret {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.0.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(token.expose().as_bytes());
    Secret::new(format!("{PREFIX}{}", B64.encode(mac.finalize().into_bytes())))
}

/// The hash under which a token is stored and looked up.
pub fn hash(token: &Secret) -> TokenHash {
    Sha256::digest(token.expose().as_bytes()).into()
}

/// Accepts only strings shaped like our tokens, so garbage never reaches the database.
pub fn parse(text: &str) -> Option<Secret> {
    let body = text.strip_prefix(PREFIX)?;
    (text.len() == TOKEN_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Secret::new(text))
}

/// The server's key for deriving successors (stored in `server_secrets`).
#[derive(Clone, Debug)]
pub struct SuccessorKey(Secret);

impl SuccessorKey {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        SuccessorKey(Secret::new(B64.encode(bytes)))
    }

    pub fn random_bytes() -> Vec<u8> {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(parse(a.expose()).is_some());
        assert_ne!(a.expose(), b.expose());
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn the_successor_is_deterministic_per_key_and_well_formed() {
        let k1 = SuccessorKey::from_bytes(&SuccessorKey::random_bytes());
        let k2 = SuccessorKey::from_bytes(&SuccessorKey::random_bytes());
        let t = generate();
        let s = successor(&k1, &t);
        assert_eq!(s.expose(), successor(&k1, &t).expose());
        assert_ne!(s.expose(), successor(&k2, &t).expose(), "another key gives another successor");
        assert_ne!(s.expose(), t.expose());
        assert!(parse(s.expose()).is_some());
    }

    #[test]
    fn malformed_tokens_are_refused_before_lookup() {
        for bad in ["", "ghr_", "ghr_short", "abc", &format!("ghr_{}", "*".repeat(43)), &format!("xyz_{}", "a".repeat(43))] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
