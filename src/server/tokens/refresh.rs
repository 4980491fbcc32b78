//! Refresh tokens (ssr only): generated, hashed, and their successors derived.
//!
//! A refresh token is `ghr_` + 43 base64url characters: 256 random bits. The server keeps only
//! its SHA-256 (a fast hash is right here: the token is random, not a guessable password).
//!
//! When a token is rotated, its successor is `HMAC-SHA256(successor_key, old token)` rather
//! than fresh randomness. That lets the server hand a racing second tab *the same* successor
//! inside the grace window — without ever storing a token in a readable form, and without
//! leaving two live tokens for one session. Without the server's key, the successor of a
//! stolen token cannot be computed — which is why the key never lives in the database beside
//! the hashes (see `refresh_secret`).

use crate::server::secret::Secret;
use base64::{
    engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD as B64},
    Engine,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

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
    Secret::new(format!("{PREFIX}{}", B64.encode(key.mac(token.expose().as_bytes()))))
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

/// A key successors are derived with: random bytes from outside the database (see
/// `refresh_secret`). Its `Debug` never shows it; its memory is wiped on drop.
#[derive(Clone)]
pub struct SuccessorKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SuccessorKey({}, [redacted])", self.id())
    }
}

impl SuccessorKey {
    /// Shortest key accepted: as many bits as the tokens it derives.
    pub const MIN_BYTES: usize = 32;

    pub fn from_bytes(bytes: &[u8]) -> Self {
        SuccessorKey(Zeroizing::new(bytes.to_vec()))
    }

    /// A new key from the OS's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; Self::MIN_BYTES]);
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SuccessorKey(bytes)
    }

    /// Reads a key written as base64 (standard or URL-safe, padded or not — what
    /// `openssl rand -base64 32` prints, or [`SuccessorKey::to_text`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('=');
        let bytes = B64
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .map_err(|_| "not base64 (make one with `openssl rand -base64 32`)".to_owned())?;
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!("too short: {} bytes, at least {} needed", bytes.len(), Self::MIN_BYTES));
        }
        Ok(SuccessorKey(Zeroizing::new(bytes)))
    }

    /// The key as text (base64url), for the secret file.
    pub fn to_text(&self) -> Secret {
        Secret::new(B64.encode(&self.0[..]))
    }

    /// A name for the key that gives nothing of it away (the first bytes of an HMAC of a fixed
    /// label): logged at start-up, so operators can see that every instance has the same one.
    pub fn id(&self) -> String {
        self.mac(b"gatehouse refresh secret id")[..6].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key's bytes, for the one place that needs them. Never log what this returns.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn mac(&self, input: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(input);
        mac.finalize().into_bytes().into()
    }
}

/// The keys in use: `current` derives every new successor; `previous`, while a new key rolls
/// out, is still followed when a racing tab presents a token that was rotated under it.
#[derive(Clone, Debug)]
pub struct SuccessorKeys {
    pub current: SuccessorKey,
    pub previous: Option<SuccessorKey>,
}

impl SuccessorKeys {
    pub fn new(current: SuccessorKey) -> Self {
        SuccessorKeys { current, previous: None }
    }

    /// Current first.
    pub fn all(&self) -> impl Iterator<Item = &SuccessorKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
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
        let k1 = SuccessorKey::generate();
        let k2 = SuccessorKey::generate();
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

    #[test]
    fn a_key_reads_back_from_its_text_and_from_openssl_base64_and_never_shows_in_debug() {
        let key = SuccessorKey::generate();
        let text = key.to_text();
        let back = SuccessorKey::parse(text.expose()).unwrap();
        assert_eq!(back.expose(), key.expose());
        assert_eq!(back.id(), key.id());
        let openssl = base64::engine::general_purpose::STANDARD.encode(key.expose());
        assert_eq!(SuccessorKey::parse(&format!(" {openssl}\n")).unwrap().expose(), key.expose());
        let debug = format!("{key:?}");
        assert!(!debug.contains(text.expose()) && debug.contains(&key.id()), "{debug}");
        assert_ne!(SuccessorKey::generate().id(), key.id());
    }

    #[test]
    fn short_or_garbled_keys_are_refused() {
        assert!(SuccessorKey::parse(&B64.encode([7u8; 31])).unwrap_err().contains("too short"));
        assert!(SuccessorKey::parse("").is_err());
        assert!(SuccessorKey::parse("not base64 at all!").unwrap_err().contains("base64"));
    }
}
