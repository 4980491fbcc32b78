//! The OpenAPI document of the JSON API, generated from the handlers' annotations by
//! `utoipa` and served at `/api/v1/openapi.json` (ssr only).

use super::{admin, api, json::{ErrorBody, ErrorDetail}, passkeys};
use axum::{response::IntoResponse, Json};
use serde::Serialize;
use utoipa::{
    openapi::{
        security::{Http, HttpAuthScheme, SecurityScheme},
        Content, Ref, RefOr, Response, ResponseBuilder,
    },
    Modify, OpenApi, ToSchema,
};

/// A JSON Web Key Set of Ed25519 public keys.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Serialize, ToSchema)]
pub struct Jwk {
    #[schema(example = "OKP")]
    kty: String,
    #[schema(example = "Ed25519")]
    crv: String,
    x: String,
    kid: String,
    #[schema(example = "EdDSA")]
    alg: String,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    use_: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = doc.components.as_mut() {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.bearer_format = Some("JWT".into());
            components.add_security_scheme("bearer", SecurityScheme::Http(http));
        }
    }
}

/// The answers any route can give before or beside its handler: the request limits in
/// front of every route (`limits.rs`: 408 after 30 s, 413 for a body over 64 KB, 431 for
/// oversized headers), and a fault (500) on every route that touches the database.
struct LimitAnswers;

impl Modify for LimitAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let untouched_by_faults = ["/livez", "/.well-known/jwks.json"];
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let mut answer = |status: &str, description: &str| {
                    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_answer(description));
                };
                answer("408", "`request_timeout`: the request took longer than 30 seconds");
                answer("413", "`payload_too_large`: the body is over the limit");
                answer("431", "`headers_too_large`: the request headers are over 32 KB");
                if !untouched_by_faults.contains(&path.as_str()) {
                    answer("500", "`internal_error`: a fault on our side (no detail is given)");
                }
            }
        }
    }
}

fn error_answer(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build(),
    )
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse API", description = "Sign-in with short-lived access tokens and rotating refresh tokens."),
    paths(
        api::register, api::login, api::login_second_factor, api::refresh, api::logout, api::forgot_password, api::reset_password,
        api::not_me, api::verify_email, api::resend_verification, api::confirm_email, api::change_email, api::me,
        api::two_step_status, api::totp_begin, api::totp_confirm, api::totp_turn_off, api::renew_recovery_codes, api::reauthenticate,
        api::list_sessions, api::revoke_one_session, api::revoke_other_sessions,
        passkeys::register_options, passkeys::register, passkeys::list, passkeys::remove, passkeys::sign_in_options,
        passkeys::sign_in, passkeys::reauthenticate,
        api::jwks, api::healthz, api::livez,
        admin::search_users, admin::user_detail, admin::sign_out, admin::disable, admin::enable, admin::send_reset,
        admin::remove_second_factor, admin::audit_log,
    ),
    components(schemas(ErrorBody, ErrorDetail, Jwks, Jwk, crate::model::User)),
    modifiers(&BearerAuth, &LimitAnswers),
)]
pub struct ApiDoc;

pub async fn document() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
