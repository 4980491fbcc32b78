//! No secret in any log line or error message: the server's tracing output is captured at
//! TRACE level during a full flow and searched for every password, token, token hash and key
//! the flow produced or stored.
//!
//! The subscriber is global (the server runs on the runtime's tasks and on blocking
//! threads), installed once for the whole test binary, so the scan for token-shaped strings
//! covers whatever other tests ran alongside, too.

use crate::helpers::{
    cookie_header, json_body, location, set_cookies, str_at, the_cookie, unique_email, TestApp, ACCESS_TTL_SECS,
};
use base64::{
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
    Engine,
};
use reqwest::{header, Response, StatusCode};
use serde_json::json;
use std::{
    io::Write,
    sync::{Mutex, Once},
    time::Duration,
};

static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// Appends every formatted log line to [`CAPTURED`].
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per test binary): everything at TRACE except the
/// test's own HTTP client, which is not the server.
fn capture_logs() {
    INSTALL.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::new("trace,reqwest=off,hyper_util::client=off");
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init()
            .expect("the capturing subscriber is the only one");
    });
}

fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// Every secret of the flow, with a name for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        if value.len() >= 8 {
            self.0.push((what.to_owned(), value.to_owned()));
        }
    }

    fn password(&mut self, what: &str, password: &str) {
        self.add(what, password);
        self.add(&format!("{what} (form-encoded)"), &form_urlencoded::byte_serialize(password.as_bytes()).collect::<String>());
    }

    fn access_token(&mut self, what: &str, token: &str) {
        self.add(what, token);
        // The signature alone, and the signed part (a token cut at the last dot).
        let signature = token.rsplit('.').next().unwrap_or_default();
        self.add(&format!("{what} (signature)"), signature);
        self.add(&format!("{what} (signed part)"), &token[..token.len() - signature.len()]);
    }

    fn refresh_token(&mut self, what: &str, token: &str) {
        self.add(what, token);
        self.add(&format!("{what} (without prefix)"), token.trim_start_matches("ghr_"));
    }

    fn pair(&mut self, what: &str, body: &serde_json::Value) {
        self.access_token(&format!("{what} access token"), &str_at(body, "/access_token"));
        self.refresh_token(&format!("{what} refresh token"), &str_at(body, "/refresh_token"));
        if let Some(device) = body["device_token"].as_str() {
            self.add(&format!("{what} device token"), device);
            self.add(&format!("{what} device token (without prefix)"), device.trim_start_matches("ghd_"));
        }
    }

    fn cookies(&mut self, what: &str, response: &Response) {
        for cookie in set_cookies(response) {
            if cookie.value.starts_with("ghr_") {
                self.refresh_token(&format!("{what} {} cookie", cookie.name), &cookie.value);
            } else if !cookie.value.is_empty() {
                self.access_token(&format!("{what} {} cookie", cookie.name), &cookie.value);
            }
        }
    }

    /// Bytes in every spelling a careless log line could use.
    fn bytes(&mut self, what: &str, bytes: &[u8]) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.add(&format!("{what} (hex)"), &hex);
        self.add(&format!("{what} (HEX)"), &hex.to_uppercase());
        for (name, text) in [
            ("base64", STANDARD.encode(bytes)),
            ("base64 no pad", STANDARD_NO_PAD.encode(bytes)),
            ("base64url", URL_SAFE.encode(bytes)),
            ("base64url no pad", URL_SAFE_NO_PAD.encode(bytes)),
        ] {
            self.add(&format!("{what} ({name})"), &text);
        }
        // `{:?}` of a Vec<u8> / [u8; N]: "[12, 250, …]"; the first dozen bytes are enough.
        let debug = format!("{:?}", &bytes[..bytes.len().min(12)]);
        self.add(&format!("{what} (Debug)"), debug.trim_end_matches(']'));
    }

    fn assert_absent_from(&self, text: &str, where_: &str) {
        for (what, value) in &self.0 {
            assert!(!text.contains(value.as_str()), "{what} appears in {where_}: …{value}…");
        }
    }
}

