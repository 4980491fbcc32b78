//! Endpoints anyone may call: the JWKS and the health checks.

use crate::helpers::{json_body, jwt_part, now, TestApp};
use reqwest::StatusCode;

#[tokio::test]
async fn the_jwks_publishes_the_ed25519_key_that_signs_access_tokens_and_never_a_private_part() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Key Checker").await;
    let minted = app.mint_access_token(&person.user_id, &person.session_id, now());

    let response = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
    let jwks = json_body(response, StatusCode::OK).await;

    let keys = jwks["keys"].as_array().unwrap_or_else(|| panic!("keys: {jwks}"));
    assert!(!keys.is_empty(), "{jwks}");
    for key in keys {
        let key = key.as_object().unwrap_or_else(|| panic!("a key is an object: {jwks}"));
        assert!(!key.contains_key("d"), "no private key material in the JWKS: {jwks}");
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert!(key["x"].as_str().is_some_and(|x| x.len() == 43), "a base64url 32-byte public key: {jwks}");
    }
    for token in [&minted, &person.access_token] {
        let header = jwt_part(token, 0);
        assert_eq!(header["alg"], "EdDSA");
        let kid = header["kid"].as_str().unwrap_or_else(|| panic!("kid in {header}"));
        assert!(keys.iter().any(|k| k["kid"] == kid), "kid {kid} is published: {jwks}");
    }
}

#[tokio::test]
async fn livez_and_healthz_answer_200() {
    let app = TestApp::spawn().await;

    for path in ["/livez", "/healthz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn healthz_answers_503_once_the_database_is_gone_while_livez_stays_200() {
    let app = TestApp::spawn().await;
    app.state.db.close().await;

    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.text().await.unwrap();
    assert!(!body.to_lowercase().contains("pool"), "no internal detail: {body}");
    let response = app.client.get(app.url("/livez")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_names_the_limit_answers_on_every_route() {
    let app = TestApp::spawn().await;
    let doc = json_body(app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap(), StatusCode::OK).await;

    let paths = doc["paths"].as_object().unwrap_or_else(|| panic!("paths: {doc}"));
    assert!(paths.len() >= 10, "{doc}");
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            let responses = operation["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: {operation}"));
            for status in ["408", "413", "431"] {
                let answer = &responses.get(status).unwrap_or_else(|| panic!("{method} {path} documents {status}"));
                assert_eq!(
                    answer["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert!(doc["paths"]["/api/v1/me"]["get"]["responses"]["500"].is_object(), "routes on the database may fail");
    assert!(doc["paths"]["/livez"]["get"]["responses"]["500"].is_null(), "livez touches nothing that can fail");
    let detail = &doc["components"]["schemas"]["ErrorDetail"]["properties"];
    for field in ["code", "message", "fields"] {
        assert!(detail[field].is_object(), "ErrorDetail.{field}: {doc}");
    }
}
