//! Access tokens that must be refused by `GET /api/v1/me`, each for a real user and session
//! so that only the one thing wrong with the token can be the reason.

use crate::helpers::{assert_error, b64, json_body, jwt_part, now, TestApp};
use gatehouse::server::tokens::{access, keys::KeyRing};
use reqwest::{header, StatusCode};

#[tokio::test]
async fn an_expired_access_token_is_401_token_expired() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Expired Eve").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);
    // The very same claims minted now are accepted: only the age is wrong.
    let fresh = app.mint_access_token(&person.user_id, &person.session_id, now());
    json_body(app.me(&fresh).await, StatusCode::OK).await;

    assert_error(app.me(&expired).await, StatusCode::UNAUTHORIZED, "token_expired").await;
}

#[tokio::test]
async fn an_access_token_with_a_tampered_payload_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    let victim = app.signed_in("Victim Vera").await;
    let attacker = app.signed_in("Mallory").await;

    let parts: Vec<&str> = attacker.access_token.split('.').collect();
    let mut claims = jwt_part(&attacker.access_token, 1);
    claims["sub"] = victim.user_id.clone().into();
    let forged = format!("{}.{}.{}", parts[0], b64(claims.to_string()), parts[2]);

    assert_error(app.me(&forged).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn an_access_token_signed_by_another_key_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Foreign Key").await;
    let other = KeyRing::ephemeral();
    let (forged, _) = access::mint(&other, &app.state.access, &person.user_id, &person.session_id, i64::MAX, now()).unwrap();

    assert_error(app.me(&forged).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn an_alg_none_access_token_is_401_invalid_token_with_or_without_the_trailing_dot() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Nobody Signs").await;
    let header = b64(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, app.state.keys.current().signing_kid()));
    let payload = person.access_token.split('.').nth(1).unwrap_or_default().to_owned();

    for forged in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        assert_error(app.me(&forged).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

#[tokio::test]
async fn a_10_kb_garbage_bearer_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    let garbage: String = (0..10 * 1024).map(|i| if i % 97 == 96 { '.' } else { (b'a' + (i % 26) as u8) as char }).collect();

    assert_error(app.me(&garbage).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_refresh_token_used_as_a_bearer_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Mixed Up").await;

    assert_error(app.me(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // It was not spent by being shown to the wrong endpoint.
    json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn an_empty_bearer_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;

    let response = app.client.get(app.url("/api/v1/me")).header(header::AUTHORIZATION, "Bearer ").send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}
