//! Operators: every operator route refuses everyone else (the list comes from the OpenAPI
//! document and the registered server functions, not from this file), the actions need a
//! recent authentication, disabled accounts stay out on every instance, and every action is
//! audited, shown to the person and mailed.

use crate::helpers::{assert_error, assert_fn_error, json_body, now, str_at, unique_email, SignedIn, TestApp, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Makes the person an operator, as `gatehouse admin grant` does.
pub async fn grant(app: &TestApp, person: &SignedIn) {
    assert!(gatehouse::server::operators::set_operator(&app.state.db, &person.email, true, now()).await.unwrap());
}

async fn operator(app: &TestApp) -> SignedIn {
    let op = app.signed_in("Olga Operator").await;
    grant(app, &op).await;
    op
}

/// The token of the newest reset link mailed to `email` (the outbox folder), waiting for it.
async fn latest_reset_token(app: &TestApp, email: &str) -> String {
    let outbox = app.config.data_dir.join("outbox");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&outbox) {
            for entry in entries.flatten() {
                let raw = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if raw.contains(&format!("To: {email}")) && crate::smtp_sink::decoded(&raw).contains("/reset-password?token=") {
                    found.push((entry.metadata().and_then(|m| m.modified()).unwrap(), raw));
                }
            }
        }
        found.sort_by_key(|(at, _)| *at);
        if let Some((_, raw)) = found.last() {
            return crate::smtp_sink::link_token(raw, "/reset-password");
        }
        assert!(std::time::Instant::now() < deadline, "a reset mail to {email}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    app.client.request(method, app.url(path)).bearer_auth(token).send().await.expect("request sent")
}

async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    json_body(call(app, Method::GET, path, token).await, StatusCode::OK).await
}

async fn act(app: &TestApp, op: &SignedIn, user_id: &str, action: &str) -> reqwest::Response {
    call(app, Method::POST, &format!("/api/v1/admin/users/{user_id}/{action}"), &op.access_token).await
}

/// Every operation under /api/v1/admin in the served OpenAPI document, `{id}` filled in.
async fn operator_api_routes(app: &TestApp, id: &str) -> Vec<(Method, String)> {
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            routes.push((method, path.replace("{id}", id)));
        }
    }
    routes
}

/// Every registered server function of the operators' pages.
fn operator_server_fns() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> =
        leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).filter(|p| p.starts_with("/fn/admin/")).collect();
    paths.sort_unstable();
    paths
}

