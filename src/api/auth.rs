//! Server functions for signing in and out, registering, and refreshing.
//!
//! The refresh and sign-out functions live under `/auth`, the only path the refresh cookie
//! is sent to.

use crate::error::AppError;
use leptos::prelude::*;

/// Signs in and sends the browser on to `rd` (forward-auth: a URL on an allowed host of
/// another app), else `next` (a same-site path), else the dashboard. With two-step
/// verification on, a right password leads to the code step instead, its challenge kept in an
/// HttpOnly cookie, and the destination travels with it.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>, rd: Option<String>) -> Result<(), AppError> {
    use crate::server::{clock, http::{browser::destination, client_of}, secret::Secret, service::account};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let (to, name) = destination(&state, next.as_deref(), rd.as_deref());
    match account::login(&state, &email, &password, &client_of(&state, &parts), now).await {
        Ok(issued) => {
            state.cookies.set_tokens(&cookies, &issued, now);
            leptos_axum::redirect(&to);
        }
        Err(AppError::SecondFactorRequired { challenge }) => {
            state.cookies.set_challenge(&cookies, &Secret::new(challenge));
            let to: String = form_urlencoded::byte_serialize(to.as_bytes()).collect();
            leptos_axum::redirect(&format!("/login/code?{name}={to}"));
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The second step of a sign-in with two-step verification: a code from the authenticator
/// app, or a recovery code, for the challenge the browser holds (cookie).
#[server(prefix = "/fn", endpoint = "second-factor")]
pub async fn second_factor(
    code: Option<String>,
    recovery_code: Option<String>,
    next: Option<String>,
    rd: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{clock, http::{browser::destination, client_of}, service::two_step};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let challenge = state.cookies.challenge(&cookies).ok_or(AppError::ChallengeExpired)?;
    let code = [recovery_code, code].into_iter().flatten().find(|c| !c.trim().is_empty()).unwrap_or_default();
    let now = clock::now();
    match two_step::second_factor(&state, challenge.expose(), &code, &client_of(&state, &parts), now).await {
        Ok(issued) => {
            state.cookies.clear_challenge(&cookies);
            state.cookies.set_tokens(&cookies, &issued, now);
            leptos_axum::redirect(&destination(&state, next.as_deref(), rd.as_deref()).0);
            Ok(())
        }
        Err(e) => {
            if e == AppError::ChallengeExpired {
                state.cookies.clear_challenge(&cookies);
            }
            Err(e)
        }
    }
}

/// Creates an account, signs it in and goes to the dashboard.
#[server(prefix = "/fn", endpoint = "register")]
pub async fn register(email: String, password: String, display_name: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::account};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let client = client_of(&state, &parts);
    let issued = account::register_and_sign_in(&state, &email, &password, &display_name, &client, now).await?;
    state.cookies.set_tokens(&cookies, &issued, now);
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Signs this device out: revokes the session on the server, clears both cookies. Works
/// with an expired access token too: any credential of the session the browser still holds
/// names it (see `service::account::logout_browser`).
#[server(prefix = "/auth", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{clock, service::account};
    let state = super::ctx::state()?;
    let cookies = super::ctx::cookies().await?;
    let (access, refresh) = (state.cookies.access_token(&cookies), state.cookies.refresh_token(&cookies));
    account::logout_browser(&state, access.as_ref(), refresh.as_ref(), clock::now()).await?;
    super::ctx::signed_out(&state, &cookies);
    Ok(())
}

/// Rotates the refresh token (cookie) and sets a new pair. Called by `with_refresh`.
#[server(prefix = "/auth", endpoint = "refresh")]
pub async fn refresh_session() -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::account};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let token = state.cookies.refresh_token(&cookies).ok_or(AppError::InvalidRefreshToken)?;
    let now = clock::now();
    match account::refresh(&state, token.expose(), &client_of(&state, &parts), now).await {
        Ok(issued) => {
            state.cookies.set_tokens(&cookies, &issued, now);
            Ok(())
        }
        Err(e) => {
            if e.session_ended() {
                state.cookies.clear(&cookies);
            }
            Err(e)
        }
    }
}
