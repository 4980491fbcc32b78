//! Server functions behind `/admin` (the use cases are `server::service::admin`, which
//! checks operator status on every call). A form sent without JavaScript comes back to the
//! account's page.

use crate::{
    error::AppError,
    model::{AccountDetail, AccountSearch, AuditLog},
};
use leptos::prelude::*;

/// Accounts whose address or name starts with `q`, a page at a time.
#[server(prefix = "/fn", endpoint = "admin/users")]
pub async fn find_accounts(q: Option<String>, after: Option<String>) -> Result<AccountSearch, AppError> {
    use crate::server::service::admin;
    let (state, me) = super::ctx::caller()?;
    admin::search(&state, &me, q.as_deref().unwrap_or(""), after.as_deref()).await
}

/// One account, all an operator sees of it.
#[server(prefix = "/fn", endpoint = "admin/user")]
pub async fn load_account(id: String) -> Result<AccountDetail, AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::detail(&state, &me, &id, clock::now()).await
}

/// The operators' audit log, newest first.
#[server(prefix = "/fn", endpoint = "admin/audit")]
pub async fn load_audit_log(before: Option<String>) -> Result<AuditLog, AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::audit(&state, &me, before.as_deref(), clock::now()).await
}

/// Without JavaScript, back to the account's page, saying what was done.
#[cfg(feature = "ssr")]
fn back_to(id: &str, done: &str) -> Result<(), AppError> {
    if super::ctx::plain_form()? {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        leptos_axum::redirect(&format!("/admin/users/{id}?done={done}"));
    }
    Ok(())
}

/// Signs out one session of the account (`session_id`), or every one.
#[server(prefix = "/fn", endpoint = "admin/sign-out")]
pub async fn operator_sign_out(id: String, session_id: Option<String>) -> Result<(), AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::sign_out(&state, &me, &id, session_id.as_deref(), clock::now()).await?;
    back_to(&id, "signed-out")
}

/// "Disable account".
#[server(prefix = "/fn", endpoint = "admin/disable")]
pub async fn disable_account(id: String) -> Result<(), AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::disable(&state, &me, &id, clock::now()).await?;
    back_to(&id, "disabled")
}

/// "Enable account".
#[server(prefix = "/fn", endpoint = "admin/enable")]
pub async fn enable_account(id: String) -> Result<(), AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::enable(&state, &me, &id, clock::now()).await?;
    back_to(&id, "enabled")
}

/// Mails the person a link to set a new password.
#[server(prefix = "/fn", endpoint = "admin/send-reset")]
pub async fn send_reset_link(id: String) -> Result<(), AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::send_reset(&state, &me, &id, clock::now()).await?;
    back_to(&id, "reset-sent")
}

/// Removes the second factor of a person who lost it.
#[server(prefix = "/fn", endpoint = "admin/remove-second-factor")]
pub async fn remove_second_factor(id: String) -> Result<(), AppError> {
    use crate::server::{clock, service::admin};
    let (state, me) = super::ctx::caller()?;
    admin::remove_second_factor(&state, &me, &id, clock::now()).await?;
    back_to(&id, "two-step-removed")
}
