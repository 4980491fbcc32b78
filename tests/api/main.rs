//! HTTP-level integration tests: each test spawns the real application on port 0 with its own
//! database (SQLite, or PostgreSQL with `GATEHOUSE_TEST_POSTGRES`; see helpers.rs) and talks
//! to it over plain HTTP (no JavaScript, no redirects followed).
//!
//! One binary (see Cargo.toml's `[[test]] name = "api"`); run with
//! `cargo test --features ssr --test api`.

mod access_tokens;
mod admin;
mod auth_flow;
mod backup;
mod bodies;
mod browser;
mod csrf;
mod devices;
mod email;
mod forged_tokens;
mod forward;
mod grace;
mod headers;
mod helpers;
mod instances;
mod key_rotation;
mod limits;
mod logs;
mod mail;
mod metrics;
mod new_device;
mod passkeys;
mod public_endpoints;
mod recovery;
mod refresh_secret;
mod retention;
mod rotation;
mod security;
mod session_end;
mod session_limits;
mod smtp_sink;
mod throttling;
mod two_step;
