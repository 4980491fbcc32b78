//! The JSON API for non-browser clients (ssr only). Each handler parses, calls one function
//! of `server::service`, and shapes the answer of SPEC.md's contract. The
//! `#[utoipa::path]` attributes are the OpenAPI document (`openapi.rs`), so the document is
//! generated from this code and cannot drift from it.

use super::json::{ApiJson, ApiQuery, ErrorBody};
use crate::{
    error::AppError,
    model::{Device, User},
    server::{
        auth::AuthUser,
        client::Client,
        clock, known_devices,
        service::{account, devices, email, new_device, recovery, step_up, two_step},
        state::AppState,
        tokens::Issued,
    },
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/login/second-factor", post(login_second_factor))
        .route("/api/v1/me/two-step", get(two_step_status))
        .route("/api/v1/me/totp", post(totp_begin).delete(totp_turn_off))
        .route("/api/v1/me/totp/confirm", post(totp_confirm))
        .route("/api/v1/me/recovery-codes", post(renew_recovery_codes))
        .route("/api/v1/me/reauthenticate", post(reauthenticate))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/forgot-password", post(forgot_password))
        .route("/api/v1/auth/reset-password", post(reset_password))
        .route("/api/v1/auth/verify-email", post(verify_email))
        .route("/api/v1/auth/resend-verification", post(resend_verification))
        .route("/api/v1/auth/confirm-email", post(confirm_email))
        .route("/api/v1/me/email", post(change_email))
        .route("/api/v1/auth/not-me", post(not_me))
        .route("/api/v1/me", get(me))
        .route("/api/v1/sessions", get(list_sessions))
        .route("/api/v1/sessions/revoke-others", post(revoke_other_sessions))
        .route("/api/v1/sessions/{id}", delete(revoke_one_session))
        .route("/api/v1/openapi.json", get(super::openapi::document))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
        .merge(super::admin::routes())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    email: String,
    #[schema(min_length = 10, max_length = 256, example = "correct horse battery staple")]
    password: String,
    #[schema(min_length = 1, max_length = 64, example = "Ada")]
    display_name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(example = "correct horse battery staple")]
    password: String,
    /// The `device_token` of this client's last sign-in, if it kept it: a device that signed
    /// in to this account before is not slowed down by others' failed sign-ins. Optional;
    /// anything that is not one of our device tokens (`null` included) counts as none.
    #[serde(default)]
    #[schema(example = "ghd_9xQ-4kEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    device_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[schema(example = "ghr_3q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordBody {
    #[schema(example = "ada@example.com")]
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordBody {
    /// The `token` of the link in the mail.
    #[schema(example = "3q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    token: String,
    #[schema(min_length = 10, max_length = 256, example = "a brand new passphrase")]
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorBody {
    /// The `challenge` of the `second_factor_required` answer.
    #[schema(example = "ghc_q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    challenge: String,
    /// Six digits from the authenticator app, or a recovery code.
    #[schema(example = "123456")]
    code: String,
    /// As in login.
    #[serde(default)]
    device_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// Six digits from the authenticator app.
    #[schema(example = "123456")]
    code: String,
}

/// A new authenticator's secret, pending until `/api/v1/me/totp/confirm`.
#[derive(Serialize, ToSchema)]
pub struct TotpSetupBody {
    /// Base32, for typing into the app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    #[schema(example = "otpauth://totp/Gatehouse:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30")]
    otpauth_uri: String,
}

/// Ten single-use recovery codes, shown this once.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodesBody {
    recovery_codes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateBody {
    #[schema(example = "correct horse battery staple")]
    password: String,
    /// With two-step verification on: six digits from the authenticator app.
    #[serde(default)]
    #[schema(example = "123456")]
    code: Option<String>,
}

/// A fresh access token after "Confirm it's you". The refresh token stays as it was.
#[derive(Serialize, ToSchema)]
pub struct ReauthenticatedBody {
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    expires_in: i64,
    session_id: String,
    user: User,
    /// The new proof of identity (unix seconds), also in the token.
    auth_time: i64,
}

/// A link's token, from the mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// The `token` of the link in the mail.
    #[schema(example = "3q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex")]
    token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailBody {
    #[schema(format = Email, max_length = 254, example = "ada@new.example.com")]
    new_email: String,
    #[schema(example = "correct horse battery staple")]
    current_password: String,
}

/// Where an email change's confirmation link went.
#[derive(Serialize, ToSchema)]
pub struct EmailChangeBody {
    #[schema(example = "ada@new.example.com")]
    sent_to: String,
}

/// The account's address after a confirmed change.
#[derive(Serialize, ToSchema)]
pub struct EmailBody {
    #[schema(example = "ada@new.example.com")]
    email: String,
}

/// The answer to login and refresh.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    refresh_token: String,
    /// Seconds until the refresh token expires (idle or absolute, whichever is first).
    refresh_expires_in: i64,
    session_id: String,
    user: User,
    /// After a sign-in only: this client's device token (a new one each time; the one sent is
    /// spent). Send it with the next login to count as a known device.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    device_token: Option<String>,
}

