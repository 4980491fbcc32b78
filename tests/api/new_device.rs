//! New-device sign-in alerts (through a real SMTP server) and their "This wasn't me" link:
//! a known device is not mailed about, a new one is, once; the link's page changes nothing;
//! its POST ends exactly that session at once, forgets the device and mails a reset link.

use crate::{
    helpers::{assert_error, json_body, location, now, str_at, SignedIn, TestApp, FIREFOX_ON_WINDOWS, PASSWORD, SAFARI_ON_IPHONE},
    recovery::mail_app,
    smtp_sink::{decoded, link_token, SmtpSink},
};
use reqwest::{header, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

async fn login_with_device(app: &TestApp, email: &str, device_token: Option<&str>, user_agent: &str) -> SignedIn {
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header(header::USER_AGENT, user_agent)
        .json(&json!({ "email": email, "password": PASSWORD, "device_token": device_token }))
        .send()
        .await
        .expect("request sent");
    let body = json_body(response, StatusCode::OK).await;
    SignedIn {
        email: email.to_owned(),
        display_name: str_at(&body, "/user/display_name"),
        user_id: str_at(&body, "/user/id"),
        session_id: str_at(&body, "/session_id"),
        access_token: str_at(&body, "/access_token"),
        refresh_token: str_at(&body, "/refresh_token"),
        body,
    }
}

fn device_token(session: &SignedIn) -> String {
    str_at(&session.body, "/device_token")
}

/// "2026-11-29 09:04 UTC", as the mail tells times.
fn exact_now() -> String {
    gatehouse::time::exact(&gatehouse::server::clock::rfc3339(now()))
}

/// The browser's sign-in (a no-JS form post), with the device cookie when given.
async fn browser_login(app: &TestApp, email: &str, device: Option<&str>) {
    let cookies: Vec<(&str, &str)> = device.map(|token| ("gh_device", token)).into_iter().collect();
    let done = app.form_post("/fn/login", &[("email", email), ("password", PASSWORD)], "/login", &cookies).await;
    assert_eq!(done.status(), StatusCode::FOUND, "signed in");
    assert_eq!(location(&done), "/dashboard");
}

async fn not_me(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/not-me", &json!({ "token": token })).await
}

/// Messages queued for `email` so far, by subject (what the sign-in's transaction wrote).
async fn queued(app: &TestApp, email: &str, subject: &str) -> i64 {
    sqlx::query_scalar("select count(*) from mail_queue where recipient = $1 and subject = $2")
        .bind(email)
        .bind(format!("Gatehouse: {subject}"))
        .fetch_one(&app.sql)
        .await
        .unwrap()
}

/// Waits for the one message to `email` with `subject` and returns it decoded.
async fn mail_to(sink: &SmtpSink, email: &str, subject: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found: Vec<String> = sink
            .messages()
            .into_iter()
            .filter(|m| m.contains(&format!("To: {email}")) && m.contains(&format!("Subject: Gatehouse: {subject}")))
            .collect();
        if let [one] = found.as_slice() {
            return one.clone();
        }
        assert!(found.len() < 2, "one \"{subject}\" to {email}, not {}", found.len());
        assert!(Instant::now() < deadline, "a \"{subject}\" mail to {email}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The token of the "This wasn't me" link in a message.
fn not_me_token(raw: &str) -> String {
    link_token(raw, "/not-me")
}

fn reset_token(raw: &str) -> String {
    link_token(raw, "/reset-password")
}

async fn new_device_flag(app: &TestApp, session_id: &str) -> i64 {
    sqlx::query_scalar(
        "select cast(case when new_device then 1 else 0 end as bigint) from security_events
          where session_id = $1 and kind = 'signed_in'",
    )
    .bind(session_id)
    .fetch_one(&app.sql)
    .await
    .unwrap()
}

async fn link_used(app: &TestApp, user_id: &str) -> Option<i64> {
    sqlx::query_scalar("select used_at from link_tokens where user_id = $1 and purpose = 'not_me'")
        .bind(user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap()
}

/// An owner on Firefox, and an intruder's sign-in on an iPhone the account never saw; the
/// token of the alert's link.
async fn intruded(app: &TestApp, sink: &SmtpSink) -> (SignedIn, SignedIn, String) {
    let owner = app.signed_in_from("Owner Olive", Some(FIREFOX_ON_WINDOWS)).await;
    let intruder = login_with_device(app, &owner.email, None, SAFARI_ON_IPHONE).await;
    let token = not_me_token(&mail_to(sink, &owner.email, "New sign-in to your account").await);
    (owner, intruder, token)
}

#[tokio::test]
async fn a_known_device_is_not_mailed_about_and_a_new_one_gets_exactly_one_alert() {
    let (sink, app) = mail_app().await;
    // Registering and the first sign-in: nobody else can know this password yet.
    let owner = app.signed_in_from("Known Kay", Some(FIREFOX_ON_WINDOWS)).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 0, "no alert for the first sign-in");

    // The same browser again, with the device token its last sign-in handed out.
    let again = login_with_device(&app, &owner.email, Some(&device_token(&owner)), FIREFOX_ON_WINDOWS).await;
    // The User-Agent is only a hint: a known token with another agent is still known …
    let renamed = login_with_device(&app, &owner.email, Some(&device_token(&again)), SAFARI_ON_IPHONE).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 0, "known devices are not mailed about");
    assert_eq!(new_device_flag(&app, &renamed.session_id).await, 0);

    // … and the same agent without a token is a new device.
    let before = exact_now();
    let stranger = login_with_device(&app, &owner.email, None, FIREFOX_ON_WINDOWS).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 1, "queued with the sign-in");
    assert_eq!(new_device_flag(&app, &stranger.session_id).await, 1, "the activity says so");

    let raw = mail_to(&sink, &owner.email, "New sign-in to your account").await;
    let text = decoded(&raw);
    let after = exact_now();
    for needle in ["Firefox on Windows", "127.0.0.1", "UTC", &format!("{}/not-me?token=", app.origin())] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    assert!(text.contains(&before) || text.contains(&after), "the time ({before}) in {text}");
    assert_eq!(not_me_token(&raw).len(), 43, "256 bits, base64url");
    for secret in ["ghr_", "eyJ", "ghd_", "$argon2", PASSWORD] {
        assert!(!raw.contains(secret), "no secret but the link token ({secret})");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alerts = sink.messages().iter().filter(|m| m.contains("Subject: Gatehouse: New sign-in to your account")).count();
    assert_eq!(alerts, 1, "exactly one alert in all");
}

#[tokio::test]
async fn a_browser_sign_in_is_judged_by_its_device_cookie() {
    let (_sink, app) = mail_app().await;
    let owner = app.signed_in("Cookie Cleo").await;

    browser_login(&app, &owner.email, Some(&device_token(&owner))).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 0);
    browser_login(&app, &owner.email, None).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 1);
}

