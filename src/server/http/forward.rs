//! `GET /auth/forward`: the forward-auth endpoint reverse proxies ask before letting a request
//! through to another app (ssr only). The decision is `service::forward::check`; this module
//! reads what the proxy forwards and shapes the answer each proxy understands. The proxy
//! configurations (nginx, Traefik, Caddy) are in docs/forward-auth.md.
//!
//! In: the original request's cookies (or `Authorization: Bearer`), and where it was going —
//! `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-Uri` (what Traefik and Caddy send;
//! the nginx configuration sets them), or `X-Original-URL`. Headers the client sent that look
//! like our answer (`Remote-User` …) are never read: identity comes only from the token.
//!
//! Out:
//! - **200**, signed in and admitted: `Remote-User` (the account id: stable, never reused —
//!   an address can change or pass to someone else), `Remote-Email`, `Remote-Name` (UTF-8,
//!   control characters dropped), `Remote-Session` (the session id). When the check refreshed
//!   (expired access token, live refresh cookie), the new pair comes as two `Set-Cookie`
//!   headers and again, one each, as `Gatehouse-Access-Cookie` and `Gatehouse-Refresh-Cookie`
//!   (full Set-Cookie values): nginx's `$upstream_http_set_cookie` holds only one of several
//!   `Set-Cookie` headers (or, from 1.23, all of them joined by commas, which is no valid
//!   single header), so its configuration copies the two named headers instead.
//! - **Signed out** (no token, expired with no usable refresh cookie, revoked, unknown
//!   account): **401** with `Location: <sign-in URL>` — nginx maps it to a redirect with
//!   `auth_request_set $signin $upstream_http_location; error_page 401 =302 $signin;` —
//!   or, with `?redirect=1` (Traefik, Caddy: they pass the answer on to the browser), **302**
//!   to it, but only for GET and HEAD; other methods get the 401 (a redirect would lose the
//!   body). The sign-in URL is `<public URL>/login?rd=<original URL>`, the `rd` only when the
//!   original URL is on an allowed host (`GATEHOUSE_FORWARD_ALLOWED_HOSTS`); when the request
//!   still had an access cookie but the Strict refresh cookie stayed behind (a link followed
//!   from another site) it is `/auth/refresh?rd=…` instead, which refreshes and goes back
//!   without asking for the password.
//! - **403**, signed in but refused by a rule (`GATEHOUSE_FORWARD_RULES`): a short HTML page
//!   saying so. nginx shows its own page for a 403 from `auth_request`; its configuration
//!   sends `error_page 403` to `GET /auth/forward/refused`, which answers that page alone.

use crate::{
    model::User,
    server::{
        clock,
        cookies::cookie_in_headers,
        service::forward::{self, host_without_port, Presented, Verdict},
        state::AppState,
        tokens::Issued,
    },
};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/auth/forward", get(check)).route("/auth/forward/refused", get(refused))
}

/// The identity headers of a 200.
pub const REMOTE_USER: &str = "remote-user";
pub const REMOTE_EMAIL: &str = "remote-email";
pub const REMOTE_NAME: &str = "remote-name";
pub const REMOTE_SESSION: &str = "remote-session";
/// The new cookies again, one header each, for nginx.
pub const ACCESS_COOKIE: &str = "gatehouse-access-cookie";
pub const REFRESH_COOKIE: &str = "gatehouse-refresh-cookie";

#[derive(Deserialize)]
pub struct ForwardQuery {
    /// `1` or `true`: answer "signed out" with a 302 to the sign-in page instead of a 401.
    redirect: Option<String>,
}

/// Where the original request was going, as the proxy tells it.
struct Original {
    method: Option<String>,
    /// `scheme://host[:port]/path?query`, when the proxy said enough to rebuild it.
    url: Option<String>,
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    // A proxy chain may have appended: the first value is the client-facing one.
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.split(',').next().unwrap_or("").trim()).filter(|v| !v.is_empty())
}

