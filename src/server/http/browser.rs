//! The browser's side of the flow that is not a page (ssr only).
//!
//! A protected page is only rendered with a valid access token. When a navigation arrives
//! with an expired or missing one, [`page_guard`] sends it through `GET /auth/refresh` — the
//! only place the path-scoped refresh cookie is sent — which rotates the refresh token, sets
//! the new pair and sends the browser back where it was going. The person never sees the
//! login page while the refresh token is good.
//!
//! That GET changes state (a rotation), which is safe here: the refresh cookie is
//! SameSite=Strict, so a request started by another site never carries it.

use crate::server::{auth, clock, cookies::REFRESH_PATH, service::account, state::AppState};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use tower_cookies::Cookies;

/// Pages that need a signed-in person.
pub fn is_protected(path: &str) -> bool {
    ["/dashboard", "/settings"]
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

pub fn routes() -> Router<AppState> {
    Router::new().route("/auth/refresh", get(refresh_navigation))
}

/// Middleware in front of the pages: a protected page gets its caller verified (and handed
/// on as an `AuthUser` extension) or is redirected through the refresh endpoint first.
pub async fn page_guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !is_protected(path) {
        return next.run(req).await;
    }
    match auth::authenticate(&state, req.headers(), clock::now()) {
        Ok(user) => {
            req.extensions_mut().insert(user);
            let mut response = next.run(req).await;
            no_store(&mut response);
            response
        }
        Err(_) => {
            let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/dashboard");
            see_other(&format!("/auth/refresh?next={}", encode(target)))
        }
    }
}

#[derive(Deserialize)]
pub struct NavigationQuery {
    next: Option<String>,
    bounced: Option<String>,
}

/// `GET /auth/refresh?next=…`: rotate, set cookies, go back — or to the login page.
async fn refresh_navigation(
    State(state): State<AppState>,
    cookies: Cookies,
    parts: axum::http::request::Parts,
    Query(query): Query<NavigationQuery>,
) -> Response {
    let headers: &HeaderMap = &parts.headers;
    let next = safe_next(query.next.as_deref());
    let Some(token) = state.cookies.refresh_token(&cookies) else {
        // A navigation started on another site (a link in an email) carries no Strict cookie.
        // One hop through a same-origin page makes the browser send it.
        let cross_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
        if cross_site && query.bounced.is_none() {
            return same_origin_bounce(&format!("/auth/refresh?next={}&bounced=1", encode(&next)));
        }
        return see_other(&format!("/login?next={}", encode(&next)));
    };
    let now = clock::now();
    match account::refresh(&state, token.expose(), &super::client_of(&state, &parts), now).await {
        Ok(issued) => {
            state.cookies.set_tokens(&cookies, &issued, now);
            see_other(&next)
        }
        Err(e) if e.session_ended() => {
            state.cookies.clear(&cookies);
            see_other(&format!("/login?next={}&ended=1", encode(&next)))
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

/// A tiny page that navigates to `location` from our own origin, without JavaScript.
fn same_origin_bounce(location: &str) -> Response {
    let escaped = location.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={escaped}\"><title>Signing you in…</title></head>\
         <body><p><a href=\"{escaped}\">Continue</a></p></body></html>"
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
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