#[tokio::test]
async fn opening_the_link_changes_nothing_and_its_button_ends_exactly_that_session() {
    let (sink, app) = mail_app().await;
    let (owner, intruder, token) = intruded(&app, &sink).await;
    let phone = app.another_session(&owner, None).await;

    // A mail scanner opens the link first: nothing happens.
    let page = app.navigate(&format!("/not-me?token={token}"), &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Safari on iPhone") && html.contains("This wasn") && html.contains("127.0.0.1"), "{html}");
    app.assert_session_alive(&intruder).await;
    assert_eq!(link_used(&app, &owner.user_id).await, None, "the link is not spent by looking");

    assert_eq!(not_me(&app, &token).await.status(), StatusCode::NO_CONTENT);

    // That session, at once: its access token is refused long before it expires, its
    // refresh token is dead.
    app.assert_session_ended(&intruder).await;
    assert_eq!(app.revocation_of(&intruder.session_id).await.1.as_deref(), Some("reported_by_owner"));
    app.assert_session_alive(&owner).await;
    app.assert_session_alive(&phone).await;
    let events = app.events_of(&owner.user_id).await;
    let reported: Vec<_> = events.iter().filter(|e| e.reason.as_deref() == Some("reported_by_owner")).collect();
    assert_eq!(reported.len(), 1, "{events:#?}");
    assert_eq!(reported[0].session_id.as_deref(), Some(intruder.session_id.as_str()));

    // The owner is mailed a fresh reset link, which works.
    let reset = reset_token(&mail_to(&sink, &owner.email, "Reset your password").await);
    let body = json!({ "token": reset, "new_password": "a brand new passphrase 2" });
    json_body(app.post_json("/api/v1/auth/reset-password", &body).await, StatusCode::OK).await;

    // Once only.
    assert_error(not_me(&app, &token).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    let page = app.navigate(&format!("/not-me?token={token}"), &[]).await.text().await.unwrap();
    assert!(page.contains("no longer valid"), "{page}");
}

#[tokio::test]
async fn the_reported_device_is_forgotten_and_its_next_sign_in_is_mailed_about_again() {
    let (sink, app) = mail_app().await;
    let (owner, intruder, token) = intruded(&app, &sink).await;
    // The intruder's browser signs in again with its (then known) device token: no alert.
    let again = login_with_device(&app, &owner.email, Some(&device_token(&intruder)), SAFARI_ON_IPHONE).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 1);

    assert_eq!(not_me(&app, &token).await.status(), StatusCode::NO_CONTENT);

    // Only the session the mail named ended; the device, renewed token and all, is forgotten.
    app.assert_session_ended(&intruder).await;
    app.assert_session_alive(&again).await;
    login_with_device(&app, &owner.email, Some(&device_token(&again)), SAFARI_ON_IPHONE).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 2, "a new device again");
    // The owner's own browser is still known.
    login_with_device(&app, &owner.email, Some(&device_token(&owner)), FIREFOX_ON_WINDOWS).await;
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 2);
}

