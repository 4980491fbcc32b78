//! The one error type that crosses the wire, for server functions and the JSON API alike.
//! Shared by both targets: the browser decodes it to show the message in place.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every failure a client can see. Internal detail never travels in here: faults are
/// logged where they happen and become [`AppError::Internal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    InvalidInput { message: String, fields: BTreeMap<String, String> },
    #[error("An account with this email already exists. Sign in instead?")]
    EmailTaken,
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {retry_after} seconds.")]
    TooManyAttempts { retry_after: u64 },
    #[error("Sign-in required")]
    InvalidToken,
    #[error("Your access token has expired")]
    TokenExpired,
    #[error("Your session on this device has ended. Sign in again.")]
    InvalidRefreshToken,
    #[error("Your session on this device has expired. Sign in again.")]
    RefreshTokenExpired,
    #[error("This session has been signed out. Sign in again.")]
    SessionRevoked,
    #[error("This sign-in link was used twice, so the session was ended to protect you. Sign in again.")]
    RefreshTokenReused,
    #[error("This link is no longer valid. Ask for a new one.")]
    InvalidLink,
    /// The password was right; the account asks for a second factor. `challenge` names the
    /// waiting sign-in (API clients send it back; browsers keep it in a cookie and get it
    /// blank here).
    #[error("Enter the code from your authenticator app, or a recovery code")]
    SecondFactorRequired { challenge: String },
    #[error("That code is not right. Check your authenticator app, or use a recovery code.")]
    InvalidCode,
    #[error("Two-step verification is already on")]
    TwoStepAlreadyOn,
    #[error("This sign-in has expired. Enter your password again.")]
    ChallengeExpired,
    /// A sensitive action, and the last proof of who this is lies too far back. `two_step`:
    /// confirming takes a code too; `passkey`: one of the account's passkeys also does.
    #[error("Confirm it's you to continue")]
    ReauthenticationRequired { two_step: bool, passkey: bool },
    /// A new passkey's answer did not hold up (malformed, another site's, a spent or expired
    /// ceremony, a credential already registered).
    #[error("That passkey could not be added. Try again.")]
    PasskeyNotAdded,
    /// A passkey sign-in (or confirmation) was refused: unknown credential, wrong origin,
    /// a spent or expired ceremony, a signature counter that went back — one answer for all.
    #[error("That passkey was not accepted. Try again, or use your password.")]
    PasskeyRefused,
    #[error("Verify your email address first: follow the link we sent to it, or ask for a new one.")]
    EmailNotVerified,
    /// The password was right, but an operator removed the account's second factor: a new
    /// password must be set first. A link to set one has been mailed (no session, no token).
    #[error("Set a new password to sign in: we've emailed you a link to do it.")]
    PasswordResetRequired,
    /// An operator action that needs the account enabled (sending a reset link).
    #[error("This account is disabled. Enable it first.")]
    AccountDisabled,
    #[error("Not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("The request body is too large")]
    PayloadTooLarge,
    #[error("Send the body as application/json")]
    UnsupportedMediaType,
    #[error("The request headers are too large (at most {max_kib} KB)")]
    HeadersTooLarge { max_kib: usize },
    #[error("The request took too long")]
    Timeout,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// A transport failure seen by the browser (network down, undecodable answer).
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The stable, snake_case code of the JSON API contract.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidInput { .. } => "invalid_input",
            AppError::EmailTaken => "email_taken",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::TooManyAttempts { .. } => "too_many_attempts",
            AppError::InvalidToken => "invalid_token",
            AppError::TokenExpired => "token_expired",
            AppError::InvalidRefreshToken => "invalid_refresh_token",
            AppError::RefreshTokenExpired => "refresh_token_expired",
            AppError::SessionRevoked => "session_revoked",
            AppError::RefreshTokenReused => "refresh_token_reused",
            AppError::InvalidLink => "invalid_link",
            AppError::EmailNotVerified => "email_not_verified",
            AppError::SecondFactorRequired { .. } => "second_factor_required",
            AppError::InvalidCode => "invalid_code",
            AppError::TwoStepAlreadyOn => "two_step_already_on",
            AppError::ChallengeExpired => "challenge_expired",
            AppError::ReauthenticationRequired { .. } => "reauthentication_required",
            AppError::PasskeyNotAdded | AppError::PasskeyRefused => "invalid_credential",
            AppError::PasswordResetRequired => "password_reset_required",
            AppError::AccountDisabled => "account_disabled",
            AppError::NotFound => "not_found",
            AppError::Forbidden(_) => "forbidden",
            AppError::BadRequest(_) => "malformed_request",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::HeadersTooLarge { .. } => "headers_too_large",
            AppError::Timeout => "request_timeout",
            AppError::Internal => "internal_error",
            AppError::Transport(_) => "transport_error",
        }
    }

    /// The HTTP status that fits the error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::InvalidInput { .. } => 422,
            AppError::EmailTaken | AppError::TwoStepAlreadyOn | AppError::AccountDisabled => 409,
            AppError::InvalidCredentials
            | AppError::InvalidToken
            | AppError::TokenExpired
            | AppError::InvalidRefreshToken
            | AppError::RefreshTokenExpired
            | AppError::SessionRevoked
            | AppError::RefreshTokenReused
            | AppError::SecondFactorRequired { .. }
            | AppError::InvalidCode
            | AppError::ChallengeExpired
            | AppError::PasskeyRefused => 401,
            AppError::TooManyAttempts { .. } => 429,
            AppError::NotFound => 404,
            AppError::Forbidden(_)
            | AppError::EmailNotVerified
            | AppError::ReauthenticationRequired { .. }
            | AppError::PasswordResetRequired => 403,
            AppError::BadRequest(_) | AppError::InvalidLink | AppError::PasskeyNotAdded => 400,
            AppError::PayloadTooLarge => 413,
            AppError::UnsupportedMediaType => 415,
            AppError::HeadersTooLarge { .. } => 431,
            AppError::Timeout => 408,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }

    /// True when a fresh access token could make the same call succeed.
    pub fn wants_refresh(&self) -> bool {
        matches!(self, AppError::TokenExpired | AppError::InvalidToken)
    }

    /// True when the refresh token itself is gone: the person must sign in again.
    pub fn session_ended(&self) -> bool {
        matches!(
            self,
            AppError::InvalidRefreshToken
                | AppError::RefreshTokenExpired
                | AppError::SessionRevoked
                | AppError::RefreshTokenReused
        )
    }

    /// One field's message, for showing errors inline next to their input.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::InvalidInput { fields, .. } => fields.get(name).cloned(),
            _ => None,
        }
    }

    /// A validation failure of one field.
    pub fn invalid_field(name: &str, message: impl Into<String>) -> Self {
        AppError::invalid(BTreeMap::from([(name.to_owned(), message.into())]))
    }

    /// A validation failure with per-field messages.
    pub fn invalid(fields: BTreeMap<String, String>) -> Self {
        let message = if fields.len() == 1 {
            fields.values().next().cloned().unwrap_or_default()
        } else {
            "Please correct the highlighted fields".to_string()
        };
        AppError::InvalidInput { message, fields }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // The detail may repeat what the client sent (a password, text of its choosing):
            // it is neither shown nor logged.
            E::Args(_) | E::MissingArg(_) => AppError::BadRequest("The form data could not be read".into()),
            #[cfg(feature = "ssr")]
            E::Request(_) | E::Deserialization(_) => AppError::BadRequest("The request could not be read".into()),
            #[cfg(not(feature = "ssr"))]
            E::Request(m) | E::Deserialization(m) => AppError::Transport(m),
            other => {
                // Only reaches the client as a generic message.
                leptos::logging::error!("server function fault: {other}");
                AppError::Internal
            }
        }
    }
}
