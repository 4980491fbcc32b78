//! Spawns the real application on port 0 with a fresh database, and small helpers for
//! talking to it over plain HTTP.
//!
//! The database is a new SQLite file per test, or — when `GATEHOUSE_TEST_POSTGRES` holds an
//! admin URL (scripts/test.sh starts a throwaway cluster and sets it) — a new PostgreSQL
//! database per test on that cluster. Tests read what the server wrote through `app.sql`,
//! an `AnyPool` on the same database, so one assertion serves both.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use gatehouse::server::{config::Config, startup::Application, state::AppState};
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};
use std::{net::SocketAddr, time::Duration};
use tempfile::TempDir;

/// A password good enough for registration.
pub const PASSWORD: &str = "correct horse battery staple";
pub const ACCESS_TTL_SECS: u64 = 600;
pub const REFRESH_IDLE_SECS: u64 = 7 * 86400;
pub const REFRESH_ABSOLUTE_SECS: u64 = 30 * 86400;

/// One running application with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Where requests go: the public origin when that is this instance's `localhost`
    /// address (the default), else the bound address (with the public host in `Host`).
    base: String,
    pub state: AppState,
    /// Follows no redirects and keeps no cookies: every test says what it sends.
    pub client: reqwest::Client,
    /// The same database the server uses, for assertions about what it wrote.
    pub sql: sqlx::AnyPool,
    pub config: Config,
    /// Where `/metrics` is served, when `metrics_addr` is configured.
    pub metrics_addr: Option<SocketAddr>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A registered and signed-in person.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub email: String,
    pub display_name: String,
    pub user_id: String,
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The whole login answer.
    pub body: Value,
}

/// One row of `security_events`, as the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub kind: String,
    pub session_id: Option<String>,
    pub actor_session_id: Option<String>,
    pub reason: Option<String>,
}

/// Firefox 128 on Windows 10.
pub const FIREFOX_ON_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// Safari on an iPhone.
pub const SAFARI_ON_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
     (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// True when the suite runs against PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("GATEHOUSE_TEST_POSTGRES").is_ok_and(|v| !v.is_empty())
}

/// With `GATEHOUSE_TEST_POSTGRES` set: creates an empty database on that cluster and returns
/// its URL. Without: None (the app then makes a SQLite file in its temp dir).
pub async fn fresh_postgres_database() -> Option<String> {
    use sqlx::Connection as _;
    let admin = std::env::var("GATEHOUSE_TEST_POSTGRES").ok().filter(|v| !v.is_empty())?;
    let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to the test cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(&mut conn).await.expect("create database");
    conn.close().await.ok();
    let (base, _) = admin.rsplit_once('/').expect("admin URL ends in /database");
    Some(format!("{base}/{name}"))
}

