//! Cross-site request forgery (ssr only): a state-changing request sent by a browser must
//! come from our own origin.
//!
//! The browser tells us where a request came from: `Sec-Fetch-Site` (all current browsers),
//! else `Origin`, else `Referer`. Any of them pointing elsewhere → 403, before the handler
//! runs, so nothing changes. A request with none of them is not browser-driven; it may go on
//! only if it carries no cookies (API clients authenticate with `Authorization: Bearer`).
//! GET and HEAD never change state here (the one rotation on GET, `/auth/refresh`, needs the
//! SameSite=Strict cookie, which a cross-site navigation never carries).

use crate::{error::AppError, server::state::AppState};
use axum::{
    extract::Request,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};

/// For a request that may change state (anything but GET, HEAD, OPTIONS — the caller
/// decides): the 403 when it comes from another site, before any handler runs.
pub fn refuse(state: &AppState, req: &Request) -> Option<Response> {
    let why = check(req.headers(), &state.public_origin).err()?;
    tracing::warn!(path = %req.uri().path(), why, "cross-site request refused");
    Some(AppError::Forbidden("Cross-site request refused".into()).into_response())
}

/// `Ok` when the request may change state.
pub fn check(headers: &HeaderMap, own_origin: &str) -> Result<(), &'static str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        // "none": typed or bookmarked by the person themselves.
        return if site == "same-origin" || site == "none" { Ok(()) } else { Err("sec-fetch-site") };
    }
    if let Some(origin) = text(header::ORIGIN.as_str()) {
        return if origin == own_origin { Ok(()) } else { Err("origin") };
    }
    if let Some(referer) = text(header::REFERER.as_str()) {
        return if origin_of(referer) == Some(own_origin) { Ok(()) } else { Err("referer") };
    }
    if headers.contains_key(header::COOKIE) {
        return Err("cookies without any origin information");
    }
    Ok(())
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const OURS: &str = "http://127.0.0.1:3000";

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn fetch_metadata_decides_first() {
        assert!(check(&h(&[("sec-fetch-site", "same-origin")]), OURS).is_ok());
        assert!(check(&h(&[("sec-fetch-site", "cross-site"), ("origin", OURS)]), OURS).is_err());
        assert!(check(&h(&[("sec-fetch-site", "same-site")]), OURS).is_err());
    }

    #[test]
    fn origin_then_referer_must_be_ours() {
        assert!(check(&h(&[("origin", OURS)]), OURS).is_ok());
        assert!(check(&h(&[("origin", "https://evil.example")]), OURS).is_err());
        assert!(check(&h(&[("origin", "null")]), OURS).is_err());
        assert!(check(&h(&[("referer", "http://127.0.0.1:3000/login?x=1")]), OURS).is_ok());
        assert!(check(&h(&[("referer", "http://127.0.0.1:3000.evil.example/")]), OURS).is_err());
    }

    #[test]
    fn without_browser_signals_only_cookieless_requests_pass() {
        assert!(check(&h(&[("authorization", "Bearer x")]), OURS).is_ok());
        assert!(check(&h(&[("cookie", "gh_access=x")]), OURS).is_err());
    }
}
