//! Throttling without lockout, over HTTP: growing delays after failed sign-ins per account
//! and client and per client address, an account guessed at from ever new addresses
//! (unknown devices slowed, known devices untouched, the owner never locked out), device
//! tokens bound to their account, request rates for sign-in, registration and refresh,
//! IPv6 clients counted by their /64, the client address taken from `X-Forwarded-For` only
//! behind a trusted proxy.
//!
//! Real argon2 everywhere; the per-address sign-in rate is switched off (0) where a test
//! is about the failure delays, so only the mechanism under test can answer 429.

use crate::helpers::{
    assert_error, fn_error, json_body, location, set_cookies, str_at, the_cookie, unique_email, TestApp, PASSWORD,
};
use base64::{engine::general_purpose::URL_SAFE, Engine};
use reqwest::{header, Response, StatusCode};
use serde_json::json;
use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

const WRONG: &str = "definitely not the password";
const PROXY: &str = "127.0.0.1/32";

fn behind_proxy(config: &mut gatehouse::server::config::Config) {
    config.trusted_proxies = vec![PROXY.parse().unwrap()];
}

/// `POST /api/v1/auth/login`, optionally with `X-Forwarded-For`.
async fn login(app: &TestApp, email: &str, password: &str, forwarded_for: Option<&str>) -> Response {
    login_as(app, email, password, None, forwarded_for).await
}

/// `POST /api/v1/auth/login` as a device: with the `device_token` of an earlier sign-in
/// (None: the field is not sent), optionally with `X-Forwarded-For`.
async fn login_as(app: &TestApp, email: &str, password: &str, device_token: Option<&str>, forwarded_for: Option<&str>) -> Response {
    let mut body = json!({ "email": email, "password": password });
    if let Some(token) = device_token {
        body["device_token"] = json!(token);
    }
    let mut request = app.client.post(app.url("/api/v1/auth/login")).json(&body);
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

pub(crate) fn retry_after(response: &Response) -> u64 {
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

// ---------------------------------------------------------------------------------------
// One account guessed at from ever new addresses: the guesser slowed, the owner never
// locked out
// ---------------------------------------------------------------------------------------

/// The longest hold for unknown devices in these tests: short, yet long enough to tell a held
/// sign-in from one that was not.
const HOLD_SECS: u64 = 6;

fn holding(config: &mut gatehouse::server::config::Config) {
    config.login_rate_per_minute = 0;
    config.unknown_device_max_delay = Duration::from_secs(HOLD_SECS);
    behind_proxy(config);
}

#[tokio::test]
async fn an_attacker_guessing_from_ever_new_addresses_never_locks_the_owner_out_known_devices_get_in_at_once_a_new_one_within_the_hold() {
    let app = TestApp::spawn_with(holding).await;
    let owner = app.signed_in("Guessed At Gwen").await;
    // The API client the owner signed in with keeps its device token…
    let api_device = str_at(&owner.body, "/device_token");
    // …and a browser the owner signed in with before keeps its device cookie.
    let form = [("email", owner.email.as_str()), ("password", PASSWORD), ("next", "/dashboard")];
    let response = app.form_post("/fn/login", &form, "/login", &[]).await;
    assert_eq!(location(&response), "/dashboard");
    let browser_device = the_cookie(&set_cookies(&response), "gh_device").value;

    // The attack: two guessers at once, each guess from an address never seen before, so no
    // address and no account-and-address pair ever fails twice. It keeps going until the
    // owner is done.
    let stop = AtomicBool::new(false);
    let guesses = AtomicUsize::new(0);
    let answers = Mutex::new(Vec::new());
    let guesser = |lane: usize| {
        let (app, email, stop, guesses, answers) = (&app, owner.email.clone(), &stop, &guesses, &answers);
        async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let ip = format!("10.{lane}.{}.{}", i / 250, i % 250 + 1);
                let started = Instant::now();
                let response = login(app, &email, WRONG, Some(&ip)).await;
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                answers.lock().unwrap().push((status, body, started.elapsed()));
                guesses.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
        }
    };
    let owner_signs_in = async {
        // Long past the five free failures: before, the account itself was blocked by now.
        while guesses.load(Ordering::SeqCst) < 12 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The browser that signed in before, through the sign-in form (no JavaScript).
        let started = Instant::now();
        let response = app.form_post("/fn/login", &form, "/login", &[("gh_device", &browser_device)]).await;
        let known_browser = started.elapsed();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(location(&response), "/dashboard", "signed in, not sent back with an error");
        assert!(set_cookies(&response).iter().any(|c| c.name == "gh_access"));

        // The API client that signed in before, from an address of its own.
        let started = Instant::now();
        let body = json_body(login_as(&app, &owner.email, PASSWORD, Some(&api_device), Some("198.51.100.7")).await, StatusCode::OK).await;
        let known_api = started.elapsed();
        assert_eq!(str_at(&body, "/user/id"), owner.user_id);

        // A device the owner never used, from a new address: held, then let in.
        let started = Instant::now();
        let body = json_body(login(&app, &owner.email, PASSWORD, Some("198.51.100.8")).await, StatusCode::OK).await;
        let new_device = started.elapsed();
        assert_eq!(str_at(&body, "/user/id"), owner.user_id);
        stop.store(true, Ordering::SeqCst);
        (known_browser, known_api, new_device)
    };
    let ((known_browser, known_api, new_device), (), ()) = tokio::join!(owner_signs_in, guesser(0), guesser(1));

    // Known devices are not held (an unknown one waits out the whole hold by now).
    let half_hold = Duration::from_secs(HOLD_SECS / 2);
    assert!(known_browser < half_hold, "the known browser was held: {known_browser:?}");
    assert!(known_api < half_hold, "the known API client was held: {known_api:?}");
    // A new device is slowed, within a bound.
    assert!(new_device >= Duration::from_secs(1), "an unknown device is slowed down: {new_device:?}");
    assert!(new_device <= Duration::from_secs(HOLD_SECS + 10), "…but gets in within the hold: {new_device:?}");

    // The guesses: never a 429 (ever new addresses), every one a plain wrong password, and
    // slowed down to the hold once past the free ones.
    let answers = answers.into_inner().unwrap();
    assert!(answers.len() >= 12, "{}", answers.len());
    for (status, body, _) in &answers {
        assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.contains("invalid_credentials"), "{body}");
    }
    let slowest = answers.iter().map(|(_, _, took)| *took).max().unwrap_or_default();
    assert!(slowest >= Duration::from_secs(HOLD_SECS - 1), "the guesses were held: slowest {slowest:?}");
}

