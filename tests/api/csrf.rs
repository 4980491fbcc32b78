//! Cross-site request forgery: posts forged by another site, carrying a signed-in person's
//! cookies, are refused with 403 `forbidden` and change nothing — with and without
//! JavaScript, on server functions, form posts and cookie-authenticated API calls. The same
//! requests from our own origin work; Bearer clients need no Origin; GET changes nothing.

use crate::helpers::{assert_error, cookie_header, json_body, set_cookies, unique_email, SignedIn, TestApp, PASSWORD};
use reqwest::{header, Method, Response, StatusCode};
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new passphrase 2";
const EVIL: &str = "https://evil.example";

/// A person signed in on two devices, and what must not change.
struct Victim {
    a: SignedIn,
    b: SignedIn,
    password_hash: String,
}

async fn victim(app: &TestApp) -> Victim {
    let a = app.signed_in("Victim Vic").await;
    let b = app.another_session(&a, None).await;
    let password_hash = app.password_hash_of(&a.user_id).await;
    Victim { a, b, password_hash }
}

async fn name_of(app: &TestApp, session_id: &str) -> Option<String> {
    let (name,): (Option<String>,) =
        sqlx::query_as("select name from sessions where id = $1").bind(session_id).fetch_one(&app.sql).await.unwrap();
    name
}

