//! Access tokens (ssr only): minted here, verified here.
//!
//! An access token is a JWT signed with Ed25519 (`alg: EdDSA`, `typ: at+jwt`, `kid`), carrying
//! `iss aud sub sid iat nbf exp jti`, and `auth_time`/`amr` (OpenID Connect's names): when
//! and how the person last proved who they are in the session — a refresh carries them over,
//! only signing in or confirming it's you (step-up) renews them. It lives for minutes and is checked on every request;
//! its `sid` ties it to a session so revoking the session stops it at once (see
//! `sessions::revocation_list`).

use super::{
    keys::KeyRing,
    verified_cache::{Lookup, VerifiedCache, VerifiedToken},
};
use std::sync::Arc;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// RFC 9068's media type for JWT access tokens; anything else is not one of ours.
pub const TOKEN_TYPE: &str = "at+jwt";
/// Bigger than any token we mint by far; larger input is refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 2048;
/// Allowed clock difference for `iat`/`nbf` between instances, and how much longer than the
/// configured lifetime (`exp - iat`) a token may be meant to live. The latter stays below the
/// 60 s a revoked session outlasts the lifetime on the revocation list, so every token of a
/// revoked session is past its `exp` before the session leaves the list.
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
    /// When the person last proved who they are in this session (unix seconds). Tokens
    /// minted before this claim existed read as 0: never recent.
    #[serde(default)]
    pub auth_time: i64,
    /// How: RFC 8176 method names (`pwd`, `otp`, `recovery_code`).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The account was an operator when the token was minted. A hint for clients (to show
    /// an "Users" link, say) and nothing more: every operator request checks the account
    /// itself (`service::admin`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub op: bool,
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

/// Who a token is for, and when and how they last proved it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    /// The session's absolute end.
    pub session_ends_at: i64,
    pub auth_time: i64,
    /// Space-separated method names, as stored with the session.
    pub amr: &'a str,
    /// The account is an operator (the `op` hint).
    pub operator: bool,
}

/// [`mint_for`] a session whose person signed in with a password at `now` (tests and
/// benchmarks).
pub fn mint(
    keys: &KeyRing,
    settings: &AccessSettings,
    user_id: &str,
    session_id: &str,
    session_ends_at: i64,
    now: i64,
) -> Result<(String, AccessClaims), jsonwebtoken::errors::Error> {
    mint_for(keys, settings, &Subject { user_id, session_id, session_ends_at, auth_time: now, amr: "pwd", operator: false }, now)
}

/// Mints an access token for one session. It expires after the configured lifetime or at
/// the session's absolute end, whichever comes first: no access token outlives its session.
pub fn mint_for(
    keys: &KeyRing,
    settings: &AccessSettings,
    subject: &Subject<'_>,
    now: i64,
) -> Result<(String, AccessClaims), jsonwebtoken::errors::Error> {
    let Subject { user_id, session_id, session_ends_at, auth_time, amr, operator } = *subject;
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        sub: user_id.to_owned(),
        sid: session_id.to_owned(),
        iat: now,
        nbf: now,
        exp: now.saturating_add(settings.ttl_secs).min(session_ends_at),
        jti: uuid::Uuid::new_v4().simple().to_string(),
        auth_time,
        amr: amr.split_whitespace().map(str::to_owned).collect(),
        op: operator,
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(TOKEN_TYPE.to_owned());
    header.kid = Some(keys.signing_kid().to_owned());
    let token = encode(keys, &header, &claims)?;
    Ok((token, claims))
}

/// `jsonwebtoken::encode`, byte for byte (JWS compact: base64url of the header's and the
/// claims' JSON, then of the signature), signing with the ring's parsed key.
fn encode(keys: &KeyRing, header: &Header, claims: &AccessClaims) -> Result<String, jsonwebtoken::errors::Error> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
    let mut token = B64.encode(serde_json::to_vec(header)?);
    token.push('.');
    B64.encode_string(serde_json::to_vec(claims)?, &mut token);
    let signature = keys.sign(token.as_bytes());
    token.push('.');
    B64.encode_string(signature.to_bytes(), &mut token);
    Ok(token)
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
    check_claims(&claims, settings, now)?;
    Ok((claims, kid))
}

