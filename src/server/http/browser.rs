//! The browser's side of the flow that is not a page (ssr only).
//!
//! A protected page is only rendered with a valid access token. When a navigation arrives
//! with an expired or missing one, [`guard_page`] sends it through `GET /auth/refresh` — the
//! only place the path-scoped refresh cookie is sent — which rotates the refresh token, sets
//! the new pair and sends the browser back where it was going. The person never sees the
//! login page while the refresh token is good.
//!
//! That GET changes state (a rotation), so it rotates only for a navigation our own origin
//! started (or the person typed): `Sec-Fetch-Site` same-origin or none. The refresh cookie
//! is SameSite=Strict, so another site's link never carries it; a sibling site's (same-site)
//! could, and an automatic hop through our origin would launder either into a rotation. A
//! navigation from elsewhere therefore gets a page with a "Continue" button: one click,
//! from our own page, and the person is where they wanted to be — never the login page
//! while their refresh token is good, and no other site can rotate it for them.

use crate::server::{auth, clock, cookies::REFRESH_PATH, service::account, state::AppState};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use tower_cookies::Cookies;

/// Pages that need a signed-in person.
pub fn is_protected(path: &str) -> bool {
    ["/dashboard", "/settings", "/admin"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

/// Where to go after signing in or refreshing: only same-site relative paths, anything else
/// becomes the dashboard (no open redirects: `//evil.com`, `/\evil.com`, `https://…`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 512
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && !n.starts_with(REFRESH_PATH) =>
        {
            n.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

/// Middleware in front of everything: a page request (a browser's GET or HEAD for HTML)
/// that arrived under another host name than the public URL's — someone typed
/// `127.0.0.1:3000` for `localhost:3000` — is sent to the same path at the public URL, so
/// nobody meets a cross-site refusal or a passkey error because of the name they typed. API
/// calls, server functions, `/auth/…`, files and health checks are answered wherever they
/// arrive; so is everything a trusted proxy forwards (it decides which names reach us).
pub fn public_host(state: &AppState, req: &Request) -> Option<Response> {
    let to = elsewhere(state, req)?;
    Some((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response())
}

fn elsewhere(state: &AppState, req: &Request) -> Option<String> {
    if !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD) {
        return None;
    }
    let wants_html = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let path = req.uri().path();
    let not_a_page = ["/api/", "/fn/", "/auth/", "/pkg/", "/.well-known/"].iter().any(|p| path.starts_with(p))
        || ["/livez", "/healthz"].contains(&path)
        || path.rsplit('/').next().is_some_and(|last| last.contains('.'));
    if !wants_html || not_a_page {
        return None;
    }
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok())?;
    let public = state.public_origin.split_once("://").map_or(state.public_origin.as_str(), |(_, rest)| rest);
    if host.eq_ignore_ascii_case(public) {
        return None;
    }
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|ci| ci.0.ip());
    if peer.is_some_and(|ip| state.trusted_proxies.iter().any(|net| net.contains(&ip))) {
        return None;
    }
    let target = req.uri().path_and_query().map_or(path, |p| p.as_str());
    Some(format!("{}{target}", state.public_origin))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/auth/refresh", get(refresh_navigation))
}

/// What the page guard decided.
pub enum Guarded {
    /// Answered here: a redirect.
    Answer(Response),
    /// A protected page with a verified caller (handed on as an `AuthUser` extension); its
    /// answer must not be cached.
    SignedIn,
    /// Not a protected page: go on.
    Open,
}

/// In front of the pages: a protected page gets its caller verified (and handed on as an
/// `AuthUser` extension) or is redirected through the refresh endpoint first; an error in the
/// query that our server did not seal is dropped (see `server_fns`).
pub fn guard_page(state: &AppState, req: &mut Request) -> Guarded {
    if req.method() == axum::http::Method::GET {
        if let Some(redirect) = super::server_fns::unsealed_error_redirect(state, req.uri(), clock::now()) {
            return Guarded::Answer(redirect);
        }
    }
    if !is_protected(req.uri().path()) {
        return Guarded::Open;
    }
    match auth::authenticate(state, req.headers(), clock::now()) {
        Ok(user) => {
            req.extensions_mut().insert(user);
            Guarded::SignedIn
        }
        Err(_) => {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/dashboard");
            Guarded::Answer(see_other(&format!("/auth/refresh?next={}", encode(target))))
        }
    }
}

#[derive(Deserialize)]
pub struct NavigationQuery {
    next: Option<String>,
    /// Forward-auth: a URL on an allowed host of another app (see `service::forward`).
    rd: Option<String>,
}

/// Where a navigation or a sign-in goes on, and under which name that travels on to the next
/// page: `rd` when it is a URL on an allowed host (forward-auth), else `next` (same-site
/// paths only, else the dashboard).
pub fn destination(state: &AppState, next: Option<&str>, rd: Option<&str>) -> (String, &'static str) {
    match rd.and_then(|rd| state.forward.return_url(rd)) {
        Some(rd) => (rd, "rd"),
        None => (safe_next(next), "next"),
    }
}

/// True for a navigation our own pages started, or that the person typed or bookmarked.
/// Without the header (older browsers, non-browsers), the Strict cookie is the guard.
fn started_here(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => site == "same-origin" || site == "none",
    }
}

