//! `/settings/password`: the account's security — change the password (every other device is
//! signed out) and the email address (confirmed from the new address), two-step
//! verification and passkeys.

use crate::{
    api::{email::ChangeEmail, security::{whoami, ChangePassword}, two_step::second_factors, with_refresh},
    components::{
        field::Field,
        form::{refreshing_action, FormErrors, RefreshingForm},
        layout::{LoadError, SignedInHeader},
    },
};
use crate::model::{PasskeyInfo, TwoStepStatus};
use leptos::prelude::*;
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SecurityPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| async move { with_refresh(whoami).await });
    let factors = Resource::new(|| (), |_| async move { with_refresh(second_factors).await });
    let query = use_query_map();
    let reported = move || query.read().get("reported").is_some();
    // What a page load after a form sent without JavaScript (or a passkey ceremony) says.
    let said = move |name: &str| query.read_untracked().get(name);
    view! {
        <Title text="Security — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (me.await, factors.await) {
                    (Err(e), _) | (_, Err(e)) => view! { <LoadError error=e heading="Security" /> }.erase(),
                    (Ok(me), Ok(factors)) => view! {
                        <SignedInHeader display_name=me.display_name.clone() unverified_email=me.unverified_email() />
                        <main class="narrow" id="main">
                            <h1>"Security"</h1>
                            {move || reported().then(|| view! {
                                <p class="notice" role="status">
                                    "We signed that device out. Change your password now so it cannot sign in again."
                                </p>
                            })}
                            <Sections
                                email=me.email.clone()
                                verified=me.email_verified
                                email_change=said("email_change").is_some()
                                verification=said("verification").is_some()
                                two_step=factors.two_step
                                passkeys=factors.passkeys
                                passkey_said=said("passkey")
                            />
                        </main>
                    }.erase(),
                }
            })}
        </Suspense>
    }
}

/// The page's four sections, one island (each island costs the bundle its own start-up
/// code): the password, the address, two-step verification, passkeys. The props are what the
/// server loaded and what the URL says after a page load (see each section).
#[island]
#[allow(clippy::too_many_arguments)]
fn Sections(
    email: String,
    verified: bool,
    email_change: bool,
    verification: bool,
    two_step: TwoStepStatus,
    passkeys: Vec<PasskeyInfo>,
    passkey_said: Option<String>,
) -> impl IntoView {
    view! {
        <h2>"Change password"</h2>
        <p>"Changing your password signs out every other device. This one stays signed in."</p>
        <PasswordSection />
        <EmailSection email verified email_change verification />
        <crate::pages::two_step::TwoStepSection initial=two_step />
        <crate::pages::passkeys::PasskeysSection initial=passkeys said=passkey_said />
    }
}

/// Changing the password: errors in place, the strength meter, how many other devices were
/// signed out.
#[component]
fn PasswordSection() -> impl IntoView {
    let change = refreshing_action::<ChangePassword>();
    let errors = FormErrors::of(change.value());
    let field = move |name: &'static str| errors.field(name);
    let form_error = move || errors.form();
    let done = move || match change.value().get() {
        Some(Ok(0)) => Some("Password changed. You were not signed in anywhere else.".to_string()),
        Some(Ok(n)) => Some(format!("Password changed. {n} other device{} signed out.", if n == 1 { " was" } else { "s were" })),
        _ => None,
    };
    let pending = change.pending();
    view! {
        <RefreshingForm action=change class="stack panel">
            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" error=field("current_password") />
            <Field label="New password" name="new_password" kind="password" autocomplete="new-password" error=field("new_password") hint="At least 10 characters and not easy to guess." meter=true />
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Changing password…" } else { "Change password" }}
            </button>
        </RefreshingForm>
        <p class="status" role="status">{done}</p>
    }
}

/// The address: whether it is verified, and changing it (the current password is required;
/// the change waits for the link sent to the new address). `email_change`, `verification`:
/// a form sent without JavaScript asked for a link (from the URL).
#[component]
fn EmailSection(email: String, verified: bool, email_change: bool, verification: bool) -> impl IntoView {
    let change = refreshing_action::<ChangeEmail>();
    let errors = FormErrors::of(change.value());
    let field = move |name: &'static str| errors.field(name);
    let form_error = move || errors.form();
    let done = move || match change.value().get() {
        Some(Ok(to)) => Some(format!("We've sent a link to {to}. Your address changes when you follow it.")),
        _ if email_change => Some("We've sent a link to the new address. Your address changes when you follow it.".to_owned()),
        _ if verification => Some("We've sent a new link. Check your inbox.".to_owned()),
        _ => None,
    };
    let pending = change.pending();
    view! {
        <h2>"Email address"</h2>
        <p>
            "Your address is " <strong class="current-email">{email}</strong> " — "
            {if verified { "verified." } else { "not verified yet." }}
        </p>
        <p>"Changing it sends a link to the new address; the change happens when you follow it, and we tell the old address."</p>
        <RefreshingForm action=change class="stack panel">
            <Field label="New email address" name="new_email" kind="email" autocomplete="email" error=field("new_email") />
            <Field label="Password" name="password" kind="password" autocomplete="current-password" error=field("current_password") hint="Your current password, to confirm it's you." />
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Sending…" } else { "Send confirmation link" }}
            </button>
        </RefreshingForm>
        <p class="status" role="status">{done}</p>
    }
}
