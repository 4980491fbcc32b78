//! Security headers on every response (ssr only), set with tower-http's `SetResponseHeader`.
//!
//! Pages get a Content-Security-Policy with a fresh nonce per response (set in `app::shell`,
//! see `crate::csp`); everything else gets a policy that allows nothing. Signed-in pages and
//! every API, server-function and refresh answer are `Cache-Control: no-store`.

use axum::{
    extract::Request,
    http::{header, HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

/// Adds the headers every response carries. `https`: add HSTS.
pub fn layer(router: Router, https: bool) -> Router {
    let set = |name: HeaderName, value: &'static str| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    let router = router
        .layer(axum::middleware::from_fn(no_store_for_private_answers))
        .layer(set(header::CONTENT_SECURITY_POLICY, crate::csp::STRICT))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        ))
        .layer(set(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
        .layer(set(HeaderName::from_static("cross-origin-resource-policy"), "same-origin"));
    if https {
        router.layer(set(header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"))
    } else {
        router
    }
}

/// The pages links in our mail open: their URLs carry a token.
pub const LINK_PAGES: [&str; 4] = ["/reset-password", "/verify-email", "/confirm-email", "/not-me"];

/// API answers, server functions, the refresh endpoints and the pages mailed links open are
/// never cached.
async fn no_store_for_private_answers(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let private = (path.starts_with("/api/") || path.starts_with("/fn/") || path.starts_with("/auth/") || LINK_PAGES.contains(&path))
        && path != "/api/v1/openapi.json";
    let mut response = next.run(req).await;
    if private {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
