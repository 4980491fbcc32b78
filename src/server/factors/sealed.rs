//! Secrets at rest that the server must read back (a TOTP secret), sealed with
//! XChaCha20-Poly1305 (ssr only).
//!
//! The key is derived from the refresh secret (`tokens::refresh_secret`), which comes from a
//! setting or a private file, never the database: a stolen dump holds only ciphertext. Each
//! sealed value names the key it was sealed under (`v1.<key id>.<base64url nonce+ciphertext>`)
//! and is bound to its account (the user id is the associated data), so a value copied to
//! another account's row does not open. While a new refresh secret rolls out, values sealed
//! under the previous one still open, and start-up re-seals them under the current one
//! ([`Sealer::needs_reseal`]), so dropping the previous secret later loses nothing.

use crate::server::tokens::refresh::{SuccessorKey, SuccessorKeys};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

const VERSION: &str = "v1";

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn derive(secret: &SuccessorKey) -> Key {
        let derive = |label: &[u8]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose()).expect("HMAC takes keys of any length");
            mac.update(label);
            Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()))
        };
        let key = derive(b"gatehouse sealed secrets v1");
        let id = derive(b"gatehouse sealed secrets v1 id")[..4].iter().map(|b| format!("{b:02x}")).collect();
        Key { id, cipher: XChaCha20Poly1305::new(key.as_ref().into()) }
    }
}

/// Seals and opens secrets at rest; built once from the refresh secrets in use.
pub struct Sealer {
    current: Key,
    previous: Option<Key>,
}

impl Sealer {
    pub fn new(secrets: &SuccessorKeys) -> Sealer {
        Sealer { current: Key::derive(&secrets.current), previous: secrets.previous.as_ref().map(Key::derive) }
    }

    /// `plain` sealed for `user_id`, under the current key.
    pub fn seal(&self, user_id: &str, plain: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: user_id.as_bytes() })
            .expect("encrypting in memory does not fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", self.current.id, B64.encode(bytes))
    }

    /// The secret in `sealed`, if it was sealed for `user_id` under a key in use and is intact.
    pub fn open(&self, user_id: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        let mut parts = sealed.splitn(3, '.');
        let (version, id, body) = (parts.next()?, parts.next()?, parts.next()?);
        if version != VERSION {
            return None;
        }
        let key = std::iter::once(&self.current).chain(self.previous.as_ref()).find(|k| k.id == id)?;
        let bytes = B64.decode(body).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        key.cipher.decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: user_id.as_bytes() }).ok().map(Zeroizing::new)
    }

    /// True for a value sealed under another key than the current one.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1) != Some(self.current.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_account_intact_and_under_a_key_in_use() {
        let old = SuccessorKey::generate();
        let sealer = Sealer::new(&SuccessorKeys::new(old.clone()));
        let sealed = sealer.seal("u-ada", b"twenty bytes secret!");
        assert!(!sealed.contains("twenty"), "{sealed}");
        assert_eq!(sealer.open("u-ada", &sealed).unwrap().as_slice(), b"twenty bytes secret!");
        assert!(sealer.open("u-bob", &sealed).is_none(), "bound to its account");
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(sealer.open("u-ada", &tampered).is_none(), "tampering is detected");
        assert!(sealer.open("u-ada", "v1.0000.AAAA").is_none() && sealer.open("u-ada", "nonsense").is_none());

        // A new secret rolls out: the old value still opens, and is due for re-sealing.
        let rolled = Sealer::new(&SuccessorKeys { current: SuccessorKey::generate(), previous: Some(old) });
        assert!(rolled.needs_reseal(&sealed) && !sealer.needs_reseal(&sealed));
        assert_eq!(rolled.open("u-ada", &sealed).unwrap().as_slice(), b"twenty bytes secret!");
        let resealed = rolled.seal("u-ada", b"twenty bytes secret!");
        assert!(!rolled.needs_reseal(&resealed));
        // Another secret altogether opens nothing.
        let stranger = Sealer::new(&SuccessorKeys::new(SuccessorKey::generate()));
        assert!(stranger.open("u-ada", &sealed).is_none() && stranger.open("u-ada", &resealed).is_none());
    }
}
