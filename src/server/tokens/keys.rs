//! Signing keys for access tokens (ssr only).
//!
//! One Ed25519 key signs; every key not yet retired verifies. Keys live in the database so
//! every instance shares them. The private half never leaves this module except as a
//! `jsonwebtoken::EncodingKey`, and nothing here implements `Debug` over key material.

use crate::server::{db::Db, secret::Secret};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use ed25519_dalek::{pkcs8::EncodePrivateKey, SigningKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const ALGORITHM: &str = "EdDSA";

/// The keys this server signs and verifies with.
pub struct KeyRing {
    signing_kid: String,
    signing_key: EncodingKey,
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
}

impl KeyRing {
    /// Loads the keys, creating the first one when the database has none.
    pub async fn load_or_create(db: &Db, now: i64) -> Result<KeyRing, sqlx::Error> {
        if active_keys(db).await?.is_empty() {
            let (kid, der, x) = generate();
            // `or ignore`/`on conflict do nothing`: two instances starting at once both try;
            // both then read back whatever is there.
            sqlx::query(
                "insert into signing_keys (kid, algorithm, private_key, public_key, created_at)
                 values ($1, $2, $3, $4, $5) on conflict (kid) do nothing",
            )
            .bind(&kid)
            .bind(ALGORITHM)
            .bind(der.as_slice())
            .bind(&x)
            .bind(now)
            .execute(db)
            .await?;
            tracing::info!(kid = %kid, "created a new access-token signing key");
        }
        let keys = active_keys(db).await?;
        KeyRing::from_stored(keys).ok_or_else(|| sqlx::Error::Protocol("no usable signing key".into()))
    }

    fn from_stored(keys: Vec<StoredKey>) -> Option<KeyRing> {
        // The newest key signs (rows come newest first).
        let newest = keys.first()?;
        let der = B64.decode(newest.private_der.expose()).ok()?;
        let signing_key = EncodingKey::from_ed_der(&der);
        let signing_kid = newest.kid.clone();
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
        Some(KeyRing { signing_kid, signing_key, verifying, jwks: serde_json::json!({ "keys": jwks }) })
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signing_key
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
        KeyRing::from_stored(vec![StoredKey { kid, private_der: Secret::new(B64.encode(der)), public_x: x }])
            .expect("fresh key")
    }
}

/// A new key: (kid, PKCS#8 DER private key, base64url public key).
fn generate() -> (String, Vec<u8>, String) {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
    let public = key.verifying_key().to_bytes();
    let kid = B64.encode(&Sha256::digest(public)[..12]);
    (kid, der, B64.encode(public))
}

async fn active_keys(db: &Db) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>, String)> = sqlx::query_as(
        "select kid, private_key, public_key from signing_keys
         where retired_at is null order by created_at desc, kid",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kid, der, public_x)| StoredKey { kid, private_der: Secret::new(B64.encode(der)), public_x })
        .collect())
}
