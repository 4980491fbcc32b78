//! Retention: ended sessions, their spent refresh tokens and old security events pruned
//! (`gatehouse::server::retention::prune`, called with an injected `now`, and by the
//! housekeeping task on its own), live ones untouched.

use crate::helpers::{json_body, now, str_at, SignedIn, TestApp, ACCESS_TTL_SECS, FIREFOX_ON_WINDOWS, SAFARI_ON_IPHONE};
use gatehouse::server::retention::{self, Pruned};
use reqwest::StatusCode;

const DAY: i64 = 86400;

/// The server prunes by itself at start-up: each test waits for that pass to end before
/// it puts rows in, so no count below is shared with a race against it.
async fn settled(app: TestApp) -> TestApp {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.state.prune_runs.load(std::sync::atomic::Ordering::Acquire) == 0 {
        assert!(std::time::Instant::now() < deadline, "the server did not prune at start-up");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    app
}

async fn prune(app: &TestApp, now: i64) -> Pruned {
    retention::prune(&app.state.db, &app.state.retention, now).await.expect("pruning works")
}

async fn session_exists(app: &TestApp, session_id: &str) -> bool {
    let n: i64 = sqlx::query_scalar("select count(*) from sessions where id = $1").bind(session_id).fetch_one(&app.sql).await.unwrap();
    n == 1
}

async fn spent_tokens_of(app: &TestApp, session_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from spent_refresh_tokens where session_id = $1")
        .bind(session_id)
        .fetch_one(&app.sql)
        .await
        .unwrap()
}

async fn set_expires_at(app: &TestApp, session_id: &str, at: i64) {
    sqlx::query("update sessions set expires_at = $1 where id = $2").bind(at).bind(session_id).execute(&app.sql).await.unwrap();
}

/// Refreshes once, so the session has a spent token; returns the session with its new pair.
async fn rotated(app: &TestApp, session: SignedIn) -> SignedIn {
    let body = json_body(app.refresh(&session.refresh_token).await, StatusCode::OK).await;
    SignedIn { access_token: str_at(&body, "/access_token"), refresh_token: str_at(&body, "/refresh_token"), body, ..session }
}

async fn insert_event(app: &TestApp, id: &str, user_id: &str, created_at: i64) {
    sqlx::query("insert into security_events (id, user_id, kind, created_at) values ($1, $2, 'password_changed', $3)")
        .bind(id)
        .bind(user_id)
        .bind(created_at)
        .execute(&app.sql)
        .await
        .unwrap();
}

async fn event_exists(app: &TestApp, id: &str) -> bool {
    let n: i64 = sqlx::query_scalar("select count(*) from security_events where id = $1").bind(id).fetch_one(&app.sql).await.unwrap();
    n == 1
}

#[tokio::test]
async fn ended_sessions_and_their_spent_tokens_go_once_no_access_token_of_theirs_can_be_valid() {
    let app = settled(TestApp::spawn().await).await;
    let live = rotated(&app, app.signed_in_from("Kept Kim", Some(FIREFOX_ON_WINDOWS)).await).await;
    let signed_out = rotated(&app, app.another_session(&live, Some(SAFARI_ON_IPHONE)).await).await;
    assert_eq!(app.logout(&signed_out.access_token).await.status(), StatusCode::NO_CONTENT);
    let long_over = app.another_session(&live, None).await;
    set_expires_at(&app, &long_over.session_id, now() - ACCESS_TTL_SECS as i64 - 61).await;
    let just_over = app.another_session(&live, None).await;
    set_expires_at(&app, &just_over.session_id, now() - 30).await;
    assert_eq!((spent_tokens_of(&app, &live.session_id).await, spent_tokens_of(&app, &signed_out.session_id).await), (1, 1));
    let events_before = app.events_of(&live.user_id).await;
    let t = now();

    // Right after the sign-out, an access token of that session could still be presented:
    // its row stays, so a restart still knows it was revoked. Only the session past its
    // absolute end for longer than an access token lives is gone.
    assert_eq!(prune(&app, t).await, Pruned { sessions: 1, ..Pruned::default() });
    assert!(!session_exists(&app, &long_over.session_id).await);
    for kept in [&live, &signed_out, &just_over] {
        assert!(session_exists(&app, &kept.session_id).await, "{} is kept", kept.session_id);
    }

    // An access-token lifetime and the minute of leeway later, no token of theirs is valid.
    assert_eq!(prune(&app, t + ACCESS_TTL_SECS as i64 + 61).await, Pruned { sessions: 2, ..Pruned::default() });
    assert!(!session_exists(&app, &signed_out.session_id).await);
    assert!(!session_exists(&app, &just_over.session_id).await);
    assert_eq!(spent_tokens_of(&app, &signed_out.session_id).await, 0, "its spent tokens went with it");

    // The live session is untouched: its row, its spent token (reuse detection needs it),
    // its tokens, and nothing of the activity went.
    assert!(session_exists(&app, &live.session_id).await);
    assert_eq!(spent_tokens_of(&app, &live.session_id).await, 1);
    app.assert_session_alive(&live).await;
    json_body(app.refresh(&live.refresh_token).await, StatusCode::OK).await;
    assert_eq!(app.events_of(&live.user_id).await.len(), events_before.len());
}

#[tokio::test]
async fn security_events_are_kept_90_days_and_pruned_after_that() {
    let app = settled(TestApp::spawn().await).await;
    let person = app.signed_in("Historic Hana").await;
    let t = now();
    insert_event(&app, "event-89-days", &person.user_id, t - 89 * DAY).await;
    insert_event(&app, "event-91-days", &person.user_id, t - 91 * DAY).await;

    assert_eq!(prune(&app, t).await, Pruned { events: 1, ..Pruned::default() });
    assert!(event_exists(&app, "event-89-days").await);
    assert!(!event_exists(&app, "event-91-days").await);
    assert!(app.events_of(&person.user_id).await.iter().any(|e| e.kind == "signed_in"), "today's sign-in stays");
    app.assert_session_alive(&person).await;
}

#[tokio::test]
async fn the_operators_audit_log_is_kept_as_long_as_security_events() {
    let app = settled(TestApp::spawn().await).await;
    let t = now();
    for (id, age) in [("action-89-days", 89 * DAY), ("action-91-days", 91 * DAY)] {
        sqlx::query(
            "insert into operator_actions (id, operator_id, operator_email, target_id, target_email, action, created_at)
             values ($1, 'op', 'op@example.com', 'someone', 'someone@example.com', 'disable', $2)",
        )
        .bind(id)
        .bind(t - age)
        .execute(&app.sql)
        .await
        .unwrap();
    }

    let pruned = prune(&app, t).await;
    assert_eq!(pruned.operator_actions, 1, "{pruned:?}");
    let left: Vec<String> = sqlx::query_scalar("select id from operator_actions").fetch_all(&app.sql).await.unwrap();
    assert_eq!(left, ["action-89-days"]);
}

#[tokio::test]
async fn a_longer_event_retention_keeps_them_longer() {
    let app = settled(TestApp::spawn_with(|config| config.event_retention = std::time::Duration::from_secs(365 * DAY as u64)).await).await;
    let person = app.signed_in("Archivist Arno").await;
    let t = now();
    insert_event(&app, "event-91-days", &person.user_id, t - 91 * DAY).await;
    insert_event(&app, "event-366-days", &person.user_id, t - 366 * DAY).await;

    assert_eq!(prune(&app, t).await, Pruned { events: 1, ..Pruned::default() });
    assert!(event_exists(&app, "event-91-days").await);
    assert!(!event_exists(&app, "event-366-days").await);
}

#[tokio::test]
async fn the_activity_still_names_a_device_after_its_session_is_pruned() {
    let app = settled(TestApp::spawn().await).await;
    let laptop = app.signed_in_from("Remembering Rea", Some(FIREFOX_ON_WINDOWS)).await;
    let phone = app.another_session(&laptop, Some(SAFARI_ON_IPHONE)).await;
    assert_eq!(app.delete_session(&laptop.access_token, &phone.session_id).await.status(), StatusCode::NO_CONTENT);

    prune(&app, now() + ACCESS_TTL_SECS as i64 + 61).await;
    assert!(!session_exists(&app, &phone.session_id).await);

    let html = app.navigate("/dashboard", &[("gh_access", &laptop.access_token)]).await.text().await.unwrap();
    assert!(html.contains("Safari on iPhone was signed out from this device"), "{html}");
    assert!(html.contains("New sign-in on Safari on iPhone from IP 127.0.0.1"), "{html}");
}

#[tokio::test]
async fn the_housekeeping_task_prunes_on_its_own() {
    let app = settled(TestApp::spawn().await).await;
    let person = app.signed_in("Tidy Theo").await;
    let other = app.another_session(&person, None).await;
    assert_eq!(app.delete_session(&person.access_token, &other.session_id).await.status(), StatusCode::NO_CONTENT);
    sqlx::query("update sessions set revoked_at = $1 where id = $2")
        .bind(now() - 2 * DAY)
        .bind(&other.session_id)
        .execute(&app.sql)
        .await
        .unwrap();
    insert_event(&app, "event-100-days", &person.user_id, now() - 100 * DAY).await;

    // Housekeeping prunes when an instance starts, then every GATEHOUSE_PRUNE_INTERVAL.
    let app = settled(app.restart().await).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while session_exists(&app, &other.session_id).await || event_exists(&app, "event-100-days").await {
        assert!(std::time::Instant::now() < deadline, "pruned within a few seconds of start-up");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(session_exists(&app, &person.session_id).await);
    app.assert_session_alive(&person).await;
}

#[tokio::test]
async fn an_ended_session_retention_shorter_than_an_access_token_lives_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gatehouse::server::config::Config::for_tests(dir.path().to_path_buf());
    config.access_ttl = std::time::Duration::from_secs(900);
    config.ended_session_retention = Some(std::time::Duration::from_secs(900));
    let refused = gatehouse::server::startup::Application::build(&config).await.err().map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("GATEHOUSE_ENDED_SESSION_RETENTION") && e.contains("960s")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn sent_mail_goes_after_30_days_and_expired_links_a_day_after_they_expired() {
    let app = settled(TestApp::spawn().await).await;
    let person = app.signed_in("Old Mail Mo").await;
    let t = now();
    for (id, sent_at) in [("sent-long-ago", Some(t - 31 * DAY)), ("sent-lately", Some(t - 29 * DAY)), ("not-sent-yet", None)] {
        sqlx::query(
            "insert into mail_queue (id, recipient, subject, text_body, html_body, created_at, next_attempt_at, sent_at)
             values ($1, 'a@example.com', 's', '', '', $2, $2, $3)",
        )
        .bind(id)
        .bind(t - 40 * DAY)
        .bind(sent_at)
        .execute(&app.sql)
        .await
        .unwrap();
    }
    for (hash, expires_at) in [(vec![1u8; 32], t - 2 * DAY), (vec![2u8; 32], t - DAY / 2), (vec![3u8; 32], t + 600)] {
        sqlx::query(
            "insert into link_tokens (token_hash, user_id, purpose, bound_to, created_at, expires_at)
             values ($1, $2, 'password_reset', 'x', $3, $4)",
        )
        .bind(hash)
        .bind(&person.user_id)
        .bind(expires_at - 1800)
        .bind(expires_at)
        .execute(&app.sql)
        .await
        .unwrap();
    }

    let pruned = prune(&app, t).await;

    assert_eq!((pruned.mail, pruned.links), (1, 1));
    // (The registration's own verification mail is neither sent long ago nor expired.)
    let mail: Vec<String> = sqlx::query_scalar("select id from mail_queue where recipient = 'a@example.com' order by id").fetch_all(&app.sql).await.unwrap();
    assert_eq!(mail, ["not-sent-yet", "sent-lately"], "unsent mail is never pruned");
    let links: i64 = sqlx::query_scalar("select count(*) from link_tokens where purpose = 'password_reset'").fetch_one(&app.sql).await.unwrap();
    assert_eq!(links, 2);
}

#[tokio::test]
async fn sign_in_challenges_go_a_day_after_they_expired_and_a_live_one_still_works() {
    let app = settled(TestApp::spawn().await).await;
    let person = app.signed_in("Two Step Tilda").await;
    let (authenticator, _) = crate::two_step::turn_on(&app, &person).await;
    let t = now();
    // The password step leaves a row per challenge; the first one is aged past its day.
    let old = crate::two_step::challenge_for(&app, &person).await;
    let aged = sqlx::query("update sign_in_challenges set expires_at = $1 where user_id = $2")
        .bind(t - 2 * DAY)
        .bind(&person.user_id)
        .execute(&app.sql)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(aged, 1);
    let live = crate::two_step::challenge_for(&app, &person).await;

    assert_eq!(prune(&app, t).await, Pruned { challenges: 1, ..Pruned::default() });
    let rows: i64 = sqlx::query_scalar("select count(*) from sign_in_challenges where user_id = $1").bind(&person.user_id).fetch_one(&app.sql).await.unwrap();
    assert_eq!(rows, 1);

    // The pruned one is unknown now; the fresh one still leads on to a session.
    let code = authenticator.code_for_step(gatehouse::server::factors::totp::Authenticator::step_of(now()));
    let gone = app.post_json("/api/v1/auth/login/second-factor", &serde_json::json!({ "challenge": old, "code": code })).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    let signed_in = app.post_json("/api/v1/auth/login/second-factor", &serde_json::json!({ "challenge": live, "code": code })).await;
    json_body(signed_in, StatusCode::OK).await;
}
