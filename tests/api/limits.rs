//! Input limits: field lengths (email, display name, password), JSON depth, body and header
//! sizes. Each breach is a clear 4xx with an error code, never a 5xx, never a partial write.

use crate::helpers::{assert_error, assert_fn_invalid_field, json_body, str_at, unique_email, TestApp, PASSWORD};
use reqwest::{header, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A well-formed address of exactly `len` characters (local part 64, labels ≤ 63).
fn email_of_length(len: usize) -> String {
    let local = "a".repeat(64);
    let fixed = local.len() + 1 + 64 + 64 + ".com".len(); // local@ + two 63-char labels with dots
    assert!(len > fixed, "{len} is too short for this construction");
    let email = format!("{local}@{}.{}.{}.com", "b".repeat(63), "c".repeat(63), "d".repeat(len - fixed));
    assert_eq!(email.chars().count(), len);
    email
}

/// A passphrase (strong enough for the estimator) of exactly `len` characters.
fn passphrase_of_length(len: usize) -> String {
    let text: String = "bright otter paints quiet maps near seven cold harbours ".chars().cycle().take(len).collect();
    assert_eq!(text.chars().count(), len);
    text
}

async fn user_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("select count(*) from users").fetch_one(&app.sql).await.unwrap();
    n
}

async fn assert_invalid_field(response: reqwest::Response, field: &str, needle: &str) {
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    let message = body["error"]["fields"][field].as_str().unwrap_or_else(|| panic!("fields.{field}: {body}"));
    assert!(message.contains(needle), "fields.{field}: {message:?} should mention {needle:?}");
    let fields = body["error"]["fields"].as_object().map(|f| f.len()).unwrap_or_default();
    assert_eq!(fields, 1, "only {field} is wrong: {body}");
}

