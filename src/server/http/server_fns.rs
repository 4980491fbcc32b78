//! Server-function errors (ssr only): the status that fits them, and a seal on the ones sent
//! back through the URL.
//!
//! Leptos answers every server-function error with 500. A wrong password or a bad field is
//! not a server fault: [`error_answers`] reads the serialized [`AppError`] (small, JSON) and
//! puts its own status on the response — 401, 404, 422, 429 … — so logs, proxies and
//! monitoring see the truth. The browser decodes any 4xx/5xx the same way.
//!
//! A form posted without JavaScript that fails is sent back to its page with the error in
//! the query (`?__path=…&__err=…`), and the page shows it. Anyone could write such a URL and
//! make our origin show their text in an alert, so [`error_answers`] seals every error URL
//! our server writes (`__seal`: an HMAC of path and error, valid for a few minutes), and
//! [`unsealed_error_redirect`] sends a page request whose error is not sealed by us to the
//! same page without it.

use crate::{error::AppError, server::state::AppState};
use axum::{
    body::{to_bytes, Body},
    http::{header, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAX_ERROR_BODY: usize = 16 * 1024;
/// How long a sealed error URL shows its error: long enough to load the page it leads to.
const SEAL_SECS: i64 = 300;
/// The query parameters of an error sent back through the URL.
const ERROR_PARAMS: [&str; 3] = ["__path", "__err", "__seal"];

/// The key that seals error URLs; every instance shares it (a server secret in the
/// database), so a form posted to one instance shows its error on a page from another.
#[derive(Clone)]
pub struct ErrorSeal(Vec<u8>);

impl ErrorSeal {
    pub fn new(key: Vec<u8>) -> Self {
        ErrorSeal(key)
    }

    fn mac(&self, path: &str, err: &str, expires: i64) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for part in [path.as_bytes(), b"\0", err.as_bytes(), b"\0", expires.to_string().as_bytes()] {
            mac.update(part);
        }
        B64.encode(mac.finalize().into_bytes())
    }

    /// The seal for an error URL's `__path` and `__err`, valid until `now + SEAL_SECS`.
    pub fn seal(&self, path: &str, err: &str, now: i64) -> String {
        let expires = now + SEAL_SECS;
        format!("{expires}.{}", self.mac(path, err, expires))
    }

    /// True when `seal` is ours for this path and error and has not expired.
    pub fn verify(&self, path: &str, err: &str, seal: &str, now: i64) -> bool {
        let Some((expires, mac)) = seal.split_once('.') else {
            return false;
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return false;
        };
        let expected = self.mac(path, err, expires);
        expires >= now && constant_time_eq(expected.as_bytes(), mac.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// On every server-function answer: the error's own status, and a seal on error URLs.
pub async fn error_answers(state: &AppState, mut response: Response) -> Response {
    if response.status().is_redirection() {
        seal_error_location(state, &mut response);
        return response;
    }
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !response.headers().contains_key("serverfnerror") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        super::json::set_error_headers(&error, &mut parts.headers);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Adds `__seal` to a redirect whose Location carries an error (a no-JS form's failure).
fn seal_error_location(state: &AppState, response: &mut Response) {
    let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some((base, query)) = location.split_once('?') else {
        return;
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let value = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(path), Some(err)) = (value("__path"), value("__err")) else {
        return;
    };
    let seal = state.error_seal.seal(path, err, crate::server::clock::now());
    let sealed = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(k, _)| k != "__seal"))
        .append_pair("__seal", &seal)
        .finish();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}?{sealed}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
}

/// For a page request carrying an error in its query: `None` when our server sealed it (show
/// it), else a redirect to the same page without it.
pub fn unsealed_error_redirect(state: &AppState, uri: &Uri, now: i64) -> Option<Response> {
    let query = uri.query().filter(|q| q.contains("__"))?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if !pairs.iter().any(|(k, _)| ERROR_PARAMS.contains(&k.as_str())) {
        return None;
    }
    let value = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let (Some(path), Some(err), Some(seal)) = (value("__path"), value("__err"), value("__seal")) {
        if state.error_seal.verify(path, err, seal, now) {
            return None;
        }
    }
    let rest = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(k, _)| !ERROR_PARAMS.contains(&k.as_str())))
        .finish();
    let target = if rest.is_empty() { uri.path().to_owned() } else { format!("{}?{rest}", uri.path()) };
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_holds_for_its_own_path_and_error_until_it_expires() {
        let seal = ErrorSeal::new(b"key".to_vec());
        let s = seal.seal("/fn/login", "eyJlcnIiOjF9", 1000);
        assert!(seal.verify("/fn/login", "eyJlcnIiOjF9", &s, 1000));
        assert!(seal.verify("/fn/login", "eyJlcnIiOjF9", &s, 1000 + SEAL_SECS));
        assert!(!seal.verify("/fn/login", "eyJlcnIiOjF9", &s, 1001 + SEAL_SECS), "expired");
        assert!(!seal.verify("/fn/login", "eyJlcnIiOjJ9", &s, 1000), "another error");
        assert!(!seal.verify("/fn/register", "eyJlcnIiOjF9", &s, 1000), "another form");
        assert!(!ErrorSeal::new(b"other key".to_vec()).verify("/fn/login", "eyJlcnIiOjF9", &s, 1000));
        for forged in ["", "1300", "1300.", "x.y", &s.replace('.', "")] {
            assert!(!seal.verify("/fn/login", "eyJlcnIiOjF9", forged, 1000), "{forged:?}");
        }
        // Pushing the expiry out breaks the MAC.
        let (_, mac) = s.split_once('.').unwrap();
        assert!(!seal.verify("/fn/login", "eyJlcnIiOjF9", &format!("99999999.{mac}"), 1000));
    }
}
