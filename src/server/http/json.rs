//! JSON in, JSON errors out (ssr only).

use crate::error::AppError;
use axum::{
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// Largest JSON body the API accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Like `axum::Json`, but every rejection is an [`AppError`] with a stable code.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match &rejection {
                JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
                JsonRejection::JsonDataError(e) => AppError::InvalidInput {
                    message: format!("The JSON does not have the expected fields: {}", e.body_text()),
                    fields: Default::default(),
                },
                JsonRejection::JsonSyntaxError(_) => AppError::BadRequest("The body is not valid JSON".into()),
                _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest("The request body could not be read".into()),
            }),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        if let AppError::InvalidInput { fields, .. } = &self {
            if !fields.is_empty() {
                error["fields"] = serde_json::json!(fields);
            }
        }
        let mut response = (status, axum::Json(serde_json::json!({ "error": error }))).into_response();
        if let AppError::TooManyAttempts { retry_after } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
