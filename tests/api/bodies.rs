//! Request bodies the JSON API refuses, each with its own status and stable code.

use crate::helpers::{assert_error, unique_email, TestApp, PASSWORD};
use reqwest::{header, StatusCode};
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_400_malformed_request() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"email": "a@example.com", "password": "#)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "malformed_request").await;
}

#[tokio::test]
async fn a_body_over_16_kib_is_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let body = json!({ "email": unique_email("big"), "password": "x".repeat(17 * 1024), "display_name": "Big" });

    let response = app.post_json("/api/v1/auth/register", &body).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_415_unsupported_media_type() {
    let app = TestApp::spawn().await;
    let valid = json!({ "email": unique_email("type"), "password": PASSWORD }).to_string();

    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = app.client.post(app.url("/api/v1/auth/login")).body(valid.clone());
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        let response = request.send().await.unwrap();
        assert_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn a_missing_field_is_422_invalid_input() {
    let app = TestApp::spawn().await;

    let response = app.post_json("/api/v1/auth/register", &json!({ "email": unique_email("missing"), "password": PASSWORD })).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}

#[tokio::test]
async fn an_unknown_field_is_422_invalid_input() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json("/api/v1/auth/login", &json!({ "email": unique_email("extra"), "password": PASSWORD, "remember_me": true }))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_422_invalid_input() {
    let app = TestApp::spawn().await;

    let response = app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": 42 })).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}
