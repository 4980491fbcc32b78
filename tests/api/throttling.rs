//! Throttling without lockout, over HTTP: growing delays after failed sign-ins per account
//! and per client address, request rates for sign-in, registration and refresh, the client
//! address taken from `X-Forwarded-For` only behind a trusted proxy.
//!
//! Real argon2 everywhere; the per-address sign-in rate is switched off (0) where a test
//! is about the failure delays, so only the mechanism under test can answer 429.

use crate::helpers::{
    assert_error, fn_error, json_body, location, set_cookies, str_at, unique_email, TestApp, PASSWORD,
};
use base64::{engine::general_purpose::URL_SAFE, Engine};
use reqwest::{header, Response, StatusCode};
use serde_json::json;
use std::time::Duration;

const WRONG: &str = "definitely not the password";
const PROXY: &str = "127.0.0.1/32";

fn behind_proxy(config: &mut gatehouse::server::config::Config) {
    config.trusted_proxies = vec![PROXY.parse().unwrap()];
}

/// `POST /api/v1/auth/login`, optionally with `X-Forwarded-For`.
async fn login(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> Response {
    let mut request = app.client.post(app.url("/api/v1/auth/login")).json(&json!({ "email": email, "password": password }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.expect("request sent")
}

async fn register(app: &TestApp, email: &str, forwarded_for: &str) -> Response {
    app.client
        .post(app.url("/api/v1/auth/register"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": PASSWORD, "display_name": "Rate Limited" }))
        .send()
        .await
        .expect("request sent")
}

async fn refresh(app: &TestApp, token: &str, forwarded_for: &str) -> Response {
    app.client
        .post(app.url("/api/v1/auth/refresh"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
        .expect("request sent")
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a 429 carries Retry-After in whole seconds: {:?}", response.headers()))
}

/// Asserts a 429 `too_many_attempts` with a `Retry-After` of at least one second (and at
/// most the per-address cap); returns the wait.
async fn assert_too_many(response: Response) -> u64 {
    let wait = retry_after(&response);
    assert!((1..=15 * 60).contains(&wait), "Retry-After {wait}");
    let body = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("seconds"), "the message tells how long: {message}");
    wait
}

/// Keeps failing sign-ins (`attempt(i)` makes the i-th request) until a 429 promises a wait
/// of at least `min_wait` seconds, sleeping out shorter waits so the failures go on
/// counting. Asserts the first `free` attempts were plain 401s. Returns the wait.
pub(crate) async fn fail_until_throttled<F, Fut>(free: usize, min_wait: u64, mut attempt: F) -> u64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    for i in 0..free {
        let response = attempt(i).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Doubling waits: 1 s, 2 s, 4 s … — a handful more failures reach any small wait.
    for i in free..free + 12 {
        let response = attempt(i).await;
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = assert_too_many(response).await;
                if wait >= min_wait {
                    return wait;
                }
                tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
            }
            other => panic!("attempt {i}: unexpected {other}: {}", response.text().await.unwrap_or_default()),
        }
    }
    panic!("no growing wait after {} failed sign-ins", free + 12);
}

// ---------------------------------------------------------------------------------------
// Failed sign-ins, per account
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn after_five_free_failures_an_account_answers_429_with_retry_after_even_to_the_right_password_and_opens_again_after_the_wait() {
    let app = TestApp::spawn_with(|c| c.login_rate_per_minute = 0).await;
    let victim = app.signed_in("Guessed At").await;
    let bystander = app.signed_in("Same Office").await;

    // Five free failures, the sixth is still checked (and starts the clock): 401 all.
    let wait = fail_until_throttled(6, 3, |_| login(&app, &victim.email, WRONG, None)).await;
    assert!(wait <= 60, "an account waits at most a minute however many guesses: {wait}");

    // While the wait lasts, even the right password is refused — no oracle for the guesser.
    let wait = assert_too_many(login(&app, &victim.email, PASSWORD, None).await).await;
    // Other accounts from the very same client are not slowed down by that account's wait.
    json_body(login(&app, &bystander.email, PASSWORD, None).await, StatusCode::OK).await;

    // Not a lockout: once the wait is over, the owner signs in.
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(1100)).await;
    let body = json_body(login(&app, &victim.email, PASSWORD, None).await, StatusCode::OK).await;
    assert_eq!(str_at(&body, "/user/id"), victim.user_id);
    // A success clears the record: the next mistake is a plain 401 again.
    assert_error(login(&app, &victim.email, WRONG, None).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn unknown_accounts_are_throttled_like_real_ones_so_429_reveals_nothing() {
    let app = TestApp::spawn_with(|c| c.login_rate_per_minute = 0).await;
    let nobody = unique_email("nobody");

    fail_until_throttled(6, 2, |_| login(&app, &nobody, WRONG, None)).await;
    assert_too_many(login(&app, &nobody, PASSWORD, None).await).await;
}

#[tokio::test]
async fn the_no_js_sign_in_form_is_throttled_too_with_the_error_in_the_redirect_and_no_cookies() {
    let app = TestApp::spawn_with(|c| c.login_rate_per_minute = 0).await;
    let victim = app.signed_in("Form Guessed").await;
    let form = |password: &'static str| {
        let email = victim.email.clone();
        let app = &app;
        async move {
            app.form_post(
                "/fn/login",
                &[("email", email.as_str()), ("password", password), ("next", "/dashboard")],
                "/login?next=%2Fdashboard",
                &[],
            )
            .await
        }
    };
    let error_in_redirect = |response: &Response| -> String {
        let target = reqwest::Url::parse(&location(response)).unwrap_or_else(|e| panic!("Location is a URL: {e}"));
        assert_eq!(target.path(), "/login", "back to the form");
        let err = target
            .query_pairs()
            .find(|(k, _)| k == "__err")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("__err in {target}"));
        String::from_utf8(URL_SAFE.decode(err).expect("base64url")).expect("utf-8")
    };

    // The failures through the form count like any other.
    for _ in 0..6 {
        let response = form(WRONG).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(error_in_redirect(&response).contains("InvalidCredentials"));
    }
    fail_until_throttled(0, 3, |_| login(&app, &victim.email, WRONG, None)).await;

    // Without JavaScript: the right password, refused, the error carried in the redirect.
    let response = form(PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(set_cookies(&response).iter().all(|c| c.name != "gh_access" && c.name != "gh_refresh"), "no cookies");
    let error = error_in_redirect(&response);
    assert!(error.contains("TooManyAttempts"), "{error}");

    // With JavaScript (data mode): the server function answers 429 with Retry-After.
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("email", victim.email.as_str()), ("password", PASSWORD)])
        .finish();
    let response = app
        .client
        .post(app.url("/fn/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, app.origin())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&response) >= 1);
    assert!(set_cookies(&response).iter().all(|c| c.name != "gh_access"), "no cookies");
    let error = fn_error(response, "/fn/login").await;
    assert!(error["TooManyAttempts"]["retry_after"].as_u64().unwrap_or_default() >= 1, "{error}");
}

// ---------------------------------------------------------------------------------------
// Failed sign-ins, per client address
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn one_abusive_address_behind_a_trusted_proxy_is_throttled_while_another_address_signs_in() {
    let app = TestApp::spawn_with(|c| {
        c.login_rate_per_minute = 0;
        behind_proxy(c);
    })
    .await;
    let victim = app.signed_in("Popular Target").await;
    let abuser = "203.0.113.66";

    // Credential stuffing: one guess each at many accounts, so no account throttle kicks in;
    // 20 failures per address are free.
    let accounts: Vec<String> = (0..40).map(|i| unique_email(&format!("stuffed{i}"))).collect();
    fail_until_throttled(20, 3, |i| {
        let (app, email) = (&app, accounts[i].clone());
        async move { login(app, &email, WRONG, Some(abuser)).await }
    })
    .await;

    // The abusive address gets nowhere, not even with a right password…
    assert_too_many(login(&app, &victim.email, PASSWORD, Some(abuser)).await).await;
    // …while everyone else, behind the same proxy, signs in at once.
    let body = json_body(login(&app, &victim.email, PASSWORD, Some("198.51.100.7")).await, StatusCode::OK).await;
    let session = str_at(&body, "/session_id");
    let (ip,): (String,) =
        sqlx::query_as("select ip from sessions where id = $1").bind(&session).fetch_one(&app.sql).await.unwrap();
    assert_eq!(ip, "198.51.100.7", "the client address is the one the trusted proxy forwarded");
    // The proxy itself (a request without the header) is not throttled either.
    json_body(login(&app, &victim.email, PASSWORD, None).await, StatusCode::OK).await;
}

#[tokio::test]
async fn without_a_trusted_proxy_a_spoofed_x_forwarded_for_neither_escapes_the_throttle_nor_is_recorded() {
    let app = TestApp::spawn_with(|c| c.login_rate_per_minute = 0).await;
    let victim = app.signed_in("Spoof Target").await;

    // A forged header on a good sign-in is not believed.
    let body = json_body(login(&app, &victim.email, PASSWORD, Some("203.0.113.9")).await, StatusCode::OK).await;
    let (ip,): (String,) = sqlx::query_as("select ip from sessions where id = $1")
        .bind(str_at(&body, "/session_id"))
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(ip, "127.0.0.1", "the connection's peer, not the made-up header");

    // A fresh made-up address on every guess: all of them still count against the peer.
    let accounts: Vec<String> = (0..40).map(|i| unique_email(&format!("spoofed{i}"))).collect();
    fail_until_throttled(20, 3, |i| {
        let (app, email, spoofed) = (&app, accounts[i].clone(), format!("198.51.100.{}", i + 1));
        async move { login(app, &email, WRONG, Some(&spoofed)).await }
    })
    .await;
    assert_too_many(login(&app, &victim.email, PASSWORD, Some("192.0.2.200")).await).await;
    assert_too_many(login(&app, &victim.email, PASSWORD, None).await).await;
}

// ---------------------------------------------------------------------------------------
// Request rates per address
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_fourth_registration_a_minute_from_one_address_is_429_while_another_address_registers() {
    let app = TestApp::spawn_with(|c| {
        c.register_rate_per_minute = 3;
        behind_proxy(c);
    })
    .await;
    let busy = "203.0.113.10";

    for i in 0..3 {
        json_body(register(&app, &unique_email(&format!("burst{i}")), busy).await, StatusCode::CREATED).await;
    }
    let refused = unique_email("fourth");
    let wait = assert_too_many(register(&app, &refused, busy).await).await;
    assert!(wait <= 60, "within the minute: {wait}");

    let (stored,): (i64,) =
        sqlx::query_as("select count(*) from users where email = $1").bind(&refused).fetch_one(&app.sql).await.unwrap();
    assert_eq!(stored, 0, "the refused registration stored nothing");
    // Another address is not affected.
    json_body(register(&app, &refused, "198.51.100.20").await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn refreshing_over_the_rate_is_429_without_spending_the_token_and_another_address_is_unaffected() {
    let app = TestApp::spawn_with(|c| {
        c.refresh_rate_per_minute = 2;
        behind_proxy(c);
    })
    .await;
    let person = app.signed_in("Eager Refresher").await;
    let busy = "203.0.113.11";

    let mut token = person.refresh_token.clone();
    for _ in 0..2 {
        let body = json_body(refresh(&app, &token, busy).await, StatusCode::OK).await;
        token = str_at(&body, "/refresh_token");
    }
    let wait = assert_too_many(refresh(&app, &token, busy).await).await;
    assert!(wait <= 60, "{wait}");

    // The refused request did not spend the token (no reuse alarm later), and the person's
    // other address refreshes it fine.
    let body = json_body(refresh(&app, &token, "198.51.100.21").await, StatusCode::OK).await;
    assert_eq!(str_at(&body, "/session_id"), person.session_id);
    assert_eq!(app.revocation_of(&person.session_id).await, (None, None));
}

#[tokio::test]
async fn signing_in_over_the_rate_is_429_even_with_the_right_password_while_another_address_signs_in() {
    let app = TestApp::spawn_with(|c| {
        c.login_rate_per_minute = 3;
        behind_proxy(c);
    })
    .await;
    let person = app.signed_in("Frequent Flyer").await;
    let busy = "203.0.113.12";

    for _ in 0..3 {
        json_body(login(&app, &person.email, PASSWORD, Some(busy)).await, StatusCode::OK).await;
    }
    assert_too_many(login(&app, &person.email, PASSWORD, Some(busy)).await).await;
    json_body(login(&app, &person.email, PASSWORD, Some("198.51.100.22")).await, StatusCode::OK).await;
}
