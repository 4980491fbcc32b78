//! The operators' JSON API (ssr only): `/api/v1/admin/…`, thin adapters around
//! `service::admin`. Every route checks operator status on the server (403 `forbidden`
//! otherwise); every action also needs a recent authentication (403
//! `reauthentication_required`, then `POST /api/v1/me/reauthenticate`).

use super::json::{ApiQuery, ErrorBody};
use crate::{
    error::AppError,
    model::{AccountDetail, AccountSearch, AuditLog},
    server::{auth::AuthUser, clock, service::admin, state::AppState},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/users", get(search_users))
        .route("/api/v1/admin/users/{id}", get(user_detail))
        .route("/api/v1/admin/users/{id}/sign-out", post(sign_out))
        .route("/api/v1/admin/users/{id}/disable", post(disable))
        .route("/api/v1/admin/users/{id}/enable", post(enable))
        .route("/api/v1/admin/users/{id}/send-reset", post(send_reset))
        .route("/api/v1/admin/users/{id}/remove-second-factor", post(remove_second_factor))
        .route("/api/v1/admin/audit", get(audit_log))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The start of an address or a name, any case; leave out to list every account.
    #[param(max_length = 320)]
    q: Option<String>,
    /// The `next_after` of the previous page.
    #[param(max_length = 320)]
    after: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignOutQuery {
    /// One session to sign out (an id from the account's `sessions`); leave out for all.
    #[param(max_length = 320)]
    session_id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next_before` of the previous page.
    #[param(max_length = 320)]
    before: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(SearchQuery),
    responses(
        (status = 200, description = "Accounts whose address or name starts with `q`, by address, 20 at a time", body = AccountSearch),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an operator", body = ErrorBody),
        (status = 422, description = "`invalid_input`", body = ErrorBody),
    ))]
pub async fn search_users(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<AccountSearch>, AppError> {
    Ok(Json(admin::search(&state, &user, query.q.as_deref().unwrap_or(""), query.after.as_deref()).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An account id")),
    responses(
        (status = 200, description = "The account with its sessions, factors, events and the operators' actions on it", body = AccountDetail),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an operator", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
pub async fn user_detail(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<Json<AccountDetail>, AppError> {
    Ok(Json(admin::detail(&state, &user, &id, clock::now()).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/sign-out", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An account id"), SignOutQuery),
    responses(
        (status = 204, description = "Signed out (one session, or all), effective at once on every instance"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden` (not an operator) or `reauthentication_required`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such account, or no such live session of it", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn sign_out(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignOutQuery>,
) -> Result<StatusCode, AppError> {
    admin::sign_out(&state, &user, &id, query.session_id.as_deref(), clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An account id")),
    responses(
        (status = 204, description = "Disabled (or already was): every session ended at once; sign-in answers as for a wrong password"),
        (status = 400, description = "`malformed_request`: an operator cannot disable their own account", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden` (not an operator) or `reauthentication_required`", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn disable(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    admin::disable(&state, &user, &id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An account id")),
    responses(
        (status = 204, description = "Enabled (or already was)"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden` (not an operator) or `reauthentication_required`", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn enable(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    admin::enable(&state, &user, &id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/send-reset", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An account id")),
    responses(
        (status = 204, description = "A link to set a new password (30 minutes, single use) is mailed to the account's address"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden` (not an operator) or `reauthentication_required`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`account_disabled`: enable the account first", body = ErrorBody),
    ))]
pub async fn send_reset(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    admin::send_reset(&state, &user, &id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/remove-second-factor", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "An account id")),
    responses(
        (status = 204, description = "The authenticator and recovery codes are gone and every session ended; the next sign-in \
            with the right password answers 403 `password_reset_required` and mails a link to set a new password"),
        (status = 400, description = "`malformed_request`: two-step verification is not on", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden` (not an operator) or `reauthentication_required`", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn remove_second_factor(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode, AppError> {
    admin::remove_second_factor(&state, &user, &id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", security(("bearer" = [])), params(AuditQuery),
    responses(
        (status = 200, description = "The operators' actions, newest first, 50 at a time", body = AuditLog),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden`: the caller is not an operator", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn audit_log(State(state): State<AppState>, user: AuthUser, ApiQuery(query): ApiQuery<AuditQuery>) -> Result<Json<AuditLog>, AppError> {
    Ok(Json(admin::audit(&state, &user, query.before.as_deref(), clock::now()).await?))
}
