//! The browser flow without JavaScript, as plain HTTP: protected pages, the refresh
//! navigation under `/auth`, and the sign-in / sign-out server functions posted as forms.

use crate::helpers::{
    assert_error, cookie_header, json_body, location, now, set_cookies, the_cookie, unique_email, SetCookie, TestApp, PASSWORD,
};
use base64::{engine::general_purpose::URL_SAFE, Engine};
use reqwest::{header, StatusCode};

/// The cookie pair a no-JS sign-in form sets.
struct BrowserCookies {
    access: SetCookie,
    refresh: SetCookie,
}

/// Registers a person through the API and signs them in through `POST /fn/login` as a form.
async fn form_sign_in(app: &TestApp, display_name: &str) -> (String, BrowserCookies) {
    let email = unique_email("browser");
    json_body(app.register(&email, PASSWORD, display_name).await, StatusCode::CREATED).await;
    let response = app
        .form_post(
            "/fn/login",
            &[("email", &email), ("password", PASSWORD), ("next", "/dashboard")],
            "/login?next=%2Fdashboard",
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND, "{:?}", response.headers());
    assert_eq!(location(&response), "/dashboard");
    let cookies = set_cookies(&response);
    let jar = BrowserCookies { access: the_cookie(&cookies, "gh_access"), refresh: the_cookie(&cookies, "gh_refresh") };
    (email, jar)
}