/// `GET /auth/refresh?next=…`: rotate, set cookies, go back — or to the login page.
async fn refresh_navigation(
    State(state): State<AppState>,
    cookies: Cookies,
    parts: axum::http::request::Parts,
    Query(query): Query<NavigationQuery>,
) -> Response {
    let (next, name) = destination(&state, query.next.as_deref(), query.rd.as_deref());
    let carried = format!("{name}={}", encode(&next));
    if !started_here(&parts.headers) {
        return continue_page(name, &next, &state.forward.form_action_sources);
    }
    let Some(token) = state.cookies.refresh_token(&cookies) else {
        return see_other(&format!("/login?{carried}"));
    };
    let now = clock::now();
    match account::refresh(&state, token.expose(), &super::client_of(&state, &parts), now).await {
        Ok(issued) => {
            state.cookies.set_tokens(&cookies, &issued, now);
            see_other(&next)
        }
        Err(e) if e.session_ended() => {
            state.cookies.clear(&cookies);
            see_other(&format!("/login?{carried}&ended=1"))
        }
        Err(e) => e.into_response(),
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    no_store(&mut response);
    response
}

/// The page a navigation from another site meets when its access token has expired: one
/// button, a GET from our own origin, which the browser sends with the Strict cookie.
/// `name`, `value`: the `next` or `rd` to continue with; `forward_sources`: the hosts an `rd`
/// may lead to, which the form's redirect needs in `form-action`.
fn continue_page(name: &str, value: &str, forward_sources: &str) -> Response {
    let escape = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/pkg/gatehouse.css\"><title>Continue — Gatehouse</title></head>\
         <body><main id=\"main\" class=\"narrow\"><h1>Welcome back</h1>\
         <p>You came here from another site. Continue to pick up where you left off.</p>\
         <form method=\"get\" action=\"{REFRESH_PATH}/refresh\">\
         <input type=\"hidden\" name=\"{}\" value=\"{}\"><button type=\"submit\">Continue</button></form>\
         </main></body></html>",
        escape(name),
        escape(value)
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    // Only our stylesheet; no script at all.
    let policy = format!("default-src 'none'; style-src 'self'; form-action 'self' {forward_sources}; frame-ancestors 'none'; base-uri 'none'");
    if let Ok(policy) = HeaderValue::from_str(policy.replace(" ;", ";").as_str()) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    no_store(&mut response);
    response
}

pub fn no_store(response: &mut Response) {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_relative_next_values_are_followed() {
        assert_eq!(safe_next(Some("/dashboard?tab=1")), "/dashboard?tab=1");
        assert_eq!(safe_next(Some("/settings/sessions")), "/settings/sessions");
        for bad in ["//evil.com", "/\\evil.com", "https://evil.com", "evil.com", "", "/auth/refresh", "/a\nb"] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }

    #[test]
    fn protected_paths_are_exactly_the_signed_in_pages() {
        assert!(is_protected("/dashboard"));
        assert!(is_protected("/settings/sessions"));
        assert!(!is_protected("/dashboardx"));
        assert!(!is_protected("/login"));
        assert!(!is_protected("/"));
    }
}
