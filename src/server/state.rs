//! Everything a request handler needs, built once at start-up (ssr only).

use crate::server::{
    cookies::CookieSettings,
    db::Db,
    password::Passwords,
    retention::RetentionSettings,
    sessions::{revocation_list::RevocationList, Activity, SessionSettings},
    throttle::Throttle,
    users::Profiles,
    tokens::{access::AccessSettings, keys::KeyStore, refresh::SuccessorKeys, verified_cache::VerifiedCache},
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::{ops::Deref, sync::Arc};

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<State>);

pub struct State {
    pub db: Db,
    pub keys: KeyStore,
    /// Access tokens whose signature this server has already checked.
    pub verified: VerifiedCache,
    /// Derive rotated refresh tokens' successors (from outside the database).
    pub successor_keys: SuccessorKeys,
    pub passwords: Passwords,
    pub revoked: Arc<RevocationList>,
    /// Accounts' public side, cached (see `users::Profiles`).
    pub profiles: Profiles,
    /// When this instance last wrote each session's "last active".
    pub activity: Activity,
    pub access: AccessSettings,
    pub sessions: SessionSettings,
    pub cookies: CookieSettings,
    pub throttle: Throttle,
    /// Peers whose `X-Forwarded-For` we believe.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Queued mail's sender and transport; `wake` it after queuing.
    pub mailer: crate::server::mail::worker::Mailer,
    /// Seals the errors a no-JS form's failure carries back in the URL.
    pub error_seal: crate::server::http::server_fns::ErrorSeal,
    /// `scheme://host[:port]` people use; checked against Origin by CSRF defences.
    pub public_origin: String,
    pub leptos_options: LeptosOptions,
    /// Live sessions one account may have; a sign-in past it ends the least recently used.
    pub max_sessions: u32,
    /// Seals and opens second-factor secrets at rest.
    pub sealer: crate::server::factors::sealed::Sealer,
    /// How recent an authentication sensitive actions need (seconds).
    pub step_up_max_age: i64,
    /// Signing in needs a verified address.
    pub require_verified_email: bool,
    /// What pruning removes, and when.
    pub retention: RetentionSettings,
    /// How many times this instance's housekeeping has pruned (the first time at start-up).
    pub prune_runs: std::sync::atomic::AtomicU64,
    /// Passkeys' relying party (the public URL's host); `None` when that is an IP address.
    pub webauthn: Option<webauthn_rs::Webauthn>,
    /// Forward-auth: where return URLs may lead, and who may enter which host.
    pub forward: crate::server::service::forward::ForwardSettings,
    /// Metrics are recorded (`GATEHOUSE_METRICS_ADDR` is set): the router times requests.
    pub metrics: bool,
}

impl AppState {
    pub fn new(state: State) -> Self {
        AppState(Arc::new(state))
    }

    /// An absolute link to one of our pages, for mail: `path` starts with `/`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_origin)
    }
}

impl Deref for AppState {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