#[tokio::test]
async fn guesses_at_an_unknown_account_from_ever_new_addresses_are_slowed_like_guesses_at_a_real_one() {
    let app = TestApp::spawn_with(|c| {
        holding(c);
        c.unknown_device_max_delay = Duration::from_secs(2);
    })
    .await;
    let real = app.signed_in("Real Rhea").await.email;
    let nobody = unique_email("nobody");
    for (n, email) in [real, nobody].iter().enumerate() {
        let started = Instant::now();
        for i in 0..10 {
            let ip = format!("10.9.{n}.{}", i + 1);
            assert_error(login(&app, email, WRONG, Some(&ip)).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        }
        // Five free failures, then paced (1 s, 2 s, 2 s …, in whole seconds): the same for both.
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(4), "{email}: ten guesses took only {took:?}");
    }
}

#[tokio::test]
async fn a_device_token_helps_only_the_account_it_signed_in_to_and_a_made_up_or_spent_one_counts_for_nothing() {
    let app = TestApp::spawn_with(holding).await;
    let victim = app.signed_in("Victim Vera").await;
    let attacker = app.signed_in("Attacker Al").await;
    let attackers_device = str_at(&attacker.body, "/device_token");
    let victims_device = str_at(&victim.body, "/device_token");
    assert!(attackers_device.starts_with("ghd_") && victims_device.starts_with("ghd_"));
    assert_ne!(attackers_device, victims_device);
    let from = "203.0.113.50";

    // The attacker's own known device is an unknown one for the victim's account: its guesses
    // from one address wait after the free ones, as anyone's (until a wait long enough for
    // what follows).
    fail_until_throttled(6, 4, |_| login_as(&app, &victim.email, WRONG, Some(&attackers_device), Some(from))).await;
    // A made-up token is no token, even with the right password.
    let made_up = format!("ghd_{}", "A".repeat(43));
    assert_too_many(login_as(&app, &victim.email, PASSWORD, Some(&made_up), Some(from)).await).await;

    // The victim's own device, from that very address, is not refused; it leaves with a new
    // token, and the one it sent is spent.
    let body = json_body(login_as(&app, &victim.email, PASSWORD, Some(&victims_device), Some(from)).await, StatusCode::OK).await;
    let renewed = str_at(&body, "/device_token");
    assert_ne!(renewed, victims_device, "each sign-in replaces the device token");
    assert_too_many(login_as(&app, &victim.email, PASSWORD, Some(&victims_device), Some(from)).await).await;
    json_body(login_as(&app, &victim.email, PASSWORD, Some(&renewed), Some(from)).await, StatusCode::OK).await;

    // A refresh answer has the contract's shape, without a device token.
    let refreshed = json_body(app.refresh(&victim.refresh_token).await, StatusCode::OK).await;
    assert!(refreshed.get("device_token").is_none(), "{refreshed}");
}

