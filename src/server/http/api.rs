//! The JSON API for non-browser clients (ssr only). Each handler parses, calls one function
//! of `server::account`, and shapes the answer of SPEC.md's contract.

use super::{client_ip, client_of, json::ApiJson};
use crate::{
    error::AppError,
    model::User,
    server::{
        account,
        account::Issued,
        auth::AuthUser,
        clock,
        devices::device_view,
        sessions::{
            self,
            revoke::{revoke_all_of_user, revoke_session, Why},
        },
        state::AppState,
        users,
    },
};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/sessions", get(list_sessions))
        .route("/api/v1/sessions/revoke-others", post(revoke_other_sessions))
        .route("/api/v1/sessions/{id}", axum::routing::delete(revoke_one_session))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// The answer to login and refresh.
#[derive(Serialize)]
struct TokenPair {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
    refresh_expires_in: i64,
    session_id: String,
    user: User,
}

impl TokenPair {
    fn from_issued(issued: Issued, now: i64) -> Self {
        TokenPair {
            access_token: issued.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: issued.access_claims.exp - now,
            refresh_token: issued.refresh_token.expose().to_owned(),
            refresh_expires_in: issued.refresh_expires_at - now,
            session_id: issued.session_id,
            user: issued.user,
        }
    }
}

async fn register(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&state, &parts);
    let ApiJson(body) = ApiJson::<RegisterBody>::from_request(Request::from_parts(parts, body), &state).await?;
    let user = account::register(&state, &body.email, &body.password, &body.display_name, ip, clock::now()).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "user": user }))).into_response())
}

async fn login(State(state): State<AppState>, req: Request) -> Result<Json<TokenPair>, AppError> {
    let (parts, body) = req.into_parts();
    let client = client_of(&state, &parts);
    let ApiJson(body) = ApiJson::<LoginBody>::from_request(Request::from_parts(parts, body), &state).await?;
    let now = clock::now();
    let issued = account::login(&state, &body.email, &body.password, &client, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

async fn refresh(State(state): State<AppState>, req: Request) -> Result<Json<TokenPair>, AppError> {
    let (parts, body) = req.into_parts();
    let ip = client_ip(&state, &parts);
    let ApiJson(body) = ApiJson::<RefreshBody>::from_request(Request::from_parts(parts, body), &state).await?;
    let now = clock::now();
    let issued = account::refresh(&state, &body.refresh_token, ip, now).await?;
    Ok(Json(TokenPair::from_issued(issued, now)))
}

async fn logout(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, AppError> {
    account::logout(&state, &user.session_id, clock::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<serde_json::Value>, AppError> {
    let row = users::by_id(&state.db, &user.user_id).await?.ok_or(AppError::InvalidToken)?;
    Ok(Json(serde_json::json!({ "user": row.public(), "session_id": user.session_id })))
}

async fn list_sessions(State(state): State<AppState>, user: AuthUser) -> Result<Json<serde_json::Value>, AppError> {
    let now = clock::now();
    let rows = sessions::active_for_user(&state.db, &user.user_id, &state.sessions, now).await?;
    let list: Vec<_> = rows
        .iter()
        .map(|row| {
            let d = device_view(row, &user.session_id, now);
            serde_json::json!({
                "id": d.id, "current": d.current, "device": d.label, "browser": d.browser, "os": d.os,
                "ip": d.ip, "created_at": d.signed_in_at, "last_used_at": d.last_active_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "sessions": list })))
}

async fn revoke_one_session(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<StatusCode, AppError> {
    let why = Why { reason: "signed_out_elsewhere", actor_session_id: Some(&user.session_id) };
    if id.len() > 64 || !revoke_session(&state.db, &state.revoked, &id, Some(&user.user_id), why, clock::now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_other_sessions(State(state): State<AppState>, user: AuthUser) -> Result<Json<serde_json::Value>, AppError> {
    let why = Why { reason: "signed_out_elsewhere", actor_session_id: Some(&user.session_id) };
    let n = revoke_all_of_user(&state.db, &state.revoked, &user.user_id, Some(&user.session_id), why, clock::now()).await?;
    Ok(Json(serde_json::json!({ "revoked": n })))
}

async fn jwks(State(state): State<AppState>) -> Response {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys.current().jwks().clone()),
    )
        .into_response()
}

/// Readiness: 200 while the database answers.
async fn healthz(State(state): State<AppState>) -> Response {
    match sqlx::query("select 1").execute(&state.db).await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "database unavailable" }))).into_response()
        }
    }
}

/// Liveness: touches nothing.
async fn livez() -> &'static str {
    "ok"
}

use axum::extract::FromRequest;