#[tokio::test]
async fn every_operator_route_and_server_function_refuses_a_non_operator_with_403() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let person = app.signed_in("Norma Nobody").await;
    let routes = operator_api_routes(&app, &op.user_id).await;
    // The document lists them all: search, detail, five actions, the audit log.
    assert_eq!(routes.len(), 8, "{routes:?}");
    for (method, path) in &routes {
        // Signed in moments ago: a recent authentication, so only operator status is missing.
        assert_error(call(&app, method.clone(), path, &person.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;
        let anonymous = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_error(anonymous, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
    let fns = operator_server_fns();
    assert_eq!(fns.len(), 8, "{fns:?}");
    for path in &fns {
        let answer = app.call_fn(path, &[("id", &op.user_id)], &person.access_token).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert!(body.to_string().contains("Only operators"), "{path}: {body}");
    }
    // Nothing happened to the operator the non-operator aimed at.
    app.assert_session_alive(&op).await;
    let disabled: Option<i64> = sqlx::query_scalar("select disabled_at from users where id = $1").bind(&op.user_id).fetch_one(&app.sql).await.unwrap();
    assert_eq!(disabled, None);
    let logged: i64 = sqlx::query_scalar("select count(*) from operator_actions").fetch_one(&app.sql).await.unwrap();
    assert_eq!(logged, 0);
}

#[tokio::test]
async fn operator_status_is_read_from_the_account_not_from_the_token() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    // A token minted after the grant carries the hint …
    let fresh = app.another_session(&op, None).await;
    let claims = crate::helpers::jwt_part(&fresh.access_token, 1);
    assert_eq!(claims["op"], Value::Bool(true));
    get_json(&app, "/api/v1/admin/users", &fresh.access_token).await;
    // … and is refused once the status is revoked, hint or not.
    assert!(gatehouse::server::operators::set_operator(&app.state.db, &op.email, false, now()).await.unwrap());
    assert_error(call(&app, Method::GET, "/api/v1/admin/users", &fresh.access_token).await, StatusCode::FORBIDDEN, "forbidden").await;
    // Someone else's token never carries it.
    let person = app.signed_in("Plain Pat").await;
    assert!(crate::helpers::jwt_part(&person.access_token, 1).get("op").is_none());
}

#[tokio::test]
async fn operator_actions_need_a_recent_authentication() {
    let app = TestApp::spawn_with(|c| c.step_up_max_age = Duration::from_secs(30)).await;
    let op = operator(&app).await;
    let person = app.signed_in("Stale Stan").await;
    // The operator's session proved who they are two minutes ago.
    let stale = app.mint_access_token(&op.user_id, &op.session_id, now() - 120);
    // Looking needs no step-up …
    get_json(&app, &format!("/api/v1/admin/users/{}", person.user_id), &stale).await;
    // … every action does.
    for action in ["disable", "enable", "sign-out", "send-reset", "remove-second-factor"] {
        let answer = call(&app, Method::POST, &format!("/api/v1/admin/users/{}/{action}", person.user_id), &stale).await;
        assert_error(answer, StatusCode::FORBIDDEN, "reauthentication_required").await;
    }
    app.assert_session_alive(&person).await;
    // "Confirm it's you" renews it, and the action goes through.
    let confirmed = json_body(
        app.client
            .post(app.url("/api/v1/me/reauthenticate"))
            .bearer_auth(&stale)
            .json(&serde_json::json!({ "password": PASSWORD }))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let fresh = str_at(&confirmed, "/access_token");
    assert_eq!(call(&app, Method::POST, &format!("/api/v1/admin/users/{}/sign-out", person.user_id), &fresh).await.status(), StatusCode::NO_CONTENT);
    app.assert_session_ended(&person).await;
}

/// The question a page asks before it sends a plain form that needs a recent sign-in (an
/// operator's action): the same answer the action would give, and nothing changes.
#[tokio::test]
async fn a_page_asks_whether_a_sign_in_is_recent_enough_before_sending_a_sensitive_form() {
    let app = TestApp::spawn_with(|c| c.step_up_max_age = Duration::from_secs(30)).await;
    let op = operator(&app).await;
    const CHECK: &str = "/fn/step-up/check";
    // Signed in a moment ago: nothing to confirm.
    assert_eq!(app.call_fn(CHECK, &[], &op.access_token).await.status(), StatusCode::OK);
    // Two minutes ago: confirm first — with the password alone, then with a code as well.
    let stale = app.mint_access_token(&op.user_id, &op.session_id, now() - 120);
    let asked = serde_json::json!({ "ReauthenticationRequired": { "two_step": false, "passkey": false } });
    assert_fn_error(app.call_fn(CHECK, &[], &stale).await, CHECK, &asked).await;
    let answer = call(&app, Method::POST, &format!("/api/v1/admin/users/{}/disable", op.user_id), &stale).await;
    assert_error(answer, StatusCode::FORBIDDEN, "reauthentication_required").await;
    crate::two_step::turn_on(&app, &op).await; // with the fresh token
    let with_code = serde_json::json!({ "ReauthenticationRequired": { "two_step": true, "passkey": false } });
    assert_fn_error(app.call_fn(CHECK, &[], &stale).await, CHECK, &with_code).await;
    // Without a valid token, no answer about anyone.
    assert_fn_error(app.call_fn(CHECK, &[], "not.a.jwt").await, CHECK, &serde_json::json!("InvalidToken")).await;
    // Asking changed nothing: the operator is still in, and still stale.
    app.assert_session_alive(&op).await;
    assert_fn_error(app.call_fn(CHECK, &[], &stale).await, CHECK, &with_code).await;
}

#[tokio::test]
async fn an_operator_finds_accounts_by_the_start_of_an_address_or_a_name_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    // 25 accounts whose address starts with the tag, one whose name does.
    let hash = app.password_hash_of(&op.user_id).await;
    for i in 0..25 {
        gatehouse::server::users::insert(&app.state.db, &format!("{tag}{i:02}@example.com"), "Someone", &hash, now()).await.unwrap();
    }
    let named = gatehouse::server::users::insert(&app.state.db, &unique_email("other"), &format!("{}Zed Named", tag.to_uppercase()), &hash, now())
        .await
        .unwrap();
    let first = get_json(&app, &format!("/api/v1/admin/users?q={}", tag.to_uppercase()), &op.access_token).await;
    let users = first["users"].as_array().unwrap();
    assert_eq!(users.len(), 20);
    let emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    let mut sorted = emails.clone();
    sorted.sort_unstable();
    assert_eq!(emails, sorted, "by address");
    assert!(emails.iter().all(|e| e.starts_with(&tag)));
    let after = str_at(&first, "/next_after");
    let second = get_json(&app, &format!("/api/v1/admin/users?q={tag}&after={}", after), &op.access_token).await;
    let rest: Vec<&str> = second["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(rest.len(), 6, "5 more addresses and the name: {rest:?}");
    assert!(rest.contains(&named.email.as_str()));
    assert!(second["next_after"].is_null());
    assert!(!rest.iter().any(|e| emails.contains(e)), "no account twice");
    // Nothing matches: an empty page, not an error.
    let none = get_json(&app, "/api/v1/admin/users?q=zzzz-no-such-thing", &op.access_token).await;
    assert_eq!(none["users"].as_array().unwrap().len(), 0);
    // Over-long input is refused clearly.
    let long = "a".repeat(400);
    assert_error(call(&app, Method::GET, &format!("/api/v1/admin/users?q={long}"), &op.access_token).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    // An unknown account is 404.
    assert_error(call(&app, Method::GET, "/api/v1/admin/users/no-such-id", &op.access_token).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn disabling_ends_every_session_and_sign_in_answers_exactly_as_a_wrong_password() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let laptop = app.signed_in("Disabled Dora").await;
    let phone = app.another_session(&laptop, None).await;

    assert_eq!(act(&app, &op, &laptop.user_id, "disable").await.status(), StatusCode::NO_CONTENT);

    // Every session ended at once: tokens refused, refresh refused.
    for session in [&laptop, &phone] {
        app.assert_session_ended(session).await;
        assert_error(app.refresh(&session.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
        assert_eq!(app.revocation_of(&session.session_id).await.1.as_deref(), Some("account_disabled"));
    }
    // The right password answers what a wrong one does, word for word.
    let right = assert_error(app.login(&laptop.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let wrong = assert_error(app.login(&laptop.email, "not the password at all").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(right, wrong);
    // "Forgot password?" sends nothing to a disabled account.
    app.post_json("/api/v1/auth/forgot-password", &serde_json::json!({ "email": laptop.email })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let links: i64 = sqlx::query_scalar("select count(*) from link_tokens where user_id = $1 and purpose = 'password_reset'").bind(&laptop.user_id).fetch_one(&app.sql).await.unwrap();
    assert_eq!(links, 0);
    // An operator cannot send it one either, until it is enabled.
    assert_error(act(&app, &op, &laptop.user_id, "send-reset").await, StatusCode::CONFLICT, "account_disabled").await;
    // Disabling again changes nothing; an operator cannot disable themselves.
    assert_eq!(act(&app, &op, &laptop.user_id, "disable").await.status(), StatusCode::NO_CONTENT);
    assert_error(act(&app, &op, &op.user_id, "disable").await, StatusCode::BAD_REQUEST, "malformed_request").await;

    assert_eq!(act(&app, &op, &laptop.user_id, "enable").await.status(), StatusCode::NO_CONTENT);
    json_body(app.login(&laptop.email, PASSWORD).await, StatusCode::OK).await;

    // Audited, in the person's activity, and mailed.
    let log = get_json(&app, "/api/v1/admin/audit", &op.access_token).await;
    let actions: Vec<(String, String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (str_at(e, "/action"), str_at(e, "/operator_email"), str_at(e, "/target_email")))
        .collect();
    assert_eq!(
        actions,
        vec![("enable".into(), op.email.clone(), laptop.email.clone()), ("disable".into(), op.email.clone(), laptop.email.clone())],
        "newest first, each once"
    );
    let detail = get_json(&app, &format!("/api/v1/admin/users/{}", laptop.user_id), &op.access_token).await;
    let texts: Vec<String> = detail["events"].as_array().unwrap().iter().map(|e| str_at(e, "/text")).collect();
    assert!(texts.iter().any(|t| t.starts_with("An administrator disabled your account")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "An administrator enabled your account again"), "{texts:?}");
    assert!(texts.iter().filter(|t| t.contains("because an administrator disabled your account")).count() == 2, "{texts:?}");
    let subjects: Vec<String> = sqlx::query_scalar("select subject from mail_queue where recipient = $1 order by created_at, id")
        .bind(&laptop.email)
        .fetch_all(&app.sql)
        .await
        .unwrap();
    assert!(subjects.contains(&"Gatehouse: Your account was disabled".to_owned()), "{subjects:?}");
    assert!(subjects.contains(&"Gatehouse: Your account was enabled".to_owned()), "{subjects:?}");
}

#[tokio::test]
async fn an_operator_signs_out_one_session_or_all_and_the_person_is_told() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let laptop = app.signed_in("Signed-out Sam").await;
    let phone = app.another_session(&laptop, Some(crate::helpers::SAFARI_ON_IPHONE)).await;
    let tablet = app.another_session(&laptop, None).await;

    let detail = get_json(&app, &format!("/api/v1/admin/users/{}", laptop.user_id), &op.access_token).await;
    let sessions = detail["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(sessions.iter().any(|s| str_at(s, "/device") == "Safari on iPhone"), "{sessions:?}");

    let one = call(&app, Method::POST, &format!("/api/v1/admin/users/{}/sign-out?session_id={}", laptop.user_id, phone.session_id), &op.access_token).await;
    assert_eq!(one.status(), StatusCode::NO_CONTENT);
    app.assert_session_ended(&phone).await;
    app.assert_session_alive(&laptop).await;
    app.assert_session_alive(&tablet).await;
    // Someone else's session id is unknown here.
    let theirs = call(&app, Method::POST, &format!("/api/v1/admin/users/{}/sign-out?session_id={}", laptop.user_id, op.session_id), &op.access_token).await;
    assert_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    app.assert_session_alive(&op).await;

    assert_eq!(act(&app, &op, &laptop.user_id, "sign-out").await.status(), StatusCode::NO_CONTENT);
    app.assert_session_ended(&laptop).await;
    app.assert_session_ended(&tablet).await;

    let events = app.events_of(&laptop.user_id).await;
    let by_operator = events.iter().filter(|e| e.reason.as_deref() == Some("operator")).count();
    assert_eq!(by_operator, 3);
    let signed_in = json_body(app.login(&laptop.email, PASSWORD).await, StatusCode::OK).await;
    let dashboard = app.call_fn("/fn/dashboard", &[], &str_at(&signed_in, "/access_token")).await;
    let text = dashboard.text().await.unwrap();
    assert!(text.contains("An administrator signed you out of Safari on iPhone"), "{text}");
    let log = get_json(&app, "/api/v1/admin/audit", &op.access_token).await;
    let actions: Vec<String> = log["entries"].as_array().unwrap().iter().map(|e| str_at(e, "/action")).collect();
    assert_eq!(actions, ["sign_out_all", "sign_out"]);
}

#[tokio::test]
async fn removing_a_lost_second_factor_makes_the_next_sign_in_set_a_new_password_first() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let person = app.signed_in("Lost-phone Lee").await;
    // No second factor: nothing to remove.
    assert_error(act(&app, &op, &person.user_id, "remove-second-factor").await, StatusCode::BAD_REQUEST, "malformed_request").await;
    crate::two_step::turn_on(&app, &person).await;

    assert_eq!(act(&app, &op, &person.user_id, "remove-second-factor").await.status(), StatusCode::NO_CONTENT);
    app.assert_session_ended(&person).await;
    let detail = get_json(&app, &format!("/api/v1/admin/users/{}", person.user_id), &op.access_token).await;
    assert_eq!(detail["factors"]["authenticator"], Value::Bool(false));
    assert_eq!(detail["password_reset_required"], Value::Bool(true));

    // The right password alone starts nothing: a link goes to the mailbox.
    assert_error(app.login(&person.email, PASSWORD).await, StatusCode::FORBIDDEN, "password_reset_required").await;
    assert_error(app.login(&person.email, "a wrong password here").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let live: i64 = sqlx::query_scalar("select count(*) from sessions where user_id = $1 and revoked_at is null")
        .bind(&person.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(live, 0);
    let token = latest_reset_token(&app, &person.email).await;
    let reset = app
        .post_json("/api/v1/auth/reset-password", &serde_json::json!({ "token": token, "new_password": "a brand new passphrase" }))
        .await;
    json_body(reset, StatusCode::OK).await;
    json_body(app.login(&person.email, "a brand new passphrase").await, StatusCode::OK).await;
}

#[tokio::test]
async fn an_operator_mails_a_reset_link() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let person = app.signed_in("Forgetful Fay").await;
    assert_eq!(act(&app, &op, &person.user_id, "send-reset").await.status(), StatusCode::NO_CONTENT);
    let token = latest_reset_token(&app, &person.email).await;
    let reset = app
        .post_json("/api/v1/auth/reset-password", &serde_json::json!({ "token": token, "new_password": "another fine passphrase" }))
        .await;
    json_body(reset, StatusCode::OK).await;
    let kinds: Vec<String> = app.events_of(&person.user_id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"reset_link_sent_by_operator".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn a_disabled_account_is_out_on_every_instance_at_once() {
    if !crate::helpers::on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (set GATEHOUSE_TEST_POSTGRES; scripts/test.sh does)");
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.another_instance(|_| {}).await;
    let op = operator(&a).await;
    let person = a.signed_in("Everywhere Eve").await;
    let second = b.another_session(&person, None).await;
    // B has accepted both tokens before.
    json_body(b.me(&person.access_token).await, StatusCode::OK).await;
    json_body(b.me(&second.access_token).await, StatusCode::OK).await;

    assert_eq!(act(&a, &op, &person.user_id, "disable").await.status(), StatusCode::NO_CONTENT);
    let started = std::time::Instant::now();
    for token in [&person.access_token, &second.access_token] {
        loop {
            let status = b.me(token).await.status();
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert_eq!(status, StatusCode::OK);
            assert!(started.elapsed() < Duration::from_secs(1), "B refuses the disabled account's tokens within a second");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for app in [&a, &b] {
        assert_error(app.refresh(&second.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
        assert_error(app.login(&person.email, PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_eq!(act(&a, &op, &person.user_id, "enable").await.status(), StatusCode::NO_CONTENT);
    json_body(b.login(&person.email, PASSWORD).await, StatusCode::OK).await;
}
