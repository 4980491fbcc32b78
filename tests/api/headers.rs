//! Response headers: a Content-Security-Policy whose per-response nonce is the one on the
//! page's inline scripts, framing forbidden, nosniff, Referrer- and Permissions-Policy,
//! HSTS only over https, `no-store` on private answers, `Clear-Site-Data` on sign-out.

use crate::helpers::{cookie_header, SignedIn, TestApp, PASSWORD};
use reqwest::{header, Response, StatusCode};

fn header_of(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// One directive of a policy, e.g. `script-src` → its sources.
fn directive(csp: &str, name: &str) -> Option<Vec<String>> {
    csp.split(';').map(str::trim).find_map(|d| {
        let mut words = d.split_whitespace();
        (words.next()? == name).then(|| words.map(str::to_owned).collect())
    })
}

/// The `nonce="…"` of every inline `<script>` (one without `src`), and how many there are.
fn inline_script_nonces(html: &str) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut nonces = Vec::new();
    for (start, _) in html.match_indices("<script") {
        let tag_end = html[start..].find('>').map_or(html.len(), |i| start + i);
        let tag = &html[start..tag_end];
        if tag.contains(" src=") {
            continue;
        }
        count += 1;
        if let Some(i) = tag.find("nonce=\"") {
            let rest = &tag[i + 7..];
            nonces.push(rest[..rest.find('"').unwrap_or(rest.len())].to_owned());
        }
    }
    (count, nonces)
}

/// The headers every answer carries, page or not.
fn assert_common(response: &Response, what: &str) {
    assert_eq!(header_of(response, "x-content-type-options").as_deref(), Some("nosniff"), "{what}");
    let referrer = header_of(response, "referrer-policy").unwrap_or_default();
    assert!(
        ["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"].contains(&referrer.as_str()),
        "{what}: a strict Referrer-Policy, got {referrer:?}"
    );
    let permissions = header_of(response, "permissions-policy").unwrap_or_default();
    for feature in ["camera=()", "microphone=()", "geolocation=()"] {
        assert!(permissions.contains(feature), "{what}: Permissions-Policy {permissions:?} lacks {feature}");
    }
    let csp = header_of(response, "content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    assert_eq!(directive(&csp, "frame-ancestors"), Some(vec!["'none'".to_owned()]), "{what}: {csp}");
    assert!(header_of(response, "strict-transport-security").is_none(), "{what}: no HSTS over plain http");
}

/// Asserts a page's policy and returns its nonce.
async fn assert_page(response: Response, what: &str, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "{what}");
    assert_common(&response, what);
    let csp = header_of(&response, "content-security-policy").unwrap_or_default();
    let script_src = directive(&csp, "script-src").unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(script_src.contains(&"'self'".to_owned()), "{what}: {csp}");
    for unsafe_source in ["'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"] {
        assert!(!script_src.contains(&unsafe_source.to_owned()), "{what}: script-src allows {unsafe_source}: {csp}");
    }
    let nonces: Vec<&str> = script_src.iter().filter_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\'')).collect();
    assert_eq!(nonces.len(), 1, "{what}: one nonce in {csp}");
    let nonce = nonces[0].to_owned();
    assert!(nonce.len() >= 16, "{what}: a nonce long enough not to be guessed: {nonce}");
    assert_eq!(directive(&csp, "object-src"), Some(vec!["'none'".to_owned()]), "{what}: {csp}");
    assert_eq!(directive(&csp, "base-uri"), Some(vec!["'none'".to_owned()]), "{what}: {csp}");

    let html = response.text().await.expect("body");
    let (inline, page_nonces) = inline_script_nonces(&html);
    assert!(inline >= 1, "{what}: the hydration script is inline: {html}");
    assert_eq!(page_nonces.len(), inline, "{what}: every inline script carries a nonce: {html}");
    assert!(page_nonces.iter().all(|n| *n == nonce), "{what}: the page's nonces {page_nonces:?} are the header's {nonce}");
    assert!(!html.contains(" onload=") && !html.contains(" onclick="), "{what}: no inline event handlers");
    nonce
}

