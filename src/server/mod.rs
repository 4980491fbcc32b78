//! Everything that only runs on the server.
//!
//! - `tokens/`: access tokens minted and verified, refresh tokens generated and hashed, keys.
//! - `sessions/`: sessions started, refresh tokens rotated, sessions revoked.
//! - `account`: the flow (register, sign in, refresh, sign out) on top of both.
//! - `http/`: the JSON API and the browser's refresh endpoint.
//! - `startup`: builds the app from a `Config`; tests call it too.

pub mod account;
pub mod auth;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod db;
pub mod devices;
pub mod events;
pub mod http;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod throttle;
pub mod startup;
pub mod state;
pub mod tokens;
pub mod users;
pub mod validate;
