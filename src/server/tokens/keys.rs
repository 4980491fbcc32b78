//! Signing keys for access tokens (ssr only).
//!
//! Rotation (`gatehouse keys rotate`) adds a key and retires the old one: a retired key no
//! longer signs but still verifies — and stays in the JWKS — until every token it signed has
//! expired (access TTL + leeway), then it is gone. Nobody is signed out.
//!
//! Keys live in the database, so every instance shares them; each instance reloads them
//! every [`RELOAD_INTERVAL`] ([`KeyStore`]). With several instances a new key must be known
//! everywhere before anyone signs with it, or an instance that has not reloaded yet would
//! refuse the new tokens. So on PostgreSQL the old key is retired [`ACTIVATION_DELAY`] in the
//! future: until then it keeps signing while the new key is already published and
//! verifying ("the oldest key not yet retired signs"). A SQLite file has one instance, so
//! there the new key signs at once. The private half never leaves this module except as a
//! `jsonwebtoken::EncodingKey`, and nothing here implements `Debug` over key material.

use crate::{
    server::{db::Db, secret::Secret},
    with_db,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use ed25519_dalek::{
    pkcs8::{DecodePrivateKey, EncodePrivateKey},
    SigningKey,
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

pub const ALGORITHM: &str = "EdDSA";

/// How often each instance re-reads the signing keys.
pub const RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a new key is published before it signs (several instances): two reloads.
pub const ACTIVATION_DELAY: std::time::Duration = std::time::Duration::from_secs(2 * RELOAD_INTERVAL.as_secs());

/// The activation delay a database needs: none for SQLite's single instance.
pub fn activation_delay_secs(db: &Db) -> i64 {
    if db.is_postgres() {
        ACTIVATION_DELAY.as_secs() as i64
    } else {
        0
    }
}

/// The keys this server signs and verifies with.
pub struct KeyRing {
    signing_kid: String,
    signing_key: EncodingKey,
    /// The same private key, parsed once: `jsonwebtoken::encode` re-reads the PKCS#8 bytes
    /// and recomputes the public key (a second scalar multiplication) on every token.
    signer: SigningKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("signing_kid", &self.signing_kid)
            .field("verifying", &self.verifying.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

struct StoredKey {
    kid: String,
    private_der: Secret,
    public_x: String,
    /// Not retired (yet): may sign.
    signing: bool,
}

/// The current key ring, swapped whole when keys are reloaded.
pub struct KeyStore {
    ring: RwLock<Arc<KeyRing>>,
    /// How long a retired key keeps verifying: the access-token lifetime plus leeway.
    retired_keep_secs: i64,
}

impl KeyStore {
    /// Loads the keys, creating the first one when the database has none.
    pub async fn open(db: &Db, retired_keep_secs: i64, now: i64) -> Result<KeyStore, sqlx::Error> {
        let ring = KeyRing::load_or_create(db, retired_keep_secs, now).await?;
        Ok(KeyStore { ring: RwLock::new(Arc::new(ring)), retired_keep_secs })
    }

    /// The ring to sign and verify with right now.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the keys (another instance or `gatehouse keys rotate` may have added one).
    pub async fn reload(&self, db: &Db, now: i64) -> Result<(), sqlx::Error> {
        let ring = KeyRing::load_or_create(db, self.retired_keep_secs, now).await?;
        let changed = ring.signing_kid != self.current().signing_kid || ring.verifying.len() != self.current().verifying.len();
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ring);
        if changed {
            tracing::info!(signing_kid = %self.current().signing_kid, "signing keys reloaded");
        }
        Ok(())
    }
}

/// Adds a new signing key and retires the current one(s) once every instance knows the new
/// one ([`activation_delay_secs`]). Returns the new key id.
pub async fn rotate(db: &Db, now: i64) -> Result<String, sqlx::Error> {
    rotate_with_delay(db, now, activation_delay_secs(db)).await
}

/// [`rotate`] with an explicit delay before the new key signs.
pub async fn rotate_with_delay(db: &Db, now: i64, delay_secs: i64) -> Result<String, sqlx::Error> {
    let (kid, der, x) = generate();
    let retire_at = now + delay_secs;
    with_db!(db.write(), |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("update signing_keys set retired_at = $1 where retired_at is null")
            .bind(retire_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into signing_keys (kid, algorithm, private_key, public_key, created_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(&kid)
        .bind(ALGORITHM)
        .bind(der.as_slice())
        .bind(&x)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    tracing::info!(kid = %kid, "signing key rotated");
    Ok(kid)
}

/// Every key with its state, for `gatehouse keys list`.
pub async fn list(db: &Db) -> Result<Vec<(String, i64, Option<i64>)>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as("select kid, created_at, retired_at from signing_keys order by created_at desc, kid")
            .fetch_all(pool)
            .await
    })
}

impl KeyRing {
    /// Loads the keys, creating the first one when the database has none.
    async fn load_or_create(db: &Db, retired_keep_secs: i64, now: i64) -> Result<KeyRing, sqlx::Error> {
        if !active_keys(db, retired_keep_secs, now).await?.iter().any(|k| k.signing) {
            add_first_key(db, now).await?;
        }
        let keys = active_keys(db, retired_keep_secs, now).await?;
        KeyRing::from_stored(keys).ok_or_else(|| sqlx::Error::Protocol("no usable signing key".into()))
    }

    fn from_stored(keys: Vec<StoredKey>) -> Option<KeyRing> {
        // The oldest key not yet retired signs (rows come newest first): after a rotation
        // that is the old key until its retirement, then the new one.
        let signer = keys.iter().rev().find(|k| k.signing)?;
        let der = zeroize::Zeroizing::new(B64.decode(signer.private_der.expose()).ok()?);
        let signing_key = EncodingKey::from_ed_der(&der);
        let parsed = SigningKey::from_pkcs8_der(&der).ok()?;
        let signing_kid = signer.kid.clone();
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for k in &keys {
            let Ok(dk) = DecodingKey::from_ed_components(&k.public_x) else { continue };
            verifying.insert(k.kid.clone(), dk);
            jwks.push(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": k.public_x,
                "kid": k.kid, "alg": ALGORITHM, "use": "sig",
            }));
        }
        Some(KeyRing { signing_kid, signing_key, signer: parsed, verifying, jwks: serde_json::json!({ "keys": jwks }) })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing_key
    }

    /// The Ed25519 signature of `message` by the signing key.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        ed25519_dalek::Signer::sign(&self.signer, message)
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    /// The public keys as a JSON Web Key Set.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// A ring with a fresh key that is stored nowhere: for tests, and for forging tokens
    /// that must be refused.
    pub fn ephemeral() -> KeyRing {
        let (kid, der, x) = generate();
        KeyRing::from_stored(vec![StoredKey { kid, private_der: Secret::new(B64.encode(der)), public_x: x, signing: true }])
            .expect("fresh key")
    }
}

/// Adds a first signing key; false when another instance's came first. Instances starting at
/// once on an empty database all find no key and all get here: the database holds at most one
/// key without a retirement time (index `signing_keys_one_unretired`), so one insert wins, the
/// others do nothing, and every instance then reads the winner's key.
async fn add_first_key(db: &Db, now: i64) -> Result<bool, sqlx::Error> {
    let (kid, der, x) = generate();
    let added = with_db!(db.write(), |pool| {
        sqlx::query(
            "insert into signing_keys (kid, algorithm, private_key, public_key, created_at)
             values ($1, $2, $3, $4, $5) on conflict do nothing",
        )
        .bind(&kid)
        .bind(ALGORITHM)
        .bind(der.as_slice())
        .bind(&x)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1)
    })?;
    if added {
        tracing::info!(kid = %kid, "created a new access-token signing key");
    }
    Ok(added)
}