// ---------------------------------------------------------------------------------------
// Field lengths
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_email_over_254_characters_is_422_on_the_email_field_and_254_is_accepted() {
    let app = TestApp::spawn().await;

    assert_invalid_field(app.register(&email_of_length(255), PASSWORD, "Long Address").await, "email", "254").await;
    assert_invalid_field(app.register(&email_of_length(1000), PASSWORD, "Long Address").await, "email", "254").await;
    assert_eq!(user_count(&app).await, 0, "nothing stored");

    let longest = email_of_length(254);
    json_body(app.register(&longest, PASSWORD, "Long Address").await, StatusCode::CREATED).await;
    json_body(app.login(&longest, PASSWORD).await, StatusCode::OK).await;
    // Signing in with an absurdly long address is an ordinary failure, not an error.
    assert_error(app.login(&"x".repeat(5000), PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn a_display_name_over_64_characters_is_422_on_its_field_and_64_characters_are_accepted() {
    let app = TestApp::spawn().await;

    assert_invalid_field(app.register(&unique_email("name"), PASSWORD, &"n".repeat(65)).await, "display_name", "64").await;
    assert_invalid_field(app.register(&unique_email("name"), PASSWORD, &"é".repeat(65)).await, "display_name", "64").await;
    assert_eq!(user_count(&app).await, 0, "nothing stored");

    // Characters, not bytes: 64 accented letters are 128 bytes and fine.
    for name in ["n".repeat(64), "é".repeat(64)] {
        let body = json_body(app.register(&unique_email("name"), PASSWORD, &name).await, StatusCode::CREATED).await;
        assert_eq!(str_at(&body, "/user/display_name"), name);
    }
}

#[tokio::test]
async fn a_password_of_257_characters_is_422_on_the_password_field_while_64_and_256_are_accepted() {
    let app = TestApp::spawn().await;

    let too_long = passphrase_of_length(257);
    assert_invalid_field(app.register(&unique_email("pw"), &too_long, "Long Password").await, "password", "256").await;
    assert_eq!(user_count(&app).await, 0, "nothing stored");

    for len in [64, 256] {
        let email = unique_email("pw");
        let password = passphrase_of_length(len);
        json_body(app.register(&email, &password, "Long Password").await, StatusCode::CREATED).await;
        json_body(app.login(&email, &password).await, StatusCode::OK).await;
        // One character more at sign-in is just a wrong password.
        assert_error(app.login(&email, &format!("{password}x")).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
}

#[tokio::test]
async fn a_new_password_of_257_characters_is_refused_by_the_password_change_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Changing Length").await;
    let before = app.password_hash_of(&person.user_id).await;

    let too_long = passphrase_of_length(257);
    assert_fn_invalid_field(
        app.call_fn("/fn/password", &[("current_password", PASSWORD), ("new_password", &too_long)], &person.access_token).await,
        "/fn/password",
        "new_password",
        "256",
    )
    .await;

    let after = app.password_hash_of(&person.user_id).await;
    assert_eq!(after, before);
}

// ---------------------------------------------------------------------------------------
// JSON depth and body sizes
// ---------------------------------------------------------------------------------------

/// Sends `body` as JSON and asserts a 4xx with a stable code (never a 5xx, never a crash).
async fn assert_refused_json(app: &TestApp, path: &str, body: String, what: &str) -> StatusCode {
    let response = app
        .client
        .post(app.url(path))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: the server answers: {e}"));
    let status = response.status();
    let code = match status {
        StatusCode::BAD_REQUEST => "malformed_request",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        other => panic!("{what}: a clear 4xx expected, got {other}: {}", response.text().await.unwrap_or_default()),
    };
    assert_error(response, status, code).await;
    status
}

#[tokio::test]
async fn json_nested_ten_thousand_deep_is_a_clear_4xx_and_the_server_lives_on() {
    let app = TestApp::spawn().await;
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let deep_objects = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));

    // Within the 16 KiB body limit: the parser's depth limit answers, not the size limit.
    for (what, body) in [
        ("7000 nested arrays", deep(7000)),
        ("10000 unclosed arrays", "[".repeat(10_000)),
        ("nested arrays as the email", format!(r#"{{"email":{},"password":"x"}}"#, deep(7000))),
        ("nested objects as a field", format!(r#"{{"email":"a@b.co","password":{}}}"#, deep_objects(2500))),
        ("nested arrays after the fields", format!(r#"{{"email":"a@b.co","password":"x","z":{}}}"#, deep(7000))),
    ] {
        let status = assert_refused_json(&app, "/api/v1/auth/login", body, what).await;
        assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{what}: small enough to be parsed");
    }
    // Ten thousand deep and closed is over the size limit as well.
    assert_refused_json(&app, "/api/v1/auth/register", deep(10_000), "10000 nested arrays").await;
    assert_refused_json(&app, "/api/v1/auth/refresh", deep(10_000), "10000 nested arrays").await;

    // Still serving, nothing stored.
    assert_eq!(app.client.get(app.url("/livez")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn a_70_kb_server_function_form_body_is_413_payload_too_large() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Big Form").await;
    let big = "p".repeat(70 * 1024);

    for (path, fields) in [
        ("/fn/login", vec![("email", person.email.as_str()), ("password", big.as_str())]),
        ("/fn/register", vec![("email", "big@example.com"), ("password", PASSWORD), ("display_name", big.as_str())]),
        ("/fn/password", vec![("current_password", PASSWORD), ("new_password", big.as_str())]),
    ] {
        let response = app.call_fn(path, &fields, &person.access_token).await;
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }
    // The JSON API alike, far over its own 16 KiB limit.
    let response = app.post_json("/api/v1/auth/login", &json!({ "email": person.email, "password": big })).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(user_count(&app).await, 1, "nothing stored");
}

/// Sends a raw HTTP/1.1 request and returns the status code of the answer and the whole
/// answer as text (None when the server closed the connection without one).
async fn raw_request(app: &TestApp, head: &str, body_chunks: &[Vec<u8>]) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.ok()?;
    for chunk in body_chunks {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((status, text))
}

#[tokio::test]
async fn a_70_kb_chunked_body_without_content_length_is_413_too() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Chunky").await;
    let head = format!(
        "POST /fn/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n\
         Origin: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr,
        app.origin()
    );
    let mut chunks = Vec::new();
    let first = format!("email={}&password=", form_urlencoded::byte_serialize(person.email.as_bytes()).collect::<String>());
    chunks.push(format!("{:x}\r\n{first}\r\n", first.len()).into_bytes());
    for _ in 0..70 {
        let part = "p".repeat(1024);
        chunks.push(format!("{:x}\r\n{part}\r\n", part.len()).into_bytes());
    }
    chunks.push(b"0\r\n\r\n".to_vec());

    let (status, answer) = raw_request(&app, &head, &chunks).await.expect("an answer");
    assert_eq!(status, 413, "a streamed body over the limit is refused as too large: {answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");

    // The JSON API the same way.
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        app.addr
    );
    let mut chunks = vec![b"2\r\n{\"\r\n".to_vec()];
    for _ in 0..70 {
        chunks.push(format!("400\r\n{}\r\n", "e".repeat(1024)).into_bytes());
    }
    chunks.push(b"0\r\n\r\n".to_vec());
    let (status, answer) = raw_request(&app, &head, &chunks).await.expect("an answer");
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
    // A small chunked body still works.
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        app.addr
    );
    let json = serde_json::json!({ "email": person.email, "password": crate::helpers::PASSWORD }).to_string();
    let chunks = vec![format!("{:x}\r\n{json}\r\n", json.len()).into_bytes(), b"0\r\n\r\n".to_vec()];
    let (status, answer) = raw_request(&app, &head, &chunks).await.expect("an answer");
    assert_eq!(status, 200, "{answer}");
}

// ---------------------------------------------------------------------------------------
// Header sizes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_header_of_200_kb_is_431_and_never_reaches_the_app() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Header Stuffer").await;

    for (what, name, value) in [
        ("a 200 KB custom header", "x-padding", "a".repeat(200 * 1024)),
        ("a 200 KB cookie", "cookie", format!("gh_access={}; pad={}", person.access_token, "c".repeat(200 * 1024))),
    ] {
        let sent = app.client.get(app.url("/api/v1/me")).bearer_auth(&person.access_token).header(name, &value).send().await;
        match sent {
            Ok(response) => {
                assert_error(response, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large").await;
            }
            // Refusing the connection outright is clean too.
            Err(e) => assert!(!e.is_timeout(), "{what}: refused, not hung: {e}"),
        }
    }
    // Many medium headers that add up.
    let mut request = app.client.get(app.url("/livez"));
    for i in 0..50 {
        request = request.header(format!("x-pad-{i}"), "p".repeat(4096));
    }
    match request.send().await {
        Ok(response) => {
            assert_error(response, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large").await;
        }
        Err(e) => assert!(!e.is_timeout(), "refused, not hung: {e}"),
    }
    // Ordinary requests go on.
    json_body(app.me(&person.access_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn an_ordinary_large_request_header_of_a_few_kilobytes_is_fine() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Normal Browser").await;
    // A browser with a handful of unrelated cookies on the domain and a long User-Agent.
    let cookies = format!("gh_access={}; theme=dark; consent={}", person.access_token, "y".repeat(4000));
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header(header::COOKIE, cookies)
        .header(header::USER_AGENT, "Mozilla/5.0 ".repeat(40))
        .send()
        .await
        .unwrap();
    json_body(response, StatusCode::OK).await;
}