/// A unique address per call, so tests never share a user.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}.{}@example.com", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    /// The app with the settings every test relies on (set explicitly: `Config::for_tests`
    /// reads the environment).
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Same, with `tweak` applied to the configuration last.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_tests(dir.path().to_path_buf());
        config.database_url = None;
        config.public_url = None;
        config.site_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.access_ttl = Duration::from_secs(ACCESS_TTL_SECS);
        config.refresh_idle_ttl = Duration::from_secs(REFRESH_IDLE_SECS);
        config.refresh_absolute_ttl = Duration::from_secs(REFRESH_ABSOLUTE_SECS);
        config.refresh_grace = Duration::from_secs(5);
        config.hash_concurrency = Some(2);
        config.argon2_memory_kib = 19456;
        config.argon2_iterations = 2;
        config.trusted_proxies = Vec::new();
        config.login_rate_per_minute = 30;
        config.register_rate_per_minute = 10;
        config.refresh_rate_per_minute = 120;
        config.failed_sign_in_delays = true;
        config.unknown_device_max_delay = Duration::from_secs(10);
        config.site_root = "target/site".into();
        config.database_url = fresh_postgres_database().await;
        if config.database_url.is_some() {
            // PostgreSQL: the refresh secret is a setting every instance shares (another_instance
            // copies it); SQLite makes its own file in the data dir.
            config.refresh_secret = Some(gatehouse::server::tokens::refresh::SuccessorKey::generate());
        }
        tweak(&mut config);
        TestApp::start(config, dir).await
    }

    /// Another instance on the same database as `self` (PostgreSQL: several instances
    /// behind one load balancer), on its own port.
    pub async fn another_instance(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        config.site_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        // One public origin for both, as behind a load balancer: tokens name one issuer.
        config.public_url = Some(self.origin());
        tweak(&mut config);
        TestApp::start(config, tempfile::tempdir().expect("temp dir")).await
    }

    async fn start(config: Config, dir: TempDir) -> TestApp {
        sqlx::any::install_default_drivers();
        let app = Application::build(&config).await.expect("the application builds");
        let sql = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&config.database_url())
            .await
            .expect("test connection to the database");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let state = app.state.clone();
        let server = tokio::spawn(app.run());
        // Requests name the host the public URL names, as a browser at that URL would; page
        // requests under another name are redirected there (`browser::public_host`).
        let public = reqwest::Url::parse(&state.public_origin).expect("the public origin is a URL");
        let authority = state.public_origin.split_once("://").map_or("", |(_, rest)| rest).to_owned();
        let here = public.scheme() == "http" && public.host_str() == Some("localhost") && public.port() == Some(addr.port());
        let base = if here { state.public_origin.clone() } else { format!("http://{addr}") };
        let mut headers = header::HeaderMap::new();
        if !here {
            headers.insert(header::HOST, header::HeaderValue::from_str(&authority).expect("a host header"));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .resolve("localhost", addr)
            .default_headers(headers)
            .build()
            .expect("http client");
        TestApp { addr, base, state, client, sql, config, metrics_addr, server, dir }
    }

    /// Stops this instance and starts a new one on the same database and the same address
    /// (the default public origin, and so the token issuer, includes the port).
    pub async fn restart(self) -> TestApp {
        self.restart_with(|_| {}).await
    }

    /// [`TestApp::restart`] with `tweak` applied to the configuration (a new release, say).
    pub async fn restart_with(mut self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        self.server.abort();
        // Take the data dir out, so that dropping the old instance does not delete it.
        let data = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        let mut config = self.config.clone();
        tweak(&mut config);
        config.site_addr = self.addr;
        let server = std::mem::replace(&mut self.server, tokio::spawn(async { Ok(()) }));
        drop(self);
        // Wait until the old listener is really closed before binding its port again.
        let _ = server.await;
        TestApp::start(config, data).await
    }

    /// The origin browsers see (`Origin` of their requests): the public URL, or this address.
    pub fn origin(&self) -> String {
        self.state.public_origin.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request sent")
    }

    pub async fn register(&self, email: &str, password: &str, display_name: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({ "email": email, "password": password, "display_name": display_name }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json("/api/v1/auth/login", &json!({ "email": email, "password": password })).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": refresh_token })).await
    }

    /// `POST /api/v1/auth/refresh` as a particular client: its `User-Agent`, and the address
    /// a trusted proxy puts in `X-Forwarded-For` (for an app that trusts 127.0.0.1 as its
    /// proxy). None: the header is not sent.
    pub async fn refresh_as(&self, refresh_token: &str, user_agent: Option<&str>, forwarded_for: Option<&str>) -> Response {
        let mut request =
            self.client.post(self.url("/api/v1/auth/refresh")).json(&json!({ "refresh_token": refresh_token }));
        if let Some(agent) = user_agent {
            request = request.header(header::USER_AGENT, agent);
        }
        if let Some(address) = forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        request.send().await.expect("request sent")
    }

    pub async fn me(&self, access_token: &str) -> Response {
        self.client.get(self.url("/api/v1/me")).bearer_auth(access_token).send().await.expect("request sent")
    }

    pub async fn logout(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/logout"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// Registers a fresh person and signs them in through the JSON API.
    pub async fn signed_in(&self, display_name: &str) -> SignedIn {
        self.signed_in_from(display_name, None).await
    }

    /// Same, signing in with the given `User-Agent` (None: the header is not sent).
    pub async fn signed_in_from(&self, display_name: &str, user_agent: Option<&str>) -> SignedIn {
        let email = unique_email("person");
        let registered = self.register(&email, PASSWORD, display_name).await;
        assert_eq!(registered.status(), StatusCode::CREATED, "{}", registered.text().await.unwrap_or_default());
        self.sign_in_as(&email, display_name, user_agent).await
    }

    /// A further session for an existing person (another device), with the given `User-Agent`.
    pub async fn another_session(&self, person: &SignedIn, user_agent: Option<&str>) -> SignedIn {
        let again = self.sign_in_as(&person.email, &person.display_name, user_agent).await;
        assert_eq!(again.user_id, person.user_id);
        assert_ne!(again.session_id, person.session_id, "a new sign-in is a new session");
        again
    }

    async fn sign_in_as(&self, email: &str, display_name: &str, user_agent: Option<&str>) -> SignedIn {
        let response = self.login_from(email, PASSWORD, user_agent).await;
        let body = json_body(response, StatusCode::OK).await;
        SignedIn {
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            user_id: str_at(&body, "/user/id"),
            session_id: str_at(&body, "/session_id"),
            access_token: str_at(&body, "/access_token"),
            refresh_token: str_at(&body, "/refresh_token"),
            body,
        }
    }

    /// `POST /api/v1/auth/login` with the given `User-Agent` (None: the header is not sent).
    pub async fn login_from(&self, email: &str, password: &str, user_agent: Option<&str>) -> Response {
        let mut request =
            self.client.post(self.url("/api/v1/auth/login")).json(&json!({ "email": email, "password": password }));
        if let Some(agent) = user_agent {
            request = request.header(header::USER_AGENT, agent);
        }
        request.send().await.expect("request sent")
    }

    /// `GET /api/v1/sessions`.
    pub async fn list_sessions(&self, access_token: &str) -> Response {
        self.client.get(self.url("/api/v1/sessions")).bearer_auth(access_token).send().await.expect("request sent")
    }

    /// `DELETE /api/v1/sessions/{id}`.
    pub async fn delete_session(&self, access_token: &str, session_id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/api/v1/sessions/{session_id}")))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/v1/sessions/revoke-others`.
    pub async fn revoke_other_sessions(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/sessions/revoke-others"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    /// A server-function call the way the hydrated page makes it: a same-origin `fetch` with
    /// a url-encoded body, the access cookie, and no `Accept: text/html`, so the answer is
    /// data, not a redirect.
    pub async fn call_fn(&self, path: &str, fields: &[(&str, &str)], access_cookie: &str) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.client
            .post(self.url(path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, self.origin())
            .header(header::COOKIE, cookie_header(&[("gh_access", access_cookie)]))
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `(revoked_at, revoked_reason)` of a session row.
    pub async fn revocation_of(&self, session_id: &str) -> (Option<i64>, Option<String>) {
        sqlx::query_as("select revoked_at, revoked_reason from sessions where id = $1")
            .bind(session_id)
            .fetch_one(&self.sql)
            .await
            .expect("the session row exists")
    }

    /// The stored password hash of a user (to see whether it changed).
    pub async fn password_hash_of(&self, user_id: &str) -> String {
        sqlx::query_scalar("select password_hash from users where id = $1")
            .bind(user_id)
            .fetch_one(&self.sql)
            .await
            .expect("the user row exists")
    }

    /// Asserts the session is over: its access token is refused now (long before it
    /// expires) and its refresh token answers `session_revoked`.
    pub async fn assert_session_ended(&self, session: &SignedIn) {
        let exp = jwt_part(&session.access_token, 1)["exp"].as_i64().unwrap_or_default();
        assert!(exp > now() + 60, "the access token is still far from its expiry");
        assert_error(self.me(&session.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_error(self.refresh(&session.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    }

    /// Asserts the session still works (without spending its refresh token).
    pub async fn assert_session_alive(&self, session: &SignedIn) {
        let me = json_body(self.me(&session.access_token).await, StatusCode::OK).await;
        assert_eq!(str_at(&me, "/session_id"), session.session_id);
        assert_eq!(self.revocation_of(&session.session_id).await, (None, None), "not revoked in the database");
    }

    /// Every security event of a user, oldest first.
    pub async fn events_of(&self, user_id: &str) -> Vec<EventRow> {
        sqlx::query_as(
            "select kind, session_id, actor_session_id, reason from security_events
              where user_id = $1 order by created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.sql)
        .await
        .expect("events query")
    }

    /// An access token for this user and session, signed with the server's own key and
    /// issued at `issued_at` (unix seconds), living the configured lifetime.
    pub fn mint_access_token(&self, user_id: &str, session_id: &str, issued_at: i64) -> String {
        let keys = self.state.keys.current();
        gatehouse::server::tokens::access::mint(&keys, &self.state.access, user_id, session_id, i64::MAX, issued_at)
            .expect("minting works")
            .0
    }

    /// A POST to a server function the way a browser without JavaScript submits a form.
    pub async fn form_post(&self, path: &str, fields: &[(&str, &str)], referer_path: &str, cookies: &[(&str, &str)]) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self
            .client
            .post(self.url(path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            .header(header::ORIGIN, self.origin())
            .header(header::REFERER, self.url(referer_path))
            .body(body);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookie_header(cookies));
        }
        request.send().await.expect("request sent")
    }

    /// A GET the way a browser navigates: HTML accepted, the given cookies sent.
    pub async fn navigate(&self, path: &str, cookies: &[(&str, &str)]) -> Response {
        let mut request = self.client.get(self.url(path)).header(header::ACCEPT, "text/html");
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookie_header(cookies));
        }
        request.send().await.expect("request sent")
    }
}

/// The current unix time in seconds.
pub fn now() -> i64 {
    gatehouse::server::clock::now()
}

/// Asserts the status and returns the JSON body.
pub async fn json_body(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let content_type = content_type(&response);
    let text = response.text().await.expect("body read");
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert!(content_type.starts_with("application/json"), "content type {content_type:?}; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error answer of the contract: the status, `{"error":{"code","message"}}` with
/// the given code and a non-empty message. Returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    let body = json_body(response, status).await;
    assert_eq!(body["error"]["code"], code, "body: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "an error carries a human message: {body}");
    body
}

/// A server function's error answer (data mode, no redirect): Leptos answers every error
/// 500 with a `serverfnerror` header naming the function; the body is the serialized
/// `AppError`. Asserts that much and returns the body.
pub async fn fn_error(response: Response, fn_path: &str) -> Value {
    let got = response.status();
    let header = response.headers().get("serverfnerror").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = response.text().await.expect("body read");
    assert_eq!(header, fn_path, "the error names the server function; body: {text}");
    let error: gatehouse::error::AppError =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an AppError ({e}): {text}"));
    // The status fits the error (401, 404, 422 …), not Leptos's blanket 500.
    assert_eq!(got.as_u16(), error.status(), "the status of {error:?}; body: {text}");
    assert!(got.is_client_error(), "a client error, not a server fault: {got}; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts a server function's error answer is exactly `expected` (a serialized `AppError`).
pub async fn assert_fn_error(response: Response, fn_path: &str, expected: &Value) -> Value {
    let body = fn_error(response, fn_path).await;
    assert_eq!(&body, expected, "the serialized AppError");
    body
}

/// Asserts a server function's `InvalidInput` answer with a message for `field` that
/// contains `needle`. Returns the body.
pub async fn assert_fn_invalid_field(response: Response, fn_path: &str, field: &str, needle: &str) -> Value {
    let body = fn_error(response, fn_path).await;
    let message = body
        .pointer(&format!("/InvalidInput/fields/{field}"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{fn_path}: no InvalidInput message for {field}: {body}"));
    assert!(message.contains(needle), "{field}: {message:?} should mention {needle:?}");
    body
}

pub fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A string at a JSON pointer, or a panic naming it.
pub fn str_at(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {value}"))
        .to_owned()
}

/// The `Location` header.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location header; status {}", response.status()))
        .to_owned()
}

/// Decodes one base64url JSON part of a JWT (0 = header, 1 = payload).
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT has three parts");
    serde_json::from_slice(&B64.decode(part).expect("base64url")).expect("JSON")
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// A `Cookie` request header.
pub fn cookie_header(cookies: &[(&str, &str)]) -> String {
    cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
}

/// One `Set-Cookie` header, parsed.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attribute names lower-cased, with their values (empty for flags).
    pub attributes: Vec<(String, String)>,
    pub raw: String,
}

impl SetCookie {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has_flag(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(response: &Response) -> Vec<SetCookie> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|raw| {
            let mut parts = raw.split(';').map(str::trim);
            let (name, value) = parts.next().and_then(|p| p.split_once('=')).unwrap_or(("", ""));
            let attributes = parts
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((n, v)) => (n.trim().to_ascii_lowercase(), v.trim().to_owned()),
                    None => (p.to_ascii_lowercase(), String::new()),
                })
                .collect();
            SetCookie { name: name.to_owned(), value: value.to_owned(), attributes, raw: raw.to_owned() }
        })
        .collect()
}

/// The one `Set-Cookie` for `name`; panics when there is none or more than one.
pub fn the_cookie(cookies: &[SetCookie], name: &str) -> SetCookie {
    let found: Vec<_> = cookies.iter().filter(|c| c.name == name).collect();
    assert_eq!(found.len(), 1, "expected one Set-Cookie for {name}: {cookies:#?}");
    found[0].clone()
}
