//! Two-step verification: setting up an authenticator, signing in with its codes or a
//! recovery code, replays and guesses refused, and the browser's code step without JavaScript.

use crate::helpers::{assert_error, json_body, location, now, set_cookies, str_at, the_cookie, SignedIn, TestApp, PASSWORD};
use gatehouse::server::factors::totp::{Authenticator, STEP_SECS};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn post(app: &TestApp, person: &SignedIn, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).bearer_auth(&person.access_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Turns two-step verification on for `person`; returns the authenticator and the codes.
/// The set-up is confirmed with the code of the step before the current one (a slow phone's),
/// so that it takes that step and leaves the current one and the next unused.
pub(crate) async fn turn_on(app: &TestApp, person: &SignedIn) -> (Authenticator, Vec<String>) {
    let setup = json_body(post(app, person, "/api/v1/me/totp", None).await, StatusCode::OK).await;
    let secret = str_at(&setup, "/secret");
    assert!(str_at(&setup, "/otpauth_uri").starts_with("otpauth://totp/Gatehouse:"), "{setup}");
    let authenticator = Authenticator::from_text(&secret).expect("a base32 secret");
    let code = authenticator.code_for_step(Authenticator::step_of(now()) - 1);
    let confirmed = json_body(post(app, person, "/api/v1/me/totp/confirm", Some(json!({ "code": code }))).await, StatusCode::OK).await;
    let codes: Vec<String> = confirmed["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    (authenticator, codes)
}

/// The password step: the challenge of `second_factor_required`.
pub(crate) async fn challenge_for(app: &TestApp, person: &SignedIn) -> String {
    let body = assert_error(app.login(&person.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "second_factor_required").await;
    assert_eq!(body["error"]["methods"], json!(["totp", "recovery_code"]));
    assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none(), "no tokens: {body}");
    str_at(&body, "/error/challenge")
}

async fn second_factor(app: &TestApp, challenge: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/login/second-factor", &json!({ "challenge": challenge, "code": code })).await
}

/// Waits until the current time step has at least 12 seconds left, so that "this step" and
/// "the next one" mean the same to the test and the server for the rest of a test.
async fn away_from_a_step_boundary() {
    while now().rem_euclid(STEP_SECS) > STEP_SECS - 12 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn live_sessions(app: &TestApp, user_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from sessions where user_id = $1 and revoked_at is null")
        .bind(user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap()
}

#[tokio::test]
async fn setting_up_needs_a_current_code_and_gives_ten_recovery_codes_once() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Careful Cass").await;
    let off = json_body(app.client.get(app.url("/api/v1/me/two-step")).bearer_auth(&person.access_token).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(off, json!({ "enabled": false, "recovery_codes_left": 0 }));

    let setup = json_body(post(&app, &person, "/api/v1/me/totp", None).await, StatusCode::OK).await;
    let secret = str_at(&setup, "/secret");
    let stored: String = sqlx::query_scalar("select secret_sealed from totp_factors where user_id = $1")
        .bind(&person.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert!(stored.starts_with("v1.") && !stored.contains(&secret), "sealed at rest: {stored}");
    let authenticator = Authenticator::from_text(&secret).unwrap();

    // Not on until a right code comes back; wrong and malformed codes say so on the field.
    for wrong in ["000000", "12345", "not a code"] {
        let refused = assert_error(post(&app, &person, "/api/v1/me/totp/confirm", Some(json!({ "code": wrong }))).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
        assert!(refused["error"]["fields"]["code"].is_string(), "{refused}");
    }
    json_body(app.login(&person.email, PASSWORD).await, StatusCode::OK).await; // still password only

    let code = authenticator.code_for_step(Authenticator::step_of(now()));
    let confirmed = json_body(post(&app, &person, "/api/v1/me/totp/confirm", Some(json!({ "code": code }))).await, StatusCode::OK).await;
    let codes = confirmed["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let stored_codes: Vec<Vec<u8>> = sqlx::query_scalar("select code_hash from recovery_codes where user_id = $1")
        .bind(&person.user_id)
        .fetch_all(&app.sql)
        .await
        .unwrap();
    assert_eq!(stored_codes.len(), 10);
    assert!(stored_codes.iter().all(|h| h.len() == 32), "only hashes are stored");
    let on = json_body(app.client.get(app.url("/api/v1/me/two-step")).bearer_auth(&person.access_token).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(on, json!({ "enabled": true, "recovery_codes_left": 10 }));
    assert!(app.events_of(&person.user_id).await.iter().any(|e| e.kind == "two_step_enabled"));

    assert_error(post(&app, &person, "/api/v1/me/totp", None).await, StatusCode::CONFLICT, "two_step_already_on").await;
    assert_error(post(&app, &person, "/api/v1/me/totp/confirm", Some(json!({ "code": code }))).await, StatusCode::CONFLICT, "two_step_already_on").await;
    assert_error(app.client.post(app.url("/api/v1/me/totp")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_right_password_starts_no_session_until_a_code_and_each_code_works_once() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Double Dora").await;
    away_from_a_step_boundary().await;
    let (authenticator, _) = turn_on(&app, &person).await;
    let sessions_before = live_sessions(&app, &person.user_id).await;
    let step = Authenticator::step_of(now());
    let challenge = challenge_for(&app, &person).await;
    assert_eq!(live_sessions(&app, &person.user_id).await, sessions_before, "a challenge is no session");
    // A wrong password is still just a wrong password.
    assert_error(app.login(&person.email, "not the password at all").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // The current step's code (the set-up took the one before).
    let signed_in = json_body(second_factor(&app, &challenge, &authenticator.code_for_step(step)).await, StatusCode::OK).await;
    let session_id = str_at(&signed_in, "/session_id");
    json_body(app.me(&str_at(&signed_in, "/access_token")).await, StatusCode::OK).await;
    let amr: String = sqlx::query_scalar("select amr from sessions where id = $1").bind(&session_id).fetch_one(&app.sql).await.unwrap();
    assert_eq!(amr, "pwd otp");
    let listed = json_body(app.list_sessions(&str_at(&signed_in, "/access_token")).await, StatusCode::OK).await;
    assert_eq!(listed["sessions"][0]["signed_in_with"], "password and authentication code", "{listed}");
    let page = app.navigate("/settings/sessions", &[("gh_access", &str_at(&signed_in, "/access_token"))]).await.text().await.unwrap();
    assert!(page.contains("Signed in with") && page.contains("password and authentication code"), "the devices page says how");
    // The challenge is spent with it.
    assert_error(second_factor(&app, &challenge, &authenticator.code_for_step(step + 1)).await, StatusCode::UNAUTHORIZED, "challenge_expired").await;

    // The same code again, with a fresh challenge: a replay, refused.
    let again = challenge_for(&app, &person).await;
    assert_error(second_factor(&app, &again, &authenticator.code_for_step(step)).await, StatusCode::UNAUTHORIZED, "invalid_code").await;
    // A fast phone's code (the next step) is accepted; then nothing older than it.
    json_body(second_factor(&app, &again, &authenticator.code_for_step(step + 1)).await, StatusCode::OK).await;
    let third = challenge_for(&app, &person).await;
    assert_error(second_factor(&app, &third, &authenticator.code_for_step(step)).await, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert_error(second_factor(&app, &third, &authenticator.code_for_step(step + 3)).await, StatusCode::UNAUTHORIZED, "invalid_code").await;
}

#[tokio::test]
async fn codes_from_one_step_back_are_accepted_for_a_slow_clock() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Slow Sol").await;
    let (authenticator, _) = turn_on(&app, &person).await;
    // The set-up took the step before this one; in the next step, "one step back" is this
    // one, unused.
    let set_up_step = Authenticator::step_of(now());
    while Authenticator::step_of(now()) == set_up_step {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    away_from_a_step_boundary().await;
    let step = Authenticator::step_of(now());
    let challenge = challenge_for(&app, &person).await;
    json_body(second_factor(&app, &challenge, &authenticator.code_for_step(step - 1)).await, StatusCode::OK).await;
    let challenge = challenge_for(&app, &person).await;
    assert_error(second_factor(&app, &challenge, &authenticator.code_for_step(step - 2)).await, StatusCode::UNAUTHORIZED, "invalid_code").await;
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_is_recorded_and_mailed() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Phoneless Phil").await;
    let (_, codes) = turn_on(&app, &person).await;

    let challenge = challenge_for(&app, &person).await;
    // Typed sloppily: upper case, spaces for dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let signed_in = json_body(second_factor(&app, &challenge, &typed).await, StatusCode::OK).await;
    let amr: String = sqlx::query_scalar("select amr from sessions where id = $1")
        .bind(str_at(&signed_in, "/session_id"))
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(amr, "pwd recovery_code");
    let detail: String = sqlx::query_scalar("select detail from security_events where user_id = $1 and kind = 'recovery_code_used'")
        .bind(&person.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(detail, "9");
    let mailed: i64 = sqlx::query_scalar("select count(*) from mail_queue where recipient = $1 and subject like '%A recovery code was used'")
        .bind(&person.email)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(mailed, 1);

    let challenge = challenge_for(&app, &person).await;
    assert_error(second_factor(&app, &challenge, &codes[3]).await, StatusCode::UNAUTHORIZED, "invalid_code").await;
    json_body(second_factor(&app, &challenge, &codes[4]).await, StatusCode::OK).await;

    // New codes: the old ones stop working.
    let renewed = json_body(post(&app, &person, "/api/v1/me/recovery-codes", None).await, StatusCode::OK).await;
    let fresh = renewed["recovery_codes"][0].as_str().unwrap().to_owned();
    let challenge = challenge_for(&app, &person).await;
    assert_error(second_factor(&app, &challenge, &codes[5]).await, StatusCode::UNAUTHORIZED, "invalid_code").await;
    json_body(second_factor(&app, &challenge, &fresh).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_challenge_takes_five_wrong_codes_then_the_password_must_be_typed_again() {
    let app = TestApp::spawn_with(|c| c.failed_sign_in_delays = false).await;
    let person = app.signed_in("Guessed Gus").await;
    let (authenticator, _) = turn_on(&app, &person).await;
    let challenge = challenge_for(&app, &person).await;
    for _ in 0..5 {
        assert_error(second_factor(&app, &challenge, "000000").await, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let right = authenticator.code_for_step(Authenticator::step_of(now()) + 1);
    assert_error(second_factor(&app, &challenge, &right).await, StatusCode::UNAUTHORIZED, "challenge_expired").await;
    for forged in ["", "ghc_short", "ghr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &format!("ghc_{}", "A".repeat(43))] {
        assert_error(second_factor(&app, forged, &right).await, StatusCode::UNAUTHORIZED, "challenge_expired").await;
    }
    // A password change kills challenges made under the old password.
    let pending = challenge_for(&app, &person).await;
    let changed = app.call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase 2")], &person.access_token).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_error(second_factor(&app, &pending, &right).await, StatusCode::UNAUTHORIZED, "challenge_expired").await;
}

#[tokio::test]
async fn the_same_code_sent_twice_at_once_signs_in_once() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Racing Rae").await;
    let (authenticator, _) = turn_on(&app, &person).await;
    away_from_a_step_boundary().await;
    let code = authenticator.code_for_step(Authenticator::step_of(now()) + 1);
    let (a, b) = (challenge_for(&app, &person).await, challenge_for(&app, &person).await);
    let (first, second) = tokio::join!(second_factor(&app, &a, &code), second_factor(&app, &b, &code));
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED], "one code, one sign-in");
}

#[tokio::test]
async fn turning_it_off_brings_back_the_password_alone() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Relaxed Rob").await;
    turn_on(&app, &person).await;
    challenge_for(&app, &person).await;
    let off = app.client.delete(app.url("/api/v1/me/totp")).bearer_auth(&person.access_token).send().await.unwrap();
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    json_body(app.login(&person.email, PASSWORD).await, StatusCode::OK).await;
    let left: i64 = sqlx::query_scalar("select count(*) from recovery_codes where user_id = $1").bind(&person.user_id).fetch_one(&app.sql).await.unwrap();
    assert_eq!(left, 0);
    let kinds: Vec<String> = app.events_of(&person.user_id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"two_step_enabled".to_owned()) && kinds.contains(&"two_step_disabled".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn without_javascript_the_code_step_follows_the_password_in_an_httponly_cookie() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Plain Pat").await;
    let (authenticator, _) = turn_on(&app, &person).await;

    let password = app.form_post("/fn/login", &[("email", &person.email), ("password", PASSWORD), ("next", "/settings/sessions")], "/login", &[]).await;
    assert_eq!(password.status(), StatusCode::FOUND);
    assert_eq!(location(&password), "/login/code?next=%2Fsettings%2Fsessions");
    let cookies = set_cookies(&password);
    assert!(cookies.iter().all(|c| c.name != "gh_access" && c.name != "gh_refresh"), "no tokens yet: {cookies:#?}");
    let challenge = the_cookie(&cookies, "gh_challenge");
    assert!(challenge.has_flag("httponly"));
    assert_eq!(challenge.attribute("path"), Some("/fn/second-factor"));
    assert_eq!(challenge.attribute("samesite").map(str::to_lowercase).as_deref(), Some("strict"));

    let page = app.navigate("/login/code?next=%2Fsettings%2Fsessions", &[]).await.text().await.unwrap();
    assert!(page.contains("Authentication code") && page.contains("Recovery code"), "{page}");

    let wrong = app.form_post("/fn/second-factor", &[("code", "000000"), ("next", "/settings/sessions")], "/login/code", &[("gh_challenge", &challenge.value)]).await;
    assert_eq!(wrong.status(), StatusCode::FOUND, "back to the page with the error");
    assert!(location(&wrong).contains("/login/code?") && location(&wrong).contains("__err="), "{}", location(&wrong));

    let code = authenticator.code_for_step(Authenticator::step_of(now()) + 1);
    let done = app.form_post("/fn/second-factor", &[("code", &code), ("next", "/settings/sessions")], "/login/code", &[("gh_challenge", &challenge.value)]).await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(location(&done), "/settings/sessions");
    let cookies = set_cookies(&done);
    the_cookie(&cookies, "gh_access");
    assert_eq!(the_cookie(&cookies, "gh_challenge").attribute("max-age"), Some("0"), "the challenge cookie is cleared");
}

async fn reauthenticate(app: &TestApp, access_token: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/me/reauthenticate")).bearer_auth(access_token).json(&body).send().await.unwrap()
}

async fn renew_codes(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.client.post(app.url("/api/v1/me/recovery-codes")).bearer_auth(access_token).send().await.unwrap()
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_sign_in_and_a_refresh_does_not_renew_it() {
    let app = TestApp::spawn_with(|c| c.step_up_max_age = Duration::from_secs(2)).await;
    let person = app.signed_in("Stepping Stella").await;
    let claims = crate::helpers::jwt_part(&person.access_token, 1);
    assert_eq!(claims["amr"], json!(["pwd"]));
    let signed_in_at = claims["auth_time"].as_i64().unwrap();
    assert!((signed_in_at - now()).abs() < 5, "{claims}");
    let (authenticator, _) = turn_on(&app, &person).await; // within the first seconds: no question asked

    tokio::time::sleep(Duration::from_secs(3)).await;
    // A refresh is not a sign-in: the new token keeps the old auth_time.
    let refreshed = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    let access = str_at(&refreshed, "/access_token");
    assert_eq!(crate::helpers::jwt_part(&access, 1)["auth_time"].as_i64(), Some(signed_in_at));

    let asked = assert_error(renew_codes(&app, &access).await, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert_eq!(asked["error"]["methods"], json!(["password", "totp"]), "{asked}");
    let off = app.client.delete(app.url("/api/v1/me/totp")).bearer_auth(&access).send().await.unwrap();
    assert_error(off, StatusCode::FORBIDDEN, "reauthentication_required").await;

    // Confirming takes the password and, with two-step verification on, a code.
    let wrong = assert_error(reauthenticate(&app, &access, json!({ "password": "not the password at all" })).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(wrong["error"]["fields"]["password"].is_string(), "{wrong}");
    let no_code = assert_error(reauthenticate(&app, &access, json!({ "password": PASSWORD })).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(no_code["error"]["fields"]["code"].is_string(), "{no_code}");
    let code = authenticator.code_for_step(Authenticator::step_of(now()) + 1);
    let confirmed = json_body(reauthenticate(&app, &access, json!({ "password": PASSWORD, "code": code })).await, StatusCode::OK).await;
    let fresh = str_at(&confirmed, "/access_token");
    let fresh_claims = crate::helpers::jwt_part(&fresh, 1);
    assert!(fresh_claims["auth_time"].as_i64().unwrap() > signed_in_at, "{fresh_claims}");
    assert_eq!(fresh_claims["amr"], json!(["pwd", "otp"]));
    assert_eq!(fresh_claims["sid"], person.session_id.as_str(), "the same session");
    // The same code cannot confirm twice.
    assert_error(reauthenticate(&app, &access, json!({ "password": PASSWORD, "code": code })).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;

    json_body(renew_codes(&app, &fresh).await, StatusCode::OK).await;
    // The refresh token still works, and its next access token keeps the new proof.
    let next = json_body(app.refresh(&str_at(&refreshed, "/refresh_token")).await, StatusCode::OK).await;
    assert_eq!(crate::helpers::jwt_part(&str_at(&next, "/access_token"), 1)["auth_time"], fresh_claims["auth_time"]);
}

#[tokio::test]
async fn without_two_step_verification_the_password_alone_confirms() {
    let app = TestApp::spawn_with(|c| c.step_up_max_age = Duration::from_secs(1)).await;
    let person = app.signed_in("Plain Step Perry").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let begin = app.client.post(app.url("/api/v1/me/totp")).bearer_auth(&person.access_token).send().await.unwrap();
    let asked = assert_error(begin, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert_eq!(asked["error"]["methods"], json!(["password"]));
    let changed = app.call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", "a brand new passphrase 2")], &person.access_token).await;
    assert_eq!(changed.status(), StatusCode::FORBIDDEN, "changing the password asks too");
    let confirmed = json_body(reauthenticate(&app, &person.access_token, json!({ "password": PASSWORD })).await, StatusCode::OK).await;
    let fresh = str_at(&confirmed, "/access_token");
    json_body(app.client.post(app.url("/api/v1/me/totp")).bearer_auth(&fresh).send().await.unwrap(), StatusCode::OK).await;
}

#[tokio::test]
async fn without_javascript_a_stale_sign_in_is_confirmed_on_the_page_and_the_form_sent_again() {
    let app = TestApp::spawn_with(|c| c.step_up_max_age = Duration::from_secs(1)).await;
    let person = app.signed_in("Plain Step Pip").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let new_email = crate::helpers::unique_email("plainstep");
    let cookie = [("gh_access", person.access_token.as_str())];
    let fields = [("new_email", new_email.as_str()), ("password", PASSWORD)];

    let refused = app.form_post("/fn/change-email", &fields, "/settings/password", &cookie).await;
    assert_eq!(refused.status(), StatusCode::FOUND);
    let back = location(&refused);
    assert!(back.contains("__err="), "{back}");
    let url = reqwest::Url::parse(&back).unwrap_or_else(|_| reqwest::Url::parse(&app.url(&back)).unwrap());
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let page = app.navigate(&path, &cookie).await.text().await.unwrap();
    assert!(page.contains("Confirm it&#x27;s you") || page.contains("Confirm it's you"), "the panel shows without JavaScript: {page}");
    assert!(page.contains("confirm_password") && page.contains("name=\"next\""), "{page}");

    let confirmed = app.form_post("/fn/reauthenticate", &[("confirm_password", PASSWORD), ("next", "/settings/password")], &path, &cookie).await;
    assert_eq!(confirmed.status(), StatusCode::FOUND);
    assert_eq!(location(&confirmed), "/settings/password");
    let fresh = the_cookie(&set_cookies(&confirmed), "gh_access");
    let sent = app.form_post("/fn/change-email", &fields, "/settings/password", &[("gh_access", &fresh.value)]).await;
    assert_eq!(location(&sent), "/settings/password?email_change=sent");
}
