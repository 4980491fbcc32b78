//! Metrics: Prometheus text on its own listener, parsed line by line, counting what the
//! server did; route labels are templates, never raw paths.
//!
//! The recorder is one per process (several test servers share it), so each assertion is
//! about the change between two scrapes, and at least what this test caused.

use crate::helpers::{assert_error, json_body, str_at, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::{collections::HashMap, net::SocketAddr};

/// One sample: name, labels, value.
type Samples = HashMap<(String, Vec<(String, String)>), f64>;

/// Parses the text exposition format strictly: every line is a comment, blank, or
/// `name{label="value",…} number`; anything else fails the test.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number in: {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), Vec::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("closed labels: {line}"));
                let mut labels = Vec::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("key=\"value\": {line}"));
                    labels.push((key.to_owned(), value.trim_end_matches('"').to_owned()));
                }
                labels.sort();
                (name.to_owned(), labels)
            }
        };
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "metric name: {line}");
        samples.insert((name, labels), value);
    }
    samples
}

async fn scrape(app: &TestApp, addr: SocketAddr) -> (String, Samples) {
    let response = app.client.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

/// The sum of every sample of `name` whose labels include `with`.
fn total(samples: &Samples, name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((n, labels), _)| n == name && with.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v)))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn metrics_count_sign_ins_refreshes_revocations_and_time_every_route_by_its_template() {
    let app = TestApp::spawn_with(|c| c.metrics_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)))).await;
    let addr = app.metrics_addr.expect("a metrics listener");
    assert_ne!(addr, app.addr, "a listener of its own");
    // The public listener does not serve them.
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let (_, before) = scrape(&app, addr).await;

    let person = app.signed_in("Metered Mo").await;
    assert_error(app.login(&person.email, "not the password, no").await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    for _ in 0..3 {
        json_body(app.me(&person.access_token).await, StatusCode::OK).await;
    }
    let next = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    // The spent token again, from elsewhere and later than the grace allows: reuse.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let other = app.signed_in("Second Sid").await;
    let phone = app.another_session(&other, None).await;
    assert_eq!(app.delete_session(&other.access_token, &phone.session_id).await.status(), StatusCode::NO_CONTENT);
    let _ = str_at(&next, "/access_token");

    let (text, after) = scrape(&app, addr).await;
    let grew = |name: &str, with: &[(&str, &str)]| total(&after, name, with) - total(&before, name, with);
    assert!(grew("gatehouse_sign_ins_total", &[("outcome", "success")]) >= 3.0, "{text}");
    assert!(grew("gatehouse_sign_ins_total", &[("outcome", "invalid_credentials")]) >= 1.0, "{text}");
    assert!(grew("gatehouse_refreshes_total", &[("outcome", "success")]) >= 1.0, "{text}");
    assert!(grew("gatehouse_refreshes_total", &[("outcome", "refresh_token_reused")]) >= 1.0, "{text}");
    assert!(grew("gatehouse_revocations_total", &[("reason", "refresh_token_reused")]) >= 1.0, "{text}");
    assert!(grew("gatehouse_revocations_total", &[("reason", "signed_out_elsewhere")]) >= 1.0, "{text}");
    assert!(grew("gatehouse_password_hash_queue_wait_seconds_count", &[]) >= 4.0, "{text}");
    assert!(total(&after, "gatehouse_mail_queue_depth", &[]) >= 0.0 && text.contains("gatehouse_mail_queue_depth"), "{text}");
    // Latency per route template: three /me calls, and the session route by its template.
    let me = [("route", "/api/v1/me"), ("method", "GET"), ("status", "2xx")];
    assert!(grew("gatehouse_http_request_duration_seconds_count", &me) >= 3.0, "{text}");
    assert!(total(&after, "gatehouse_http_request_duration_seconds_bucket", &[("route", "/api/v1/me"), ("le", "+Inf")]) >= 3.0);
    assert!(grew("gatehouse_http_request_duration_seconds_count", &[("route", "/api/v1/sessions/{id}")]) >= 1.0, "{text}");
    assert!(!text.contains(&phone.session_id), "no raw path in a label");
}

#[tokio::test]
async fn throttled_requests_are_counted_by_route() {
    let app = TestApp::spawn_with(|c| {
        c.metrics_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.login_rate_per_minute = 2;
    })
    .await;
    let addr = app.metrics_addr.expect("a metrics listener");
    let (_, before) = scrape(&app, addr).await;
    let mut throttled = 0;
    for _ in 0..5 {
        if app.login("nobody@example.com", PASSWORD).await.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    assert!(throttled >= 1);
    let (text, after) = scrape(&app, addr).await;
    let with = [("route", "/api/v1/auth/login")];
    let grew = total(&after, "gatehouse_throttled_requests_total", &with) - total(&before, "gatehouse_throttled_requests_total", &with);
    assert!(grew >= throttled as f64, "{text}");
    let outcome = [("outcome", "too_many_attempts")];
    assert!(total(&after, "gatehouse_sign_ins_total", &outcome) - total(&before, "gatehouse_sign_ins_total", &outcome) >= throttled as f64);
}
