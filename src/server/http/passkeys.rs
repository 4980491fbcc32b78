//! The JSON API's passkey routes (ssr only): adding, listing and removing passkeys, signing
//! in and confirming who one is with one. Each handler calls one function of
//! `service::passkeys`; the WebAuthn options and answers travel as the browser's JSON forms
//! (`PublicKeyCredential.parse…OptionsFromJSON` takes the options, `credential.toJSON()`
//! gives the answer; binary as base64url).

use super::{
    api::{ReauthenticatedBody, TokenPair},
    json::{ApiJson, ErrorBody},
};
use crate::{
    error::AppError,
    model::PasskeyInfo,
    server::{auth::AuthUser, client::Client, clock, known_devices, service::passkeys, state::AppState},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/passkeys/register/options", post(register_options))
        .route("/api/v1/passkeys/register", post(register))
        .route("/api/v1/passkeys", get(list))
        .route("/api/v1/passkeys/{id}", delete(remove))
        .route("/api/v1/auth/passkey/options", post(sign_in_options))
        .route("/api/v1/auth/passkey", post(sign_in))
        .route("/api/v1/me/reauthenticate/passkey", post(reauthenticate))
}

/// A ceremony begun: send `ceremony` back with the authenticator's answer, within 5 minutes,
/// once.
#[derive(Serialize, ToSchema)]
pub struct CeremonyBody {
    #[schema(example = "ghk_q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    ceremony: String,
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`
    /// (binary members as base64url), for `navigator.credentials.create`/`get`.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    public_key: Value,
}

impl From<passkeys::Ceremony> for CeremonyBody {
    fn from(c: passkeys::Ceremony) -> Self {
        CeremonyBody { ceremony: c.ceremony, public_key: c.public_key }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPasskeyBody {
    /// The `ceremony` of `/api/v1/passkeys/register/options`.
    #[schema(example = "ghk_q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    ceremony: String,
    /// The new credential, as `PublicKeyCredential.toJSON()` gives it.
    #[schema(value_type = Object)]
    credential: Value,
    /// What to call it; empty: the device's name ("Chrome on Linux").
    #[serde(default)]
    #[schema(max_length = 64, example = "YubiKey 5C")]
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAssertionBody {
    /// The `ceremony` of `/api/v1/auth/passkey/options`.
    #[schema(example = "ghk_q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    ceremony: String,
    /// The assertion, as `PublicKeyCredential.toJSON()` gives it.
    #[schema(value_type = Object)]
    credential: Value,
    /// As in login (sign-in only; ignored by the confirmation).
    #[serde(default)]
    #[schema(example = "ghd_9xQ-4kEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    device_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PasskeysBody {
    passkeys: Vec<PasskeyInfo>,
}

#[utoipa::path(post, path = "/api/v1/passkeys/register/options", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, description = "Creation options for a discoverable credential with user verification, excluding \
            the account's passkeys; the ceremony lives 5 minutes", body = CeremonyBody),
        (status = 400, description = "`malformed_request`: the public URL is an IP address, where passkeys cannot work", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`reauthentication_required`: confirm who you are first (step-up)", body = ErrorBody),
        (status = 422, description = "`invalid_input`: the account holds the most passkeys it may (20)", body = ErrorBody),
    ))]
pub async fn register_options(State(state): State<AppState>, user: AuthUser) -> Result<Json<CeremonyBody>, AppError> {
    Ok(Json(passkeys::register_options(&state, &user, clock::now()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/passkeys/register", tag = "passkeys", security(("bearer" = [])), request_body = RegisterPasskeyBody,
    responses(
        (status = 201, description = "The passkey is added; a security event and a mail tell of it", body = PasskeyInfo),
        (status = 400, description = "`invalid_credential`: the answer does not verify (another origin or relying party, a \
            spent, expired or someone else's ceremony, a credential registered already); or malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`: the name is too long, or the body is not of this shape", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    client: Client,
    ApiJson(body): ApiJson<RegisterPasskeyBody>,
) -> Result<Response, AppError> {
    let added = passkeys::register(&state, &user, &client, &body.ceremony, body.credential, &body.name, clock::now()).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

#[utoipa::path(get, path = "/api/v1/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, description = "The account's passkeys, oldest first", body = PasskeysBody), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<PasskeysBody>, AppError> {
    Ok(Json(PasskeysBody { passkeys: passkeys::list(&state, &user.user_id).await? }))
}

#[utoipa::path(delete, path = "/api/v1/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = String, Path, description = "A passkey id from GET /api/v1/passkeys")),
    responses(
        (status = 204, description = "Removed; a security event and a mail tell of it"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`reauthentication_required`", body = ErrorBody),
        (status = 404, description = "Unknown, or someone else's: no difference is visible", body = ErrorBody),
    ))]
pub async fn remove(State(state): State<AppState>, user: AuthUser, client: Client, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    passkeys::remove(&state, &user, &client, &id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/passkey/options", tag = "auth",
    responses(
        (status = 200, description = "Request options for any discoverable credential (empty `allowCredentials`), user \
            verification required; the ceremony lives 5 minutes. Also the start of `/api/v1/me/reauthenticate/passkey`.", body = CeremonyBody),
        (status = 400, description = "`malformed_request`: the public URL is an IP address, where passkeys cannot work", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn sign_in_options(State(state): State<AppState>, client: Client) -> Result<Json<CeremonyBody>, AppError> {
    Ok(Json(passkeys::sign_in_options(&state, &client, clock::now()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/auth/passkey", tag = "auth", request_body = PasskeyAssertionBody,
    responses(
        (status = 200, description = "Signed in: a new session and its token pair; `amr` is `[\"hwk\",\"user\"]` (device-bound \
            passkey) or `[\"swk\",\"user\"]` (synced passkey), and no authenticator-app step follows", body = TokenPair),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "`invalid_credential`: unknown credential, another origin or relying party, a spent or \
            expired ceremony, a signature counter that went back — one code for all", body = ErrorBody),
        (status = 403, description = "`email_not_verified`", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn sign_in(State(state): State<AppState>, mut client: Client, ApiJson(body): ApiJson<PasskeyAssertionBody>) -> Result<Json<TokenPair>, AppError> {
    if let Some(token) = &body.device_token {
        client.device_token = known_devices::parse(token);
    }
    let now = clock::now();
    let issued = passkeys::sign_in(&state, &body.ceremony, body.credential, &client, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

#[utoipa::path(post, path = "/api/v1/me/reauthenticate/passkey", tag = "account", security(("bearer" = [])), request_body = PasskeyAssertionBody,
    responses(
        (status = 200, description = "Identity confirmed with one of the caller's passkeys (options from \
            `/api/v1/auth/passkey/options`): an access token whose `auth_time` is now", body = ReauthenticatedBody),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`invalid_credential` (as for signing in, and another account's passkey), or the \
            caller's token is not valid", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    user: AuthUser,
    client: Client,
    ApiJson(body): ApiJson<PasskeyAssertionBody>,
) -> Result<Json<ReauthenticatedBody>, AppError> {
    let now = clock::now();
    let confirmed = passkeys::reauthenticate(&state, &user, &client, &body.ceremony, body.credential, now).await?;
    Ok(Json(ReauthenticatedBody::from_confirmed(confirmed, now)))
}
