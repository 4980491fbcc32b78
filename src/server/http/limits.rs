//! Request limits (ssr only): body size and time. Each breach is a clear 4xx with a code.

use crate::error::AppError;
use axum::{extract::Request, http::StatusCode, middleware::Next, response::{IntoResponse, Response}};
use std::time::Duration;

/// No request body may be larger (JSON bodies are held to `json::MAX_BODY_BYTES`).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;
/// A request that takes longer is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// tower-http answers an oversized body with a bare 413; give it our JSON error body.
pub async fn json_413(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !response.headers().contains_key(axum::http::header::CONTENT_TYPE)
    {
        return AppError::PayloadTooLarge.into_response();
    }
    response
}
