//! Request limits (ssr only): header size, body size and time. Each breach is a clear 4xx
//! with a code.

use crate::error::AppError;
use axum::{
    body::{to_bytes, Body, HttpBody},
    extract::Request,
    http::{header, StatusCode},
    middleware::Next,
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

/// Requests whose headers are too large are answered 431 before anything reads them.
pub async fn header_size(req: Request, next: Next) -> Response {
    let size = req.uri().to_string().len()
        + req.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum::<usize>();
    if size > MAX_HEADER_BYTES {
        return AppError::HeadersTooLarge { max_kib: MAX_HEADER_BYTES / 1024 }.into_response();
    }
    next.run(req).await
}

/// A request that takes longer than [`REQUEST_TIMEOUT`] is dropped and answered 408.
pub async fn time_limit(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => AppError::Timeout.into_response(),
    }
}

/// A body that does not declare its length (chunked) is read here, up to the limit, before
/// any handler sees it: an oversized stream is then a 413 instead of a read error deep inside
/// a server function (which Leptos would answer 500).
pub async fn buffer_unsized_body(req: Request, next: Next) -> Response {
    if req.body().size_hint().exact().is_some() {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(_) => AppError::PayloadTooLarge.into_response(),
    }
}

/// tower-http answers an oversized body with a bare text 413; give it our JSON error body.
pub async fn json_413(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return AppError::PayloadTooLarge.into_response();
    }
    response
}
