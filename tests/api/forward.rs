//! Forward-auth (`GET /auth/forward`): the contract reverse proxies rely on — signed in,
//! expired but refreshable, signed out, revoked at once, forged identity headers, return URLs
//! that must never become open redirects, per-host rules — and the shared cookie domain.

use crate::helpers::{location, now, set_cookies, the_cookie, SignedIn, TestApp};
use gatehouse::server::service::forward::{HostPattern, Rule};
use reqwest::{header, Response, StatusCode};

const APP_HOST: &str = "app.example.test";

async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| {
        c.forward_allowed_hosts = vec![HostPattern::parse(".example.test").unwrap()];
        c.forward_rules = vec![
            Rule::parse("admin.example.test=verified").unwrap(),
            Rule::parse("ops.example.test=boss@example.test|@staff.example.test").unwrap(),
        ];
    })
    .await
}

/// The proxy's subrequest: the browser's cookies, where it was going, and whatever else.
async fn check(app: &TestApp, query: &str, host: &str, uri: &str, cookies: &[(&str, &str)], extra: &[(&str, &str)]) -> Response {
    let mut request = app
        .client
        .get(app.url(&format!("/auth/forward{query}")))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", host)
        .header("x-forwarded-uri", uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, crate::helpers::cookie_header(cookies));
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request sent")
}

fn header_of(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn assert_identity(response: &Response, person: &SignedIn, session_id: &str) {
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.headers());
    assert_eq!(header_of(response, "remote-user").as_deref(), Some(person.user_id.as_str()));
    assert_eq!(header_of(response, "remote-email").as_deref(), Some(person.email.as_str()));
    assert_eq!(header_of(response, "remote-name").as_deref(), Some(person.display_name.as_str()));
    assert_eq!(header_of(response, "remote-session").as_deref(), Some(session_id));
}

fn assert_no_identity(response: &Response) {
    for name in ["remote-user", "remote-email", "remote-name", "remote-session", "remote-groups"] {
        assert!(response.headers().get(name).is_none(), "{name} on a {}: {:?}", response.status(), response.headers());
    }
}

/// What the client forges, hoping a careless proxy or endpoint passes it on.
const FORGED: [(&str, &str); 4] =
    [("remote-user", "admin"), ("remote-email", "admin@example.test"), ("remote-name", "Admin"), ("remote-session", "nope")];

#[tokio::test]
async fn a_signed_in_browser_passes_with_identity_headers_from_its_token_only() {
    let app = spawn().await;
    let person = app.signed_in("Forward Fiona").await;
    let response = check(&app, "", APP_HOST, "/wiki", &[("gh_access", &person.access_token)], &FORGED).await;
    assert_identity(&response, &person, &person.session_id);
    assert!(set_cookies(&response).is_empty(), "nothing to refresh");
    assert_eq!(header_of(&response, "cache-control").as_deref(), Some("no-store"));

    // An API client's Bearer token works the same; without one the cookie is read.
    let response = app
        .client
        .get(app.url("/auth/forward"))
        .header("x-forwarded-host", APP_HOST)
        .bearer_auth(&person.access_token)
        .send()
        .await
        .unwrap();
    assert_identity(&response, &person, &person.session_id);
}

#[tokio::test]
async fn forged_identity_headers_never_come_back_for_someone_signed_out_or_someone_else() {
    let app = spawn().await;
    let response = check(&app, "", APP_HOST, "/", &[], &FORGED).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_no_identity(&response);
    let response = check(&app, "?redirect=1", APP_HOST, "/", &[("gh_access", "eyJhbGciOiJub25lIn0.e30.")], &FORGED).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_no_identity(&response);

    let person = app.signed_in("Forward Forger").await;
    let response = check(&app, "", APP_HOST, "/", &[("gh_access", &person.access_token)], &FORGED).await;
    assert_identity(&response, &person, &person.session_id);
    assert_eq!(response.headers().get_all("remote-user").iter().count(), 1, "one Remote-User, ours");
}