/// A new key: (kid, PKCS#8 DER private key, base64url public key).
fn generate() -> (String, Vec<u8>, String) {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
    let public = key.verifying_key().to_bytes();
    let kid = B64.encode(&Sha256::digest(public)[..12]);
    (kid, der, B64.encode(public))
}

/// Keys that still sign or verify: not retired, or retired so recently that tokens they
/// signed may still be valid.
async fn active_keys(db: &Db, retired_keep_secs: i64, now: i64) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>, String, Option<i64>)> = with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select kid, private_key, public_key, retired_at from signing_keys
             where retired_at is null or retired_at > $1
             order by created_at desc, kid",
        )
        .bind(now - retired_keep_secs)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|(kid, der, public_x, retired_at)| StoredKey {
            kid,
            private_der: Secret::new(B64.encode(der)),
            public_x,
            signing: retired_at.is_none_or(|r| r > now),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{db, tokens::access::{self, AccessSettings}};

    const T0: i64 = 1_800_000_000;

    #[tokio::test]
    async fn rotation_signs_with_the_new_key_keeps_old_tokens_valid_then_drops_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("k.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        let settings = AccessSettings { issuer: "i".into(), audience: "a".into(), ttl_secs: 900 };
        let keep = 900 + 60;
        let store = KeyStore::open(&db, keep, T0).await.unwrap();
        let old_kid = store.current().signing_kid().to_owned();
        let (old_token, _) = access::mint(&store.current(), &settings, "u", "s", i64::MAX, T0).unwrap();

        let new_kid = rotate(&db, T0 + 10).await.unwrap();
        store.reload(&db, T0 + 10).await.unwrap();
        let ring = store.current();
        assert_eq!(ring.signing_kid(), new_kid);
        assert_ne!(new_kid, old_kid);
        let (new_token, _) = access::mint(&ring, &settings, "u", "s", i64::MAX, T0 + 10).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(), Some(new_kid.as_str()));
        // Nobody is signed out: the token signed before the rotation still verifies.
        assert!(access::verify(&ring, &settings, &old_token, T0 + 20).is_ok());
        let kids: Vec<String> = ring.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect();
        assert!(kids.contains(&old_kid) && kids.contains(&new_kid));

        // Once no token of the old key can be valid, it leaves the JWKS and verifies nothing.
        store.reload(&db, T0 + 10 + keep + 1).await.unwrap();
        let ring = store.current();
        let kids: Vec<String> = ring.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect();
        assert_eq!(kids, vec![new_kid.clone()]);
        assert!(ring.verifying_key(&old_kid).is_none());
        // A second start on the same database reuses the key instead of making another.
        let again = KeyStore::open(&db, keep, T0 + 10 + keep + 2).await.unwrap();
        assert_eq!(again.current().signing_kid(), new_kid);
    }

    #[tokio::test]
    async fn with_several_instances_a_new_key_is_published_first_and_signs_only_after_the_delay() {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("k.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        let keep = 900 + 60;
        let store = KeyStore::open(&db, keep, T0).await.unwrap();
        let old_kid = store.current().signing_kid().to_owned();
        let delay = ACTIVATION_DELAY.as_secs() as i64;
        let new_kid = rotate_with_delay(&db, T0 + 10, delay).await.unwrap();

        // Inside the delay: the old key signs, the new one is already in the JWKS and verifies.
        store.reload(&db, T0 + 10).await.unwrap();
        let ring = store.current();
        assert_eq!(ring.signing_kid(), old_kid);
        assert!(ring.verifying_key(&new_kid).is_some());
        assert!(ring.jwks().to_string().contains(&new_kid));
        store.reload(&db, T0 + 10 + delay - 1).await.unwrap();
        assert_eq!(store.current().signing_kid(), old_kid);

        // From the retirement on, the new key signs and the old one still verifies.
        store.reload(&db, T0 + 10 + delay).await.unwrap();
        let ring = store.current();
        assert_eq!(ring.signing_kid(), new_kid);
        assert!(ring.verifying_key(&old_kid).is_some());
        // ...until its last token can have expired.
        store.reload(&db, T0 + 10 + delay + keep + 1).await.unwrap();
        assert!(store.current().verifying_key(&old_kid).is_none());
    }

    /// The race of instances starting at once on an empty database, made deterministic: each
    /// found no key, and each now adds its own first key.
    #[tokio::test]
    async fn instances_that_all_found_no_key_add_one_first_key_between_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("k.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        assert!(add_first_key(&db, T0).await.unwrap(), "the first instance's key goes in");
        assert!(!add_first_key(&db, T0).await.unwrap(), "the second's is refused");
        assert!(!add_first_key(&db, T0 + 1).await.unwrap(), "and a third's");
        let unretired: i64 = with_db!(db.read(), |pool| {
            sqlx::query_scalar("select count(*) from signing_keys where retired_at is null").fetch_one(pool).await
        })
        .unwrap();
        assert_eq!(unretired, 1);
        let (a, b) = (KeyStore::open(&db, 960, T0 + 2).await.unwrap(), KeyStore::open(&db, 960, T0 + 2).await.unwrap());
        assert_eq!(a.current().signing_kid(), b.current().signing_kid(), "every instance signs with the one key");
        // A rotation still works under the rule: the old key is given its retirement first.
        let next = rotate(&db, T0 + 3).await.unwrap();
        assert_ne!(next, a.current().signing_kid());
    }

    #[test]
    fn the_jwks_never_carries_private_key_material() {
        let ring = KeyRing::ephemeral();
        let text = ring.jwks().to_string();
        assert!(!text.contains("\"d\""));
        assert_eq!(ring.jwks()["keys"][0]["kty"], "OKP");
    }
}
