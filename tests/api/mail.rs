//! Mail through a real SMTP server (`smtp_sink`) and the outbox: queued with the event,
//! sent by the background worker, nothing lost in an outage and nothing sent twice.

use crate::{
    helpers::{json_body, SignedIn, TestApp, PASSWORD},
    smtp_sink::SmtpSink,
};
use reqwest::StatusCode;
use std::time::Duration;

const NEW_PASSWORD: &str = "a brand new passphrase 2";

async fn change_password(app: &TestApp, person: &SignedIn) {
    let response = app
        .call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)], &person.access_token)
        .await;
    json_body(response, StatusCode::OK).await;
}

const CHANGED: &str = "Your password was changed";
const VERIFY: &str = "Verify your email address";

/// Waits until the queue holds nothing unsent.
async fn wait_until_all_sent(app: &TestApp) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let unsent: i64 = sqlx::query_scalar("select count(*) from mail_queue where sent_at is null").fetch_one(&app.sql).await.unwrap();
        if unsent == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{unsent} message(s) still unsent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The part of a raw message after its headers, with quoted-printable soft breaks undone.
fn body_of(raw: &str) -> String {
    raw.split_once("\n\n").or_else(|| raw.split_once("\r\n\r\n")).map(|(_, b)| b).unwrap_or(raw).replace("=\r\n", "").replace("=\n", "")
}

#[tokio::test]
async fn changing_the_password_mails_the_owner_through_a_real_smtp_server() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url())).await;
    let person = app.signed_in("Mailed Mia").await;

    change_password(&app, &person).await;

    let messages = sink.wait_for_with(CHANGED, 1, Duration::from_secs(15)).await;
    assert_eq!(messages.len(), 1);
    let raw = &messages[0];
    assert!(raw.contains(&format!("To: {}", person.email)), "{raw}");
    assert!(raw.contains("Subject: Gatehouse: Your password was changed"), "{raw}");
    assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
    let body = body_of(raw);
    assert!(body.contains("UTC") && body.contains("127.0.0.1"), "when and from where: {body}");
    assert!(body.contains(&format!("{}/forgot-password", app.origin())), "what to do if it was not them: {body}");
    for secret in ["ghr_", "eyJ", "$argon2", PASSWORD, NEW_PASSWORD] {
        assert!(!raw.contains(secret), "no secret in the mail ({secret})");
    }
    // The server has the message; the worker marks it sent once the server's reply is in.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (sent, text): (Option<i64>, String) = sqlx::query_as("select sent_at, text_body from mail_queue where subject like '%password was changed'")
            .fetch_one(&app.sql)
            .await
            .unwrap();
        if sent.is_some() {
            assert!(text.is_empty(), "marked sent, its words dropped from the database");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "marked sent after delivery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_smtp_outage_loses_no_message_and_sends_none_twice() {
    let mut sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url())).await;
    let people = [app.signed_in("Outage One").await, app.signed_in("Outage Two").await, app.signed_in("Outage Three").await];
    // Their verification mails are out before the outage starts.
    sink.wait_for_with(VERIFY, 3, Duration::from_secs(15)).await;
    wait_until_all_sent(&app).await;

    sink.stop();
    for person in &people {
        change_password(&app, person).await;
    }
    // Every message has been tried and refused at least once while the server was down.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let failed: i64 = sqlx::query_scalar("select count(*) from mail_queue where attempts > 0 and sent_at is null")
            .fetch_one(&app.sql)
            .await
            .unwrap();
        if failed == 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "all three tried during the outage ({failed} so far)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sink.messages_with(CHANGED).is_empty());

    sink.restart().await;
    let messages = sink.wait_for_with(CHANGED, 3, Duration::from_secs(30)).await;
    // Another round of the worker must not send anything again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages_with(VERIFY).len(), 3, "the verification mails, once each");
    let messages_after = sink.messages_with(CHANGED);
    assert_eq!(messages_after.len(), 3, "exactly once each: {messages:#?}");
    for person in &people {
        let to_them = messages_after.iter().filter(|m| m.contains(&format!("To: {}", person.email))).count();
        assert_eq!(to_them, 1, "{}", person.email);
    }
    let unsent: i64 = sqlx::query_scalar("select count(*) from mail_queue where sent_at is null").fetch_one(&app.sql).await.unwrap();
    assert_eq!(unsent, 0);
}

#[tokio::test]
async fn without_an_smtp_server_mail_goes_to_the_outbox_as_eml_files() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Outbox Olga").await;

    change_password(&app, &person).await;

    let outbox = app.config.data_dir.join("outbox");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let files = loop {
        let files: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
            .unwrap_or_default();
        if files.len() >= 2 || std::time::Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let raws: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    let changed: Vec<&String> = raws.iter().filter(|raw| raw.contains(CHANGED)).collect();
    assert_eq!(changed.len(), 1, "one .eml file for the change in {}", outbox.display());
    assert!(changed[0].contains(&format!("To: {}", person.email)), "{}", changed[0]);
    assert!(raws.iter().any(|raw| raw.contains(VERIFY)), "and the verification mail of the registration");
}
