//! The account's address, through a real SMTP server: the verification link mailed at
//! registration, "Resend the link", `GATEHOUSE_REQUIRE_VERIFIED_EMAIL`, and moving to a new
//! address (confirmed from it, the old one told).

use crate::{
    helpers::{assert_error, json_body, location, str_at, unique_email, SignedIn, TestApp, PASSWORD},
    smtp_sink::{decoded, link_token, SmtpSink},
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const VERIFY: &str = "Verify your email address";
const CONFIRM: &str = "Confirm your new email address";
const CHANGED: &str = "Your email address was changed";
const WAIT: Duration = Duration::from_secs(15);

async fn mail_app() -> (SmtpSink, TestApp) {
    mail_app_with(false).await
}

async fn mail_app_with(require_verified: bool) -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(move |c| {
        c.smtp_url = Some(url);
        c.require_verified_email = require_verified;
    })
    .await;
    (sink, app)
}

/// A message to `to` with `subject`, once `n` of them have arrived.
async fn nth_mail(sink: &SmtpSink, to: &str, subject: &str, n: usize) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mine: Vec<String> = sink.messages_with(subject).into_iter().filter(|m| m.contains(&format!("To: {to}"))).collect();
        if mine.len() >= n {
            return mine.into_iter().last().expect("one");
        }
        assert!(std::time::Instant::now() < deadline, "{n} {subject:?} mail(s) to {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn me(app: &TestApp, person: &SignedIn) -> Value {
    json_body(app.me(&person.access_token).await, StatusCode::OK).await
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/verify-email", &json!({ "token": token })).await
}

async fn resend(app: &TestApp, person: &SignedIn) -> reqwest::Response {
    app.client.post(app.url("/api/v1/auth/resend-verification")).bearer_auth(&person.access_token).send().await.unwrap()
}

async fn change_email(app: &TestApp, person: &SignedIn, new_email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/me/email"))
        .bearer_auth(&person.access_token)
        .json(&json!({ "new_email": new_email, "current_password": password }))
        .send()
        .await
        .unwrap()
}

async fn confirm(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/confirm-email", &json!({ "token": token })).await
}

fn assert_no_secret_but_the_link(raw: &str) {
    for secret in ["ghr_", "ghd_", "eyJ", "$argon2", PASSWORD] {
        assert!(!raw.contains(secret), "no secret in the mail ({secret})");
    }
}