fn assert_access_cookie(cookie: &SetCookie) {
    assert!(cookie.has_flag("HttpOnly"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("SameSite"), Some("Lax"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("Path"), Some("/"), "{}", cookie.raw);
    assert!(!cookie.has_flag("Secure"), "plain http here: {}", cookie.raw);
    assert_eq!(cookie.value.split('.').count(), 3, "a JWT: {}", cookie.raw);
    assert!(cookie.attribute("Max-Age").and_then(|v| v.parse::<i64>().ok()).is_some_and(|s| s > 0), "{}", cookie.raw);
}

fn assert_refresh_cookie(cookie: &SetCookie) {
    assert!(cookie.has_flag("HttpOnly"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("SameSite"), Some("Strict"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("Path"), Some("/auth"), "{}", cookie.raw);
    assert!(cookie.value.starts_with("ghr_"), "{}", cookie.raw);
    assert!(cookie.attribute("Max-Age").and_then(|v| v.parse::<i64>().ok()).is_some_and(|s| s > 0), "{}", cookie.raw);
}

fn assert_cleared(cookie: &SetCookie, path: &str) {
    assert_eq!(cookie.value, "", "{}", cookie.raw);
    assert_eq!(cookie.attribute("Max-Age"), Some("0"), "{}", cookie.raw);
    assert_eq!(cookie.attribute("Path"), Some(path), "{}", cookie.raw);
}

#[tokio::test]
async fn a_protected_page_without_cookies_goes_through_the_refresh_endpoint_to_the_login_page() {
    let app = TestApp::spawn().await;

    let response = app.navigate("/dashboard", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/auth/refresh?next=%2Fdashboard");

    let response = app.navigate("/auth/refresh?next=%2Fdashboard", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Fdashboard");
    assert!(set_cookies(&response).is_empty(), "nothing to set without a refresh cookie");
}

#[tokio::test]
async fn signing_in_through_a_no_js_form_sets_both_cookies_and_redirects_to_next() {
    let app = TestApp::spawn().await;
    let (email, jar) = form_sign_in(&app, "Form Filler").await;

    assert_access_cookie(&jar.access);
    assert_refresh_cookie(&jar.refresh);

    // The cookies carry a working pair for this person.
    let me = json_body(app.me(&jar.access.value).await, StatusCode::OK).await;
    assert_eq!(me["user"]["email"], email.as_str());
    let refreshed = json_body(app.refresh(&jar.refresh.value).await, StatusCode::OK).await;
    assert_eq!(refreshed["session_id"], me["session_id"]);
}

#[tokio::test]
async fn the_dashboard_renders_for_a_valid_access_cookie() {
    let app = TestApp::spawn().await;
    let (_, jar) = form_sign_in(&app, "Dorothy Dashboard-Reader").await;

    let response = app.navigate("/dashboard", &[("gh_access", &jar.access.value)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers().get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(cache, "no-store", "a signed-in page is never cached");
    let html = response.text().await.unwrap();
    assert!(html.contains("Dorothy Dashboard-Reader"), "the display name is shown: {html}");
    assert!(html.contains("Dashboard"), "{html}");
    assert!(html.contains("<h1>Dashboard</h1>"), "the page heading: {html}");
}

#[tokio::test]
async fn an_expired_access_cookie_is_refreshed_through_auth_refresh_and_sent_back_to_the_page() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Expired Cookie").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);

    let response = app.navigate("/dashboard", &[("gh_access", &expired)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to_refresh = location(&response);
    assert_eq!(to_refresh, "/auth/refresh?next=%2Fdashboard");

    // The browser follows with both cookies: the refresh cookie is sent under /auth.
    let response = app.navigate(&to_refresh, &[("gh_access", &expired), ("gh_refresh", &person.refresh_token)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard");
    let cookies = set_cookies(&response);
    let access = the_cookie(&cookies, "gh_access");
    let refresh = the_cookie(&cookies, "gh_refresh");
    assert_access_cookie(&access);
    assert_refresh_cookie(&refresh);
    assert_ne!(refresh.value, person.refresh_token, "the refresh token was rotated");
    assert_ne!(access.value, expired);

    let response = app.navigate("/dashboard", &[("gh_access", &access.value)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains(&person.display_name));
}

#[tokio::test]
async fn an_off_site_next_is_never_followed_after_sign_in_or_refresh() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Careful Redirects").await;
    let mut refresh_token = person.refresh_token.clone();

    for next in ["//evil.com", "https://evil.com/", "/\\evil.com", "evil.com"] {
        let response = app
            .form_post(
                "/fn/login",
                &[("email", &person.email), ("password", PASSWORD), ("next", next)],
                "/login",
                &[],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "next={next}");
        assert_eq!(location(&response), "/dashboard", "next={next}");

        let path = format!("/auth/refresh?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
        let response = app.navigate(&path, &[("gh_refresh", &refresh_token)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "next={next}");
        assert_eq!(location(&response), "/dashboard", "next={next}");
        refresh_token = the_cookie(&set_cookies(&response), "gh_refresh").value;
    }

    // Without a refresh cookie the login page gets a safe `next` too.
    let response = app.navigate("/auth/refresh?next=%2F%2Fevil.com", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Fdashboard");
}

#[tokio::test]
async fn a_wrong_password_through_the_no_js_form_goes_back_to_the_referer_with_the_error_in_the_query() {
    let app = TestApp::spawn().await;
    let email = unique_email("typo");
    json_body(app.register(&email, PASSWORD, "Typo Tom").await, StatusCode::CREATED).await;

    let response = app
        .form_post(
            "/fn/login",
            &[("email", &email), ("password", "not my password"), ("next", "/dashboard")],
            "/login?next=%2Fdashboard",
            &[],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(set_cookies(&response).iter().all(|c| c.name != "gh_access" && c.name != "gh_refresh"), "no cookies on failure");
    let target = reqwest::Url::parse(&location(&response)).unwrap_or_else(|e| panic!("Location is a URL: {e}"));
    assert_eq!(target.origin(), reqwest::Url::parse(&app.url("/")).unwrap().origin());
    assert_eq!(target.path(), "/login", "back where the form was");
    let query: Vec<(String, String)> = target.query_pairs().into_owned().collect();
    assert!(query.contains(&("next".into(), "/dashboard".into())), "{query:?}");
    let err = query.iter().find(|(k, _)| k == "__err").map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("__err in {query:?}"));
    let decoded = String::from_utf8(URL_SAFE.decode(&err).unwrap_or_else(|e| panic!("__err is base64url: {e}"))).unwrap();
    assert!(decoded.contains("InvalidCredentials"), "the error is encoded in the query: {decoded}");
}

#[tokio::test]
async fn signing_out_through_the_no_js_form_clears_the_cookies_and_revokes_the_session() {
    let app = TestApp::spawn().await;
    let (_, jar) = form_sign_in(&app, "Signing Off").await;

    let response = app
        .form_post("/auth/logout", &[], "/dashboard", &[("gh_access", &jar.access.value), ("gh_refresh", &jar.refresh.value)])
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/login?signed_out=1");
    let cookies = set_cookies(&response);
    assert_cleared(&the_cookie(&cookies, "gh_access"), "/");
    assert_cleared(&the_cookie(&cookies, "gh_refresh"), "/auth");

    assert_error(app.refresh(&jar.refresh.value).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_error(app.me(&jar.access.value).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn signing_out_with_an_expired_access_cookie_still_revokes_the_session_named_by_the_refresh_cookie() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Late Leaver").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);

    let response = app
        .form_post("/auth/logout", &[], "/dashboard", &[("gh_access", &expired), ("gh_refresh", &person.refresh_token)])
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/login?signed_out=1");
    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn signing_out_with_only_an_expired_access_cookie_ends_the_session_it_names() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Cookie Left Behind").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);

    let response = app.form_post("/auth/logout", &[], "/dashboard", &[("gh_access", &expired)]).await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/login?signed_out=1");
    let (revoked_at, reason) = app.revocation_of(&person.session_id).await;
    assert!(revoked_at.is_some(), "the expired token's session is revoked");
    assert_eq!(reason.as_deref(), Some("signed_out"));
    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn an_expired_access_cookie_signed_by_someone_else_signs_nobody_out() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Forged At").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);
    let (head, rest) = expired.split_once('.').expect("a JWT");
    let (payload, signature) = rest.split_once('.').expect("a JWT");
    let other_first = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{head}.{payload}.{other_first}{}", &signature[1..]);

    let response = app.form_post("/auth/logout", &[], "/dashboard", &[("gh_access", &forged)]).await;

    assert_eq!(response.status(), StatusCode::FOUND, "the browser is still sent to the login page");
    assert_eq!(app.revocation_of(&person.session_id).await, (None, None), "a bad signature names no session");
    app.assert_session_alive(&person).await;
}

#[tokio::test]
async fn a_revoked_refresh_cookie_at_auth_refresh_goes_to_the_login_page_and_clears_the_cookies() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Ended Elsewhere").await;
    assert_eq!(app.logout(&person.access_token).await.status(), StatusCode::NO_CONTENT);

    let response = app.navigate("/auth/refresh?next=%2Fdashboard", &[("gh_refresh", &person.refresh_token)]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Fdashboard&ended=1");
    let cookies = set_cookies(&response);
    assert_cleared(&the_cookie(&cookies, "gh_access"), "/");
    assert_cleared(&the_cookie(&cookies, "gh_refresh"), "/auth");
}

#[tokio::test]
async fn a_signed_out_sessions_access_cookie_no_longer_opens_the_dashboard() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Revoked Reader").await;
    let response = app.navigate("/dashboard", &[("gh_access", &person.access_token)]).await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_eq!(app.logout(&person.access_token).await.status(), StatusCode::NO_CONTENT);

    let response = app.navigate("/dashboard", &[("gh_access", &person.access_token)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/auth/refresh?next=%2Fdashboard");
}

/// `GET /auth/refresh?next=/dashboard` as a navigation from `site` (`Sec-Fetch-Site`).
async fn refresh_navigation_from(app: &TestApp, site: &str, refresh_cookie: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url("/auth/refresh?next=%2Fdashboard"))
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", site);
    if let Some(token) = refresh_cookie {
        request = request.header(header::COOKIE, cookie_header(&[("gh_refresh", token)]));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_navigation_from_another_site_gets_a_continue_button_and_rotates_nothing() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Linked From Mail").await;

    // cross-site: the Strict cookie stays home; same-site (a sibling subdomain): it would come
    // along, and must not rotate either.
    for (site, cookie) in [("cross-site", None), ("same-site", Some(person.refresh_token.as_str()))] {
        let response = refresh_navigation_from(&app, site, cookie).await;

        assert_eq!(response.status(), StatusCode::OK, "{site}");
        assert!(set_cookies(&response).is_empty(), "{site}: no cookie set, nothing rotated");
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{site}: no script may run: {csp}");
        let html = response.text().await.unwrap();
        assert!(!html.contains("http-equiv"), "{site}: nothing moves on by itself: {html}");
        assert!(html.contains(r#"<form method="get" action="/auth/refresh">"#), "{html}");
        assert!(html.contains(r#"<input type="hidden" name="next" value="/dashboard">"#), "{html}");
        assert!(html.contains(">Continue</button>"), "{html}");
    }
    // The refresh token was not spent: it still rotates exactly once, now.
    let (_, reason) = app.revocation_of(&person.session_id).await;
    assert_eq!(reason, None);
    json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn the_continue_button_from_our_own_page_rotates_and_goes_on_or_without_a_cookie_goes_to_the_login_page() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Clicked Continue").await;

    let response = refresh_navigation_from(&app, "same-origin", Some(&person.refresh_token)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard");
    let rotated = the_cookie(&set_cookies(&response), "gh_refresh");
    assert!(rotated.value.starts_with("ghr_") && rotated.value != person.refresh_token, "a new pair is set");

    let response = refresh_navigation_from(&app, "same-origin", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2Fdashboard");
}

#[tokio::test]
async fn an_error_in_the_url_that_our_server_did_not_seal_is_never_shown() {
    let app = TestApp::spawn().await;
    let planted = URL_SAFE.encode(br#"{"BadRequest":"Your account is locked. Call +1 555 0100 now."}"#);
    let query = |extra: &str| format!("/login?next=%2Fdashboard&__path=%2Ffn%2Flogin&__err={planted}{extra}");

    for (what, path) in [
        ("no seal", query("")),
        ("a made-up seal", query("&__seal=99999999999.AAAA")),
    ] {
        let response = app.navigate(&path, &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{what}");
        assert_eq!(location(&response), "/login?next=%2Fdashboard", "{what}: the same page, without the error");
    }
    let page = app.navigate("/login?next=%2Fdashboard", &[]).await.text().await.unwrap();
    assert!(!page.contains("555"), "{page}");
}

#[tokio::test]
async fn a_no_js_forms_error_comes_back_sealed_and_is_shown_once_only_for_that_form() {
    let app = TestApp::spawn().await;
    let email = unique_email("sealed");
    json_body(app.register(&email, PASSWORD, "Sealed Sam").await, StatusCode::CREATED).await;
    let response = app
        .form_post("/fn/login", &[("email", &email), ("password", "not my password")], "/login", &[])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = reqwest::Url::parse(&location(&response)).unwrap();
    let query: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(query.iter().any(|(k, _)| k == "__seal"), "sealed: {query:?}");

    let shown = app.navigate(&format!("{}?{}", back.path(), back.query().unwrap_or_default()), &[]).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert!(shown.text().await.unwrap().contains("Invalid email or password"), "our own error is shown");

    // The same seal does not carry another error, nor the same error to another form.
    let err = query.iter().find(|(k, _)| k == "__err").map(|(_, v)| v.clone()).unwrap();
    let seal = query.iter().find(|(k, _)| k == "__seal").map(|(_, v)| v.clone()).unwrap();
    let encode = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let planted = URL_SAFE.encode(br#"{"BadRequest":"Call +1 555 0100"}"#);
    for path in [
        format!("/login?__path=%2Ffn%2Flogin&__err={planted}&__seal={}", encode(&seal)),
        format!("/register?__path=%2Ffn%2Fregister&__err={}&__seal={}", encode(&err), encode(&seal)),
    ] {
        assert_eq!(app.navigate(&path, &[]).await.status(), StatusCode::SEE_OTHER, "{path}");
    }
}

#[tokio::test]
async fn a_malformed_form_is_refused_with_our_own_words_not_the_senders() {
    let app = TestApp::spawn().await;
    let response = app
        .form_post("/fn/login", &[("email", "x@example.com"), ("Call +1 555 0100", "now")], "/login", &[])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = reqwest::Url::parse(&location(&response)).unwrap();
    let err = back.query_pairs().find(|(k, _)| k == "__err").map(|(_, v)| v.into_owned()).expect("__err");
    let decoded = String::from_utf8(URL_SAFE.decode(&err).unwrap()).unwrap();
    assert!(decoded.contains("The form data could not be read"), "{decoded}");
    assert!(!decoded.contains("555") && !decoded.contains("password"), "nothing of what was sent: {decoded}");
}

#[tokio::test]
async fn registering_through_the_no_js_form_signs_in_and_goes_to_the_dashboard() {
    let app = TestApp::spawn().await;
    let email = unique_email("newcomer");

    let response = app
        .form_post(
            "/fn/register",
            &[("email", &email), ("password", PASSWORD), ("display_name", "New Comer")],
            "/register",
            &[],
        )
        .await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/dashboard");
    let cookies = set_cookies(&response);
    let access = the_cookie(&cookies, "gh_access");
    assert_access_cookie(&access);
    assert_refresh_cookie(&the_cookie(&cookies, "gh_refresh"));
    let response = app.navigate("/dashboard", &[("gh_access", &access.value)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("New Comer"));
}

#[tokio::test]
async fn behind_an_https_public_url_the_cookies_are_secure_and_carry_their_prefixes() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://auth.example.com".into())).await;
    let email = unique_email("secure");
    json_body(app.register(&email, PASSWORD, "Secure Sam").await, StatusCode::CREATED).await;

    let response = app
        .form_post("/fn/login", &[("email", &email), ("password", PASSWORD), ("next", "/dashboard")], "/login", &[])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookies = set_cookies(&response);
    assert!(cookies.iter().all(|c| c.name != "gh_access" && c.name != "gh_refresh" && c.name != "gh_device"), "{cookies:#?}");
    let access = the_cookie(&cookies, "__Host-gh_access");
    let refresh = the_cookie(&cookies, "__Secure-gh_refresh");
    let device = the_cookie(&cookies, "__Host-gh_device");
    assert_eq!(device.attribute("Path"), Some("/"));
    assert_eq!(device.attribute("SameSite"), Some("Strict"));
    for cookie in [&access, &refresh, &device] {
        assert!(cookie.has_flag("Secure"), "{}", cookie.raw);
        assert!(cookie.has_flag("HttpOnly"), "{}", cookie.raw);
        assert!(!cookie.has_flag("Domain"), "{}", cookie.raw);
    }
    assert_eq!(access.attribute("Path"), Some("/"));
    assert_eq!(access.attribute("SameSite"), Some("Lax"));
    assert_eq!(refresh.attribute("Path"), Some("/auth"));
    assert_eq!(refresh.attribute("SameSite"), Some("Strict"));

    // The prefixed names are the ones read back.
    let response = app.navigate("/dashboard", &[("__Host-gh_access", &access.value)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.navigate("/auth/refresh?next=%2Fdashboard", &[("__Secure-gh_refresh", &refresh.value)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard");
    assert_eq!(crate::helpers::jwt_part(&access.value, 1)["iss"], "https://auth.example.com", "the public origin issues");
}

#[tokio::test]
async fn signing_in_leaves_a_device_cookie_http_only_and_strict_that_signing_out_keeps_and_the_next_sign_in_renews() {
    let app = TestApp::spawn().await;
    let email = unique_email("device");
    json_body(app.register(&email, PASSWORD, "Known Kim").await, StatusCode::CREATED).await;
    let form = [("email", email.as_str()), ("password", PASSWORD), ("next", "/dashboard")];

    let response = app.form_post("/fn/login", &form, "/login", &[]).await;
    assert_eq!(location(&response), "/dashboard");
    let cookies = set_cookies(&response);
    let device = the_cookie(&cookies, "gh_device");
    assert!(device.value.starts_with("ghd_") && device.value.len() == 47, "256 random bits: {}", device.raw);
    assert!(device.has_flag("HttpOnly"), "{}", device.raw);
    assert_eq!(device.attribute("SameSite"), Some("Strict"), "{}", device.raw);
    assert_eq!(device.attribute("Path"), Some("/"), "{}", device.raw);
    assert!(!device.has_flag("Secure"), "plain http here: {}", device.raw);
    assert_eq!(device.attribute("Max-Age"), Some(&*(180 * 86400).to_string()), "{}", device.raw);
    let access = the_cookie(&cookies, "gh_access").value;
    let refresh = the_cookie(&cookies, "gh_refresh").value;

    // Signing out ends the session and keeps the browser a device its owner has used.
    let response = app
        .form_post("/auth/logout", &[], "/dashboard", &[("gh_access", &access), ("gh_refresh", &refresh), ("gh_device", &device.value)])
        .await;
    assert_eq!(location(&response), "/login?signed_out=1");
    assert!(set_cookies(&response).iter().all(|c| c.name != "gh_device"), "the device cookie is left alone");

    // The next sign-in with it hands out a new one (the old one is spent).
    let response = app.form_post("/fn/login", &form, "/login", &[("gh_device", &device.value)]).await;
    assert_eq!(location(&response), "/dashboard");
    let renewed = the_cookie(&set_cookies(&response), "gh_device");
    assert_ne!(renewed.value, device.value);
    // A failed sign-in sets no device cookie.
    let wrong = [("email", email.as_str()), ("password", "not the password at all"), ("next", "/dashboard")];
    let response = app.form_post("/fn/login", &wrong, "/login", &[("gh_device", &renewed.value)]).await;
    assert!(set_cookies(&response).iter().all(|c| c.name != "gh_device"), "no cookie on failure");
}
