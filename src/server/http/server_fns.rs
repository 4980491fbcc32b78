//! Server-function errors with the status that fits them (ssr only).
//!
//! Leptos answers every server-function error with 500. A wrong password or a bad field is
//! not a server fault: this middleware reads the serialized [`AppError`] (small, JSON) and
//! puts its own status on the response — 401, 404, 422, 429 … — so logs, proxies and
//! monitoring see the truth. The browser decodes any 4xx/5xx the same way.

use crate::error::AppError;
use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::Response,
};

const MAX_ERROR_BODY: usize = 16 * 1024;

pub async fn error_status(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
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