#[tokio::test]
async fn registering_mails_a_link_that_verifies_the_address_once() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Verifying Vera").await;
    assert_eq!(me(&app, &person).await["user"]["email_verified"], false);

    let mail = nth_mail(&sink, &person.email, VERIFY, 1).await;
    assert_no_secret_but_the_link(&mail);
    assert!(decoded(&mail).contains("24 hours"), "{mail}");
    let token = link_token(&mail, "/verify-email");
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let stored: i64 = sqlx::query_scalar("select count(*) from link_tokens where purpose = 'verify_email' and user_id = $1")
        .bind(&person.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let in_clear: i64 = sqlx::query_scalar("select count(*) from mail_queue where text_body like $1")
        .bind(format!("%{token}%"))
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(in_clear, 0, "the link's words are dropped from the queue once sent");

    assert_eq!(verify(&app, &token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &person).await["user"]["email_verified"], true, "seen at once by /me");
    assert!(app.events_of(&person.user_id).await.iter().any(|e| e.kind == "email_verified"));
    // Once only.
    assert_error(verify(&app, &token).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    // Shapes that are not our tokens never reach the database; all answer alike.
    for bad in ["", "short", &"A".repeat(43), &format!("{}!", &token[..42])] {
        assert_error(verify(&app, bad).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    }
    assert_error(app.post_json("/api/v1/auth/verify-email", &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}

#[tokio::test]
async fn opening_the_link_verifies_and_the_signed_in_pages_stop_asking() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Clicking Clio").await;
    let cookie = [("gh_access", person.access_token.as_str())];
    let dashboard = app.navigate("/dashboard", &cookie).await.text().await.unwrap();
    assert!(dashboard.contains("Please verify your email address") && dashboard.contains("Resend the link"), "{dashboard}");

    let token = link_token(&nth_mail(&sink, &person.email, VERIFY, 1).await, "/verify-email");
    let page = app.navigate(&format!("/verify-email?token={token}"), &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("your email address is verified"), "{html}");
    assert_eq!(me(&app, &person).await["user"]["email_verified"], true);
    let dashboard = app.navigate("/dashboard", &cookie).await.text().await.unwrap();
    assert!(!dashboard.contains("Please verify your email address"), "the notice is gone");

    let again = app.navigate(&format!("/verify-email?token={token}"), &[]).await.text().await.unwrap();
    assert!(again.contains("This link is no longer valid"), "{again}");
}

#[tokio::test]
async fn resending_mails_a_fresh_link_three_times_an_hour_then_says_when() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Resending Rosa").await;
    nth_mail(&sink, &person.email, VERIFY, 1).await;

    // The registration's link counts: two more this hour, then the answer says how long to wait.
    for _ in 0..2 {
        assert_eq!(resend(&app, &person).await.status(), StatusCode::ACCEPTED);
    }
    let refused = resend(&app, &person).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3000..=3600).contains(&wait), "about an hour after the first link: {wait}");
    let third = nth_mail(&sink, &person.email, VERIFY, 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.messages_with(VERIFY).len(), 3, "nothing more was sent");

    // Any of them verifies; afterwards the others are void, and resending sends nothing.
    assert_eq!(verify(&app, &link_token(&third, "/verify-email")).await.status(), StatusCode::NO_CONTENT);
    let usable: i64 = sqlx::query_scalar("select count(*) from link_tokens where user_id = $1 and used_at is null")
        .bind(&person.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(usable, 0);
    let other = app.signed_in("Verified Vic").await;
    let token = link_token(&nth_mail(&sink, &other.email, VERIFY, 1).await, "/verify-email");
    assert_eq!(verify(&app, &token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(resend(&app, &other).await.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sink.messages_with(&format!("To: {}", other.email)).len(), 1, "verified already: nothing sent");

    assert_error(
        app.client.post(app.url("/api/v1/auth/resend-verification")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn when_verification_is_required_only_a_verified_address_signs_in() {
    let (sink, app) = mail_app_with(true).await;
    let email = unique_email("strict");
    assert_eq!(app.register(&email, PASSWORD, "Strict Sam").await.status(), StatusCode::CREATED);

    let refused = assert_error(app.login(&email, PASSWORD).await, StatusCode::FORBIDDEN, "email_not_verified").await;
    assert!(refused["error"]["message"].as_str().unwrap().contains("Verify your email address first"), "{refused}");
    // A wrong password still says nothing about the address.
    assert_error(app.login(&email, "not the password at all").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions").fetch_one(&app.sql).await.unwrap();
    assert_eq!(sessions, 0, "no session was started");

    // The sign-in page's "Resend the link" works by address and answers alike for any.
    for address in [email.as_str(), &unique_email("nobody")] {
        let asked = app.call_fn("/fn/resend-verification-to", &[("email", address)], "").await;
        assert_eq!(asked.status(), StatusCode::OK, "{address}");
    }
    let mail = nth_mail(&sink, &email, VERIFY, 2).await;
    assert_eq!(sink.messages_with(VERIFY).len(), 2, "the registration's link and one more, none to the unknown address");

    assert_eq!(verify(&app, &link_token(&mail, "/verify-email")).await.status(), StatusCode::NO_CONTENT);
    json_body(app.login(&email, PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn changing_the_address_waits_for_the_new_one_and_tells_the_old_one() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Moving Mo").await;
    let new_email = unique_email("moved");
    let reset_before = {
        assert_eq!(app.post_json("/api/v1/auth/forgot-password", &json!({ "email": person.email })).await.status(), StatusCode::ACCEPTED);
        link_token(&nth_mail(&sink, &person.email, "Reset your password", 1).await, "/reset-password")
    };

    let asked = json_body(change_email(&app, &person, &new_email, PASSWORD).await, StatusCode::ACCEPTED).await;
    assert_eq!(str_at(&asked, "/sent_to"), new_email);
    let mail = nth_mail(&sink, &new_email, CONFIRM, 1).await;
    assert_no_secret_but_the_link(&mail);
    let text = decoded(&mail);
    assert!(text.contains("UTC") && text.contains("127.0.0.1"), "when and from where: {text}");
    let token = link_token(&mail, "/confirm-email");

    // Opening the link only asks.
    let page = app.navigate(&format!("/confirm-email?token={token}"), &[]).await.text().await.unwrap();
    assert!(page.contains(&new_email) && page.contains("Confirm new address"), "{page}");
    assert_eq!(me(&app, &person).await["user"]["email"], person.email.as_str(), "nothing changed yet");

    let done = json_body(confirm(&app, &token).await, StatusCode::OK).await;
    assert_eq!(str_at(&done, "/email"), new_email);
    let now_me = me(&app, &person).await;
    assert_eq!(now_me["user"]["email"], new_email.as_str());
    assert_eq!(now_me["user"]["email_verified"], true, "following the link proved the new address");
    app.assert_session_alive(&person).await;

    let told = decoded(&nth_mail(&sink, &person.email, CHANGED, 1).await);
    assert!(told.contains(&new_email) && told.contains("UTC"), "{told}");
    let events = app.events_of(&person.user_id).await;
    assert!(events.iter().any(|e| e.kind == "email_changed"), "{events:?}");

    // The new address signs in; the old one is nobody's.
    assert_error(app.login(&person.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    json_body(app.login(&new_email, PASSWORD).await, StatusCode::OK).await;
    // Once only; and the reset link mailed to the old address is dead.
    assert_error(confirm(&app, &token).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    let reset = app.post_json("/api/v1/auth/reset-password", &json!({ "token": reset_before, "new_password": "a brand new passphrase 2" })).await;
    assert_error(reset, StatusCode::BAD_REQUEST, "invalid_link").await;
}

#[tokio::test]
async fn a_change_needs_the_password_a_new_free_address_and_is_throttled() {
    let (_sink, app) = mail_app().await;
    let person = app.signed_in("Careful Cy").await;
    let other = app.signed_in("Taken Tam").await;

    let wrong = assert_error(change_email(&app, &person, &unique_email("x"), "not my password").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(wrong["error"]["fields"]["current_password"].is_string(), "{wrong}");
    let same = assert_error(change_email(&app, &person, &person.email.to_uppercase(), PASSWORD).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(same["error"]["fields"]["new_email"].is_string(), "{same}");
    let bad = assert_error(change_email(&app, &person, "not an address", PASSWORD).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(bad["error"]["fields"]["new_email"].is_string(), "{bad}");
    assert_error(change_email(&app, &person, &other.email, PASSWORD).await, StatusCode::CONFLICT, "email_taken").await;
    let links: i64 = sqlx::query_scalar("select count(*) from link_tokens where purpose = 'change_email'").fetch_one(&app.sql).await.unwrap();
    assert_eq!(links, 0, "no link for a refused change");

    for _ in 0..3 {
        assert_eq!(change_email(&app, &person, &unique_email("many"), PASSWORD).await.status(), StatusCode::ACCEPTED);
    }
    assert_error(change_email(&app, &person, &unique_email("many"), PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert_error(
        app.client.post(app.url("/api/v1/me/email")).json(&json!({ "new_email": "a@b.co", "current_password": PASSWORD })).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn of_two_changes_in_flight_only_the_first_confirmed_works_and_old_links_die() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Torn Tove").await;
    let verify_token = link_token(&nth_mail(&sink, &person.email, VERIFY, 1).await, "/verify-email");
    let (first, second) = (unique_email("first"), unique_email("second"));
    change_email(&app, &person, &first, PASSWORD).await;
    change_email(&app, &person, &second, PASSWORD).await;
    let first_token = link_token(&nth_mail(&sink, &first, CONFIRM, 1).await, "/confirm-email");
    let second_token = link_token(&nth_mail(&sink, &second, CONFIRM, 1).await, "/confirm-email");

    // The same link confirmed twice at once: exactly one wins.
    let (a, b) = tokio::join!(confirm(&app, &second_token), confirm(&app, &second_token));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);

    assert_error(confirm(&app, &first_token).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    assert_error(verify(&app, &verify_token).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    let page = app.navigate(&format!("/confirm-email?token={first_token}"), &[]).await.text().await.unwrap();
    assert!(page.contains("This link is no longer valid"), "{page}");
    assert_eq!(me(&app, &person).await["user"]["email"], second.as_str());
}

#[tokio::test]
async fn the_email_change_works_with_javascript_off() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Plain Pia").await;
    let new_email = unique_email("plain");
    let cookie = [("gh_access", person.access_token.as_str())];

    let asked = app.form_post("/fn/change-email", &[("new_email", &new_email), ("password", PASSWORD)], "/settings/password", &cookie).await;
    assert_eq!(asked.status(), StatusCode::FOUND);
    assert_eq!(location(&asked), "/settings/password?email_change=sent");
    let token = link_token(&nth_mail(&sink, &new_email, CONFIRM, 1).await, "/confirm-email");

    let done = app.form_post("/fn/confirm-email", &[("token", &token)], &format!("/confirm-email?token={token}"), &[]).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(location(&done), "/confirm-email?done=1");
    let page = app.navigate("/confirm-email?done=1", &[]).await.text().await.unwrap();
    assert!(page.contains("Your email address was changed"), "{page}");
    assert_eq!(me(&app, &person).await["user"]["email"], new_email.as_str());

    let resent = app.form_post("/fn/resend-verification", &[], "/dashboard", &cookie).await;
    assert_eq!(resent.status(), StatusCode::FOUND, "verified already: nothing to send, back to the security page");
    assert_eq!(location(&resent), "/settings/password?verification=sent");
}
