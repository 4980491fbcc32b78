//! JSON in, JSON errors out (ssr only). Every error any route answers — a handler's, a
//! body limit's, the header-size or time limit's — is an [`AppError`] turned into the one
//! [`ErrorBody`] here, with Retry-After set here too.

use crate::error::AppError;
use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

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

/// Like `axum::extract::Query`, but a query string that does not fit is `invalid_input`
/// (422) in the one error body, not a plain-text 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(AppError::InvalidInput {
                message: format!("The query string does not have the expected parameters: {}", rejection.body_text()),
                fields: Default::default(),
            }),
        }
    }
}

/// Every error: a stable code, a human message, and per-field messages for `invalid_input`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "invalid_credentials")]
    code: &'static str,
    #[schema(example = "Invalid email or password")]
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    fields: Option<BTreeMap<String, String>>,
    /// `second_factor_required` only: the waiting sign-in, for `/api/v1/auth/login/second-factor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "ghc_q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    challenge: Option<String>,
    /// `second_factor_required`: what the code may be; `reauthentication_required`: what
    /// confirming takes (`password`, and `totp` with two-step verification on; `passkey`: one
    /// of the account's passkeys confirms instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(["totp", "recovery_code"]))]
    methods: Option<Vec<&'static str>>,
}

impl From<&AppError> for ErrorBody {
    fn from(e: &AppError) -> Self {
        let fields = match e {
            AppError::InvalidInput { fields, .. } if !fields.is_empty() => Some(fields.clone()),
            _ => None,
        };
        let (challenge, methods) = match e {
            AppError::SecondFactorRequired { challenge } => (Some(challenge.clone()), Some(vec!["totp", "recovery_code"])),
            AppError::ReauthenticationRequired { two_step, passkey } => {
                let mut methods = vec!["password"];
                if *two_step {
                    methods.push("totp");
                }
                if *passkey {
                    methods.push("passkey");
                }
                (None, Some(methods))
            }
            _ => (None, None),
        };
        ErrorBody { error: ErrorDetail { code: e.code(), message: e.to_string(), fields, challenge, methods } }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(ErrorBody::from(&self))).into_response();
        set_error_headers(&self, response.headers_mut());
        response
    }
}

/// The headers an error carries besides its body, on JSON and server-function answers alike:
/// `Retry-After` when the client is asked to wait, `Connection: close` when its headers were
/// too large to read another request after them.
pub fn set_error_headers(error: &AppError, headers: &mut HeaderMap) {
    match error {
        AppError::TooManyAttempts { retry_after } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        AppError::HeadersTooLarge { .. } => {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
}
