//! Hand-crafted access tokens an attacker with a JWT toolkit would try (RFC 8725), each
//! refused by `GET /api/v1/me` with 401 `invalid_token`.
//!
//! Every test first shows that its forging machinery is sound: the same claims with the
//! right header, signed the right way, ARE accepted. So the one thing a test changes is the
//! only possible reason for the refusal.

use crate::helpers::{assert_error, b64, json_body, jwt_part, now, SignedIn, TestApp};
use base64::{engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD}, Engine};
use ed25519_dalek::Signer;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

/// A signed-in person and the claims of their real access token.
struct Target {
    app: TestApp,
    person: SignedIn,
    claims: Value,
    kid: String,
}

async fn target() -> Target {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Forgery Target").await;
    let claims = jwt_part(&person.access_token, 1);
    let kid = app.state.keys.current().signing_kid().to_owned();
    let target = Target { app, person, claims, kid };
    // The control: our own hand-made token with the right header and the server's key works.
    let control = target.sign(&target.header(), &target.claims);
    let me = json_body(target.app.me(&control).await, StatusCode::OK).await;
    assert_eq!(me["session_id"], target.person.session_id.as_str(), "the hand-made control token is accepted");
    target
}

impl Target {
    /// The header the server itself puts on its tokens.
    fn header(&self) -> Value {
        json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": self.kid })
    }