#[tokio::test]
async fn a_stolen_device_token_buys_five_guesses_and_then_counts_as_an_unknown_device() {
    let app = TestApp::spawn_with(holding).await;
    let victim = app.signed_in("Robbed Rita").await;
    let stolen = str_at(&victim.body, "/device_token");

    // Five failures as the known device; then it is an unknown client at the thief's address:
    // six more (five free, the sixth starts the clock), then it waits.
    fail_until_throttled(5 + 6, 1, |_| login_as(&app, &victim.email, WRONG, Some(&stolen), Some("203.0.113.60"))).await;
    // The owner, elsewhere, signs in.
    json_body(login(&app, &victim.email, PASSWORD, Some("198.51.100.9")).await, StatusCode::OK).await;
}

// ---------------------------------------------------------------------------------------
// IPv6 clients are counted by their /64
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn two_addresses_of_one_ipv6_64_share_one_sign_in_rate_and_the_next_64_has_its_own() {
    let app = TestApp::spawn_with(|c| {
        c.login_rate_per_minute = 3;
        behind_proxy(c);
    })
    .await;
    let person = app.signed_in("Six Sam").await;

    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::1"] {
        json_body(login(&app, &person.email, PASSWORD, Some(ip)).await, StatusCode::OK).await;
    }
    // Any other address of that /64 is the same client, over its rate.
    assert_too_many(login(&app, &person.email, PASSWORD, Some("2001:db8:1:2::2")).await).await;
    assert_too_many(login(&app, &person.email, PASSWORD, Some("2001:db8:1:2:ffff:ffff:ffff:fffe")).await).await;
    // The next /64 is another client; the session shows the full address.
    let body = json_body(login(&app, &person.email, PASSWORD, Some("2001:db8:1:3::1")).await, StatusCode::OK).await;
    let (ip,): (String,) = sqlx::query_as("select ip from sessions where id = $1")
        .bind(str_at(&body, "/session_id"))
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(ip, "2001:db8:1:3::1");
}

#[tokio::test]
async fn failed_sign_ins_from_two_addresses_of_one_ipv6_64_count_as_one_address() {
    let app = TestApp::spawn_with(|c| {
        c.login_rate_per_minute = 0;
        behind_proxy(c);
    })
    .await;
    let victim = app.signed_in("Popular Sixer").await;
    let (first, second) = ("2001:db8:aa:1::1", "2001:db8:aa:1:8000::2");

    // Credential stuffing alternating between two addresses of one /64: the 20 free failures
    // are the /64's, not each address's.
    let accounts: Vec<String> = (0..40).map(|i| unique_email(&format!("sixstuffed{i}"))).collect();
    fail_until_throttled(20, 3, |i| {
        let (app, email, ip) = (&app, accounts[i].clone(), if i % 2 == 0 { first } else { second });
        async move { login(app, &email, WRONG, Some(ip)).await }
    })
    .await;
    for ip in [first, second, "2001:db8:aa:1:ffff::9"] {
        assert_too_many(login(&app, &victim.email, PASSWORD, Some(ip)).await).await;
    }
    json_body(login(&app, &victim.email, PASSWORD, Some("2001:db8:aa:2::1")).await, StatusCode::OK).await;
}