impl TokenPair {
    pub(super) fn from_issued(issued: Issued, now: i64) -> Self {
        TokenPair {
            access_token: issued.access_token.expose().to_owned(),
            token_type: "Bearer".into(),
            expires_in: issued.access_claims.exp - now,
            refresh_token: issued.refresh_token.expose().to_owned(),
            refresh_expires_in: issued.refresh_expires_at - now,
            session_id: issued.session_id,
            user: issued.user,
            device_token: issued.device_token.map(|token| token.expose().to_owned()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserBody {
    user: User,
}

#[derive(Serialize, ToSchema)]
pub struct MeBody {
    user: User,
    session_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionItem {
    id: String,
    /// The session this request was made with.
    current: bool,
    /// The person's name for the device, else "Browser on OS".
    device: String,
    browser: String,
    os: String,
    ip: String,
    created_at: String,
    last_used_at: String,
    /// How it signed in: `password`, `password and authentication code`, `password and recovery code` or `passkey`.
    signed_in_with: String,
}

impl From<Device> for SessionItem {
    fn from(d: Device) -> Self {
        SessionItem {
            id: d.id,
            current: d.current,
            device: d.label,
            browser: d.browser,
            os: d.os,
            ip: d.ip,
            created_at: d.signed_in_at,
            last_used_at: d.last_active_at,
            signed_in_with: d.signed_in_with,
        }
    }
}

/// A page of the caller's sessions, the current one first, then by latest activity.
#[derive(Serialize, ToSchema)]
pub struct SessionsBody {
    sessions: Vec<SessionItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(example = json!(null))]
    next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Sessions per page, 1 to 100 (default 100).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page; leave out for the first page.
    #[param(max_length = 128)]
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RevokedBody {
    revoked: u64,
}

#[derive(Serialize, ToSchema)]
pub struct StatusBody {
    status: String,
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Account created", body = UserBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`, with `fields`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn register(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<RegisterBody>) -> Result<Response, AppError> {
    let user = account::register(&state, &body.email, &body.password, &body.display_name, client.ip_addr(), clock::now()).await?;
    Ok((StatusCode::CREATED, Json(UserBody { user })).into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in: a new session and its token pair", body = TokenPair),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`invalid_credentials` (unknown account and wrong password alike), or \
            `second_factor_required`: the password is right and the account has two-step verification on — no tokens; \
            the error carries `challenge` (5 minutes) and `methods` for `/api/v1/auth/login/second-factor`", body = ErrorBody),
        (status = 403, description = "`email_not_verified`: the password is right, but this server \
            (`GATEHOUSE_REQUIRE_VERIFIED_EMAIL`) signs in verified addresses only; or `password_reset_required`: the \
            password is right, but an operator removed the account's second factor — no tokens, a link to set a new \
            password is mailed. A disabled account answers `invalid_credentials`, as a wrong password does.", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn login(State(state): State<AppState>, mut client: Client, ApiJson(body): ApiJson<LoginBody>) -> Result<Json<TokenPair>, AppError> {
    if let Some(token) = &body.device_token {
        client.device_token = known_devices::parse(token);
    }
    let now = clock::now();
    let issued = account::login(&state, &body.email, &body.password, &client, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

#[utoipa::path(post, path = "/api/v1/auth/login/second-factor", tag = "auth", request_body = SecondFactorBody,
    responses(
        (status = 200, description = "Signed in: a new session and its token pair", body = TokenPair),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`invalid_code` (wrong, or already used: a code works once; each costs the challenge \
            one of its 5 tries), or `challenge_expired` (unknown, expired, used up, or the password changed: sign in again)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn login_second_factor(
    State(state): State<AppState>,
    mut client: Client,
    ApiJson(body): ApiJson<SecondFactorBody>,
) -> Result<Json<TokenPair>, AppError> {
    if let Some(token) = &body.device_token {
        client.device_token = known_devices::parse(token);
    }
    let now = clock::now();
    let issued = two_step::second_factor(&state, &body.challenge, &body.code, &client, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

#[utoipa::path(get, path = "/api/v1/me/two-step", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = crate::model::TwoStepStatus), (status = 401, body = ErrorBody)))]
pub async fn two_step_status(State(state): State<AppState>, user: AuthUser) -> Result<Json<crate::model::TwoStepStatus>, AppError> {
    Ok(Json(two_step::status(&state, &user.user_id).await?))
}

#[utoipa::path(post, path = "/api/v1/me/totp", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret, pending until confirmed with a code (asking again replaces a pending one)", body = TotpSetupBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "`two_step_already_on`", body = ErrorBody),
    ))]
pub async fn totp_begin(State(state): State<AppState>, user: AuthUser) -> Result<Json<TotpSetupBody>, AppError> {
    let setup = two_step::begin(&state, &user, clock::now()).await?;
    Ok(Json(TotpSetupBody { secret: setup.secret, otpauth_uri: setup.otpauth_uri }))
}

#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "account", security(("bearer" = [])), request_body = CodeBody,
    responses(
        (status = 200, description = "Two-step verification is on; the recovery codes are shown this once", body = RecoveryCodesBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "`two_step_already_on`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`: the code is not right, or nothing is pending", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    user: AuthUser,
    client: Client,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Json<RecoveryCodesBody>, AppError> {
    let recovery_codes = two_step::confirm(&state, &user, &client, &body.code, clock::now()).await?;
    Ok(Json(RecoveryCodesBody { recovery_codes }))
}

#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "account", security(("bearer" = [])),
    responses(
        (status = 204, description = "Two-step verification is off; the recovery codes are gone"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn totp_turn_off(State(state): State<AppState>, user: AuthUser, client: Client) -> Result<StatusCode, AppError> {
    two_step::turn_off(&state, &user, &client, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/recovery-codes", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "Ten new recovery codes, shown this once; the old ones no longer work", body = RecoveryCodesBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "`invalid_input`: two-step verification is off", body = ErrorBody),
    ))]
pub async fn renew_recovery_codes(State(state): State<AppState>, user: AuthUser, client: Client) -> Result<Json<RecoveryCodesBody>, AppError> {
    let recovery_codes = two_step::renew_codes(&state, &user, &client, clock::now()).await?;
    Ok(Json(RecoveryCodesBody { recovery_codes }))
}

#[utoipa::path(post, path = "/api/v1/me/reauthenticate", tag = "account", security(("bearer" = [])), request_body = ReauthenticateBody,
    responses(
        (status = 200, description = "Identity confirmed: an access token whose `auth_time` is now, for the actions that \
            answered 403 `reauthentication_required` (the refresh token is unchanged)", body = ReauthenticatedBody),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`: a wrong password, or a missing or wrong code", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn reauthenticate(
    State(state): State<AppState>,
    user: AuthUser,
    client: Client,
    ApiJson(body): ApiJson<ReauthenticateBody>,
) -> Result<Json<ReauthenticatedBody>, AppError> {
    let now = clock::now();
    let confirmed = step_up::reauthenticate(&state, &user, &client, &body.password, body.code.as_deref(), now).await?;
    Ok(Json(ReauthenticatedBody::from_confirmed(confirmed, now)))
}

impl ReauthenticatedBody {
    pub(super) fn from_confirmed(confirmed: step_up::Confirmed, now: i64) -> Self {
        ReauthenticatedBody {
            access_token: confirmed.access_token.expose().to_owned(),
            token_type: "Bearer".into(),
            expires_in: confirmed.claims.exp - now,
            session_id: confirmed.claims.sid.clone(),
            user: confirmed.user,
            auth_time: confirmed.claims.auth_time,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair; the presented refresh token is spent", body = TokenPair),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, `session_revoked` or `refresh_token_reused`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn refresh(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<RefreshBody>) -> Result<Json<TokenPair>, AppError> {
    let now = clock::now();
    let issued = account::refresh(&state, &body.refresh_token, &client, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth", request_body = ForgotPasswordBody,
    responses(
        (status = 202, description = "Always the same, whether or not the address has an account; when it has, a reset link (30 minutes, single use) is mailed"),
        (status = 400, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`: not an email address", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn forgot_password(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<ForgotPasswordBody>) -> Result<StatusCode, AppError> {
    recovery::forgot_password(&state, &body.email, &client, clock::now())?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetPasswordBody,
    responses(
        (status = 200, description = "The new password is set, every other session signed out, and this client signed in", body = TokenPair),
        (status = 400, description = "`invalid_link`: unknown, used, expired, or made before the password last changed", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`, with `fields`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn reset_password(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<ResetPasswordBody>) -> Result<Json<TokenPair>, AppError> {
    let now = clock::now();
    let issued = recovery::reset_password(&state, &body.token, &body.new_password, &client, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = LinkBody,
    responses(
        (status = 204, description = "The address the link was sent to is verified"),
        (status = 400, description = "`invalid_link`: unknown, used, expired, or made for an address the account no longer has", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn verify_email(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<LinkBody>) -> Result<StatusCode, AppError> {
    email::verify_email(&state, &body.token, &client, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 202, description = "A new verification link (24 hours) is mailed to the caller's address; nothing is sent when it is verified already"),
        (status = 401, description = "`invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: at most 3 links an hour", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn resend_verification(State(state): State<AppState>, user: AuthUser, client: Client) -> Result<StatusCode, AppError> {
    email::resend_verification(&state, &user, &client, clock::now()).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "account", security(("bearer" = [])), request_body = ChangeEmailBody,
    responses(
        (status = 202, description = "A confirmation link (24 hours) is mailed to the new address; the account keeps its address until it is followed", body = EmailChangeBody),
        (status = 400, body = ErrorBody),
        (status = 401, description = "`invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "`email_taken`: another account has that address", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`: not an address, the current one, or a wrong current password", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn change_email(
    State(state): State<AppState>,
    user: AuthUser,
    client: Client,
    ApiJson(body): ApiJson<ChangeEmailBody>,
) -> Result<Response, AppError> {
    let sent_to = email::request_email_change(&state, &user, &client, &body.new_email, &body.current_password, clock::now()).await?;
    Ok((StatusCode::ACCEPTED, Json(EmailChangeBody { sent_to })).into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/confirm-email", tag = "auth", request_body = LinkBody,
    responses(
        (status = 200, description = "The account moved to the new address (verified); the old address is told", body = EmailBody),
        (status = 400, description = "`invalid_link`: unknown, used, expired, or the address changed since", body = ErrorBody),
        (status = 409, description = "`email_taken`: another account took the address meanwhile", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn confirm_email(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<LinkBody>) -> Result<Json<EmailBody>, AppError> {
    let email = email::confirm_email_change(&state, &body.token, &client, clock::now()).await?;
    Ok(Json(EmailBody { email }))
}

#[utoipa::path(post, path = "/api/v1/auth/not-me", tag = "auth", request_body = LinkBody,
    responses(
        (status = 204, description = "\"This wasn't me\": the session the mail was about is signed out (its tokens stop working at once), \
            its device is no longer known to the account, and a link to set a new password (30 minutes) is mailed to the account's address"),
        (status = 400, description = "`invalid_link`: unknown, used or expired (one code for all); or malformed JSON", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`invalid_input`: the body is not `{token}`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody, headers(("Retry-After" = u64))),
    ))]
pub async fn not_me(State(state): State<AppState>, client: Client, ApiJson(body): ApiJson<LinkBody>) -> Result<StatusCode, AppError> {
    new_device::not_me(&state, &body.token, &client, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "This session is revoked"),
        (status = 401, description = "`invalid_token` or `token_expired`", body = ErrorBody),
        (status = 403, description = "Cross-site request with cookies", body = ErrorBody),
    ))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, AppError> {
    account::logout(&state, &user.session_id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, body = MeBody),
        (status = 401, description = "`invalid_token` or `token_expired`", body = ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<MeBody>, AppError> {
    let profile = account::profile(&state, &user.user_id).await?;
    Ok(Json(MeBody { user: std::sync::Arc::unwrap_or_clone(profile), session_id: user.session_id.clone() }))
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])),
    params(SessionsQuery),
    responses(
        (status = 200, description = "The caller's live sessions, a page at a time (at most 100): the current one \
            first, then by latest activity. While `next_cursor` is not null, more follow: ask again with \
            `?cursor=<next_cursor>`. An account has at most `GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT` (default 100) \
            live sessions, so without `limit` one page usually holds them all.", body = SessionsBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`invalid_input`: `limit` outside 1–100, or a `cursor` we did not hand out", body = ErrorBody),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> Result<Json<SessionsBody>, AppError> {
    let page = devices::page(&state, &user, query.cursor.as_deref(), query.limit, clock::now()).await?;
    Ok(Json(SessionsBody { sessions: page.devices.into_iter().map(SessionItem::from).collect(), next_cursor: page.next_cursor }))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session id from GET /api/v1/sessions")),
    responses(
        (status = 204, description = "Signed out, effective at once"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "Unknown, or someone else's: no difference is visible", body = ErrorBody),
    ))]
pub async fn revoke_one_session(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    devices::sign_out(&state, &user, &id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/sessions/revoke-others", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "How many other sessions were signed out", body = RevokedBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn revoke_other_sessions(State(state): State<AppState>, user: AuthUser) -> Result<Json<RevokedBody>, AppError> {
    let revoked = devices::sign_out_others(&state, &user, clock::now()).await?;
    Ok(Json(RevokedBody { revoked }))
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "The public keys that verify access tokens (RFC 7517)", body = super::openapi::Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys.current().jwks().clone()),
    )
        .into_response()
}

/// Readiness: 200 while the database answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = StatusBody), (status = 503, description = "The database is unreachable", body = StatusBody)))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    if crate::server::db::ping(&state.db).await {
        (StatusCode::OK, Json(StatusBody { status: "ok".into() })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(StatusBody { status: "database unavailable".into() })).into_response()
    }
}

/// Liveness: touches nothing.
#[utoipa::path(get, path = "/livez", tag = "health",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
pub async fn livez() -> &'static str {
    "ok"
}