    /// `header.claims` signed with the server's real Ed25519 key, whatever the header says.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), self.app.state.keys.current().signing_key(), Algorithm::EdDSA)
                .expect("signing works");
        format!("{input}.{signature}")
    }

    /// The server's public key as published in the JWKS: (`x` as text, raw bytes).
    async fn public_key(&self) -> (String, Vec<u8>) {
        let response = self.app.client.get(self.app.url("/.well-known/jwks.json")).send().await.expect("request sent");
        let jwks = json_body(response, StatusCode::OK).await;
        let key = jwks["keys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|k| k["kid"] == self.kid.as_str()))
            .unwrap_or_else(|| panic!("the signing key is published: {jwks}"));
        let x = key["x"].as_str().expect("x").to_owned();
        let raw = URL_SAFE_NO_PAD.decode(&x).expect("x is base64url");
        assert_eq!(raw.len(), 32);
        (x, raw)
    }

    async fn assert_refused(&self, token: &str) {
        assert_error(self.app.me(token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

/// `header.claims` with an HMAC-SHA256 signature under `secret`.
fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

/// An Ed25519 key of the attacker's own.
fn attacker_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng)
}

fn sign_with(key: &ed25519_dalek::SigningKey, header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    format!("{input}.{}", b64(key.sign(input.as_bytes()).to_bytes()))
}

// ---------------------------------------------------------------------------------------
// Algorithms
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unsigned_token_with_alg_none_in_any_spelling_is_401_invalid_token_even_with_a_real_signature_attached() {
    let t = target().await;
    let real_signature = t.person.access_token.split('.').nth(2).expect("three parts").to_owned();

    for alg in ["none", "None", "NONE", "nOnE"] {
        let mut header = t.header();
        header["alg"] = alg.into();
        let input = signing_input(&header, &t.claims);
        for forged in [format!("{input}."), input.clone(), format!("{input}.{real_signature}")] {
            t.assert_refused(&forged).await;
        }
    }
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_raw_bytes_of_the_servers_public_key_is_401_invalid_token() {
    let t = target().await;
    let (_, raw) = t.public_key().await;
    let mut header = t.header();
    header["alg"] = "HS256".into();

    t.assert_refused(&hs256(&raw, &header, &t.claims)).await;
    // Without a kid too (a verifier might then fall back to "the" key).
    header.as_object_mut().expect("object").remove("kid");
    t.assert_refused(&hs256(&raw, &header, &t.claims)).await;
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_as_published_text_or_pem_is_401_invalid_token() {
    let t = target().await;
    let (x, raw) = t.public_key().await;
    // The public key in the forms a key-confusion attack feeds to HMAC: the JWKS `x` text,
    // the whole JWK, and the SubjectPublicKeyInfo PEM.
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": x }).to_string();
    let mut spki = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    spki.extend_from_slice(&raw);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(&spki));

    for alg in ["HS256", "HS384", "HS512"] {
        let mut header = t.header();
        header["alg"] = alg.into();
        for secret in [x.as_bytes(), jwk.as_bytes(), pem.as_bytes(), pem.trim_end().as_bytes()] {
            // HS384/HS512 headers with an HS256 MAC: still nothing but refusals.
            t.assert_refused(&hs256(secret, &header, &t.claims)).await;
        }
    }
}

#[tokio::test]
async fn a_token_whose_header_names_another_asymmetric_algorithm_over_a_real_signature_is_401_invalid_token() {
    let t = target().await;
    for alg in ["RS256", "ES256", "PS256", "Ed25519", "ES512"] {
        let mut header = t.header();
        header["alg"] = alg.into();
        t.assert_refused(&t.sign(&header, &t.claims)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Key selection: kid, jku, x5u, jwk
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_with_an_unknown_or_missing_kid_is_401_invalid_token() {
    let t = target().await;

    let mut header = t.header();
    header["kid"] = "no-such-key-0000".into();
    t.assert_refused(&t.sign(&header, &t.claims)).await;

    header.as_object_mut().expect("object").remove("kid");
    t.assert_refused(&t.sign(&header, &t.claims)).await;

    // An attacker's own key under an id we never issued.
    let mut header = t.header();
    header["kid"] = "attacker-key".into();
    t.assert_refused(&sign_with(&attacker_key(), &header, &t.claims)).await;
}

#[tokio::test]
async fn a_token_whose_kid_is_a_file_path_is_401_invalid_token() {
    let t = target().await;
    for kid in ["../../etc/passwd", "/dev/null", "../../../../../../dev/null", "..\\..\\windows\\win.ini"] {
        let mut header = t.header();
        header["kid"] = kid.into();
        t.assert_refused(&t.sign(&header, &t.claims)).await;
        // `/dev/null` as a key file would be an empty HMAC key.
        header["alg"] = "HS256".into();
        t.assert_refused(&hs256(b"", &header, &t.claims)).await;
    }
}

#[tokio::test]
async fn a_token_whose_kid_is_sql_is_401_invalid_token_and_breaks_nothing() {
    let t = target().await;
    for kid in ["' or 1=1 --", "x' union select 'AAAA' --", "'; drop table signing_keys; --"] {
        let mut header = t.header();
        header["kid"] = kid.into();
        t.assert_refused(&t.sign(&header, &t.claims)).await;
        header["alg"] = "HS256".into();
        t.assert_refused(&hs256(b"AAAA", &header, &t.claims)).await;
    }
    // The keys are all still there and working.
    json_body(t.app.me(&t.person.access_token).await, StatusCode::OK).await;
    let (keys,): (i64,) = sqlx::query_as("select count(*) from signing_keys").fetch_one(&t.app.sql).await.unwrap();
    assert_eq!(keys, 1);
}

#[tokio::test]
async fn a_validly_signed_token_carrying_a_jku_header_is_401_invalid_token() {
    let t = target().await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(t.kid.clone());
    header.jku = Some("https://evil.example/.well-known/jwks.json".into());
    let forged = jsonwebtoken::encode(&header, &t.claims, t.app.state.keys.current().signing_key()).unwrap();
    assert_eq!(jwt_part(&forged, 0)["jku"], "https://evil.example/.well-known/jwks.json");

    t.assert_refused(&forged).await;
    // Also when it points at our own JWKS: keys come from the ring only.
    let mut header = t.header();
    header["jku"] = t.app.url("/.well-known/jwks.json").into();
    t.assert_refused(&t.sign(&header, &t.claims)).await;
}

#[tokio::test]
async fn a_validly_signed_token_carrying_an_x5u_or_x5c_header_is_401_invalid_token() {
    let t = target().await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(t.kid.clone());
    header.x5u = Some("https://evil.example/cert.pem".into());
    let forged = jsonwebtoken::encode(&header, &t.claims, t.app.state.keys.current().signing_key()).unwrap();
    assert_eq!(jwt_part(&forged, 0)["x5u"], "https://evil.example/cert.pem");
    t.assert_refused(&forged).await;

    let mut header = t.header();
    header["x5c"] = json!([STANDARD.encode(b"not really a certificate")]);
    t.assert_refused(&t.sign(&header, &t.claims)).await;
}

#[tokio::test]
async fn a_token_carrying_an_embedded_jwk_is_401_invalid_token_whoever_signed_it() {
    let t = target().await;
    let (x, _) = t.public_key().await;

    // Our own public key embedded, signed with our real key: otherwise a perfect token.
    let mut header = t.header();
    header["jwk"] = json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": t.kid });
    t.assert_refused(&t.sign(&header, &t.claims)).await;

    // The classic: the attacker's key embedded, signed by the attacker.
    let mine = attacker_key();
    let my_x = b64(mine.verifying_key().to_bytes());
    for kid in [Some(t.kid.as_str()), None] {
        let mut header = json!({ "alg": "EdDSA", "typ": "at+jwt", "jwk": { "kty": "OKP", "crv": "Ed25519", "x": my_x } });
        if let Some(kid) = kid {
            header["kid"] = kid.into();
        }
        t.assert_refused(&sign_with(&mine, &header, &t.claims)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_expired_token_whose_exp_was_pushed_forward_under_its_old_signature_is_401_invalid_token() {
    let t = target().await;
    let expired = t.app.mint_access_token(&t.person.user_id, &t.person.session_id, now() - 10_000);
    assert_error(t.app.me(&expired).await, StatusCode::UNAUTHORIZED, "token_expired").await;

    let parts: Vec<&str> = expired.split('.').collect();
    let mut claims = jwt_part(&expired, 1);
    claims["exp"] = (now() + 600).into();
    let tampered = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);

    // Not 200, and not `token_expired` either: the claims are not believed at all.
    t.assert_refused(&tampered).await;
}

#[tokio::test]
async fn a_token_stripped_of_its_signature_is_401_invalid_token() {
    let t = target().await;
    let parts: Vec<&str> = t.person.access_token.split('.').collect();

    for stripped in [
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}..", parts[0], parts[1]),
        format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() / 2]),
    ] {
        t.assert_refused(&stripped).await;
    }
    // The untouched token was fine all along.
    json_body(t.app.me(&t.person.access_token).await, StatusCode::OK).await;
}

// ---------------------------------------------------------------------------------------
// Claims, validly signed by the server's own key
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_validly_signed_token_with_nbf_far_in_the_future_is_401_invalid_token() {
    let t = target().await;
    let mut claims = t.claims.clone();
    claims["nbf"] = (now() + 86_400).into();
    claims["exp"] = (now() + 86_400 + 600).into();

    t.assert_refused(&t.sign(&t.header(), &claims)).await;
}

#[tokio::test]
async fn a_validly_signed_token_with_iat_far_in_the_future_is_401_invalid_token() {
    let t = target().await;
    let mut claims = t.claims.clone();
    claims["iat"] = (now() + 86_400).into();

    t.assert_refused(&t.sign(&t.header(), &claims)).await;
}

#[tokio::test]
async fn a_validly_signed_token_from_another_issuer_is_401_invalid_token() {
    let t = target().await;
    let ours = t.claims["iss"].as_str().expect("iss").to_owned();
    assert_eq!(ours, t.app.origin());

    for iss in [json!("https://evil.example"), json!(format!("{ours}/")), json!(ours.to_uppercase()), json!([ours]), json!(null)]
    {
        let mut claims = t.claims.clone();
        claims["iss"] = iss;
        t.assert_refused(&t.sign(&t.header(), &claims)).await;
    }
    let mut claims = t.claims.clone();
    claims.as_object_mut().expect("object").remove("iss");
    t.assert_refused(&t.sign(&t.header(), &claims)).await;
}

#[tokio::test]
async fn a_validly_signed_token_for_another_audience_is_401_invalid_token() {
    let t = target().await;
    assert_eq!(t.claims["aud"], "gatehouse");

    for aud in [json!("someone-else"), json!(["someone-else"]), json!("Gatehouse"), json!(""), json!([])] {
        let mut claims = t.claims.clone();
        claims["aud"] = aud;
        t.assert_refused(&t.sign(&t.header(), &claims)).await;
    }
    let mut claims = t.claims.clone();
    claims.as_object_mut().expect("object").remove("aud");
    t.assert_refused(&t.sign(&t.header(), &claims)).await;
}

#[tokio::test]
async fn a_validly_signed_token_of_the_wrong_or_no_typ_is_401_invalid_token() {
    let t = target().await;

    for typ in ["JWT", "jwt", "rt+jwt", "", "application/at+jwt+evil"] {
        let mut header = t.header();
        header["typ"] = typ.into();
        t.assert_refused(&t.sign(&header, &t.claims)).await;
    }
    let mut header = t.header();
    header.as_object_mut().expect("object").remove("typ");
    t.assert_refused(&t.sign(&header, &t.claims)).await;
}

#[tokio::test]
async fn a_validly_signed_token_missing_exp_or_its_session_is_401_invalid_token() {
    let t = target().await;
    for claim in ["exp", "nbf", "iat", "sub", "sid"] {
        let mut claims = t.claims.clone();
        claims.as_object_mut().expect("object").remove(claim);
        t.assert_refused(&t.sign(&t.header(), &claims)).await;
    }
    let mut claims = t.claims.clone();
    claims["sid"] = "".into();
    t.assert_refused(&t.sign(&t.header(), &claims)).await;
}

// ---------------------------------------------------------------------------------------
// Tokens in the wrong place, tokens of absurd size
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_access_token_presented_as_a_refresh_token_is_401_invalid_refresh_token_and_spends_nothing() {
    let t = target().await;

    assert_error(t.app.refresh(&t.person.access_token).await, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    // Prefixed to look like ours, too.
    let disguised = format!("ghr_{}", t.person.access_token);
    assert_error(t.app.refresh(&disguised).await, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;

    // The session is untouched: the access token still works, the real refresh token rotates.
    json_body(t.app.me(&t.person.access_token).await, StatusCode::OK).await;
    assert_eq!(t.app.revocation_of(&t.person.session_id).await, (None, None));
    json_body(t.app.refresh(&t.person.refresh_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_validly_signed_token_with_a_100_kb_header_is_refused_without_a_server_error() {
    let t = target().await;
    let mut header = t.header();
    header["pad"] = "A".repeat(100 * 1024).into();
    let huge = t.sign(&header, &t.claims);
    assert!(huge.len() > 100 * 1024);

    let response = t.app.me(&huge).await;
    let status = response.status();
    assert!(!status.is_server_error(), "never a 5xx: {status}");
    if status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
        // The request header as a whole is over the server's limit: refused before any parsing.
        assert_error(response, status, "headers_too_large").await;
        return;
    }
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}
