//! Password hashing with argon2id (ssr only).
//!
//! Hashing is deliberately slow (~tens of ms and 19 MiB each), so it never runs on the async
//! worker threads: it goes to tokio's blocking pool behind a semaphore sized to the CPUs,
//! which caps memory and keeps a flood of sign-ins from starving every other request.

use crate::server::secret::Secret;
use argon2::{
    password_hash::{phc::PasswordHash, PasswordHasher as _, PasswordVerifier as _},
    Algorithm, Argon2, Params, Version,
};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 parameters rejected: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Join(String),
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used other parameters than today's: store a fresh one.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    params: Params,
    permits: Arc<Semaphore>,
    /// Verified for unknown accounts, so "no such account" costs what "wrong password" costs.
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// `memory_kib`/`iterations`: OWASP's 19456/2 by default, parallelism 1.
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = argon
            .hash_password(b"gatehouse dummy password, never a real one")
            .map_err(|e| PasswordError::Hash(e.to_string()))?
            .to_string();
        Ok(Passwords {
            argon,
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy.into(),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let argon = self.argon.clone();
        let password = password.clone();
        self.run(move || {
            argon
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await?
    }

    /// Checks a password against a stored hash, or against the dummy hash when there is no
    /// account, so both paths do the same work. `matches` is false for a missing account.
    pub async fn verify(&self, password: &Secret, stored: Option<&str>) -> Result<Verified, PasswordError> {
        let argon = self.argon.clone();
        let password = password.clone();
        let account_exists = stored.is_some();
        let hash = stored.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.to_string());
        let current = self.params.clone();
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Verified { matches: false, needs_rehash: false };
            };
            let matches = argon.verify_password(password.expose().as_bytes(), &parsed).is_ok();
            let needs_rehash = Params::try_from(&parsed)
                .map(|p| (p.m_cost(), p.t_cost(), p.p_cost()) != (current.m_cost(), current.t_cost(), current.p_cost()))
                .unwrap_or(true)
                || parsed.algorithm.as_str() != "argon2id";
            Verified { matches: matches && account_exists, needs_rehash }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| PasswordError::Join(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| PasswordError::Join(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(1024, 1, 2).unwrap()
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let p = cheap();
        let hash = p.hash(&Secret::new("correct horse battery")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        let ok = p.verify(&Secret::new("correct horse battery"), Some(&hash)).await.unwrap();
        assert!(ok.matches && !ok.needs_rehash);
        let bad = p.verify(&Secret::new("correct horse battery!"), Some(&hash)).await.unwrap();
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches_even_with_the_dummy_password() {
        let p = cheap();
        let v = p
            .verify(&Secret::new("gatehouse dummy password, never a real one"), None)
            .await
            .unwrap();
        assert!(!v.matches);
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_asks_for_a_rehash() {
        let old = Passwords::new(512, 1, 1).unwrap();
        let hash = old.hash(&Secret::new("pw-pw-pw-pw")).await.unwrap();
        let v = cheap().verify(&Secret::new("pw-pw-pw-pw"), Some(&hash)).await.unwrap();
        assert!(v.matches && v.needs_rehash);
    }

    #[tokio::test]
    async fn owasp_defaults_produce_the_expected_phc_parameters() {
        let p = Passwords::new(19456, 2, 1).unwrap();
        let hash = p.hash(&Secret::new("long enough password")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }

    #[tokio::test]
    async fn a_garbage_stored_hash_is_a_mismatch_not_a_crash() {
        let v = cheap().verify(&Secret::new("x"), Some("not a phc string")).await.unwrap();
        assert!(!v.matches);
    }
}
