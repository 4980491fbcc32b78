//! Security: the activity log of theft detection, changing the password, signing out
//! everywhere, and the settings pages' guard.

use crate::{
    helpers::{
        assert_error, assert_fn_error, assert_fn_invalid_field, fn_error, json_body, location, now, set_cookies,
        str_at, the_cookie, EventRow, SignedIn, TestApp, FIREFOX_ON_WINDOWS, PASSWORD, SAFARI_ON_IPHONE,
    },
    throttling::retry_after,
};
use gatehouse::{
    error::AppError,
    server::{client::Client, password::Passwords, secret::Secret, service::account},
};
use reqwest::StatusCode;
use serde_json::json;
use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

const NEW_PASSWORD: &str = "a brand new passphrase 2";

fn of_kind(events: &[EventRow], kind: &str) -> Vec<EventRow> {
    events.iter().filter(|e| e.kind == kind).cloned().collect()
}

// ---------------------------------------------------------------------------------------
// Refresh-token reuse
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_replayed_refresh_token_outside_the_grace_window_revokes_the_session_and_records_refresh_token_reused() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::ZERO).await;
    let person = app.signed_in("Robbed Rob").await;
    let bystander = app.signed_in("Bystander Bea").await;
    let rotated = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;

    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;

    let (revoked_at, reason) = app.revocation_of(&person.session_id).await;
    assert!(revoked_at.is_some(), "the session is revoked");
    assert_eq!(reason.as_deref(), Some("refresh_token_reused"));
    let events = app.events_of(&person.user_id).await;
    assert_eq!(
        of_kind(&events, "refresh_token_reused"),
        vec![EventRow {
            kind: "refresh_token_reused".into(),
            session_id: Some(person.session_id.clone()),
            actor_session_id: None,
            reason: Some("refresh_token_reused".into()),
        }],
        "one event, for this user and session, caused by the server: {events:#?}"
    );
    assert_error(app.me(&str_at(&rotated, "/access_token")).await, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // Replaying again (or the successor) meets a revoked session: no second detection.
    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_error(app.refresh(&str_at(&rotated, "/refresh_token")).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_eq!(of_kind(&app.events_of(&person.user_id).await, "refresh_token_reused").len(), 1);

    // The event belongs to that user only.
    assert!(app.events_of(&bystander.user_id).await.iter().all(|e| e.kind == "signed_in"));
    app.assert_session_alive(&bystander).await;
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_revokes_nothing_and_records_no_reuse() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::from_secs(5)).await;
    let person = app.signed_in("Two Tabs").await;

    let first = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    let second = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    assert_eq!(first["refresh_token"], second["refresh_token"], "the same successor");

    assert_eq!(app.revocation_of(&person.session_id).await, (None, None));
    let events = app.events_of(&person.user_id).await;
    assert_eq!(
        events,
        vec![EventRow {
            kind: "signed_in".into(),
            session_id: Some(person.session_id.clone()),
            actor_session_id: None,
            reason: None,
        }],
        "only the sign-in: {events:#?}"
    );
    json_body(app.me(&str_at(&second, "/access_token")).await, StatusCode::OK).await;
}

