//! Server functions: the browser's calls into the server. Each is thin — get the state and
//! the caller, call one function of `server::service`, set cookies, return.
//!
//! `with_refresh` is the client half of transparent refresh: a call that meets an expired
//! access token refreshes once (POST /auth/refresh) and is retried once.

pub mod admin;
pub mod auth;
pub mod dashboard;
pub mod devices;
pub mod email;
pub mod not_me;
pub mod passkeys;
pub mod recovery;
pub mod security;
pub mod strength;
pub mod two_step;

use crate::error::AppError;
use std::future::Future;

/// Runs a server-function call; on an expired/invalid access token, refreshes the pair and
/// retries once. When the refresh itself fails the session is over: go to the login page.
pub async fn with_refresh<T, F, Fut>(call: F) -> Result<T, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let first = call().await;
    match first {
        Err(e) if e.wants_refresh() && cfg!(feature = "hydrate") => match auth::refresh_session().await {
            Ok(()) => call().await,
            Err(refresh_error) => {
                if refresh_error.session_ended() {
                    go_to_login(true);
                }
                Err(refresh_error)
            }
        },
        other => other,
    }
}

/// Leaves for the login page, coming back here afterwards.
#[allow(unused_variables)]
pub fn go_to_login(ended: bool) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let location = window.location();
        let here = format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        );
        let next = js_sys::encode_uri_component(&here);
        let suffix = if ended { "&ended=1" } else { "" };
        let _ = location.set_href(&format!("/login?next={next}{suffix}"));
    }
}

/// Request context for server functions (ssr only).
#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use crate::{
        error::AppError,
        server::{auth::{self, AuthUser}, clock, state::AppState},
    };
    use axum::http::request::Parts;
    use leptos::prelude::use_context;
    use tower_cookies::Cookies;

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or(AppError::Internal)
    }

    pub fn parts() -> Result<Parts, AppError> {
        use_context::<Parts>().ok_or(AppError::Internal)
    }

    pub async fn cookies() -> Result<Cookies, AppError> {
        leptos_axum::extract::<Cookies>().await.map_err(|e| {
            tracing::error!(error = ?e, "cookie layer missing");
            AppError::Internal
        })
    }

    /// True for a form the browser sent by itself (JavaScript off): it wants a page back, so
    /// the server function names one to redirect to. A hydrated page's call asks for data.
    pub fn plain_form() -> Result<bool, AppError> {
        let parts = parts()?;
        let accept = parts.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        Ok(accept.contains("text/html"))
    }

    /// The state and the verified caller: what nearly every server function starts with.
    pub fn caller() -> Result<(AppState, AuthUser), AppError> {
        let state = state()?;
        let me = current_user(&state, &parts()?)?;
        Ok((state, me))
    }

    /// The verified caller: handed on by the page guard, or verified here.
    pub fn current_user(state: &AppState, parts: &Parts) -> Result<AuthUser, AppError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        auth::authenticate(state, &parts.headers, clock::now())
    }

    /// After a sign-out: both cookies gone, the browser told to drop what it cached or stored
    /// for us, and off to the login page.
    pub fn signed_out(state: &AppState, cookies: &Cookies) {
        state.cookies.clear(cookies);
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(
                axum::http::HeaderName::from_static("clear-site-data"),
                axum::http::HeaderValue::from_static("\"cache\", \"storage\""),
            );
        }
        leptos_axum::redirect("/login?signed_out=1");
    }
}
