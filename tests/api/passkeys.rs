//! Passkeys over HTTP: full registration and authentication ceremonies against the real
//! server, answered by a software authenticator (a real P-256 key; CBOR, authenticator data
//! and signatures built here the way an authenticator builds them). The happy path, and
//! each way an answer must be refused: another origin, another relying party, a replayed or
//! expired challenge, a signature counter that went back, someone else's credential; and a
//! ceremony begun on one instance and finished on another (PostgreSQL).

use crate::helpers::{assert_error, json_body, jwt_part, now, on_postgres, str_at, SignedIn, TestApp, PASSWORD};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use p256::ecdsa::{signature::Signer, DerSignature, SigningKey};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// A software authenticator holding one discoverable credential.
#[derive(Clone)]
struct SoftAuthenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    /// The account's user handle, kept from the creation options.
    user_handle: Vec<u8>,
    counter: u32,
    /// Synced (backup eligible) or bound to this device.
    synced: bool,
}

/// What an answer claims about where it was made.
struct Made<'a> {
    origin: &'a str,
    rp_id: &'a str,
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend([0x58, n as u8]),
        n => out.extend([0x59, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    assert!(text.len() < 24);
    out.push(0x60 | text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

impl SoftAuthenticator {
    fn new(synced: bool) -> Self {
        let mut credential_id = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut credential_id);
        SoftAuthenticator { key: SigningKey::random(&mut rand::rngs::OsRng), credential_id, user_handle: Vec::new(), counter: 0, synced }
    }

    fn flags(&self) -> u8 {
        UP | UV | if self.synced { BE | BS } else { 0 }
    }

    /// The public key as COSE (EC2, ES256, P-256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut out = vec![0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, &point.x().expect("x")[..]);
        out.push(0x22);
        cbor_bytes(&mut out, &point.y().expect("y")[..]);
        out
    }

    fn client_data(kind: &str, options: &Value, made: &Made) -> Vec<u8> {
        let challenge = options["challenge"].as_str().expect("a challenge in the options");
        serde_json::to_vec(&json!({ "type": kind, "challenge": challenge, "origin": made.origin, "crossOrigin": false })).unwrap()
    }

    /// `navigator.credentials.create()` for these creation options, as `toJSON()` gives it.
    fn register(&mut self, options: &Value, made: &Made) -> Value {
        self.user_handle = B64.decode(options["user"]["id"].as_str().expect("a user id")).expect("base64url");
        let mut auth_data = Sha256::digest(made.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags() | AT);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xA3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xA0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        let client_data = Self::client_data("webauthn.create", options, made);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "attestationObject": B64.encode(&attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": { "credProps": { "rk": true } },
        })
    }

    /// `navigator.credentials.get()` for these request options: the counter moves on first.
    fn assert(&mut self, options: &Value, made: &Made) -> Value {
        self.counter += 1;
        self.assertion(options, made)
    }

    /// The assertion with the counter as it is (a clone that did not move on).
    fn assertion(&self, options: &Value, made: &Made) -> Value {
        let mut auth_data = Sha256::digest(made.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags());
        auth_data.extend(self.counter.to_be_bytes());
        let client_data = Self::client_data("webauthn.get", options, made);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(signature.as_bytes()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}

fn here(app: &TestApp) -> (String, String) {
    let origin = app.origin();
    let rp_id = reqwest::Url::parse(&origin).unwrap().host_str().unwrap().to_owned();
    (origin, rp_id)
}

async fn bearer_post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Creation options for `person` (a ceremony and its `publicKey`).
async fn register_options(app: &TestApp, token: &str) -> (String, Value) {
    let body = json_body(bearer_post(app, token, "/api/v1/passkeys/register/options", None).await, StatusCode::OK).await;
    (str_at(&body, "/ceremony"), body["publicKey"].clone())
}

async fn finish_registration(app: &TestApp, token: &str, ceremony: &str, credential: &Value, name: &str) -> reqwest::Response {
    bearer_post(app, token, "/api/v1/passkeys/register", Some(json!({ "ceremony": ceremony, "credential": credential, "name": name }))).await
}

/// Adds a passkey held by a new software authenticator to `person`'s account.
async fn add_passkey(app: &TestApp, person: &SignedIn, name: &str, synced: bool) -> (SoftAuthenticator, Value) {
    let (origin, rp_id) = here(app);
    let (ceremony, options) = register_options(app, &person.access_token).await;
    let mut authenticator = SoftAuthenticator::new(synced);
    let credential = authenticator.register(&options, &Made { origin: &origin, rp_id: &rp_id });
    let added = json_body(finish_registration(app, &person.access_token, &ceremony, &credential, name).await, StatusCode::CREATED).await;
    (authenticator, added)
}

async fn sign_in_options(app: &TestApp) -> (String, Value) {
    let body = json_body(app.post_json("/api/v1/auth/passkey/options", &json!({})).await, StatusCode::OK).await;
    (str_at(&body, "/ceremony"), body["publicKey"].clone())
}

async fn sign_in(app: &TestApp, ceremony: &str, credential: &Value) -> reqwest::Response {
    app.post_json("/api/v1/auth/passkey", &json!({ "ceremony": ceremony, "credential": credential })).await
}

/// A whole passkey sign-in with `authenticator`; the answer.
async fn sign_in_with(app: &TestApp, authenticator: &mut SoftAuthenticator) -> reqwest::Response {
    let (origin, rp_id) = here(app);
    let (ceremony, options) = sign_in_options(app).await;
    let credential = authenticator.assert(&options, &Made { origin: &origin, rp_id: &rp_id });
    sign_in(app, &ceremony, &credential).await
}

async fn event_kinds(app: &TestApp, user_id: &str) -> Vec<String> {
    app.events_of(user_id).await.into_iter().map(|e| e.kind).collect()
}

async fn passkey_count(app: &TestApp, user_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from passkeys where user_id = $1").bind(user_id).fetch_one(&app.sql).await.unwrap()
}

#[tokio::test]
async fn a_passkey_is_added_listed_signs_in_as_two_factors_and_is_removed() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Passkey Pat").await;
    let (options_ceremony, options) = register_options(&app, &person.access_token).await;
    assert_eq!(options["rp"]["id"], "localhost", "the relying party is the public URL's host: {options}");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required", "{options}");
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required", "{options}");
    assert_eq!(B64.decode(options["user"]["id"].as_str().unwrap()).unwrap(), uuid::Uuid::parse_str(&person.user_id).unwrap().as_bytes());
    drop(options_ceremony);

    let (mut authenticator, added) = add_passkey(&app, &person, "Work laptop", false).await;
    assert_eq!(added["name"], "Work laptop");
    assert!(added["last_used_at"].is_null(), "{added}");
    let list = json_body(app.client.get(app.url("/api/v1/passkeys")).bearer_auth(&person.access_token).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["passkeys"][0]["id"], added["id"]);
    assert!(event_kinds(&app, &person.user_id).await.contains(&"passkey_added".to_owned()));
    let mail: i64 = sqlx::query_scalar("select count(*) from mail_queue where recipient = $1 and subject like '%A passkey was added'")
        .bind(&person.email)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(mail, 1, "the owner is told");

    // Two-step verification on: the passkey still signs in at once, with no code step.
    crate::two_step::turn_on(&app, &person).await;
    let signed_in = json_body(sign_in_with(&app, &mut authenticator).await, StatusCode::OK).await;
    let claims = jwt_part(&str_at(&signed_in, "/access_token"), 1);
    assert_eq!(claims["amr"], json!(["hwk", "user"]), "a device-bound passkey: {claims}");
    assert_eq!(claims["sub"], person.user_id.as_str());
    assert!((claims["auth_time"].as_i64().unwrap() - now()).abs() < 5);
    let session_id = str_at(&signed_in, "/session_id");
    let stored_amr: String = sqlx::query_scalar("select amr from sessions where id = $1").bind(&session_id).fetch_one(&app.sql).await.unwrap();
    assert_eq!(stored_amr, "hwk user");
    let detail: Option<String> = sqlx::query_scalar("select detail from security_events where session_id = $1 and kind = 'signed_in'")
        .bind(&session_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(detail.as_deref(), Some("passkey"), "the activity says how");
    let sessions = json_body(app.list_sessions(&person.access_token).await, StatusCode::OK).await;
    let this = sessions["sessions"].as_array().unwrap().iter().find(|s| s["id"] == session_id.as_str()).cloned().unwrap();
    assert_eq!(this["signed_in_with"], "passkey", "{this}");
    let list = json_body(app.client.get(app.url("/api/v1/passkeys")).bearer_auth(&person.access_token).send().await.unwrap(), StatusCode::OK).await;
    assert!(list["passkeys"][0]["last_used_at"].is_string(), "{list}");

    // A passkey sign-in is recent authentication: removing needs nothing more.
    let token = str_at(&signed_in, "/access_token");
    let id = added["id"].as_str().unwrap();
    let removed = app.client.delete(app.url(&format!("/api/v1/passkeys/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(passkey_count(&app, &person.user_id).await, 0);
    assert!(event_kinds(&app, &person.user_id).await.contains(&"passkey_removed".to_owned()));
    let again = app.client.delete(app.url(&format!("/api/v1/passkeys/{id}"))).bearer_auth(&token).send().await.unwrap();
    assert_error(again, StatusCode::NOT_FOUND, "not_found").await;
    // Gone: it signs in no more.
    assert_error(sign_in_with(&app, &mut authenticator).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
}

#[tokio::test]
async fn a_synced_passkey_counts_as_software_and_an_empty_name_becomes_the_device() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Synced Sid").await;
    let (mut authenticator, added) = add_passkey(&app, &person, "  ", true).await;
    assert_eq!(added["name"], "Unknown device", "named after the device (the test client sends no User-Agent)");
    let signed_in = json_body(sign_in_with(&app, &mut authenticator).await, StatusCode::OK).await;
    assert_eq!(jwt_part(&str_at(&signed_in, "/access_token"), 1)["amr"], json!(["swk", "user"]));
}

#[tokio::test]
async fn adding_and_removing_need_a_recent_sign_in_which_a_passkey_can_confirm() {
    let app = TestApp::spawn_with(|c| c.step_up_max_age = Duration::from_secs(1)).await;
    let person = app.signed_in("Stepping Sam").await;
    let (mut authenticator, added) = add_passkey(&app, &person, "Phone", false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let asked = assert_error(bearer_post(&app, &person.access_token, "/api/v1/passkeys/register/options", None).await, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert_eq!(asked["error"]["methods"], json!(["password", "passkey"]), "{asked}");
    let id = added["id"].as_str().unwrap();
    let remove = app.client.delete(app.url(&format!("/api/v1/passkeys/{id}"))).bearer_auth(&person.access_token).send().await.unwrap();
    assert_error(remove, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert_eq!(passkey_count(&app, &person.user_id).await, 1, "nothing removed");

    // "Confirm it's you" with the passkey.
    let (origin, rp_id) = here(&app);
    let (ceremony, options) = sign_in_options(&app).await;
    let credential = authenticator.assert(&options, &Made { origin: &origin, rp_id: &rp_id });
    let body = json!({ "ceremony": ceremony, "credential": credential });
    let confirmed = json_body(bearer_post(&app, &person.access_token, "/api/v1/me/reauthenticate/passkey", Some(body.clone())).await, StatusCode::OK).await;
    let fresh = str_at(&confirmed, "/access_token");
    let claims = jwt_part(&fresh, 1);
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(claims["sid"], person.session_id.as_str(), "the same session");
    // The same answer does not confirm twice.
    assert_error(bearer_post(&app, &person.access_token, "/api/v1/me/reauthenticate/passkey", Some(body)).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;

    let remove = app.client.delete(app.url(&format!("/api/v1/passkeys/{id}"))).bearer_auth(&fresh).send().await.unwrap();
    assert_eq!(remove.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn answers_made_for_another_origin_or_relying_party_are_refused() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Phished Phil").await;
    let (origin, rp_id) = here(&app);
    let port = app.addr.port();
    let evil_origin = format!("http://evil.localhost:{port}");
    let other_port = format!("http://localhost:{}", port.wrapping_add(1));
    let cases = [
        (Made { origin: &evil_origin, rp_id: &rp_id }, "another origin"),
        (Made { origin: &other_port, rp_id: &rp_id }, "another port"),
        (Made { origin: &origin, rp_id: "evil.example" }, "another relying party"),
    ];

    // Registration.
    for (made, what) in &cases {
        let (ceremony, options) = register_options(&app, &person.access_token).await;
        let credential = SoftAuthenticator::new(false).register(&options, made);
        let refused = finish_registration(&app, &person.access_token, &ceremony, &credential, "Evil").await;
        assert_error(refused, StatusCode::BAD_REQUEST, "invalid_credential").await;
        assert_eq!(passkey_count(&app, &person.user_id).await, 0, "{what}: nothing added");
    }

    // Authentication.
    let (mut authenticator, _) = add_passkey(&app, &person, "Real", false).await;
    for (made, what) in &cases {
        let (ceremony, options) = sign_in_options(&app).await;
        let credential = authenticator.assert(&options, made);
        let refused = assert_error(sign_in(&app, &ceremony, &credential).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
        assert!(refused.get("access_token").is_none(), "{what}: {refused}");
    }
    // The real thing still works (its counter is ahead of every refused try).
    json_body(sign_in_with(&app, &mut authenticator).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_challenge_is_answered_once_and_not_after_it_expired() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Replaying Ray").await;
    let (mut authenticator, _) = add_passkey(&app, &person, "Key", false).await;
    let (origin, rp_id) = here(&app);
    let made = Made { origin: &origin, rp_id: &rp_id };

    // Replayed: the same answer, and a fresh signature over the same challenge.
    let (ceremony, options) = sign_in_options(&app).await;
    let credential = authenticator.assert(&options, &made);
    json_body(sign_in(&app, &ceremony, &credential).await, StatusCode::OK).await;
    assert_error(sign_in(&app, &ceremony, &credential).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    let again = authenticator.assert(&options, &made);
    assert_error(sign_in(&app, &ceremony, &again).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    // A ceremony's handle made up, or from a registration, is no sign-in ceremony.
    assert_error(sign_in(&app, "ghk_made-up", &again).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    let (registration, _) = register_options(&app, &person.access_token).await;
    assert_error(sign_in(&app, &registration, &again).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;

    // Expired: five minutes have passed (moved back in the database, not slept through).
    let (ceremony, options) = sign_in_options(&app).await;
    sqlx::query("update passkey_ceremonies set expires_at = $1").bind(now() - 1).execute(&app.sql).await.unwrap();
    let late = authenticator.assert(&options, &made);
    assert_error(sign_in(&app, &ceremony, &late).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    // A registration likewise.
    let (ceremony, options) = register_options(&app, &person.access_token).await;
    sqlx::query("update passkey_ceremonies set expires_at = $1").bind(now() - 1).execute(&app.sql).await.unwrap();
    let credential = SoftAuthenticator::new(false).register(&options, &made);
    assert_error(finish_registration(&app, &person.access_token, &ceremony, &credential, "Late").await, StatusCode::BAD_REQUEST, "invalid_credential").await;
    // A spent ceremony is gone at once (even a refused one); one never answered is pruned
    // once expired.
    let left: i64 = sqlx::query_scalar("select count(*) from passkey_ceremonies").fetch_one(&app.sql).await.unwrap();
    assert_eq!(left, 0, "every ceremony above was spent");
    sign_in_options(&app).await;
    sign_in_options(&app).await;
    sqlx::query("update passkey_ceremonies set expires_at = $1 where handle_hash in (select handle_hash from passkey_ceremonies limit 1)")
        .bind(now() - 1)
        .execute(&app.sql)
        .await
        .unwrap();
    let settings = app.state.retention;
    let pruned = gatehouse::server::retention::prune(&app.state.db, &settings, now()).await.unwrap();
    assert_eq!(pruned.ceremonies, 1, "{pruned:?}");
    let left: i64 = sqlx::query_scalar("select count(*) from passkey_ceremonies").fetch_one(&app.sql).await.unwrap();
    assert_eq!(left, 1, "the live one stays");
}

#[tokio::test]
async fn a_signature_counter_that_went_back_is_refused_and_recorded() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Cloned Clem").await;
    let (mut authenticator, _) = add_passkey(&app, &person, "Old key", false).await;
    let clone = authenticator.clone();
    for _ in 0..3 {
        json_body(sign_in_with(&app, &mut authenticator).await, StatusCode::OK).await;
    }
    // The copy still counts from where it was copied.
    let mut clone = clone;
    assert_error(sign_in_with(&app, &mut clone).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    let kinds = event_kinds(&app, &person.user_id).await;
    assert_eq!(kinds.last().map(String::as_str), Some("passkey_counter_went_back"), "{kinds:?}");
    // The same counter again (a replayed signature count) is refused too.
    let (origin, rp_id) = here(&app);
    let (ceremony, options) = sign_in_options(&app).await;
    let same = authenticator.assertion(&options, &Made { origin: &origin, rp_id: &rp_id });
    assert_error(sign_in(&app, &ceremony, &same).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    // The original, moving on, still signs in.
    json_body(sign_in_with(&app, &mut authenticator).await, StatusCode::OK).await;
}

#[tokio::test]
async fn someone_elses_credential_neither_signs_in_nor_confirms_nor_registers_again() {
    let app = TestApp::spawn().await;
    let owner = app.signed_in("Owner Olga").await;
    let other = app.signed_in("Other Otto").await;
    let (mut authenticator, _) = add_passkey(&app, &owner, "Olga's key", false).await;
    let (origin, rp_id) = here(&app);
    let made = Made { origin: &origin, rp_id: &rp_id };

    // Olga's credential claiming to be Otto's (his user handle).
    let mut forged = authenticator.clone();
    forged.user_handle = uuid::Uuid::parse_str(&other.user_id).unwrap().as_bytes().to_vec();
    let (ceremony, options) = sign_in_options(&app).await;
    let credential = forged.assert(&options, &made);
    assert_error(sign_in(&app, &ceremony, &credential).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;

    // An unknown credential.
    let mut stranger = SoftAuthenticator::new(false);
    stranger.user_handle = uuid::Uuid::parse_str(&other.user_id).unwrap().as_bytes().to_vec();
    let (ceremony, options) = sign_in_options(&app).await;
    assert_error(sign_in(&app, &ceremony, &stranger.assert(&options, &made)).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;

    // Olga's passkey does not confirm Otto.
    let (ceremony, options) = sign_in_options(&app).await;
    let credential = authenticator.assert(&options, &made);
    let body = json!({ "ceremony": ceremony, "credential": credential });
    assert_error(bearer_post(&app, &other.access_token, "/api/v1/me/reauthenticate/passkey", Some(body)).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;

    // Otto cannot register Olga's credential as his.
    let (ceremony, options) = register_options(&app, &other.access_token).await;
    let mut copy = authenticator.clone();
    let credential = copy.register(&options, &made);
    assert_error(finish_registration(&app, &other.access_token, &ceremony, &credential, "Mine now").await, StatusCode::BAD_REQUEST, "invalid_credential").await;
    assert_eq!(passkey_count(&app, &other.user_id).await, 0);

    // Nor finish a registration Olga began.
    let (ceremony, options) = register_options(&app, &owner.access_token).await;
    let credential = SoftAuthenticator::new(false).register(&options, &made);
    assert_error(finish_registration(&app, &other.access_token, &ceremony, &credential, "Stolen").await, StatusCode::BAD_REQUEST, "invalid_credential").await;
    // Nor remove her passkey.
    let id: String = sqlx::query_scalar("select id from passkeys where user_id = $1").bind(&owner.user_id).fetch_one(&app.sql).await.unwrap();
    let remove = app.client.delete(app.url(&format!("/api/v1/passkeys/{id}"))).bearer_auth(&other.access_token).send().await.unwrap();
    assert_error(remove, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(passkey_count(&app, &owner.user_id).await, 1);
}

#[tokio::test]
async fn malformed_answers_are_refused_with_the_one_code() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Malformed Mo").await;
    let (ceremony, _) = sign_in_options(&app).await;
    assert_error(sign_in(&app, &ceremony, &json!({ "id": "x" })).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
    let (ceremony, _) = register_options(&app, &person.access_token).await;
    let refused = finish_registration(&app, &person.access_token, &ceremony, &json!("not a credential"), "x").await;
    assert_error(refused, StatusCode::BAD_REQUEST, "invalid_credential").await;
    let long = "n".repeat(65);
    let (ceremony, options) = register_options(&app, &person.access_token).await;
    let (origin, rp_id) = here(&app);
    let credential = SoftAuthenticator::new(false).register(&options, &Made { origin: &origin, rp_id: &rp_id });
    let refused = assert_error(finish_registration(&app, &person.access_token, &ceremony, &credential, &long).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
    assert!(refused["error"]["fields"]["name"].is_string(), "{refused}");
    let unauthenticated = app.post_json("/api/v1/passkeys/register/options", &json!({})).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let _ = PASSWORD;
}

#[tokio::test]
async fn a_ceremony_begun_on_one_instance_is_finished_on_the_other() {
    if !on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (set GATEHOUSE_TEST_POSTGRES; scripts/test.sh does)");
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.another_instance(|_| {}).await;
    let person = a.signed_in("Balanced Bea").await;
    let (origin, rp_id) = here(&a);
    let made = Made { origin: &origin, rp_id: &rp_id };

    let (ceremony, options) = register_options(&a, &person.access_token).await;
    let mut authenticator = SoftAuthenticator::new(false);
    let credential = authenticator.register(&options, &made);
    json_body(finish_registration(&b, &person.access_token, &ceremony, &credential, "Shared").await, StatusCode::CREATED).await;

    let (ceremony, options) = sign_in_options(&b).await;
    let credential = authenticator.assert(&options, &made);
    let signed_in = json_body(sign_in(&a, &ceremony, &credential).await, StatusCode::OK).await;
    assert_eq!(jwt_part(&str_at(&signed_in, "/access_token"), 1)["sub"], person.user_id.as_str());
    // Spent on A: B refuses it too.
    assert_error(sign_in(&b, &ceremony, &credential).await, StatusCode::UNAUTHORIZED, "invalid_credential").await;
}

#[tokio::test]
async fn page_requests_under_another_host_name_go_to_the_public_url_and_the_rest_is_answered() {
    let app = TestApp::spawn().await;
    let direct = format!("http://{}", app.addr);
    let page = app.client.get(format!("{direct}/login?next=%2Fdashboard")).header("accept", "text/html").header("host", app.addr.to_string()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(crate::helpers::location(&page), format!("{}/login?next=%2Fdashboard", app.origin()));
    for path in ["/livez", "/api/v1/openapi.json", "/passkeys.js"] {
        let response = app.client.get(format!("{direct}{path}")).header("accept", "text/html").header("host", app.addr.to_string()).send().await.unwrap();
        assert_ne!(response.status(), StatusCode::TEMPORARY_REDIRECT, "{path}");
    }
    // Under the public name, the page itself: its passkey button waits for the script, which
    // also hides the note that passkeys need JavaScript.
    let page = app.navigate("/login", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<div class=\"passkey-sign-in stack\" data-passkey-box hidden>"), "shown by the script only: {html}");
    assert!(html.contains("Sign in with a passkey"), "{html}");
    assert!(html.contains("Signing in with a passkey needs JavaScript"), "{html}");
    assert!(html.contains("autocomplete=\"username webauthn\""), "autofill offers passkeys: {html}");
    assert!(html.contains("src=\"/passkeys.js\""), "{html}");
}
