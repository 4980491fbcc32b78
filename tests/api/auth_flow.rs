//! Register, sign in, who am I, sign out — through the JSON API.

use crate::helpers::{
    assert_error, json_body, str_at, unique_email, TestApp, ACCESS_TTL_SECS, PASSWORD, REFRESH_IDLE_SECS,
};
use reqwest::{header, StatusCode};

#[tokio::test]
async fn registering_returns_201_with_the_public_user_and_a_normalised_email() {
    let app = TestApp::spawn().await;
    let email = unique_email("Ada.Lovelace");
    let raw = format!("  {}  ", email.to_uppercase());

    let body = json_body(app.register(&raw, PASSWORD, "Ada Lovelace").await, StatusCode::CREATED).await;

    let user = body["user"].as_object().unwrap_or_else(|| panic!("no user object: {body}"));
    let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "display_name", "email", "email_verified", "id"], "exactly the public fields: {body}");
    assert_eq!(body["user"]["email_verified"], false, "not until the mailed link is followed");
    assert_eq!(str_at(&body, "/user/email"), email.to_lowercase(), "trimmed and lower-cased");
    assert_eq!(str_at(&body, "/user/display_name"), "Ada Lovelace");
    assert!(!str_at(&body, "/user/id").is_empty());
    let created_at = str_at(&body, "/user/created_at");
    let parsed = time::OffsetDateTime::parse(&created_at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("created_at {created_at:?} is not RFC 3339: {e}"));
    assert!(created_at.ends_with('Z'), "UTC: {created_at}");
    assert!((parsed.unix_timestamp() - crate::helpers::now()).abs() < 60);

    // The normalised address is what signs in, whatever case is typed.
    json_body(app.login(&email.to_uppercase(), PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn registering_an_email_already_taken_in_another_case_is_409_email_taken() {
    let app = TestApp::spawn().await;
    let email = unique_email("grace");
    json_body(app.register(&email, PASSWORD, "Grace").await, StatusCode::CREATED).await;

    assert_error(app.register(&email.to_uppercase(), PASSWORD, "Someone Else").await, StatusCode::CONFLICT, "email_taken")
        .await;

    let (users,): (i64,) = sqlx::query_as("select count(*) from users").fetch_one(&app.sql).await.unwrap();
    assert_eq!(users, 1, "no second account");
}

#[tokio::test]
async fn registering_with_invalid_fields_is_422_invalid_input_naming_every_field() {
    let app = TestApp::spawn().await;

    let body = assert_error(app.register("not-an-email", "short", "   ").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
        .await;
    for field in ["email", "password", "display_name"] {
        let message = body["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "fields.{field} explains the problem: {body}");
    }

    // One bad field at a time is reported as that field alone.
    let body = assert_error(
        app.register(&unique_email("ok"), "short", "Fine Name").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
    )
    .await;
    let fields = body["error"]["fields"].as_object().unwrap_or_else(|| panic!("fields: {body}"));
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["password"], "{body}");

    let (users,): (i64,) = sqlx::query_as("select count(*) from users").fetch_one(&app.sql).await.unwrap();
    assert_eq!(users, 0, "nothing was stored");
}

#[tokio::test]
async fn signing_in_returns_a_bearer_pair_in_the_contract_shape() {
    let app = TestApp::spawn().await;
    let email = unique_email("login");
    let registered = json_body(app.register(&email, PASSWORD, "Log In").await, StatusCode::CREATED).await;

    let body = json_body(app.login(&email, PASSWORD).await, StatusCode::OK).await;

    assert_eq!(body["token_type"], "Bearer");
    let access = str_at(&body, "/access_token");
    assert_eq!(access.split('.').count(), 3, "a JWT: {access}");
    let expires_in = body["expires_in"].as_i64().unwrap_or_else(|| panic!("expires_in: {body}"));
    let ttl = ACCESS_TTL_SECS as i64;
    assert!((ttl - 5..=ttl).contains(&expires_in), "expires_in {expires_in} ≈ access TTL {ttl}");
    let refresh = str_at(&body, "/refresh_token");
    assert!(refresh.starts_with("ghr_"), "{refresh}");
    assert_eq!(refresh.len(), 47, "ghr_ + 43 base64url characters: {refresh}");
    let refresh_expires_in = body["refresh_expires_in"].as_i64().unwrap_or_else(|| panic!("refresh_expires_in: {body}"));
    let idle = REFRESH_IDLE_SECS as i64;
    assert!((idle - 5..=idle).contains(&refresh_expires_in), "refresh_expires_in {refresh_expires_in} ≈ idle TTL {idle}");
    let session_id = str_at(&body, "/session_id");
    assert_eq!(body["user"], registered["user"], "the same public user as at registration");

    let claims = crate::helpers::jwt_part(&access, 1);
    assert_eq!(claims["sid"], session_id.as_str());
    assert_eq!(claims["sub"], registered["user"]["id"]);

    let (sessions,): (i64,) = sqlx::query_as("select count(*) from sessions where id = $1 and revoked_at is null")
        .bind(&session_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "the session is stored");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_are_both_401_invalid_credentials_with_the_same_message() {
    let app = TestApp::spawn().await;
    let email = unique_email("known");
    json_body(app.register(&email, PASSWORD, "Known").await, StatusCode::CREATED).await;

    let wrong_password =
        assert_error(app.login(&email, "not the right password").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown_email =
        assert_error(app.login(&unique_email("nobody"), PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    assert_eq!(wrong_password["error"]["message"], unknown_email["error"]["message"]);
    assert_eq!(wrong_password, unknown_email, "nothing tells an existing account from a missing one");
}

#[tokio::test]
async fn me_with_a_bearer_token_returns_the_user_and_the_session() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Me Myself").await;

    let body = json_body(app.me(&person.access_token).await, StatusCode::OK).await;

    assert_eq!(body["user"], person.body["user"]);
    assert_eq!(str_at(&body, "/session_id"), person.session_id);
    assert_eq!(str_at(&body, "/user/email"), person.email);
}

#[tokio::test]
async fn me_without_a_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;

    let response = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn me_with_another_authorization_scheme_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Basic Person").await;

    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header(header::AUTHORIZATION, format!("Basic {}", person.access_token))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn me_accepts_the_access_token_from_the_gh_access_cookie() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Cookie Person").await;

    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header(header::COOKIE, format!("theme=dark; gh_access={}", person.access_token))
        .send()
        .await
        .unwrap();
    let body = json_body(response, StatusCode::OK).await;
    assert_eq!(str_at(&body, "/session_id"), person.session_id);
    assert_eq!(str_at(&body, "/user/id"), person.user_id);
}

#[tokio::test]
async fn logging_out_is_204_and_ends_the_session_for_refresh_and_access_tokens() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Leaving Soon").await;

    let response = app.logout(&person.access_token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_error(app.me(&person.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let (_, reason) = app.revocation_of(&person.session_id).await;
    assert_eq!(reason.as_deref(), Some("signed_out"));
}

#[tokio::test]
async fn logging_out_without_a_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;

    let response = app.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn signing_out_one_session_leaves_the_other_sessions_signed_in() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Two Devices").await;
    let other = json_body(app.login(&person.email, PASSWORD).await, StatusCode::OK).await;

    assert_eq!(app.logout(&person.access_token).await.status(), StatusCode::NO_CONTENT);

    json_body(app.me(&str_at(&other, "/access_token")).await, StatusCode::OK).await;
    json_body(app.refresh(&str_at(&other, "/refresh_token")).await, StatusCode::OK).await;
}