impl Original {
    fn of(headers: &HeaderMap) -> Self {
        let method = header_str(headers, "x-forwarded-method").map(str::to_ascii_uppercase);
        if let Some(full) = headers.get("x-original-url").and_then(|v| v.to_str().ok()) {
            return Original { method, url: Some(full.to_owned()) };
        }
        let url = header_str(headers, "x-forwarded-host").map(|h| {
            let proto = header_str(headers, "x-forwarded-proto").unwrap_or("https");
            let uri = headers.get("x-forwarded-uri").and_then(|v| v.to_str().ok()).unwrap_or("/");
            format!("{proto}://{h}{uri}")
        });
        Original { method, url }
    }
}

/// The host the original request was going to (lower-case, no port), as the proxy tells it.
fn original_host(headers: &HeaderMap) -> Option<String> {
    if let Some(full) = headers.get("x-original-url").and_then(|v| v.to_str().ok()) {
        return url::Url::parse(full).ok().and_then(|u| u.host_str().map(host_without_port));
    }
    header_str(headers, "x-forwarded-host").map(host_without_port).filter(|h| !h.is_empty())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// `GET /auth/forward[?redirect=1]`.
///
/// This runs before every request to every app behind the gate, so its common answer — a
/// valid token, let through — reads the request in place and copies only the identity into
/// the answer: the request is taken whole (an extracted `Parts` would be a copy of every
/// header and extension), the credentials are borrowed, the profile is shared, and what
/// only a refresh or a sign-in redirect needs (the client's description, the original URL)
/// is worked out only then.
async fn check(State(state): State<AppState>, Query(query): Query<ForwardQuery>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let headers = &parts.headers;
    let presented = Presented {
        bearer: bearer_token(headers),
        access: cookie_in_headers(headers, state.cookies.access_name),
        refresh: cookie_in_headers(headers, state.cookies.refresh_name),
    };
    // Only rules name hosts (a refusal needs a rule), so without rules the host is not needed.
    let host = if state.forward.rules.is_empty() { None } else { original_host(headers) };
    if host.is_none() && !state.forward.rules.is_empty() {
        // Rules name hosts: without one, nobody can be admitted by them.
        tracing::warn!("forward-auth: the proxy sent no X-Forwarded-Host (or X-Original-URL); refusing, as rules apply");
        return refused_page(&state, None);
    }
    let now = clock::now();
    let client = || super::client_of(&state, &parts);
    match forward::check(&state, &presented, host.as_deref(), client, now).await {
        Ok(Verdict::Allowed { user, session_id, refreshed }) => {
            let mut response = StatusCode::OK.into_response();
            identity_headers(response.headers_mut(), &user, &session_id);
            if let Some(issued) = refreshed {
                new_cookies(&state, response.headers_mut(), &issued, now);
            }
            response
        }
        Ok(Verdict::Refused { refreshed }) => {
            let mut response = refused_page(&state, host.as_deref());
            if let Some(issued) = refreshed {
                new_cookies(&state, response.headers_mut(), &issued, now);
            }
            response
        }
        Ok(Verdict::SignIn { ended }) => {
            let original = Original::of(headers);
            let redirect = matches!(query.redirect.as_deref(), Some("1" | "true"))
                && matches!(original.method.as_deref(), None | Some("GET" | "HEAD"));
            let refresh_first = state.cookies.domain.is_some() && presented.access.is_some() && presented.refresh.is_none() && !ended;
            let target = sign_in_url(&state, original.url.as_deref(), refresh_first);
            let mut response = if redirect {
                StatusCode::FOUND.into_response()
            } else {
                (StatusCode::UNAUTHORIZED, "Sign in first.\n").into_response()
            };
            if let Ok(v) = HeaderValue::from_str(&target) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            if ended {
                for gone in state.cookies.cleared_cookies() {
                    if let Ok(v) = HeaderValue::from_str(&gone.encoded().to_string()) {
                        response.headers_mut().append(header::SET_COOKIE, v);
                    }
                }
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// `<public URL>/login?rd=…` (or `/auth/refresh?rd=…`), the `rd` only for an allowed host.
fn sign_in_url(state: &AppState, original: Option<&str>, refresh_first: bool) -> String {
    let path = if refresh_first { "/auth/refresh" } else { "/login" };
    match original.and_then(|url| state.forward.return_url(url)) {
        Some(rd) => format!("{}{path}?rd={}", state.public_origin, form_urlencoded::byte_serialize(rd.as_bytes()).collect::<String>()),
        None => format!("{}/login", state.public_origin),
    }
}

fn identity_headers(headers: &mut HeaderMap, user: &User, session_id: &str) {
    for (name, value) in [
        (REMOTE_USER, user.id.as_str()),
        (REMOTE_EMAIL, user.email.as_str()),
        (REMOTE_NAME, user.display_name.as_str()),
        (REMOTE_SESSION, session_id),
    ] {
        if let Some(v) = identity_value(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// A value as an identity header: UTF-8, control characters dropped. Printable ASCII (ids,
/// nearly every address and name) is taken as it is, without a cleaned copy first.
fn identity_value(value: &str) -> Option<HeaderValue> {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return HeaderValue::from_str(value).ok();
    }
    let clean = value.chars().filter(|c| !c.is_control()).collect::<String>();
    HeaderValue::from_bytes(clean.as_bytes()).ok()
}

fn new_cookies(state: &AppState, headers: &mut HeaderMap, issued: &Issued, now: i64) {
    let [access, refresh] = state.cookies.token_cookies(issued, now);
    for (cookie, own) in [(access, ACCESS_COOKIE), (refresh, REFRESH_COOKIE)] {
        if let Ok(v) = HeaderValue::from_str(&cookie.encoded().to_string()) {
            headers.append(header::SET_COOKIE, v.clone());
            headers.insert(HeaderName::from_static(own), v);
        }
    }
}

/// `GET /auth/forward/refused`: the refusal page alone (nginx's `error_page 403`).
async fn refused(State(state): State<AppState>, headers: HeaderMap) -> Response {
    refused_page(&state, original_host(&headers).as_deref())
}

/// 403 and a page that says what happened and where to go.
fn refused_page(state: &AppState, host: Option<&str>) -> Response {
    let escape = |s: &str| s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let what = match host {
        Some(h) => format!("<strong>{}</strong>", escape(h)),
        None => "this site".to_owned(),
    };
    let origin = escape(&state.public_origin);
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Not for this account — Gatehouse</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}}\
         main{{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;\
         box-shadow:0 1px 3px rgba(0,0,0,.12)}}h1{{font-size:1.5rem;margin-top:0}}a{{color:#2453c7}}\
         @media (prefers-color-scheme:dark){{body{{background:#12151b;color:#e6e8ec}}main{{background:#1c2029}}a{{color:#8fb0ff}}}}</style>\
         </head><body><main id=\"main\"><h1>This account can't open that</h1>\
         <p>You're signed in, but your account isn't allowed into {what}.</p>\
         <p>If you think it should be, ask whoever runs it. Is your email address verified? \
         Your <a href=\"{origin}/dashboard\">dashboard</a> says, and can send a new link.</p>\
         <p><a href=\"{origin}/settings/sessions\">Use another account</a> (sign out on your devices page first).</p>\
         </main></body></html>"
    );
    let mut response = (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::identity_value;

    #[test]
    fn identity_headers_carry_utf8_without_control_characters() {
        assert_eq!(identity_value("ada@example.com").unwrap(), "ada@example.com");
        assert_eq!(identity_value("Zoë Ångström").unwrap().as_bytes(), "Zoë Ångström".as_bytes());
        // A name can't smuggle a header line (or any control character) into the answer.
        assert_eq!(identity_value("Eve\r\nRemote-User: admin").unwrap(), "EveRemote-User: admin");
        assert_eq!(identity_value("tab\there\u{7f}\u{85}").unwrap(), "tabhere");
        assert_eq!(identity_value("").unwrap(), "");
    }
}