#[tokio::test]
async fn signed_out_answers_401_with_the_sign_in_url_or_302_on_request() {
    let app = spawn().await;
    let expected = format!(
        "{}/login?rd={}",
        app.state.public_origin,
        form_urlencoded::byte_serialize(b"https://app.example.test/wiki?a=1&b=2").collect::<String>()
    );
    let response = check(&app, "", APP_HOST, "/wiki?a=1&b=2", &[], &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&response), expected, "nginx turns the 401 into a redirect to this");

    let response = check(&app, "?redirect=1", APP_HOST, "/wiki?a=1&b=2", &[], &[]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), expected);

    // A POST cannot be replayed after signing in: a 401, not a redirect that loses its body.
    let response = check(&app, "?redirect=1", APP_HOST, "/save", &[], &[("x-forwarded-method", "POST")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // nginx may send the whole URL instead.
    let response = app
        .client
        .get(app.url("/auth/forward"))
        .header("x-original-url", "http://wiki.example.test:8080/page")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&response), format!("{}/login?rd=http%3A%2F%2Fwiki.example.test%3A8080%2Fpage", app.state.public_origin));
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_during_the_check_and_the_new_pair_handed_back() {
    let app = spawn().await;
    let person = app.signed_in("Forward Refresher").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);
    let response =
        check(&app, "", APP_HOST, "/", &[("gh_access", &expired), ("gh_refresh", &person.refresh_token)], &FORGED).await;
    assert_identity(&response, &person, &person.session_id);
    let cookies = set_cookies(&response);
    let access = the_cookie(&cookies, "gh_access");
    let refresh = the_cookie(&cookies, "gh_refresh");
    assert_ne!(refresh.value, person.refresh_token, "rotated");
    assert_eq!(refresh.attribute("Path"), Some("/auth"), "no cookie domain: unchanged cookies");
    // The same two, one header each, for nginx (which keeps only one Set-Cookie).
    assert_eq!(header_of(&response, "gatehouse-access-cookie").as_deref(), Some(access.raw.as_str()));
    assert_eq!(header_of(&response, "gatehouse-refresh-cookie").as_deref(), Some(refresh.raw.as_str()));

    // The new access token is good; the spent refresh token is the one rotation's: presenting
    // it again from another client after the grace window would be reuse (tests/api/grace.rs).
    let response = check(&app, "", APP_HOST, "/", &[("gh_access", &access.value)], &[]).await;
    assert_identity(&response, &person, &person.session_id);
    assert_eq!(app.me(&access.value).await.status(), StatusCode::OK);
    let response = app.refresh(&refresh.value).await;
    assert_eq!(response.status(), StatusCode::OK, "the handed-back refresh token is the live one");

    // Expired access token and no refresh cookie: sign in.
    let response = check(&app, "", APP_HOST, "/", &[("gh_access", &expired)], &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_no_identity(&response);
}

