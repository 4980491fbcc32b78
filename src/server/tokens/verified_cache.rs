//! Access tokens whose signature has already been checked (ssr only).
//!
//! A client sends the same access token with every request for the minutes it lives, and the
//! Ed25519 check was the biggest part of answering it. The cache remembers, per exact token
//! (keyed by its SHA-256), "these bytes carry a valid signature by this public key and say
//! these claims". Everything that can change is still checked on every use: the clock
//! (`exp`, `nbf`, `iat`), the token's lifetime against the configured one (see
//! `access::check_claims`), that the signing key is still in the current key ring (a retired
//! and dropped key verifies nothing, cached or not), issuer and audience; the revocation
//! list is the caller's (`server::auth`). A token never seen, altered by a single byte, or
//! refused before is verified in full.
//!
//! Each server's state owns one (`state::State::verified`), so two servers in one process
//! (tests) never share entries.

use super::{
    access::{AccessClaims, AccessSettings},
    keys::KeyRing,
};
use sha2::{Digest, Sha256};
use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

/// Entries kept at most: a few MB at full size; beyond it the least used go first.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// How often (in the tokens' own seconds) a write also sweeps out expired entries.
const SWEEP_EVERY_SECS: i64 = 60;

/// A token whose signature checked out: whom it names, what it says, which key signed it.
/// One per token, shared (`Arc`) by every request that presents it: a hit copies nothing.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// `claims.sub`.
    pub user_id: String,
    /// `claims.sid`.
    pub session_id: String,
    pub claims: AccessClaims,
    /// The key that signed it.
    pub kid: String,
}

impl VerifiedToken {
    pub fn new(claims: AccessClaims, kid: String) -> Self {
        VerifiedToken { user_id: claims.sub.clone(), session_id: claims.sid.clone(), claims, kid }
    }
}

/// One verified token.
struct Entry {
    token: Arc<VerifiedToken>,
    /// The public key the signature was checked with: a hit needs this very key in the ring.
    public_key: Vec<u8>,
}

pub struct VerifiedCache {
    entries: quick_cache::sync::Cache<[u8; 32], Arc<Entry>>,
    last_sweep: AtomicI64,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache").field("len", &self.entries.len()).finish_non_exhaustive()
    }
}

/// Where a cached token stands against today's key ring and settings.
// Returned by value and matched at once, once per request: boxing the claims would only add
// an allocation to the hot path.
#[allow(clippy::large_enum_variant)]
pub(super) enum Lookup {
    /// Verified before, key and settings unchanged: only the time checks remain.
    Hit(Arc<VerifiedToken>),
    /// Not cached, or cached under a key or settings that no longer hold: verify in full.
    Miss,
}

impl VerifiedCache {
    pub fn new(capacity: usize) -> Self {
        VerifiedCache { entries: quick_cache::sync::Cache::new(capacity.max(1)), last_sweep: AtomicI64::new(0) }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(super) fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    pub(super) fn lookup(&self, key: &[u8; 32], keys: &KeyRing, settings: &AccessSettings) -> Lookup {
        let Some(entry) = self.entries.get(key) else {
            return Lookup::Miss;
        };
        let token = &entry.token;
        let same_key = keys
            .verifying_key(&token.kid)
            .and_then(|k| k.try_get_as_bytes().ok())
            .is_some_and(|bytes| bytes == entry.public_key.as_slice());
        if !same_key || token.claims.iss != settings.issuer || token.claims.aud != settings.audience {
            self.entries.remove(key);
            return Lookup::Miss;
        }
        Lookup::Hit(entry.token.clone())
    }

    /// Remembers a token that has just passed full verification with `keys`.
    pub(super) fn insert(&self, key: [u8; 32], keys: &KeyRing, token: &Arc<VerifiedToken>, now: i64) {
        let Some(public_key) = keys.verifying_key(&token.kid).and_then(|k| k.try_get_as_bytes().ok()) else {
            return;
        };
        self.sweep_if_due(now);
        let entry = Entry { token: token.clone(), public_key: public_key.to_vec() };
        self.entries.insert(key, Arc::new(entry));
    }

    pub(super) fn remove(&self, key: &[u8; 32]) {
        self.entries.remove(key);
    }

    /// Drops expired entries, at most once per [`SWEEP_EVERY_SECS`]; the capacity bound
    /// evicts the rest of what nobody asks for.
    fn sweep_if_due(&self, now: i64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last >= SWEEP_EVERY_SECS
            && self.last_sweep.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.entries.retain(|_, entry| entry.token.claims.exp > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tokens::access::{mint, verify_cached, AccessError};

    fn settings() -> AccessSettings {
        AccessSettings { issuer: "http://127.0.0.1:3000".into(), audience: "gatehouse".into(), ttl_secs: 900 }
    }

    const NOW: i64 = 1_800_000_000;
    const NO_END: i64 = i64::MAX;

    fn cached(cache: &VerifiedCache, token: &str) -> bool {
        cache.entries.get(&VerifiedCache::key(token)).is_some()
    }

    #[test]
    fn a_verified_token_is_cached_and_answers_the_same_claims_again() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (token, claims) = mint(&keys, &settings(), "user-1", "session-1", NO_END, NOW).unwrap();
        assert!(!cached(&cache, &token));
        let first = verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        assert!(cached(&cache, &token));
        let second = verify_cached(&cache, &keys, &settings(), &token, NOW + 5).unwrap();
        assert_eq!(first, second);
        assert_eq!(*second, VerifiedToken::new(claims, keys.signing_kid().to_owned()));
        assert!(Arc::ptr_eq(&first, &second), "a hit shares the one verified token");
    }

    #[test]
    fn an_expired_cached_token_is_refused_as_expired_and_dropped() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
        verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        assert!(cached(&cache, &token));
        assert_eq!(verify_cached(&cache, &keys, &settings(), &token, NOW + 899).map(|_| ()), Ok(()));
        assert_eq!(verify_cached(&cache, &keys, &settings(), &token, NOW + 900), Err(AccessError::Expired));
        assert!(!cached(&cache, &token));
    }

    #[test]
    fn a_cached_token_is_still_refused_when_the_clock_says_it_is_not_yet_valid() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
        verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        // The clock stepped back by more than the leeway.
        assert_eq!(verify_cached(&cache, &keys, &settings(), &token, NOW - 3600), Err(AccessError::Invalid));
    }

