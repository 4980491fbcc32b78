//! The OpenAPI document of the JSON API, generated from the handlers' annotations by
//! `utoipa` and served at `/api/v1/openapi.json` (ssr only).

use super::api;
use axum::{response::IntoResponse, Json};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::{
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi, ToSchema,
};

/// Every error: a stable code, a human message, and per-field messages for `invalid_input`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "invalid_credentials")]
    code: String,
    #[schema(example = "Invalid email or password")]
    message: String,
    #[schema(nullable = false)]
    fields: Option<BTreeMap<String, String>>,
}

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

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse API", description = "Sign-in with short-lived access tokens and rotating refresh tokens."),
    paths(
        api::register, api::login, api::refresh, api::logout, api::me,
        api::list_sessions, api::revoke_one_session, api::revoke_other_sessions,
        api::jwks, api::healthz, api::livez,
    ),
    components(schemas(ErrorBody, ErrorDetail, Jwks, Jwk, crate::model::User)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

pub async fn document() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