#[tokio::test]
async fn a_revoked_session_is_refused_at_once_even_with_a_live_access_token_and_refresh_cookie() {
    let app = spawn().await;
    let person = app.signed_in("Forward Revoked").await;
    let other = app.another_session(&person, Some("Other device")).await;
    let cookies = [("gh_access", person.access_token.as_str()), ("gh_refresh", person.refresh_token.as_str())];
    assert_eq!(check(&app, "", APP_HOST, "/", &cookies, &[]).await.status(), StatusCode::OK);

    // "Sign out" on that device's row, from the other device.
    assert_eq!(app.delete_session(&other.access_token, &person.session_id).await.status(), StatusCode::NO_CONTENT);
    let response = check(&app, "", APP_HOST, "/", &cookies, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the very next request");
    assert_no_identity(&response);
    let cleared = set_cookies(&response);
    assert_eq!(the_cookie(&cleared, "gh_access").attribute("Max-Age"), Some("0"), "the ended session's cookies are cleared");
    assert_eq!(check(&app, "", APP_HOST, "/", &[("gh_access", &person.access_token)], &[]).await.status(), StatusCode::UNAUTHORIZED);
    // The other device is untouched.
    assert_eq!(check(&app, "", APP_HOST, "/", &[("gh_access", &other.access_token)], &[]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn return_urls_outside_the_allowed_hosts_are_dropped_never_followed() {
    let app = spawn().await;
    let bare = format!("{}/login", app.state.public_origin);
    for (host, uri) in [
        ("evil.test", "/"),
        ("app.example.test.evil.test", "/"),
        ("example.test", "/"), // the family, not its parent
        ("evil.test", "//app.example.test/"),
        ("app.example.test@evil.test", "/"),
    ] {
        let response = check(&app, "?redirect=1", host, uri, &[], &[]).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(location(&response), bare, "{host} {uri}");
    }
    let response =
        app.client.get(app.url("/auth/forward")).header("x-original-url", "https://evil.test/?x=app.example.test").send().await.unwrap();
    assert_eq!(location(&response), bare);

    // The sign-in form follows `rd` only to an allowed host.
    let person = app.signed_in("Forward Return").await;
    for (rd, expected) in [
        ("https://app.example.test/wiki?x=1", "https://app.example.test/wiki?x=1"),
        ("https://evil.test/", "/dashboard"),
        ("//evil.test/", "/dashboard"),
        ("https:evil.test", "/dashboard"),
        ("https://app.example.test@evil.test/", "/dashboard"),
        ("javascript:alert(1)//app.example.test", "/dashboard"),
    ] {
        let response = app
            .form_post(
                "/fn/login",
                &[("email", &person.email), ("password", crate::helpers::PASSWORD), ("rd", rd)],
                "/login",
                &[],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{rd}");
        assert_eq!(location(&response), expected, "{rd}");
    }

    // So does the refresh navigation (no refresh cookie here: on to the sign-in page, rd kept).
    let response = app.navigate("/auth/refresh?rd=https%3A%2F%2Fevil.test%2F", &[]).await;
    assert_eq!(location(&response), "/login?next=%2Fdashboard");
    let response = app.navigate("/auth/refresh?rd=https%3A%2F%2Fapp.example.test%2Fx", &[]).await;
    assert_eq!(location(&response), "/login?rd=https%3A%2F%2Fapp.example.test%2Fx");

    // The sign-in page may send its form on to the allowed hosts, and nowhere else.
    let page = app.navigate("/login", &[]).await;
    let csp = header_of(&page, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("form-action 'self' *.example.test:*;"), "{csp}");
}

#[tokio::test]
async fn rules_decide_who_enters_which_host_and_a_refused_person_gets_a_friendly_403() {
    let app = spawn().await;
    let person = app.signed_in("Forward Unverified").await;
    let cookies = [("gh_access", person.access_token.as_str())];
    assert_eq!(check(&app, "", APP_HOST, "/", &cookies, &[]).await.status(), StatusCode::OK, "no rule: anyone signed in");

    let response = check(&app, "", "admin.example.test", "/", &cookies, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_no_identity(&response);
    assert!(header_of(&response, "content-type").unwrap_or_default().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("admin.example.test") && html.contains("isn't allowed"), "{html}");

    // Verified: admitted at once (rules read the account, not the profile cache).
    sqlx::query("update users set email_verified_at = $1 where id = $2").bind(now()).bind(&person.user_id).execute(&app.sql).await.unwrap();
    let response = check(&app, "", "admin.example.test", "/", &cookies, &[]).await;
    assert_identity(&response, &person, &person.session_id);
    // An address list: verified and listed (or at a listed domain) only.
    assert_eq!(check(&app, "", "ops.example.test", "/", &cookies, &[]).await.status(), StatusCode::FORBIDDEN);
    sqlx::query("update users set email = $1 where id = $2")
        .bind(format!("p{}@staff.example.test", now()))
        .bind(&person.user_id)
        .execute(&app.sql)
        .await
        .unwrap();
    assert_eq!(check(&app, "", "ops.example.test", "/", &cookies, &[]).await.status(), StatusCode::OK);

    // nginx's error_page fetches the page alone.
    let response = app.client.get(app.url("/auth/forward/refused")).header("x-forwarded-host", "ops.example.test").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("ops.example.test"));

    // With rules in force, a proxy that does not say which host is refused, not waved through.
    let response = app.client.get(app.url("/auth/forward")).header(header::COOKIE, format!("gh_access={}", person.access_token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_refused_person_with_an_expired_token_is_refused_before_any_rotation() {
    let app = spawn().await;
    let person = app.signed_in("Forward Refused Expired").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);
    let response =
        check(&app, "", "admin.example.test", "/", &[("gh_access", &expired), ("gh_refresh", &person.refresh_token)], &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&response).is_empty(), "no rotation whose cookies a proxy might drop");
    assert_eq!(app.refresh(&person.refresh_token).await.status(), StatusCode::OK, "the refresh token is still live");
}

#[tokio::test]
async fn a_cookie_domain_shares_both_cookies_with_its_hosts_under_their_own_names() {
    let app = TestApp::spawn_with(|c| {
        c.public_url = Some("http://auth.example.test".into());
        c.cookie_domain = Some("example.test".into());
        c.forward_allowed_hosts = vec![HostPattern::parse(".example.test").unwrap()];
    })
    .await;
    let person = app.signed_in("Forward Family").await;
    let expired = app.mint_access_token(&person.user_id, &person.session_id, now() - 10_000);
    let response = check(
        &app,
        "",
        APP_HOST,
        "/",
        &[("gh_shared_access", &expired), ("gh_shared_refresh", &person.refresh_token), ("gh_access", "stale"), ("gh_refresh", "stale")],
        &[],
    )
    .await;
    assert_identity(&response, &person, &person.session_id);
    let cookies = set_cookies(&response);
    let access = the_cookie(&cookies, "gh_shared_access");
    let refresh = the_cookie(&cookies, "gh_shared_refresh");
    assert_eq!(access.attribute("Domain"), Some("example.test"), "{}", access.raw);
    assert_eq!(refresh.attribute("Domain"), Some("example.test"), "{}", refresh.raw);
    assert_eq!(refresh.attribute("Path"), Some("/"), "reaches the check on every path of every host: {}", refresh.raw);
    assert_eq!(refresh.attribute("SameSite"), Some("Strict"), "{}", refresh.raw);
    assert!(refresh.has_flag("HttpOnly"));

    // The host-only names of before are not read at all.
    let response = check(&app, "", APP_HOST, "/", &[("gh_access", &access.value)], &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // An expired access cookie whose Strict refresh cookie stayed behind (a link from another
    // site): through the refresh navigation, not the password.
    let response = check(&app, "?redirect=1", APP_HOST, "/x", &[("gh_shared_access", &expired)], &[]).await;
    assert_eq!(location(&response), "http://auth.example.test/auth/refresh?rd=https%3A%2F%2Fapp.example.test%2Fx");
}

#[tokio::test]
async fn a_cookie_domain_that_does_not_cover_the_public_url_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gatehouse::server::config::Config::for_tests(dir.path().to_path_buf());
    config.public_url = Some("http://auth.example.test".into());
    config.cookie_domain = Some("other.test".into());
    let error = gatehouse::server::startup::build_state(&config).await.err().expect("refused");
    assert!(error.to_string().contains("GATEHOUSE_COOKIE_DOMAIN"), "{error}");
}

#[tokio::test]
async fn the_return_url_survives_the_two_step_code_and_is_followed_only_to_an_allowed_host() {
    use gatehouse::server::factors::totp::Authenticator;
    let app = spawn().await;
    let person = app.signed_in("Forward Two Step").await;
    let (authenticator, _) = crate::two_step::turn_on(&app, &person).await;
    let rd = "https://app.example.test/wiki?x=1";
    let encoded: String = form_urlencoded::byte_serialize(rd.as_bytes()).collect();

    let password = app
        .form_post("/fn/login", &[("email", &person.email), ("password", crate::helpers::PASSWORD), ("rd", rd)], "/login", &[])
        .await;
    assert_eq!(location(&password), format!("/login/code?rd={encoded}"), "the code step carries rd");
    let challenge = the_cookie(&set_cookies(&password), "gh_challenge");
    let code = authenticator.code_for_step(Authenticator::step_of(now()) + 1);
    let done = app
        .form_post("/fn/second-factor", &[("code", &code), ("rd", rd)], "/login/code", &[("gh_challenge", &challenge.value)])
        .await;
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(location(&done), rd);
}
