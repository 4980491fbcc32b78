//! Builds the application from a `Config` (ssr only). `main` and the integration tests both
//! call [`Application::build`], so tests run the real thing on port 0.

use crate::{
    app::{shell, App},
    server::{
        clock,
        config::Config,
        cookies::CookieSettings,
        db,
        mail::{self, worker::Mailer, Transport},
        http::{api, browser, forward, passkeys as passkey_api, pipeline::PipelineLayer, server_fns::ErrorSeal},
        password::Passwords,
        retention::{self, RetentionSettings},
        sessions::{revocation_list::RevocationList, revocation_push, Activity, SessionSettings},
        state::{AppState, State},
        throttle::{self, Rates, Throttle},
        users::Profiles,
        tokens::{access::AccessSettings, keys::KeyStore, refresh_secret, verified_cache::{self, VerifiedCache}},
    },
};
use crate::with_db;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use crate::server::service::forward::ForwardSettings;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("password hashing: {0}")]
    Password(#[from] crate::server::password::PasswordError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("configuration: {0}")]
    Config(String),
}

pub struct Application {
    listener: TcpListener,
    /// `/metrics`, when `GATEHOUSE_METRICS_ADDR` is set.
    metrics: Option<(TcpListener, Router, metrics_exporter_prometheus::PrometheusHandle)>,
    revocation_push: bool,
    router: Router,
    pub state: AppState,
}

impl Application {
    /// Connects and migrates the database, loads or creates keys, binds the port.
    pub async fn build(config: &Config) -> Result<Application, StartError> {
        let listener = TcpListener::bind(config.site_addr)
            .await
            .map_err(|source| StartError::Listen { addr: config.site_addr, source })?;
        // With port 0 the real port is only known now; the default public origin needs it.
        let mut config = config.clone();
        if let Ok(addr) = listener.local_addr() {
            config.site_addr = addr;
        }
        let metrics = match config.metrics_addr {
            None => None,
            Some(addr) => {
                let handle = crate::server::metrics::install().map_err(StartError::Config)?;
                let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })?;
                Some((listener, crate::server::metrics::router(handle.clone()), handle))
            }
        };
        let state = build_state(&config).await?;
        let router = router(state.clone());
        Ok(Application { listener, metrics, revocation_push: config.revocation_push, router, state })
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(listener, ..)| listener.local_addr().ok())
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until Ctrl-C / SIGTERM.
    pub async fn run(self) -> std::io::Result<()> {
        // Background work lives exactly as long as the server: dropping or aborting `run`
        // (tests do) stops it too, so no task keeps the database busy for a dead instance.
        let mut background = Background(vec![
            spawn_housekeeping(self.state.clone()),
            mail::worker::spawn(self.state.db.clone(), self.state.mailer.clone(), self.state.metrics),
        ]);
        background.0.extend(crate::server::db::spawn_checkpoints(&self.state.db));
        if let Some((listener, router, handle)) = self.metrics {
            background.0.push(crate::server::metrics::spawn_upkeep(handle));
            background.0.push(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }));
        }
        if let Some(pg) = self.state.db.postgres() {
            let options = revocation_push::ListenOptions { push: self.revocation_push };
            background.0.push(revocation_push::spawn_listener(self.state.db.clone(), pg, self.state.revoked.clone(), options));
        }
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