#[tokio::test]
async fn expired_tampered_and_malformed_links_are_refused_and_change_nothing() {
    let (sink, app) = mail_app().await;
    let (owner, intruder, token) = intruded(&app, &sink).await;

    let first = if token.as_bytes()[0] == b'A' { 'B' } else { 'A' };
    let flipped = format!("{first}{}", &token[1..]);
    for bad in ["", "short", &"x".repeat(500), "../../etc/passwd", &flipped, &format!("{token}x")] {
        assert_error(not_me(&app, bad).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    }
    assert_error(app.post_json("/api/v1/auth/not-me", &json!({ "tokn": token })).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    app.assert_session_alive(&intruder).await;

    sqlx::query("update link_tokens set expires_at = $1 where user_id = $2 and purpose = 'not_me'")
        .bind(now() - 1)
        .bind(&owner.user_id)
        .execute(&app.sql)
        .await
        .unwrap();
    assert_error(not_me(&app, &token).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    let page = app.navigate(&format!("/not-me?token={token}"), &[]).await.text().await.unwrap();
    assert!(page.contains("no longer valid") && !page.contains("Safari on iPhone"), "{page}");
    app.assert_session_alive(&intruder).await;
    assert_eq!(queued(&app, &owner.email, "Reset your password").await, 0, "nothing mailed");
}

#[tokio::test]
async fn of_several_requests_with_one_link_at_once_exactly_one_wins() {
    let (sink, app) = mail_app().await;
    let (owner, intruder, token) = intruded(&app, &sink).await;

    let answers = futures::future::join_all((0..4).map(|_| not_me(&app, &token))).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::NO_CONTENT).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count(), 3, "{statuses:?}");

    app.assert_session_ended(&intruder).await;
    let reported = app.events_of(&owner.user_id).await.into_iter().filter(|e| e.reason.as_deref() == Some("reported_by_owner")).count();
    assert_eq!(reported, 1);
    assert_eq!(queued(&app, &owner.email, "Reset your password").await, 1, "one reset link");
}

#[tokio::test]
async fn the_button_works_with_javascript_off_from_a_signed_out_browser() {
    let (sink, app) = mail_app().await;
    let (_owner, intruder, token) = intruded(&app, &sink).await;
    let page = format!("/not-me?token={token}");

    let done = app.form_post("/fn/not-me", &[("token", &token)], &page, &[]).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(location(&done), "/not-me?done=1");
    app.assert_session_ended(&intruder).await;
    let html = app.navigate("/not-me?done=1", &[]).await.text().await.unwrap();
    assert!(html.contains("That device is signed out"), "{html}");

    // Again: back to the page with the error, which the page shows.
    let again = app.form_post("/fn/not-me", &[("token", &token)], &page, &[]).await;
    assert_eq!(again.status(), StatusCode::FOUND);
    let back = location(&again);
    let back = back.strip_prefix(&app.origin()).unwrap_or(&back);
    assert!(back.starts_with(&page) && back.contains("__err"), "{back}");
    let html = app.navigate(back, &[]).await.text().await.unwrap();
    assert!(html.contains("no longer valid"), "{html}");
}

#[tokio::test]
async fn a_password_reset_sign_in_is_not_mailed_about_as_a_new_device() {
    let (sink, app) = mail_app().await;
    let owner = app.signed_in("Resetting Rae").await;
    assert_eq!(app.post_json("/api/v1/auth/forgot-password", &json!({ "email": owner.email })).await.status(), StatusCode::ACCEPTED);
    let reset = reset_token(&mail_to(&sink, &owner.email, "Reset your password").await);
    let body = json!({ "token": reset, "new_password": "a brand new passphrase 2" });
    json_body(app.post_json("/api/v1/auth/reset-password", &body).await, StatusCode::OK).await;

    assert_eq!(queued(&app, &owner.email, "Your password was changed").await, 1, "this mailbox is told by that notice");
    assert_eq!(queued(&app, &owner.email, "New sign-in to your account").await, 0);
}
