//! Request limits (ssr only): header size, body size and time. Each breach is a clear 4xx
//! with a code.

use crate::error::AppError;
use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use std::time::Duration;

/// No request body may be larger (JSON bodies are held to `json::MAX_BODY_BYTES`).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;
/// The request line's target plus every header name and value may not add up to more.
/// Generous for browsers (a few cookies of up to 4 KB each), far below what hyper buffers.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// A request that takes longer is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The request line's target plus every header name and value, as counted against
/// [`MAX_HEADER_BYTES`] (each header +4 for ": " and CRLF). Allocates nothing.
pub fn header_bytes<B>(req: &http::Request<B>) -> usize {
    req_target_len(req.uri()) + req.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum::<usize>()
}

/// The length of the URI as written (`Uri`'s `Display`), without writing it.
fn req_target_len(uri: &http::Uri) -> usize {
    uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path().len()
        + uri.query().map_or(0, |q| q.len() + 1)
}

/// A 413 from anywhere inside (an extractor's own limit, say) gets our JSON error body.
pub fn json_413(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        response
    } else {
        AppError::PayloadTooLarge.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_length_is_the_length_of_the_uri_as_written() {
        for uri in ["/", "/livez", "/a/b?x=1&y=%20", "http://example.com/a?b", "https://h:8443/", "example.com:443", "*"] {
            let parsed: http::Uri = uri.parse().unwrap();
            assert_eq!(req_target_len(&parsed), parsed.to_string().len(), "{uri}");
        }
    }
}