// ---------------------------------------------------------------------------------------
// Changing the password
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Forgetful Fay", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;
    let hash_before = app.password_hash_of(&a.user_id).await;

    assert_fn_invalid_field(
        app.call_fn(
            "/fn/password",
            &[("current_password", "not my password at all"), ("new_password", NEW_PASSWORD)],
            &a.access_token,
        )
        .await,
        "/fn/password",
        "current_password",
        "not right",
    )
    .await;

    assert_eq!(app.password_hash_of(&a.user_id).await, hash_before);
    app.assert_session_alive(&a).await;
    app.assert_session_alive(&b).await;
    assert!(of_kind(&app.events_of(&a.user_id).await, "password_changed").is_empty());
    assert_error(app.login(&a.email, NEW_PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    json_body(app.login(&a.email, PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_too_short_or_unchanged_new_password_is_refused_with_the_new_password_field_message() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Short Sid").await;
    let b = app.another_session(&a, None).await;
    let hash_before = app.password_hash_of(&a.user_id).await;

    assert_fn_invalid_field(
        app.call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", "short")], &a.access_token).await,
        "/fn/password",
        "new_password",
        "at least 10 characters",
    )
    .await;
    assert_fn_invalid_field(
        app.call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", PASSWORD)], &a.access_token).await,
        "/fn/password",
        "new_password",
        "different",
    )
    .await;

    assert_eq!(app.password_hash_of(&a.user_id).await, hash_before);
    app.assert_session_alive(&b).await;
    assert!(of_kind(&app.events_of(&a.user_id).await, "password_changed").is_empty());
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_device_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Changing Chloe", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;
    let c = app.another_session(&a, None).await;
    let bystander = app.signed_in("Unrelated Ursula").await;

    let response = app
        .call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)], &a.access_token)
        .await;
    let body = json_body(response, StatusCode::OK).await;
    assert_eq!(body, json!(2), "two other devices were signed out");

    // The others are out at once; this one goes on, refresh included.
    app.assert_session_ended(&b).await;
    app.assert_session_ended(&c).await;
    for s in [&b, &c] {
        assert_eq!(app.revocation_of(&s.session_id).await.1.as_deref(), Some("password_changed"));
    }
    app.assert_session_alive(&a).await;
    json_body(app.refresh(&a.refresh_token).await, StatusCode::OK).await;
    app.assert_session_alive(&bystander).await;

    // Only the new password opens the account now.
    assert_error(app.login(&a.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    json_body(app.login(&a.email, NEW_PASSWORD).await, StatusCode::OK).await;

    let events = app.events_of(&a.user_id).await;
    assert_eq!(
        of_kind(&events, "password_changed"),
        vec![EventRow {
            kind: "password_changed".into(),
            session_id: Some(a.session_id.clone()),
            actor_session_id: Some(a.session_id.clone()),
            reason: None,
        }],
        "{events:#?}"
    );
    let mut revoked = of_kind(&events, "session_revoked");
    revoked.sort_by(|x, y| x.session_id.cmp(&y.session_id));
    let mut expected: Vec<EventRow> = [&b, &c]
        .iter()
        .map(|s| EventRow {
            kind: "session_revoked".into(),
            session_id: Some(s.session_id.clone()),
            actor_session_id: Some(a.session_id.clone()),
            reason: Some("password_changed".into()),
        })
        .collect();
    expected.sort_by(|x, y| x.session_id.cmp(&y.session_id));
    assert_eq!(revoked, expected);
}

#[tokio::test]
async fn changing_the_password_without_a_valid_access_cookie_is_invalid_token() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Anonymous Andy").await;
    let hash_before = app.password_hash_of(&a.user_id).await;

    assert_fn_error(
        app.call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)], "not.a.jwt").await,
        "/fn/password",
        &json!("InvalidToken"),
    )
    .await;
    assert_eq!(app.password_hash_of(&a.user_id).await, hash_before);
}