    #[test]
    fn a_tampered_copy_of_a_cached_token_is_not_a_hit() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (token, _) = mint(&keys, &settings(), "user-1", "s", NO_END, NOW).unwrap();
        verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap().replace("user-1", "user-2");
        let forged_payload = format!("{}.{}.{}", parts[0], B64.encode(payload), parts[2]);
        let mut signature = B64.decode(parts[2]).unwrap();
        signature[0] ^= 1;
        let forged_signature = format!("{}.{}.{}", parts[0], parts[1], B64.encode(signature));
        for forged in [forged_payload, forged_signature, format!("{token}x")] {
            assert_eq!(verify_cached(&cache, &keys, &settings(), &forged, NOW), Err(AccessError::Invalid));
            assert!(!cached(&cache, &forged));
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_token_of_a_key_no_longer_in_the_ring_is_refused_even_when_cached() {
        let cache = VerifiedCache::new(100);
        let (old_ring, new_ring) = (KeyRing::ephemeral(), KeyRing::ephemeral());
        let (token, _) = mint(&old_ring, &settings(), "u", "s", NO_END, NOW).unwrap();
        verify_cached(&cache, &old_ring, &settings(), &token, NOW).unwrap();
        assert!(cached(&cache, &token));
        // The old key has been retired long enough to leave the ring.
        assert_eq!(verify_cached(&cache, &new_ring, &settings(), &token, NOW + 1), Err(AccessError::Invalid));
        assert!(!cached(&cache, &token));
    }

    #[test]
    fn a_cached_token_longer_lived_than_the_configured_lifetime_is_refused_on_every_use() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
        verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        assert!(cached(&cache, &token));
        // The same issuer and audience, a lower lifetime: the cached entry does not vouch for it.
        let mut lowered = settings();
        lowered.ttl_secs = 60;
        assert_eq!(verify_cached(&cache, &keys, &lowered, &token, NOW + 1), Err(AccessError::Invalid));
        assert_eq!(verify_cached(&cache, &keys, &lowered, &token, NOW + 2), Err(AccessError::Invalid));
    }

    #[test]
    fn a_cached_token_is_refused_by_a_server_with_another_issuer_or_audience() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
        verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        let mut other = settings();
        other.audience = "someone-else".into();
        assert_eq!(verify_cached(&cache, &keys, &other, &token, NOW), Err(AccessError::Invalid));
        let mut other = settings();
        other.issuer = "https://evil.example".into();
        verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        assert_eq!(verify_cached(&cache, &keys, &other, &token, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let (cache, keys) = (VerifiedCache::new(16), KeyRing::ephemeral());
        let tokens: Vec<String> =
            (0..200).map(|i| mint(&keys, &settings(), "u", &format!("s{i}"), NO_END, NOW).unwrap().0).collect();
        for token in &tokens {
            verify_cached(&cache, &keys, &settings(), token, NOW).unwrap();
            assert!(cache.len() <= 16, "{}", cache.len());
        }
        // Evicted or not, every token still verifies.
        for token in &tokens {
            assert!(verify_cached(&cache, &keys, &settings(), token, NOW + 1).is_ok());
        }
    }

    #[test]
    fn expired_entries_are_swept_out_when_new_tokens_arrive() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        for i in 0..10 {
            let (token, _) = mint(&keys, &settings(), "u", &format!("old{i}"), NO_END, NOW).unwrap();
            verify_cached(&cache, &keys, &settings(), &token, NOW).unwrap();
        }
        assert_eq!(cache.len(), 10);
        let later = NOW + 900 + SWEEP_EVERY_SECS;
        let (fresh, _) = mint(&keys, &settings(), "u", "new", NO_END, later).unwrap();
        verify_cached(&cache, &keys, &settings(), &fresh, later).unwrap();
        assert_eq!(cache.len(), 1);
        assert!(cached(&cache, &fresh));
    }

    #[test]
    fn refused_tokens_are_not_cached() {
        let (cache, keys) = (VerifiedCache::new(100), KeyRing::ephemeral());
        let (future, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW + 3600).unwrap();
        assert_eq!(verify_cached(&cache, &keys, &settings(), &future, NOW), Err(AccessError::Invalid));
        let (expired, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW - 1000).unwrap();
        assert_eq!(verify_cached(&cache, &keys, &settings(), &expired, NOW), Err(AccessError::Expired));
        for junk in ["", "a.b.c", &"x".repeat(10_000)] {
            assert_eq!(verify_cached(&cache, &keys, &settings(), junk, NOW), Err(AccessError::Invalid));
        }
        assert!(cache.is_empty());
    }
}