/// [`verify_with_kid`] for a token that may have been verified before: a repeat skips the
/// header parsing and the signature check but nothing that can change since — the key must
/// still be in `keys`, issuer and audience must match, the lifetime and time checks run
/// against `settings` and `now` (see [`VerifiedCache`]). Only tokens that pass in full are
/// remembered.
pub fn verify_cached(
    cache: &VerifiedCache,
    keys: &KeyRing,
    settings: &AccessSettings,
    token: &str,
    now: i64,
) -> Result<Arc<VerifiedToken>, AccessError> {
    if token.len() > MAX_TOKEN_BYTES || token.is_empty() {
        return Err(AccessError::Invalid);
    }
    let key = VerifiedCache::key(token);
    if let Lookup::Hit(verified) = cache.lookup(&key, keys, settings) {
        if let Err(e) = check_claims(&verified.claims, settings, now) {
            if e == AccessError::Expired {
                cache.remove(&key);
            }
            return Err(e);
        }
        return Ok(verified);
    }
    let (claims, kid) = verify_with_kid(keys, settings, token, now)?;
    let verified = Arc::new(VerifiedToken::new(claims, kid));
    cache.insert(key, keys, &verified, now);
    Ok(verified)
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

/// What is checked on every use, cached or not: the lifetime the token was minted with is
/// one this server issues (configured lifetime plus leeway — after the lifetime is lowered,
/// tokens minted under the old one stop working, so a revoked session's older token cannot
/// outlast its entry on the revocation list), then the clock.
fn check_claims(claims: &AccessClaims, settings: &AccessSettings, now: i64) -> Result<(), AccessError> {
    if claims.exp.saturating_sub(claims.iat) > settings.ttl_secs.saturating_add(LEEWAY_SECS) {
        return Err(AccessError::Invalid);
    }
    check_time(claims, now)
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

    #[test]
    fn minted_tokens_are_what_jsonwebtoken_would_encode() {
        let keys = KeyRing::ephemeral();
        let (token, claims) = mint(&keys, &settings(), "user-1", "session-1", NO_END, NOW).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = Some(keys.signing_kid().to_owned());
        assert_eq!(token, jsonwebtoken::encode(&header, &claims, keys.signing_key()).unwrap());
        assert_eq!(verify(&keys, &settings(), &token, NOW), Ok(claims));
    }

    const NOW: i64 = 1_800_000_000;
    /// A session far from its end.
    const NO_END: i64 = i64::MAX;

    #[test]
    fn a_minted_token_verifies_with_all_its_claims() {
        let keys = KeyRing::ephemeral();
        let (token, claims) = mint(&keys, &settings(), "user-1", "session-1", NO_END, NOW).unwrap();
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
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW + 899).map(|_| ()), Ok(()));
        assert_eq!(verify(&keys, &settings(), &token, NOW + 900), Err(AccessError::Expired));
    }

    #[test]
    fn a_token_never_expires_after_its_session_ends() {
        let keys = KeyRing::ephemeral();
        let (_, claims) = mint(&keys, &settings(), "u", "s", NOW + 60, NOW).unwrap();
        assert_eq!(claims.exp, NOW + 60, "the session ends first");
        let (token, claims) = mint(&keys, &settings(), "u", "s", NOW + 3600, NOW).unwrap();
        assert_eq!(claims.exp, NOW + 900, "the lifetime ends first");
        assert_eq!(verify(&keys, &settings(), &token, NOW + 899).map(|c| c.exp), Ok(NOW + 900));
    }

    #[test]
    fn a_token_minted_to_live_longer_than_the_configured_lifetime_is_invalid() {
        let keys = KeyRing::ephemeral();
        let mut longer = settings();
        longer.ttl_secs = 900 + 31;
        let (token, _) = mint(&keys, &longer, "u", "s", NO_END, NOW).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW), Err(AccessError::Invalid));
        // Within the leeway it is still ours.
        longer.ttl_secs = 900 + 30;
        let (token, _) = mint(&keys, &longer, "u", "s", NO_END, NOW).unwrap();
        assert!(verify(&keys, &settings(), &token, NOW).is_ok());
        // Lowering the lifetime: every token minted under the old, longer one stops working.
        let mut lowered = settings();
        lowered.ttl_secs = 60;
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
        assert_eq!(verify(&keys, &lowered, &token, NOW + 1), Err(AccessError::Invalid));
    }

    #[test]
    fn a_token_from_the_future_is_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW + 3600).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn a_token_signed_by_another_key_is_invalid() {
        let ours = KeyRing::ephemeral();
        let theirs = KeyRing::ephemeral();
        let (token, _) = mint(&theirs, &settings(), "u", "s", NO_END, NOW).unwrap();
        assert_eq!(verify(&ours, &settings(), &token, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn a_tampered_payload_is_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "user-1", "s", NO_END, NOW).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap().replace("user-1", "user-2");
        let forged = format!("{}.{}.{}", parts[0], B64.encode(payload), parts[2]);
        assert_eq!(verify(&keys, &settings(), &forged, NOW), Err(AccessError::Invalid));
    }

    #[test]
    fn alg_none_is_invalid() {
        let keys = KeyRing::ephemeral();
        let (token, _) = mint(&keys, &settings(), "u", "s", NO_END, NOW).unwrap();
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
        let (token, _) = mint(&keys, &other, "u", "s", NO_END, NOW).unwrap();
        assert_eq!(verify(&keys, &settings(), &token, NOW), Err(AccessError::Invalid));
        let mut other = settings();
        other.issuer = "https://evil.example".into();
        let (token, _) = mint(&keys, &other, "u", "s", NO_END, NOW).unwrap();
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