#[tokio::test]
async fn a_flood_of_wrong_current_passwords_from_one_token_gets_429_after_the_free_failures_without_delaying_another_accounts_sign_in() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Token Thief Target").await;
    let other = app.signed_in("Signing In Sid").await;
    let hash_before = app.password_hash_of(&a.user_id).await;

    // Fifty wrong guesses at once with one access token, while someone else signs in.
    let flood = futures::future::join_all((0..50).map(|i| {
        let guess = format!("guess number {i} is wrong");
        let (app, token) = (&app, a.access_token.clone());
        async move { app.call_fn("/fn/password", &[("current_password", &guess), ("new_password", NEW_PASSWORD)], &token).await }
    }));
    let sign_in = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        json_body(app.login(&other.email, PASSWORD).await, StatusCode::OK).await;
        started.elapsed()
    };
    let (answers, signing_in_took) = tokio::join!(flood, sign_in);
    // A bound on starvation, not a benchmark.
    assert!(signing_in_took < Duration::from_secs(5), "the other sign-in took {signing_in_took:?}");

    // Five free failures, and the sixth that starts the clock (1 s), are checked — and the
    // next one or two, should the flood outlast that second and the next two; every other
    // guess waits: 429 with Retry-After, nothing checked.
    let mut checked = 0;
    let mut longest_wait = 0;
    for response in answers {
        match response.status() {
            StatusCode::UNPROCESSABLE_ENTITY => {
                checked += 1;
                assert_fn_invalid_field(response, "/fn/password", "current_password", "not right").await;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after(&response);
                assert!((1..=60).contains(&wait), "Retry-After {wait}");
                longest_wait = longest_wait.max(wait);
                let error = fn_error(response, "/fn/password").await;
                assert_eq!(error["TooManyAttempts"]["retry_after"].as_u64(), Some(wait), "{error}");
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap_or_default()),
        }
    }
    assert!((6..=8).contains(&checked), "{checked} of 50 checked: the free failures and those the growing waits let through");
    assert_eq!(app.password_hash_of(&a.user_id).await, hash_before);

    // Once the wait is over, the right current password changes it. (The last guess let
    // through may have set a longer wait than the last 429 announced: wait that out too.)
    let right = [("current_password", PASSWORD), ("new_password", NEW_PASSWORD)];
    tokio::time::sleep(Duration::from_secs(longest_wait) + Duration::from_millis(1100)).await;
    let mut response = app.call_fn("/fn/password", &right, &a.access_token).await;
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after(&response);
        assert!(wait <= 4, "no longer than the growing waits of the guesses let through: {wait}");
        tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(1100)).await;
        response = app.call_fn("/fn/password", &right, &a.access_token).await;
    }
    assert_eq!(json_body(response, StatusCode::OK).await, json!(0));
    assert_ne!(app.password_hash_of(&a.user_id).await, hash_before);
    json_body(app.login(&a.email, NEW_PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn with_failure_counting_off_a_flood_of_password_checks_from_one_account_still_lets_another_accounts_sign_in_go_next() {
    // Nothing refuses the flood here: only the hashing queue's turns between accounts keep
    // it from standing in front of everyone else.
    let app = TestApp::spawn_with(|c| c.failed_sign_in_delays = false).await;
    let flooder = app.signed_in("Flooding Flo").await;
    let other = app.signed_in("Waiting Walt").await;
    const FLOOD: usize = 200;

    let answered = AtomicUsize::new(0);
    let flood = futures::future::join_all((0..FLOOD).map(|_| {
        let (app, token, answered) = (&app, flooder.access_token.clone(), &answered);
        async move {
            let fields = [("current_password", "not my password at all"), ("new_password", NEW_PASSWORD)];
            let status = app.call_fn("/fn/password", &fields, &token).await.status();
            answered.fetch_add(1, Ordering::SeqCst);
            status
        }
    }));
    let sign_in = async {
        // Once the flood's first answers are back, the rest of it is queued for hashing.
        while answered.load(Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let before = answered.load(Ordering::SeqCst);
        json_body(app.login(&other.email, PASSWORD).await, StatusCode::OK).await;
        answered.load(Ordering::SeqCst) - before
    };
    let (statuses, overtaken_by) = tokio::join!(flood, sign_in);
    assert!(statuses.iter().all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
    // First come, first served would have it wait for the whole flood.
    assert!(overtaken_by < FLOOD / 4, "{overtaken_by} of the flood's checks went before the sign-in");
}

// ---------------------------------------------------------------------------------------
// Signing out everywhere
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn signing_out_everywhere_revokes_every_session_including_this_one_and_goes_to_the_login_page() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Leaving Lou", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;
    let c = app.another_session(&a, None).await;
    let bystander = app.signed_in("Staying Stan").await;

    let response =
        app.form_post("/auth/sign-out-everywhere", &[], "/settings/sessions", &[("gh_access", &a.access_token)]).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/login?signed_out=1");
    let cookies = set_cookies(&response);
    for (name, path) in [("gh_access", "/"), ("gh_refresh", "/auth")] {
        let cookie = the_cookie(&cookies, name);
        assert_eq!(cookie.value, "", "{}", cookie.raw);
        assert_eq!(cookie.attribute("Max-Age"), Some("0"), "{}", cookie.raw);
        assert_eq!(cookie.attribute("Path"), Some(path), "{}", cookie.raw);
    }

    for s in [&a, &b, &c] {
        app.assert_session_ended(s).await;
        assert_eq!(app.revocation_of(&s.session_id).await.1.as_deref(), Some("signed_out_everywhere"));
    }
    let revoked = of_kind(&app.events_of(&a.user_id).await, "session_revoked");
    assert_eq!(revoked.len(), 3, "{revoked:#?}");
    assert!(
        revoked.iter().all(|e| e.actor_session_id.as_deref() == Some(a.session_id.as_str())
            && e.reason.as_deref() == Some("signed_out_everywhere")),
        "{revoked:#?}"
    );
    app.assert_session_alive(&bystander).await;

    // The settings pages are closed to the old cookie now.
    let response = app.navigate("/settings/sessions", &[("gh_access", &a.access_token)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/auth/refresh?next=%2Fsettings%2Fsessions");
}

// ---------------------------------------------------------------------------------------
// The settings pages
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_settings_pages_without_cookies_go_through_the_refresh_endpoint() {
    let app = TestApp::spawn().await;

    for (path, next) in [
        ("/settings/sessions", "/auth/refresh?next=%2Fsettings%2Fsessions"),
        ("/settings/password", "/auth/refresh?next=%2Fsettings%2Fpassword"),
        ("/settings/password?reported=1", "/auth/refresh?next=%2Fsettings%2Fpassword%3Freported%3D1"),
    ] {
        let response = app.navigate(path, &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), next, "{path}");
    }
}

#[tokio::test]
async fn the_settings_pages_render_on_the_server_for_a_valid_access_cookie() {
    let app = TestApp::spawn().await;
    let person = app.signed_in_from("Settled Sally", Some(FIREFOX_ON_WINDOWS)).await;

    for path in ["/settings/sessions", "/settings/password"] {
        let response = app.navigate(path, &[("gh_access", &person.access_token)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let cache = response.headers().get(reqwest::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert_eq!(cache, "no-store", "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Settled Sally"), "{path}: {html}");
    }
    let html = app.navigate("/settings/sessions", &[("gh_access", &person.access_token)]).await.text().await.unwrap();
    assert!(html.contains("Firefox on Windows"), "{html}");
    assert!(html.contains("This device"), "{html}");
}

#[tokio::test]
async fn signing_out_everywhere_after_the_access_cookie_expired_still_works_with_the_refresh_cookie() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Long Idle Page").await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;
    let expired = app.mint_access_token(&a.user_id, &a.session_id, now() - 10_000);

    // The page sat open past the access token's lifetime: the browser has dropped the access
    // cookie (or still sends the expired one); the refresh cookie is sent under /auth.
    for access in [None, Some(expired.as_str())] {
        let mut cookies = vec![("gh_refresh", a.refresh_token.as_str())];
        if let Some(token) = access {
            cookies.push(("gh_access", token));
        }
        let response = app.form_post("/auth/sign-out-everywhere", &[], "/settings/sessions", &cookies).await;
        assert_eq!(response.status(), StatusCode::FOUND, "access cookie {access:?}");
        if access.is_none() {
            assert_eq!(location(&response), "/login?signed_out=1", "signed out, not sent back with an error");
        }
    }
    for s in [&a, &b] {
        app.assert_session_ended(s).await;
        assert_eq!(app.revocation_of(&s.session_id).await.1.as_deref(), Some("signed_out_everywhere"));
    }
}

#[tokio::test]
async fn only_a_live_refresh_cookie_can_stand_in_for_the_access_cookie_when_signing_out_everywhere() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Guarded Gus").await;
    let b = app.another_session(&a, None).await;
    // A refresh token that was already rotated away (spent), and one of a revoked session.
    let rotated = json_body(app.refresh(&a.refresh_token).await, StatusCode::OK).await;
    let c = app.another_session(&a, None).await;
    assert_eq!(app.logout(&c.access_token).await.status(), StatusCode::NO_CONTENT);

    for (what, token) in [("spent", a.refresh_token.as_str()), ("revoked", c.refresh_token.as_str()), ("garbage", "ghr_nope")]
    {
        let response =
            app.form_post("/auth/sign-out-everywhere", &[], "/settings/sessions", &[("gh_refresh", token)]).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{what}");
        let target = reqwest::Url::parse(&location(&response)).unwrap_or_else(|e| panic!("{what}: Location is a URL: {e}"));
        assert_eq!(target.path(), "/settings/sessions", "{what}: back to the page with the error");
        assert!(target.query_pairs().any(|(k, _)| k == "__err"), "{what}: {target}");
    }
    // Without any cookie, in data mode: InvalidToken.
    let response = app
        .client
        .post(app.url("/auth/sign-out-everywhere"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_fn_error(response, "/auth/sign-out-everywhere", &json!("InvalidToken")).await;

    // Nobody was signed out by any of that.
    json_body(app.me(&str_at(&rotated, "/access_token")).await, StatusCode::OK).await;
    app.assert_session_alive(&b).await;
    assert_eq!(app.revocation_of(&c.session_id).await.1.as_deref(), Some("signed_out"));
}

// ---------------------------------------------------------------------------------------
// A sign-in racing a password change
// ---------------------------------------------------------------------------------------

/// Live sessions of a user, straight from the database.
async fn live_sessions(app: &TestApp, user_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from sessions where user_id = $1 and revoked_at is null")
        .bind(user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap()
}

/// Runs the first half of a sign-in (the password check) with the old password, changes the
/// password through the page's server function, then lets the sign-in finish: exactly the
/// interleaving of a sign-in whose check took a while and a password change that committed
/// meanwhile.
async fn sign_in_straddling_a_password_change(app: &TestApp, person: &SignedIn) -> Result<(), AppError> {
    let client = Client { ip: "127.0.0.1".into(), user_agent: "A racing browser".into(), device_token: None };
    let checked = account::check_password(&app.state, &person.email, PASSWORD, &client, now())
        .await
        .expect("the old password is right when it is checked");
    let changed = app
        .call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)], &person.access_token)
        .await;
    json_body(changed, StatusCode::OK).await;
    account::start_session(&app.state, checked, &client, now()).await.map(|_| ())
}

#[tokio::test]
async fn a_sign_in_checked_against_the_old_password_starts_no_session_once_the_password_has_changed() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Racing Rita").await;

    let finished = sign_in_straddling_a_password_change(&app, &person).await;

    assert_eq!(finished.err(), Some(AppError::InvalidCredentials), "the stale check starts nothing");
    assert_eq!(live_sessions(&app, &person.user_id).await, 1, "only the device that changed the password");
    app.assert_session_alive(&person).await;
    let signed_in = of_kind(&app.events_of(&person.user_id).await, "signed_in");
    assert_eq!(signed_in.len(), 1, "no sign-in event for the refused session: {signed_in:?}");
    json_body(app.login(&person.email, NEW_PASSWORD).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_rehash_on_sign_in_never_writes_the_old_passwords_hash_over_a_new_password() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Rehashing Rob").await;
    // A hash of today's password made with weaker, older parameters: the next sign-in rehashes.
    let older = Passwords::new(8192, 1, 1).expect("valid parameters");
    let old_params_hash = older.hash(&person.email, &Secret::new(PASSWORD)).await.expect("hashing works");
    sqlx::query("update users set password_hash = $1 where id = $2")
        .bind(&old_params_hash)
        .bind(&person.user_id)
        .execute(&app.sql)
        .await
        .unwrap();

    let finished = sign_in_straddling_a_password_change(&app, &person).await;

    assert_eq!(finished.err(), Some(AppError::InvalidCredentials));
    let stored = app.password_hash_of(&person.user_id).await;
    assert_ne!(stored, old_params_hash, "the change replaced the old hash");
    assert!(stored.contains("m=19456,t=2"), "today's parameters, from the change, not a rehash of the old password: {stored}");
    assert_error(app.login(&person.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    json_body(app.login(&person.email, NEW_PASSWORD).await, StatusCode::OK).await;
}

// ---------------------------------------------------------------------------------------
// Passwords as typed
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_password_typed_with_a_combining_accent_signs_in() {
    let app = TestApp::spawn().await;
    let email = crate::helpers::unique_email("keyboards");
    let precomposed = "caf\u{e9} au lait on the balcony";
    let decomposed = "cafe\u{301} au lait on the balcony";
    json_body(app.register(&email, precomposed, "Two Keyboards").await, StatusCode::CREATED).await;

    json_body(app.login(&email, decomposed).await, StatusCode::OK).await;
    json_body(app.login(&email, precomposed).await, StatusCode::OK).await;
    assert_error(app.login(&email, "cafe au lait on the balcony").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn after_an_argon2_parameter_change_unknown_accounts_still_cost_what_the_stored_hashes_cost() {
    let app = TestApp::spawn().await;
    for name in ["Stored One", "Stored Two"] {
        app.signed_in(name).await;
    }
    assert_eq!(app.state.passwords.dummy_cost(), Some((19456, 2, 1)));

    // The same database, served with cheaper parameters from now on.
    let database_url = app.config.database_url();
    let changed = app
        .another_instance(|c| {
            c.database_url = Some(database_url);
            c.argon2_memory_kib = 8192;
            c.argon2_iterations = 1;
        })
        .await;

    assert_eq!(
        changed.state.passwords.dummy_cost(),
        Some((19456, 2, 1)),
        "unknown accounts are checked like the accounts that exist (whose hashes are not rehashed yet)"
    );
}