/// Every page, each with the cookie it needs: (path, expected status, cookie?).
fn pages() -> Vec<(&'static str, StatusCode, bool)> {
    vec![
        ("/", StatusCode::OK, false),
        ("/login", StatusCode::OK, false),
        ("/register", StatusCode::OK, false),
        ("/dashboard", StatusCode::OK, true),
        ("/settings/sessions", StatusCode::OK, true),
        ("/settings/password", StatusCode::OK, true),
        ("/no/such/page", StatusCode::NOT_FOUND, false),
    ]
}

async fn visit(app: &TestApp, person: &SignedIn, path: &str, with_cookie: bool) -> Response {
    if with_cookie {
        app.navigate(path, &[("gh_access", &person.access_token)]).await
    } else {
        app.navigate(path, &[]).await
    }
}

#[tokio::test]
async fn every_page_has_a_csp_whose_fresh_nonce_is_the_one_on_its_inline_scripts_and_no_unsafe_inline() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Header Reader").await;

    let mut seen = std::collections::HashSet::new();
    for (path, status, with_cookie) in pages() {
        let first = assert_page(visit(&app, &person, path, with_cookie).await, path, status).await;
        let second = assert_page(visit(&app, &person, path, with_cookie).await, path, status).await;
        assert_ne!(first, second, "{path}: a new nonce for every response");
        assert!(seen.insert(first) && seen.insert(second), "{path}: nonces are never reused across pages");
    }
}

#[tokio::test]
async fn answers_that_are_not_pages_get_a_policy_that_allows_nothing() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Api Reader").await;

    let responses = vec![
        ("GET /api/v1/me", app.me(&person.access_token).await),
        ("GET /api/v1/me (401)", app.me("nope").await),
        ("GET /.well-known/jwks.json", app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap()),
        ("GET /livez", app.client.get(app.url("/livez")).send().await.unwrap()),
        ("GET /dashboard (redirect)", app.navigate("/dashboard", &[]).await),
    ];
    for (what, response) in responses {
        assert_common(&response, what);
        let csp = header_of(&response, "content-security-policy").unwrap_or_default();
        assert_eq!(directive(&csp, "default-src"), Some(vec!["'none'".to_owned()]), "{what}: {csp}");
        assert!(directive(&csp, "script-src").is_none(), "{what}: {csp}");
    }
}

