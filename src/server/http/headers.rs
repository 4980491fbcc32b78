//! Security headers on every response (ssr only), added by `pipeline` on the way out.
//!
//! Pages get a Content-Security-Policy with a fresh nonce per response (set in `app::shell`,
//! see `crate::csp`); everything else gets a policy that allows nothing. Signed-in pages and
//! every API, server-function and refresh answer are `Cache-Control: no-store`.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};

/// Every response carries these unless its handler set its own (a page's CSP with its nonce,
/// the "Continue" page's policy).
const COMMON: [(HeaderName, HeaderValue); 7] = [
    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(crate::csp::STRICT)),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
    ),
    (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
    (HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin")),
];
/// Over https only.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=63072000; includeSubDomains");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Adds the headers every response carries: `private` (see [`is_private`]) adds
/// `Cache-Control: no-store`, over whatever the handler set; `https` adds HSTS.
pub fn secure(headers: &mut HeaderMap, private: bool, https: bool) {
    if private {
        headers.insert(header::CACHE_CONTROL, NO_STORE);
    }
    for (name, value) in COMMON {
        headers.entry(name).or_insert(value);
    }
    if https {
        headers.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HSTS);
    }
}

/// The pages links in our mail open: their URLs carry a token.
pub const LINK_PAGES: [&str; 4] = ["/reset-password", "/verify-email", "/confirm-email", "/not-me"];

/// API answers, server functions, the refresh endpoints and the pages mailed links open are
/// never cached.
pub fn is_private(path: &str) -> bool {
    (path.starts_with("/api/") || path.starts_with("/fn/") || path.starts_with("/auth/") || LINK_PAGES.contains(&path))
        && path != "/api/v1/openapi.json"
}
