//! Everything that only runs on the server.
//!
//! - `tokens/`: access tokens minted and verified, refresh tokens generated and hashed, keys.
//! - `sessions/`: sessions started, refresh tokens rotated, sessions revoked.
//! - `factors/`: second factors — the authenticator app (TOTP), recovery codes, and the
//!   sealing of their secrets at rest.
//! - `events`: the security activity, and the typed kinds and reasons it records.
//! - `mail/`: messages queued in the database and sent by a background worker.
//! - `service/`: the use cases (sign in, refresh, devices, dashboard …) on top of those,
//!   written once for both surfaces.
//! - `http/`: the JSON API, the browser's refresh endpoint, and what stands in front of every
//!   route (CSRF, limits, headers, error bodies) — adapters that call `service/`.
//! - `throttle`, `known_devices`: request rates, and failed checks of secrets counted so that
//!   they slow the guesser, never the owner (devices that signed in before are known).
//! - `retention`: old rows (ended sessions, spent tokens, old events) pruned on a schedule.
//! - `metrics`: Prometheus counters and histograms, on a listener of their own.
//! - `operators`: operator status, disabled accounts, finding accounts, the audit log.
//! - `startup`: builds the app from a `Config`; tests call it too.
//!
//! Imports run downhill: `http` → `service` → `sessions`, `events`, `tokens` → `db`, `clock`.

pub mod auth;
pub mod backup;
pub mod client;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod db;
pub mod events;
pub mod factors;
pub mod http;
pub mod known_devices;
pub mod mail;
pub mod metrics;
pub mod operators;
pub mod password;
pub mod retention;
pub mod secret;
pub mod service;
pub mod sessions;
pub mod throttle;
pub mod startup;
pub mod state;
pub mod tokens;
pub mod user_agent;
pub mod users;
pub mod validate;