pub async fn build_state(config: &Config) -> Result<AppState, StartError> {
    if config.access_ttl.as_secs() == 0 {
        return Err(StartError::Config("GATEHOUSE_ACCESS_TTL must be at least 1s".into()));
    }
    if config.unknown_device_max_delay > throttle::MAX_HOLD_LIMIT {
        return Err(StartError::Config("GATEHOUSE_UNKNOWN_DEVICE_MAX_DELAY must be at most 20s (requests time out after 30s)".into()));
    }
    let retention = retention_settings(config)?;
    let now = clock::now();
    let origin = config.public_origin();
    let database_url = config.database_url();
    let (successor_keys, source) = refresh_secret::load(config, db::Kind::of(&database_url)).map_err(StartError::Config)?;
    tracing::info!(
        secret = %successor_keys.current.id(),
        previous = successor_keys.previous.as_ref().map(|k| k.id()).unwrap_or_default(),
        from = %source,
        "refresh secret loaded"
    );
    let pool = db::connect(&database_url, config.pool_size()).await?;
    db::migrate(&pool).await?;
    if refresh_secret::forget_database_copy(&pool).await? {
        tracing::warn!("deleted a refresh secret an older release had stored in the database; it is never used");
    }
    let sealer = crate::server::factors::sealed::Sealer::new(&successor_keys);
    if successor_keys.previous.is_some() {
        // A new refresh secret is rolling out: what was sealed under the previous one moves
        // to the current one now, so dropping the previous secret later loses nothing.
        let resealed = crate::server::factors::totp::reseal_all(&pool, &sealer).await?;
        if resealed > 0 {
            tracing::info!(resealed, "authenticator secrets re-sealed under the current refresh secret");
        }
    }
    let access_ttl = secs(config.access_ttl);
    // A retired key verifies as long as a token it signed can live, plus the clock leeway.
    let keys = KeyStore::open(&pool, access_ttl + 60, now).await?;
    let error_seal = ErrorSeal::new(shared_secret(&pool, "error_seal", now).await?);
    let mailer = mailer(config, &origin)?;
    let concurrency = config
        .hash_concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let passwords = Passwords::new(config.argon2_memory_kib, config.argon2_iterations, concurrency)?;
    dummy_follows_stored_hashes(&pool, &passwords).await?;
    let revoked = std::sync::Arc::new(RevocationList::new(access_ttl));
    revoked.load(&pool, now).await?;
    let leptos_options = LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build();
    Ok(AppState::new(State {
        db: pool.clone(),
        keys,
        verified: VerifiedCache::new(verified_cache::DEFAULT_CAPACITY),
        successor_keys,
        passwords,
        revoked,
        profiles: Profiles::new(PROFILE_CACHE_ENTRIES),
        activity: Activity::new(PROFILE_CACHE_ENTRIES),
        access: AccessSettings { issuer: origin.clone(), audience: "gatehouse".into(), ttl_secs: access_ttl },
        sessions: SessionSettings {
            idle_secs: secs(config.refresh_idle_ttl),
            absolute_secs: secs(config.refresh_absolute_ttl),
            grace_secs: secs(config.refresh_grace),
        },
        cookies: CookieSettings::with_domain(config.secure_cookies(), cookie_domain(config, &origin)?),
        throttle: Throttle::new(Rates {
            login_per_minute: config.login_rate_per_minute,
            register_per_minute: config.register_rate_per_minute,
            refresh_per_minute: config.refresh_rate_per_minute,
            recovery_per_minute: config.recovery_rate_per_minute,
            failed_sign_in_delays: config.failed_sign_in_delays,
            unknown_device_max_hold: config.unknown_device_max_delay,
        }, pool.clone()),
        trusted_proxies: config.trusted_proxies.clone(),
        error_seal,
        mailer,
        public_origin: origin.clone(),
        leptos_options,
        max_sessions: config.max_sessions_per_account.max(1),
        require_verified_email: config.require_verified_email,
        step_up_max_age: secs(config.step_up_max_age),
        sealer,
        retention,
        prune_runs: Default::default(),
        webauthn: crate::server::service::passkeys::relying_party(&origin),
        forward: ForwardSettings::new(config.forward_allowed_hosts.clone(), config.forward_rules.clone()),
        metrics: config.metrics_addr.is_some(),
    }))
}

/// The cookie domain, when it covers the host people reach us at (else our own cookies
/// would never come back to us).
fn cookie_domain(config: &Config, origin: &str) -> Result<Option<String>, StartError> {
    let Some(domain) = &config.cookie_domain else { return Ok(None) };
    let host = url::Url::parse(origin).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase)).unwrap_or_default();
    if host == *domain || host.ends_with(&format!(".{domain}")) {
        Ok(Some(domain.clone()))
    } else {
        Err(StartError::Config(format!(
            "GATEHOUSE_COOKIE_DOMAIN `{domain}` must be the host of GATEHOUSE_PUBLIC_URL (`{host}`) or a domain above it"
        )))
    }
}

/// Ended sessions are kept at least until no access token of theirs can be valid: a shorter
/// setting would let a restart forget a revocation that still matters.
fn retention_settings(config: &Config) -> Result<RetentionSettings, StartError> {
    let min = RetentionSettings::min_ended_sessions_secs(secs(config.access_ttl));
    let ended_sessions_secs = match config.ended_session_retention {
        None => min,
        Some(d) if secs(d) >= min => secs(d),
        Some(_) => {
            return Err(StartError::Config(format!(
                "GATEHOUSE_ENDED_SESSION_RETENTION must be at least the access-token lifetime plus 60s ({min}s)"
            )))
        }
    };
    if config.prune_interval.is_zero() {
        return Err(StartError::Config("GATEHOUSE_PRUNE_INTERVAL must be at least 1s".into()));
    }
    Ok(RetentionSettings { ended_sessions_secs, events_secs: secs(config.event_retention), interval: config.prune_interval })
}

/// Accounts (and sessions' last-active writes) remembered per instance: ~100 bytes each.
const PROFILE_CACHE_ENTRIES: usize = 50_000;

