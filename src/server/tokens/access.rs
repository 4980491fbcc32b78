//! Access tokens (ssr only): minted here, verified here.
//!
//! An access token is a JWT signed with Ed25519 (`alg: EdDSA`, `typ: at+jwt`, `kid`), carrying
//! `iss aud sub sid iat nbf exp jti`. It lives for minutes and is checked on every request;
//! its `sid` ties it to a session so revoking the session stops it at once (see
//! `sessions::revocation_list`).

use super::{
    keys::KeyRing,
    verified_cache::{Lookup, VerifiedCache},
};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// RFC 9068's media type for JWT access tokens; anything else is not one of ours.
pub const TOKEN_TYPE: &str = "at+jwt";
/// Bigger than any token we mint by far; larger input is refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// Allowed clock difference for `iat`/`nbf` between instances.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// Who issues tokens, for whom, and for how long.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("access token expired")]
    Expired,
    #[error("access token invalid")]
    Invalid,
}

impl From<jsonwebtoken::errors::Error> for crate::error::AppError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        tracing::error!(error = %err, "token signing error");
        crate::error::AppError::Internal
    }
}

/// Mints an access token for one session.
pub fn mint(
    keys: &KeyRing,
    settings: &AccessSettings,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> Result<(String, AccessClaims), jsonwebtoken::errors::Error> {
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        sub: user_id.to_owned(),
        sid: session_id.to_owned(),
        iat: now,
        nbf: now,
        exp: now + settings.ttl_secs,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(TOKEN_TYPE.to_owned());
    header.kid = Some(keys.signing_kid().to_owned());
    let token = jsonwebtoken::encode(&header, &claims, keys.signing_key())?;
    Ok((token, claims))
}

/// Verifies an access token: size, header, algorithm allow-list, known `kid`, signature,
/// issuer, audience, then time against `now`. Anything odd is `Invalid`; only a token
/// that would be fine but for its age is `Expired`.
pub fn verify(keys: &KeyRing, settings: &AccessSettings, token: &str, now: i64) -> Result<AccessClaims, AccessError> {
    verify_with_kid(keys, settings, token, now).map(|(claims, _)| claims)
}

/// [`verify`], also telling which key signed the token.
pub fn verify_with_kid(
    keys: &KeyRing,
    settings: &AccessSettings,
    token: &str,
    now: i64,
) -> Result<(AccessClaims, String), AccessError> {
    let (claims, kid) = verify_signature(keys, settings, token)?;
    check_time(&claims, now)?;
    Ok((claims, kid))
}

/// [`verify_with_kid`] for a token that may have been verified before: a repeat skips the
/// header parsing and the signature check but nothing that can change since — the key must
/// still be in `keys`, issuer and audience must match, the time checks run against `now`
/// (see [`VerifiedCache`]). Only tokens that pass in full are remembered.
pub fn verify_cached(
    cache: &VerifiedCache,
    keys: &KeyRing,
    settings: &AccessSettings,
    token: &str,
    now: i64,
) -> Result<(AccessClaims, String), AccessError> {
    if token.len() > MAX_TOKEN_BYTES || token.is_empty() {
        return Err(AccessError::Invalid);
    }
    let key = VerifiedCache::key(token);
    if let Lookup::Hit(claims, kid) = cache.lookup(&key, keys, settings) {
        if let Err(e) = check_time(&claims, now) {
            if e == AccessError::Expired {
                cache.remove(&key);
            }
            return Err(e);
        }
        return Ok((claims, kid));
    }
    let (claims, kid) = verify_with_kid(keys, settings, token, now)?;
    cache.insert(key, keys, &claims, &kid, now);
    Ok((claims, kid))
}

/// A token that is ours, whatever its age: everything [`verify`] checks but the clock. Only
/// for naming the session an expired token belongs to (signing out); never for access.
pub fn verify_ignoring_time(keys: &KeyRing, settings: &AccessSettings, token: &str) -> Result<AccessClaims, AccessError> {
    verify_signature(keys, settings, token).map(|(claims, _)| claims)
}

/// Everything about a token that does not depend on the clock: size, header, algorithm
/// allow-list, known `kid`, signature, issuer, audience.
fn verify_signature(keys: &KeyRing, settings: &AccessSettings, token: &str) -> Result<(AccessClaims, String), AccessError> {
    if token.len() > MAX_TOKEN_BYTES || token.is_empty() {
        return Err(AccessError::Invalid);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| AccessError::Invalid)?;
    if header.alg != Algorithm::EdDSA
        || header.typ.as_deref() != Some(TOKEN_TYPE)
        // Keys come from our ring only, never from the token itself.
        || header.jku.is_some()
        || header.jwk.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
    {
        return Err(AccessError::Invalid);
    }
    let kid = header.kid.ok_or(AccessError::Invalid)?;
    let key = keys.verifying_key(&kid).ok_or(AccessError::Invalid)?;

    let mut validation = Validation::new(Algorithm::EdDSA);
    // Time is checked by `check_time` against the injected `now`, not the library's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    let claims = jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
        .map_err(|_| AccessError::Invalid)?
        .claims;
    if claims.sid.is_empty() {
        return Err(AccessError::Invalid);
    }
    Ok((claims, kid))
}

/// The clock's part: not issued in the future (beyond the leeway), not yet expired.
fn check_time(claims: &AccessClaims, now: i64) -> Result<(), AccessError> {
    if claims.nbf > now + LEEWAY_SECS || claims.iat > now + LEEWAY_SECS {
        return Err(AccessError::Invalid);
    }
    if now >= claims.exp {
        return Err(AccessError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};

    fn settings() -> AccessSettings {
        AccessSettings { issuer: "http://127.0.0.1:3000".into(), audience: "gatehouse".into(), ttl_secs: 900 }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_minted_token_verifies_with_all_its_claims() {
        let keys = KeyRing::ephemeral();
        let (token, claims) = mint(&keys, &settings(), "user-1", "session-1", NOW).unwrap();
        let got = verify(&keys, &settings(), &token, NOW + 10).unwrap();
        assert_eq!(got, claims);
        assert_eq!((got.sub.as_str(), got.sid.as_str(), got.exp), ("user-1", "session-1", NOW + 900));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(keys.signing_kid()));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn a_token_past_its_expiry_is_expired_not_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "u", "s", NOW).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW + 899).map(|_| ()), Ok(()));
        assert_eq!(verify(&keys, &settings(), &token, NOW + 900), Err(AccessError::Expired));
    }

    #[test]
    fn a_token_from_the_future_is_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "u", "s", NOW + 3600).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn a_token_signed_by_another_key_is_invalid() {
        let ours = KeyRing::ephemeral();
        let theirs = KeyRing::ephemeral();
        let (token, _) = mint(&theirs, &settings(), "u", "s", NOW).unwrap();
        assert_eq!(verify(&ours, &settings(), &token, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn a_tampered_payload_is_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "user-1", "s", NOW).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap().replace("user-1", "user-2");
        let forged = format!("{}.{}.{}", parts[0], B64.encode(payload), parts[2]);
        assert_eq!(verify(&keys, &settings(), &forged, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn alg_none_is_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "u", "s", NOW).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let header = B64.encode(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, keys.signing_kid()));
        for forged in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
            assert_eq!(verify(&keys, &settings(), &forged, NOW), Err(AccessError::Invalid));
        }
    }

    #[test]
    fn wrong_issuer_or_audience_is_invalid() {
        let keys = KeyRing::ephemeral();
        let mut other = settings();
        other.audience = "someone-else".into();
        let (token, _) = mint(&keys, &other, "u", "s", NOW).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW), Err(AccessError::Invalid));
        let mut other = settings();
        other.issuer = "https://evil.example".into();
        let (token, _) = mint(&keys, &other, "u", "s", NOW).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn garbage_and_huge_input_are_invalid() {
        let keys = KeyRing::ephemeral();
        for junk in ["", "a.b.c", "not a token", &"x".repeat(10_000)] {
            assert_eq!(verify(&keys, &settings(), junk, NOW), Err(AccessError::Invalid));
        }
    }
}
