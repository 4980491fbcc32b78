//! Getting back in: "Forgot password?" mails a single-use link (through a real SMTP server),
//! the link sets a new password, signs every device out and this client in.

use crate::{
    helpers::{assert_error, json_body, location, now, set_cookies, str_at, unique_email, SignedIn, TestApp, PASSWORD},
    smtp_sink::{decoded, link_token, SmtpSink},
};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

const NEW_PASSWORD: &str = "a brand new passphrase 2";
const RESET: &str = "Reset your password";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/forgot-password", &json!({ "email": email })).await
}

async fn reset(app: &TestApp, token: &str, new_password: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/reset-password", &json!({ "token": token, "new_password": new_password })).await
}

/// The token of the reset link in a message.
fn reset_token(raw: &str) -> String {
    link_token(raw, "/reset-password")
}

/// An app that sends its mail to a real SMTP sink.
pub async fn mail_app() -> (SmtpSink, TestApp) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(move |c| c.smtp_url = Some(url)).await;
    (sink, app)
}

/// Asks for a link for `person` and returns its token, from the new mail.
async fn link_for(app: &TestApp, sink: &SmtpSink, person: &SignedIn) -> String {
    let theirs = |m: &String| m.contains(&format!("To: {}", person.email));
    let before: Vec<String> = sink.messages_with(RESET).into_iter().filter(theirs).collect();
    assert_eq!(forgot(app, &person.email).await.status(), StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(mail) = sink.messages_with(RESET).iter().filter(|m| theirs(m)).find(|m| !before.contains(m)) {
            return reset_token(mail);
        }
        assert!(Instant::now() < deadline, "a reset mail to {}", person.email);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_mailed_link_sets_a_new_password_signs_every_device_out_and_this_client_in() {
    let (sink, app) = mail_app().await;
    let laptop = app.signed_in("Forgetful Fern").await;
    let phone = app.another_session(&laptop, None).await;

    let token = link_for(&app, &sink, &laptop).await;
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let mail = decoded(sink.messages().iter().find(|m| m.contains("Reset your password")).expect("the reset mail"));
    assert!(mail.contains("30 minutes") && mail.contains("UTC") && mail.contains("127.0.0.1"), "{mail}");
    for secret in ["ghr_", "eyJ", "$argon2", PASSWORD] {
        assert!(!mail.contains(secret), "no secret but the link token ({secret})");
    }

    // Opening the link (a mail scanner does it first) changes nothing.
    let page = app.navigate(&format!("/reset-password?token={token}"), &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Set a new password") && html.contains("New password"), "{html}");
    app.assert_session_alive(&laptop).await;

    let signed_in = json_body(reset(&app, &token, NEW_PASSWORD).await, StatusCode::OK).await;
    assert_eq!(str_at(&signed_in, "/token_type"), "Bearer");
    json_body(app.me(&str_at(&signed_in, "/access_token")).await, StatusCode::OK).await;
    app.assert_session_ended(&laptop).await;
    app.assert_session_ended(&phone).await;
    let events = app.events_of(&laptop.user_id).await;
    assert!(events.iter().any(|e| e.kind == "password_reset"), "{events:?}");
    assert_eq!(app.revocation_of(&phone.session_id).await.1.as_deref(), Some("password_reset"));
    sink.wait_for_with("Your password was changed", 1, Duration::from_secs(15)).await; // the owner is told

    // Once only; the new password is the password.
    assert_error(reset(&app, &token, "yet another passphrase 3").await, StatusCode::BAD_REQUEST, "invalid_link").await;
    assert_error(app.login(&laptop.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    json_body(app.login(&laptop.email, NEW_PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_nothing_is_sent() {
    let (sink, app) = mail_app().await;

    assert_eq!(forgot(&app, &unique_email("nobody")).await.status(), StatusCode::ACCEPTED);

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sink.messages().is_empty());
    let links: i64 = sqlx::query_scalar("select count(*) from link_tokens").fetch_one(&app.sql).await.unwrap();
    assert_eq!(links, 0);
    assert_error(forgot(&app, "not an address").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}

#[tokio::test]
async fn known_and_unknown_addresses_are_answered_in_the_same_time() {
    let app = TestApp::spawn_with(|c| c.recovery_rate_per_minute = 0).await;
    let person = app.signed_in("Timed Tina").await;
    let stranger = unique_email("stranger");
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..82 {
        let (email, into) = if i % 2 == 0 { (&person.email, &mut known) } else { (&stranger, &mut unknown) };
        let started = Instant::now();
        let response = forgot(&app, email).await;
        into.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        // Let the background work of one request finish before the next is timed.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    println!("forgot-password medians: known {k:?}, unknown {u:?}");
    assert!(k.abs_diff(u) < Duration::from_millis(5), "medians within a few ms: known {k:?}, unknown {u:?}");
}

#[tokio::test]
async fn a_link_dies_when_the_password_changes_by_another_route_or_when_it_expires() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Changed Carl").await;

    let token = link_for(&app, &sink, &person).await;
    let changed = app
        .call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)], &person.access_token)
        .await;
    json_body(changed, StatusCode::OK).await;
    assert_error(reset(&app, &token, "yet another passphrase 3").await, StatusCode::BAD_REQUEST, "invalid_link").await;
    let page = app.navigate(&format!("/reset-password?token={token}"), &[]).await.text().await.unwrap();
    assert!(page.contains("no longer valid") && !page.contains("Set new password"), "the page says so too: {page}");

    let other = app.signed_in("Late Lena").await;
    let token = link_for(&app, &sink, &other).await;
    sqlx::query("update link_tokens set expires_at = $1 where user_id = $2")
        .bind(now() - 1)
        .bind(&other.user_id)
        .execute(&app.sql)
        .await
        .unwrap();
    assert_error(reset(&app, &token, NEW_PASSWORD).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    let page = app.navigate(&format!("/reset-password?token={token}"), &[]).await.text().await.unwrap();
    assert!(page.contains("no longer valid") && !page.contains("Set new password"), "{page}");
    app.assert_session_alive(&other).await;

    for garbage in ["", "short", &"x".repeat(500)] {
        assert_error(reset(&app, garbage, NEW_PASSWORD).await, StatusCode::BAD_REQUEST, "invalid_link").await;
    }
}

#[tokio::test]
async fn a_weak_new_password_is_refused_and_the_link_still_works() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Weak Walt").await;
    let token = link_for(&app, &sink, &person).await;

    let refused = assert_error(reset(&app, &token, "short").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(refused["error"]["fields"]["new_password"].is_string(), "{refused}");
    app.assert_session_alive(&person).await;
    json_body(reset(&app, &token, NEW_PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn an_account_gets_at_most_three_links_an_hour_whatever_is_asked() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("Flooded Flo").await;

    // Five at once: the limit holds however the requests interleave.
    let asked = futures::future::join_all((0..5).map(|_| forgot(&app, &person.email))).await;
    assert!(asked.iter().all(|r| r.status() == StatusCode::ACCEPTED));

    sink.wait_for_with(RESET, 3, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.messages_with(RESET).len(), 3, "three links, then nothing more this hour");
}

#[tokio::test]
async fn the_whole_reset_works_with_javascript_off() {
    let (sink, app) = mail_app().await;
    let person = app.signed_in("No Script Nia").await;

    let asked = app.form_post("/fn/forgot-password", &[("email", &person.email)], "/forgot-password", &[]).await;
    assert_eq!(asked.status(), StatusCode::FOUND);
    assert_eq!(location(&asked), "/forgot-password?sent=1");
    let page = app.navigate("/forgot-password?sent=1", &[]).await.text().await.unwrap();
    assert!(page.contains("If an account exists for that address, we&#x27;ve sent a link") || page.contains("If an account exists for that address, we've sent a link"), "{page}");
    let messages = sink.wait_for_with(RESET, 1, Duration::from_secs(15)).await;
    let token = reset_token(&messages[0]);

    let done = app
        .form_post("/fn/reset-password", &[("token", &token), ("new_password", NEW_PASSWORD)], &format!("/reset-password?token={token}"), &[])
        .await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(location(&done), "/dashboard?reset=1");
    let cookies = set_cookies(&done);
    assert!(cookies.iter().any(|c| c.name == "gh_access" && !c.value.is_empty()), "signed in: {cookies:?}");
    app.assert_session_ended(&person).await;
}