/// Tasks aborted when dropped.
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Every instance's periodic chores: pick up keys added by `gatehouse keys rotate` (or by
/// another instance), forget failed checks nobody needs to count any more and devices long
/// unused, keep unknown accounts' cost in step with the stored hashes', and prune what is
/// past its retention (every `GATEHOUSE_PRUNE_INTERVAL`, the first time at start-up).
fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::server::tokens::keys::RELOAD_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut dummy_cost_checked = tokio::time::Instant::now();
        let mut next_prune = tokio::time::Instant::now();
        loop {
            tick.tick().await;
            if dummy_cost_checked.elapsed() >= DUMMY_COST_EVERY {
                dummy_cost_checked = tokio::time::Instant::now();
                if let Err(e) = dummy_follows_stored_hashes(&state.db, &state.passwords).await {
                    tracing::warn!(error = %e, "following the stored hashes' cost failed");
                }
            }
            if let Err(e) = state.keys.reload(&state.db, clock::now()).await {
                tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
            }
            if let Err(e) = state.throttle.prune(clock::now()).await {
                tracing::warn!(error = %e, "pruning old failed sign-ins failed");
            }
            if tokio::time::Instant::now() >= next_prune {
                next_prune = tokio::time::Instant::now() + state.retention.interval;
                match retention::prune(&state.db, &state.retention, clock::now()).await {
                    Ok(pruned) if pruned != retention::Pruned::default() => {
                        tracing::info!(
                            sessions = pruned.sessions,
                            events = pruned.events,
                            mail = pruned.mail,
                            links = pruned.links,
                            passkey_ceremonies = pruned.ceremonies,
                            operator_actions = pruned.operator_actions,
                            "pruned rows past their retention"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning rows past their retention failed"),
                }
                state.prune_runs.fetch_add(1, std::sync::atomic::Ordering::Release);
            }
        }
    })
}

/// Unknown accounts cost what most stored hashes cost (see `password.rs`): looked at on start
/// and every [`DUMMY_COST_EVERY`] after, as accounts sign in and get rehashed.
async fn dummy_follows_stored_hashes(db: &db::Db, passwords: &Passwords) -> Result<(), StartError> {
    let sample = crate::server::users::sample_password_hashes(db, 1000).await?;
    if let Some(cost) = crate::server::password::most_used_cost(sample.iter().map(String::as_str)) {
        passwords.follow_stored_cost(cost).await?;
    }
    Ok(())
}

const DUMMY_COST_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// A random secret every instance shares, created by whichever instance starts first (two
/// starting at once both try; both then read back the one that won). Only for keys that
/// protect nothing stored in the database itself.
async fn shared_secret(pool: &db::Db, name: &str, now: i64) -> Result<Vec<u8>, sqlx::Error> {
    let mut candidate = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut candidate);
    with_db!(pool.write(), |pool| {
        sqlx::query("insert into server_secrets (name, value, created_at) values ($1, $2, $3) on conflict (name) do nothing")
            .bind(name)
            .bind(&candidate[..])
            .bind(now)
            .execute(pool)
            .await?;
        sqlx::query_scalar("select value from server_secrets where name = $1").bind(name).fetch_one(pool).await
    })
}

fn mailer(config: &Config, origin: &str) -> Result<Mailer, StartError> {
    let transport = Transport::new(config.smtp_url.as_deref(), &config.data_dir).map_err(|e| StartError::Config(e.to_string()))?;
    let from = config
        .mail_from
        .parse()
        .map_err(|e| StartError::Config(format!("GATEHOUSE_MAIL_FROM `{}`: {e}", config.mail_from)))?;
    let host = origin.split("://").nth(1).unwrap_or(origin).split([':', '/']).next().unwrap_or("localhost").to_owned();
    tracing::info!("mail goes to {}", transport.describe());
    Ok(Mailer::new(transport, from, host))
}

/// The app's page routes, listed once per process. Listing them renders the app with every
/// resource's loading switched off by a flag that is global to the process (leptos_server's
/// `SuppressResourceLoad`): a page whose resource first runs while another router is being
/// built would wait forever (a 408 after 30 s). Only the tests build several routers in one
/// process, but this way a second router never lists them again while pages are served.
static ROUTES: std::sync::LazyLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::LazyLock::new(|| generate_route_list(App));

/// The whole HTTP surface: JSON API, browser refresh, server functions, pages, static files.
pub fn router(state: AppState) -> Router {
    let routes = ROUTES.clone();
    let context_state = state.clone();
    let provide_state = move || provide_context(context_state.clone());
    let fallback_state = state.clone();
    let options = state.leptos_options.clone();
    let https = state.public_origin.starts_with("https://");
    Router::new()
        .merge(api::routes())
        .merge(passkey_api::routes())
        .merge(browser::routes())
        .merge(forward::routes())
        .leptos_routes_with_context(&state, routes, provide_state, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            move || provide_context(fallback_state.clone()),
            shell,
        ))
        // Header size, time and body limits, cookies, the cross-site check, the public host
        // name, the page guard, server-function errors, the security headers and (with metrics
        // on) per-route timing: one layer (see `http::pipeline`).
        .layer(PipelineLayer::new(state.clone(), https))
        .with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
