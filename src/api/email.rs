//! Server functions for the account's address: the verification link's page, "Resend the
//! link", and changing the address (the use cases are `server::service::email`).

use crate::error::AppError;
use leptos::prelude::*;

/// Follows a verification link (the page it opens calls this: opening the link verifies).
#[server(prefix = "/fn", endpoint = "verify-email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::email};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    email::verify_email(&state, &token, &client, clock::now()).await
}

/// "Resend the link", signed in. A form sent without JavaScript comes back to the security
/// page, which says the link went out.
#[server(prefix = "/fn", endpoint = "resend-verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::email};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    email::resend_verification(&state, &me, &client, clock::now()).await?;
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/settings/password?verification=sent");
    }
    Ok(())
}

/// "Resend the link" from the sign-in page, by address: the same answer for every address.
#[server(prefix = "/fn", endpoint = "resend-verification-to")]
pub async fn resend_verification_to(email: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::email};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    email::resend_verification_to(&state, &email, &client, clock::now())?;
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/login?verification=sent");
    }
    Ok(())
}

/// Asks to move the account to `new_email` (`password`: the current one is required); returns
/// the address the confirmation link went to.
#[server(prefix = "/fn", endpoint = "change-email")]
pub async fn change_email(new_email: String, password: String) -> Result<String, AppError> {
    use crate::server::{clock, http::client_of, service::email};
    let (state, me) = super::ctx::caller()?;
    let client = client_of(&state, &super::ctx::parts()?);
    let sent_to = email::request_email_change(&state, &me, &client, &new_email, &password, clock::now()).await?;
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/settings/password?email_change=sent");
    }
    Ok(sent_to)
}

/// The address an email-change link would move the account to, if it still works. Changes
/// nothing.
#[server(prefix = "/fn", endpoint = "email-change")]
pub async fn pending_email_change(token: String) -> Result<Option<String>, AppError> {
    use crate::server::{clock, service::email};
    let state = super::ctx::state()?;
    email::pending_email_change(&state, &token, clock::now()).await
}

/// Confirms an email change (the button on the page the link opened).
#[server(prefix = "/fn", endpoint = "confirm-email")]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    use crate::server::{clock, http::client_of, service::email};
    let state = super::ctx::state()?;
    let client = client_of(&state, &super::ctx::parts()?);
    let email = email::confirm_email_change(&state, &token, &client, clock::now()).await?;
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/confirm-email?done=1");
    }
    Ok(email)
}