#[tokio::test]
async fn hsts_is_sent_only_when_served_over_https() {
    let plain = TestApp::spawn().await;
    for path in ["/", "/login", "/api/v1/me", "/livez"] {
        let response = plain.navigate(path, &[]).await;
        assert!(header_of(&response, "strict-transport-security").is_none(), "{path}: plain http gets no HSTS");
    }

    let https = TestApp::spawn_with(|c| c.public_url = Some("https://gatehouse.example".into())).await;
    for path in ["/", "/login", "/api/v1/me", "/livez", "/no/such/page"] {
        let response = https.navigate(path, &[]).await;
        let hsts = header_of(&response, "strict-transport-security").unwrap_or_else(|| panic!("{path}: HSTS over https"));
        let max_age: u64 = hsts
            .split(';')
            .find_map(|p| p.trim().strip_prefix("max-age="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{path}: max-age in {hsts}"));
        assert!(max_age >= 365 * 86400, "{path}: at least a year: {hsts}");
    }
}

#[tokio::test]
async fn signed_in_pages_api_answers_and_server_function_answers_are_never_cached() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Cache Avoider").await;
    let no_store = |response: &Response, what: &str| {
        let cache = header_of(response, "cache-control").unwrap_or_default();
        assert!(cache.split(',').any(|d| d.trim() == "no-store"), "{what}: Cache-Control {cache:?}");
    };

    for path in ["/dashboard", "/settings/sessions", "/settings/password"] {
        let response = app.navigate(path, &[("gh_access", &person.access_token)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        no_store(&response, path);
        // The redirect that sends a visitor without cookies through the refresh endpoint too.
        no_store(&app.navigate(path, &[]).await, &format!("{path} (redirect)"));
    }

    // Every JSON API answer, success or error.
    let other = app.another_session(&person, None).await;
    let api = vec![
        ("register 201", app.register(&crate::helpers::unique_email("cache"), PASSWORD, "Cached Not").await),
        ("register 422", app.register("nope", "short", "").await),
        ("login 200", app.login(&person.email, PASSWORD).await),
        ("login 401", app.login(&person.email, "wrong password here").await),
        ("refresh 200", app.refresh(&other.refresh_token).await),
        ("refresh 401", app.refresh("ghr_nope").await),
        ("me 200", app.me(&person.access_token).await),
        ("me 401", app.me("nope").await),
        ("sessions 200", app.list_sessions(&person.access_token).await),
        ("delete 404", app.delete_session(&person.access_token, "no-such-session").await),
        ("revoke-others 200", app.revoke_other_sessions(&person.access_token).await),
        ("unknown 404", app.client.get(app.url("/api/v1/nothing-here")).send().await.unwrap()),
        ("login 400", app.client.post(app.url("/api/v1/auth/login")).header(header::CONTENT_TYPE, "application/json").body("{").send().await.unwrap()),
        ("logout 204", app.logout(&person.access_token).await),
    ];
    for (what, response) in &api {
        no_store(response, what);
    }

    // Server functions, data and error alike, and the browser refresh endpoint.
    let fresh = app.another_session(&person, None).await;
    no_store(&app.call_fn("/fn/devices", &[], &fresh.access_token).await, "/fn/devices 200");
    no_store(&app.call_fn("/fn/whoami", &[], "not.a.token").await, "/fn/whoami 401");
    no_store(&app.navigate("/auth/refresh?next=%2Fdashboard", &[("gh_refresh", &fresh.refresh_token)]).await, "/auth/refresh");

    // The documented exceptions: public documents meant to be cached.
    let jwks = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
    let cache = header_of(&jwks, "cache-control").unwrap_or_default();
    assert!(cache.contains("public") && cache.contains("max-age"), "the JWKS is cacheable: {cache}");
    let openapi = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(openapi.status(), StatusCode::OK);
    assert!(!header_of(&openapi, "cache-control").unwrap_or_default().contains("no-store"), "the API document is public");
}

#[tokio::test]
async fn signing_out_and_signing_out_everywhere_send_clear_site_data() {
    let app = TestApp::spawn().await;

    for path in ["/auth/logout", "/auth/sign-out-everywhere"] {
        let person = app.signed_in("Leaving Now").await;
        for html in [true, false] {
            let session = if html { person.clone() } else { app.another_session(&person, None).await };
            let response = app
                .client
                .post(app.url(path))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, if html { "text/html" } else { "application/json" })
                .header(header::ORIGIN, app.origin())
                .header(header::COOKIE, cookie_header(&[("gh_access", &session.access_token), ("gh_refresh", &session.refresh_token)]))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success() || response.status().is_redirection(), "{path}: {}", response.status());
            let clear = header_of(&response, "clear-site-data").unwrap_or_else(|| panic!("{path} (html: {html}): Clear-Site-Data"));
            for what in ["\"cache\"", "\"storage\""] {
                assert!(clear.contains(what), "{path}: {clear} lacks {what}");
            }
            let cache = header_of(&response, "cache-control").unwrap_or_default();
            assert!(cache.contains("no-store"), "{path}: {cache}");
            assert!(app.revocation_of(&session.session_id).await.0.is_some(), "{path}: signed out");
        }
    }
    // Failing sign-outs clear nothing (no JSON error path sends the header).
    let response = app.client.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert!(header_of(&response, "clear-site-data").is_none());
}