/// A request a forger would aim at a signed-in browser: method, path, form fields.
type Target = (Method, String, Vec<(&'static str, String)>);

/// Every state-changing request a forger would aim at a signed-in browser.
fn targets(v: &Victim) -> Vec<Target> {
    let b = v.b.session_id.clone();
    vec![
        (Method::POST, "/fn/devices/revoke-others".into(), vec![]),
        (Method::POST, "/fn/password".into(), vec![("current_password", PASSWORD.into()), ("new_password", NEW_PASSWORD.into())]),
        (Method::POST, "/auth/logout".into(), vec![]),
        (Method::POST, "/auth/sign-out-everywhere".into(), vec![]),
        (Method::POST, "/fn/devices/rename".into(), vec![("session_id", b.clone()), ("name", "pwned".into())]),
        (Method::POST, "/fn/devices/revoke".into(), vec![("session_id", b.clone())]),
        (Method::POST, "/fn/devices/disown".into(), vec![("session_id", b.clone())]),
        (Method::POST, "/fn/change-email".into(), vec![("new_email", "evil@example.com".into()), ("password", PASSWORD.into())]),
        (Method::POST, "/fn/resend-verification".into(), vec![]),
        (Method::POST, "/fn/totp-begin".into(), vec![]),
        (Method::POST, "/fn/totp-off".into(), vec![]),
        (Method::POST, "/fn/recovery-codes".into(), vec![]),
        (Method::POST, "/fn/reauthenticate".into(), vec![("confirm_password", PASSWORD.into())]),
        // The JSON API accepts the access cookie too, so it is guarded the same way.
        (Method::POST, "/api/v1/sessions/revoke-others".into(), vec![]),
        (Method::POST, "/api/v1/auth/logout".into(), vec![]),
        (Method::DELETE, format!("/api/v1/sessions/{b}"), vec![]),
        (Method::POST, "/api/v1/me/totp".into(), vec![]),
        (Method::DELETE, "/api/v1/me/totp".into(), vec![]),
        (Method::POST, "/api/v1/me/recovery-codes".into(), vec![]),
        (Method::POST, "/api/v1/me/email".into(), vec![]),
        (Method::POST, "/api/v1/me/reauthenticate".into(), vec![]),
        (Method::POST, "/api/v1/auth/resend-verification".into(), vec![]),
    ]
}

/// A request with the victim's cookies and exactly the given extra headers (no Origin,
/// Referer or Sec-Fetch-Site unless given). `html`: a no-JS form submission; else a script's
/// `fetch`.
async fn send(
    app: &TestApp,
    v: &Victim,
    method: Method,
    path: &str,
    fields: &[(&'static str, String)],
    headers: &[(&str, String)],
    html: bool,
) -> Response {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let accept = if html { "text/html,application/xhtml+xml,*/*;q=0.8" } else { "*/*" };
    let mut request = app
        .client
        .request(method, app.url(path))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, accept)
        .header(header::COOKIE, cookie_header(&[("gh_access", &v.a.access_token), ("gh_refresh", &v.a.refresh_token)]))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("request sent")
}

/// Asserts the victim's account is exactly as before: both sessions alive and unnamed, the
/// password unchanged, no revocation or password change recorded.
async fn assert_nothing_changed(app: &TestApp, v: &Victim) {
    for s in [&v.a, &v.b] {
        assert_eq!(app.revocation_of(&s.session_id).await, (None, None), "session {} still alive", s.session_id);
        json_body(app.me(&s.access_token).await, StatusCode::OK).await;
        assert_eq!(name_of(app, &s.session_id).await, None, "no name given");
    }
    assert_eq!(app.password_hash_of(&v.a.user_id).await, v.password_hash, "password unchanged");
    let kinds: Vec<String> = app.events_of(&v.a.user_id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.iter().all(|k| k == "signed_in"), "nothing but sign-ins recorded: {kinds:?}");
    // And the old password still opens the account, the new one does not.
    assert_error(app.login(&v.a.email, NEW_PASSWORD).await, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

/// Sends every target with `headers`, as a form and as a script would, and asserts each is
/// 403 `forbidden` and that nothing changed.
async fn assert_forgeries_refused(headers_for: impl Fn(&TestApp) -> Vec<(&'static str, String)>) {
    let app = TestApp::spawn().await;
    let v = victim(&app).await;
    let headers = &headers_for(&app)[..];

    for (method, path, fields) in targets(&v) {
        for html in [true, false] {
            let response = send(&app, &v, method.clone(), &path, &fields, headers, html).await;
            assert!(set_cookies(&response).is_empty(), "{method} {path} {headers:?}: no cookie is touched");
            assert!(response.headers().get("clear-site-data").is_none(), "{method} {path}: nothing cleared");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} with {headers:?} (html: {html}): {text}");
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"));
            assert_eq!(body["error"]["code"], "forbidden", "{method} {path}: {body}");
        }
    }
    assert_nothing_changed(&app, &v).await;
}

// ---------------------------------------------------------------------------------------
// Forgeries
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn forged_posts_from_another_origin_with_the_victims_cookies_are_403_forbidden_and_change_nothing() {
    assert_forgeries_refused(|_| vec![("origin", EVIL.into()), ("referer", format!("{EVIL}/page"))]).await;
}

#[tokio::test]
async fn forged_posts_marked_sec_fetch_site_cross_site_are_403_even_without_an_origin() {
    assert_forgeries_refused(|_| vec![("sec-fetch-site", "cross-site".into())]).await;
}

#[tokio::test]
async fn forged_posts_from_a_sibling_site_marked_sec_fetch_site_same_site_are_403() {
    // e.g. a compromised subdomain: same site, other origin — SameSite cookies do not help.
    assert_forgeries_refused(|_| vec![("sec-fetch-site", "same-site".into())]).await;
}

#[tokio::test]
async fn fetch_metadata_saying_cross_site_wins_over_an_origin_header_that_looks_like_ours() {
    assert_forgeries_refused(|app| vec![("sec-fetch-site", "cross-site".into()), ("origin", app.origin())]).await;
}

#[tokio::test]
async fn forged_posts_with_only_a_foreign_referer_are_403() {
    assert_forgeries_refused(|_| vec![("referer", format!("{EVIL}/page"))]).await;
}

#[tokio::test]
async fn forged_posts_from_a_look_alike_or_opaque_origin_are_403() {
    // A look-alike host whose name begins with ours, and `null` (sandboxed frames, data: URLs).
    assert_forgeries_refused(|app| vec![("origin", format!("{}.evil.example", app.origin()))]).await;
    assert_forgeries_refused(|_| vec![("origin", "null".into())]).await;
    assert_forgeries_refused(|app| vec![("referer", format!("{}.evil.example/page", app.origin()))]).await;
}

#[tokio::test]
async fn cookie_bearing_posts_without_any_origin_referer_or_fetch_metadata_are_403() {
    assert_forgeries_refused(|_| vec![]).await;
}

#[tokio::test]
async fn a_forged_sign_in_or_registration_from_another_site_is_403_and_sets_no_cookie() {
    // Login CSRF: signing the victim's browser into the attacker's account.
    let app = TestApp::spawn().await;
    let attacker = app.signed_in("Attacker Ann").await;
    let new_email = unique_email("planted");

    for (path, fields) in [
        ("/fn/login", vec![("email", attacker.email.clone()), ("password", PASSWORD.to_owned())]),
        (
            "/fn/register",
            vec![("email", new_email.clone()), ("password", PASSWORD.to_owned()), ("display_name", "Planted".to_owned())],
        ),
    ] {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        for headers in [vec![("origin", EVIL.to_owned())], vec![("sec-fetch-site", "cross-site".to_owned())]] {
            let mut request = app
                .client
                .post(app.url(path))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .body(body.clone());
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            let response = request.send().await.unwrap();
            assert!(set_cookies(&response).is_empty(), "{path}: no session planted");
            assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    let (accounts,): (i64,) =
        sqlx::query_as("select count(*) from users where email = $1").bind(&new_email).fetch_one(&app.sql).await.unwrap();
    assert_eq!(accounts, 0, "no account was created");
    let (sessions,): (i64,) = sqlx::query_as("select count(*) from sessions where user_id = $1")
        .bind(&attacker.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "no session was started");
}

// ---------------------------------------------------------------------------------------
// What must keep working
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_posts_from_our_own_origin_succeed() {
    let app = TestApp::spawn().await;
    let v = victim(&app).await;
    let ours = vec![("origin", app.origin())];

    // Each as a page's script sends it, with only our Origin: rename, sign out the others,
    // change the password, sign out.
    let response = send(&app, &v, Method::POST, "/fn/devices/rename", &[("session_id", v.b.session_id.clone()), ("name", "Kitchen tablet".into())], &ours, false).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    assert_eq!(name_of(&app, &v.b.session_id).await.as_deref(), Some("Kitchen tablet"));

    let response = send(&app, &v, Method::POST, "/fn/devices/revoke-others", &[], &ours, false).await;
    assert_eq!(json_body(response, StatusCode::OK).await, json!(1));
    assert_eq!(app.revocation_of(&v.b.session_id).await.1.as_deref(), Some("signed_out_elsewhere"));

    let fields = [("current_password", PASSWORD.to_owned()), ("new_password", NEW_PASSWORD.to_owned())];
    let response = send(&app, &v, Method::POST, "/fn/password", &fields, &ours, false).await;
    assert_eq!(json_body(response, StatusCode::OK).await, json!(0));
    assert_ne!(app.password_hash_of(&v.a.user_id).await, v.password_hash, "the password changed");

    // Sign out as a no-JS form: redirected to the login page, cookies cleared.
    let response = send(&app, &v, Method::POST, "/auth/logout", &[], &ours, true).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(!set_cookies(&response).is_empty(), "the cookies are cleared");
    assert_eq!(app.revocation_of(&v.a.session_id).await.1.as_deref(), Some("signed_out"));

    // And sign out everywhere from a new session, as a form.
    let c = json_body(app.login(&v.a.email, NEW_PASSWORD).await, StatusCode::OK).await;
    let c_session = c["session_id"].as_str().unwrap().to_owned();
    let response = app
        .client
        .post(app.url("/auth/sign-out-everywhere"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, app.origin())
        .header(header::COOKIE, cookie_header(&[("gh_access", c["access_token"].as_str().unwrap())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(app.revocation_of(&c_session).await.1.as_deref(), Some("signed_out_everywhere"));
}

#[tokio::test]
async fn a_same_origin_post_is_recognised_by_fetch_metadata_or_by_referer_alone() {
    let app = TestApp::spawn().await;
    let v = victim(&app).await;

    for (headers, name) in [
        (vec![("sec-fetch-site", "same-origin".to_owned())], "by fetch metadata"),
        (vec![("referer", app.url("/settings/sessions?x=1"))], "by referer"),
        (vec![("sec-fetch-site", "same-origin".to_owned()), ("origin", app.origin())], "by both"),
    ] {
        let fields = [("session_id", v.b.session_id.clone()), ("name", name.to_owned())];
        let response = send(&app, &v, Method::POST, "/fn/devices/rename", &fields, &headers, false).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}: {}", response.text().await.unwrap_or_default());
        assert_eq!(name_of(&app, &v.b.session_id).await.as_deref(), Some(name));
    }
}

#[tokio::test]
async fn a_bearer_authenticated_api_post_without_origin_works_for_api_clients() {
    let app = TestApp::spawn().await;
    let v = victim(&app).await;
    let c = app.another_session(&v.a, None).await;

    // No Origin, no Referer, no cookies: a command-line client.
    let response = app.client.delete(app.url(&format!("/api/v1/sessions/{}", c.session_id))).bearer_auth(&v.a.access_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.revoke_other_sessions(&v.a.access_token).await;
    assert_eq!(json_body(response, StatusCode::OK).await, json!({ "revoked": 1 }));
    assert_eq!(app.revocation_of(&v.b.session_id).await.1.as_deref(), Some("signed_out_elsewhere"));
    assert_eq!(app.logout(&v.a.access_token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.revocation_of(&v.a.session_id).await.1.as_deref(), Some("signed_out"));
}

#[tokio::test]
async fn get_requests_to_state_changing_endpoints_change_nothing() {
    let app = TestApp::spawn().await;
    let v = victim(&app).await;

    // A link, an <img> or a top-level navigation from another site (the Lax access cookie
    // goes along) — and even a same-origin GET such as a prefetch.
    for headers in [
        vec![("sec-fetch-site", "cross-site".to_owned()), ("referer", format!("{EVIL}/page"))],
        vec![("sec-fetch-site", "same-origin".to_owned()), ("origin", app.origin())],
    ] {
        for (_, path, fields) in targets(&v) {
            let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
            let url = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
            for html in [true, false] {
                let response = send(&app, &v, Method::GET, &url, &[], &headers, html).await;
                let status = response.status();
                assert!(!status.is_server_error(), "GET {url}: {status}");
                assert!(
                    set_cookies(&response).iter().all(|c| !c.value.is_empty()),
                    "GET {url}: no cookie is cleared: {:?}",
                    set_cookies(&response)
                );
            }
        }
    }
    assert_nothing_changed(&app, &v).await;
}