/// Token-shaped strings, whoever's: a refresh or device token, a JWT, an argon2 hash.
fn assert_no_token_shapes(text: &str, where_: &str) {
    let is_b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    for prefix in ["ghr_", "ghd_"] {
        for (i, _) in text.match_indices(prefix) {
            let body: String = text[i + 4..].chars().take_while(|c| is_b64url(*c)).collect();
            assert!(body.len() < 20, "a refresh or device token in {where_}: {prefix}{body}");
        }
    }
    for (i, _) in text.match_indices("eyJ") {
        let rest = &text[i..];
        let first: String = rest.chars().take_while(|c| is_b64url(*c)).collect();
        let after = &rest[first.len()..];
        if first.len() >= 10 && after.starts_with('.') {
            let second: String = after[1..].chars().take_while(|c| is_b64url(*c)).collect();
            assert!(second.len() < 10, "a JWT in {where_}: {first}.{second}");
        }
    }
    assert!(!text.contains("$argon2"), "a password hash in {where_}");
    assert!(!text.contains("-----BEGIN"), "a PEM key in {where_}");
}

/// A strong, unique password.
fn password(label: &str) -> String {
    format!("{label} orchid lantern {}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_hash_or_key_appears_in_the_logs_or_error_messages_of_a_full_flow() {
    capture_logs();
    let app = TestApp::spawn_with(|c| {
        c.refresh_grace = Duration::ZERO;
        c.login_rate_per_minute = 0;
    })
    .await;
    let mut secrets = Secrets::default();
    // Every answer that is an error (its body, its Location), to be searched too.
    let mut error_messages = Vec::new();
    let keep_error = |response: Response| async move {
        let status = response.status();
        let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = response.text().await.unwrap_or_default();
        (status, format!("{status} {location} {body}"))
    };

    // Register and sign in through the API.
    let email = unique_email("logged");
    let first_password = password("first");
    secrets.password("the password", &first_password);
    let registered = json_body(app.register(&email, &first_password, "Log Lover").await, StatusCode::CREATED).await;
    let user_id = str_at(&registered, "/user/id");
    let api_login = json_body(app.login(&email, &first_password).await, StatusCode::OK).await;
    secrets.pair("API login", &api_login);
    let session_id = str_at(&api_login, "/session_id");

    // Register and sign in through the no-JS forms.
    let form_email = unique_email("form-logged");
    let form_password = password("form");
    secrets.password("the form password", &form_password);
    let response = app
        .form_post(
            "/fn/register",
            &[("email", &form_email), ("password", &form_password), ("display_name", "Form Logger")],
            "/register",
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    secrets.cookies("form registration", &response);
    let response =
        app.form_post("/fn/login", &[("email", &email), ("password", &first_password), ("next", "/dashboard")], "/login", &[])
            .await;
    assert_eq!(location(&response), "/dashboard");
    secrets.cookies("form login", &response);
    let cookies = set_cookies(&response);
    let form_access = the_cookie(&cookies, "gh_access").value;
    let form_refresh = the_cookie(&cookies, "gh_refresh").value;

    // The browser refresh (GET /auth/refresh) and the script refresh (POST /auth/refresh).
    let response = app.navigate("/auth/refresh?next=%2Fdashboard", &[("gh_refresh", &form_refresh)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    secrets.cookies("browser refresh", &response);
    let browser_refresh = the_cookie(&set_cookies(&response), "gh_refresh").value;
    let response = app
        .client
        .post(app.url("/auth/refresh"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, app.origin())
        .header(header::COOKIE, cookie_header(&[("gh_refresh", &browser_refresh)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    secrets.cookies("script refresh", &response);

    // Failed sign-ins, until throttled: wrong passwords are secrets too (often a typo of the
    // right one).
    let mut throttled = false;
    for i in 0..12 {
        let wrong = password(&format!("wrong{i}"));
        secrets.password(&format!("wrong password {i}"), &wrong);
        let (status, message) = keep_error(app.login(&email, &wrong).await).await;
        error_messages.push(message);
        throttled |= status == StatusCode::TOO_MANY_REQUESTS;
        if throttled {
            break;
        }
    }
    assert!(throttled, "the failures were throttled");
    let wrong = password("form-wrong");
    secrets.password("wrong form password", &wrong);
    let (_, message) = keep_error(app.form_post("/fn/login", &[("email", &form_email), ("password", &wrong)], "/login", &[]).await).await;
    error_messages.push(message);
    // An unknown account, and an absurdly long password.
    let long_wrong = format!("{} {}", password("long"), "z".repeat(300));
    secrets.password("long wrong password", &long_wrong);
    let (_, message) = keep_error(app.login(&unique_email("ghost"), &long_wrong).await).await;
    error_messages.push(message);

    // Refresh through the API, then replay the spent token: reuse detection ends the session.
    let refreshed = json_body(app.refresh(&str_at(&api_login, "/refresh_token")).await, StatusCode::OK).await;
    secrets.pair("API refresh", &refreshed);
    let (status, message) = keep_error(app.refresh(&str_at(&api_login, "/refresh_token")).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    error_messages.push(message);
    let (_, message) = keep_error(app.refresh(&str_at(&refreshed, "/refresh_token")).await).await;
    error_messages.push(message);
    let (_, message) = keep_error(app.me(&str_at(&refreshed, "/access_token")).await).await;
    error_messages.push(message);

    // Bad requests that carry secrets: malformed JSON, wrong types, unknown fields, a token
    // in the wrong place, an expired token, a forged cross-site post.
    let hidden = password("hidden");
    secrets.password("password in a malformed body", &hidden);
    for body in [
        format!(r#"{{"email":"{email}","password":"{hidden}""#),
        format!(r#"{{"email":"{email}","password":"{hidden}","remember":"{hidden}"}}"#),
        format!(r#"{{"email":["{hidden}"],"password":"{hidden}"}}"#),
        format!(r#"{{"email":"{email}","password":{{"{hidden}":1}}}}"#),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, message) = keep_error(response).await;
        assert!(status.is_client_error(), "{message}");
        error_messages.push(message);
    }
    let (_, message) = keep_error(app.refresh(&str_at(&refreshed, "/access_token")).await).await;
    error_messages.push(message);
    let (_, message) = keep_error(
        app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": [str_at(&refreshed, "/refresh_token")] })).await,
    )
    .await;
    error_messages.push(message);
    let (_, message) = keep_error(app.me(&form_refresh).await).await;
    error_messages.push(message);
    let expired = app.mint_access_token(&user_id, &session_id, crate::helpers::now() - 10_000);
    secrets.access_token("expired token", &expired);
    let (_, message) = keep_error(app.me(&expired).await).await;
    error_messages.push(message);
    let response = app
        .client
        .post(app.url("/fn/devices/revoke-others"))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie_header(&[("gh_access", &form_access)]))
        .send()
        .await
        .unwrap();
    let (status, message) = keep_error(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    error_messages.push(message);
    let response = app
        .client
        .post(app.url("/fn/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, app.origin())
        .body(format!("email={}&password={}&password={}", email, hidden, hidden))
        .send()
        .await
        .unwrap();
    let (_, message) = keep_error(response).await;
    error_messages.push(message);

    // Change the password (and fail to, once), from a fresh session.
    let fresh = json_body(app.login(&form_email, &form_password).await, StatusCode::OK).await;
    secrets.pair("fresh login", &fresh);
    let new_password = password("changed");
    secrets.password("the new password", &new_password);
    let bad_current = password("bad-current");
    secrets.password("a wrong current password", &bad_current);
    let (_, message) = keep_error(
        app.call_fn("/fn/password", &[("current_password", &bad_current), ("new_password", &new_password)], &str_at(&fresh, "/access_token"))
            .await,
    )
    .await;
    error_messages.push(message);
    let response = app
        .call_fn("/fn/password", &[("current_password", &form_password), ("new_password", &new_password)], &str_at(&fresh, "/access_token"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    let weak = "password1234";
    let (_, message) = keep_error(
        app.call_fn("/fn/password", &[("current_password", &new_password), ("new_password", weak)], &str_at(&fresh, "/access_token")).await,
    )
    .await;
    error_messages.push(message);

    // Rotate the signing key; sign in with the new one.
    let new_kid = gatehouse::server::tokens::keys::rotate(&app.state.db, crate::helpers::now()).await.unwrap();
    let delay = gatehouse::server::tokens::keys::activation_delay_secs(&app.state.db);
    app.state.keys.reload(&app.state.db, crate::helpers::now() + delay).await.unwrap();
    let after_rotation = json_body(app.login(&form_email, &new_password).await, StatusCode::OK).await;
    secrets.pair("after rotation", &after_rotation);
    assert_eq!(crate::helpers::jwt_part(&str_at(&after_rotation, "/access_token"), 0)["kid"], new_kid.as_str());
    app.state.keys.reload(&app.state.db, crate::helpers::now() + delay + ACCESS_TTL_SECS as i64 + 61).await.unwrap();

    // Sign out: API, form, everywhere.
    assert_eq!(app.logout(&str_at(&after_rotation, "/access_token")).await.status(), StatusCode::NO_CONTENT);
    let response = app.form_post("/auth/logout", &[], "/dashboard", &[("gh_access", &form_access)]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let response =
        app.form_post("/auth/sign-out-everywhere", &[], "/settings/sessions", &[("gh_access", &str_at(&fresh, "/access_token"))]).await;
    assert_eq!(response.status(), StatusCode::FOUND);

    // What the database holds: password hashes, refresh-token hashes, keys.
    let db = &app.sql;
    let hashes: Vec<(String,)> = sqlx::query_as("select password_hash from users").fetch_all(db).await.unwrap();
    assert!(hashes.len() >= 2);
    for (i, (hash,)) in hashes.iter().enumerate() {
        secrets.add(&format!("password hash {i}"), hash);
        // The salt and the hash on their own.
        for (j, part) in hash.rsplit('$').take(2).enumerate() {
            secrets.add(&format!("password hash {i} part {j}"), part);
        }
    }
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    for (what, query) in [
        ("session refresh hash", "select refresh_hash from sessions"),
        ("spent refresh-token hash", "select token_hash from spent_refresh_tokens"),
        ("signing key", "select private_key from signing_keys"),
        ("server secret", "select value from server_secrets"),
    ] {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(query).fetch_all(db).await.unwrap();
        assert!(!rows.is_empty(), "{what}: rows to look for");
        blobs.extend(rows.into_iter().map(|(b,)| (what.to_owned(), b)));
    }
    for (i, (what, bytes)) in blobs.iter().enumerate() {
        secrets.bytes(&format!("{what} {i}"), bytes);
        if what == "signing key" {
            // The Ed25519 seed is the last 32 bytes of the PKCS#8 document.
            secrets.bytes(&format!("{what} {i} seed"), &bytes[bytes.len() - 32..]);
        }
    }
    // The refresh secret, which lives outside the database: its bytes and its text.
    for key in app.state.successor_keys.all() {
        secrets.bytes("refresh secret", key.expose());
        secrets.add("refresh secret (text)", key.to_text().expose());
    }
    assert!(secrets.0.len() > 100, "plenty to look for: {}", secrets.0.len());

    // Give the blocking pool's last lines a moment, then search.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = captured();
    assert!(!logs.is_empty(), "the capture works");
    let signed_in = logs.lines().any(|l| l.contains("signed in") && l.contains(&user_id));
    assert!(signed_in, "the capture holds this flow's sign-in line");
    assert!(logs.lines().any(|l| l.contains("refresh token reuse detected") && l.contains(&user_id)), "and its reuse alarm");
    assert!(logs.lines().any(|l| l.contains("signing key rotated") && l.contains(&new_kid)), "and its key rotation");
    assert!(logs.contains("cross-site request refused"), "and its CSRF refusal");
    let secret_id = app.state.successor_keys.current.id();
    assert!(logs.lines().any(|l| l.contains("refresh secret loaded") && l.contains(&secret_id)), "and its secret's id");

    secrets.assert_absent_from(&logs, "the server's logs");
    assert_no_token_shapes(&logs, "the server's logs");
    for message in &error_messages {
        secrets.assert_absent_from(message, &format!("an error answer ({message})"));
        assert_no_token_shapes(message, "an error answer");
    }
}
