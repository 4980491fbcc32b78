//! `/login`: sign in, then back to where the person was going.

use crate::{
    api::{auth::Login, email::ResendVerificationTo},
    components::{field::{Field, PasswordField}, layout::PublicHeader},
    error::AppError,
};
use leptos::prelude::*;
use crate::components::form::RefreshingForm;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    // Forward-auth's return URL; the server follows it only to an allowed host.
    let rd = query.read_untracked().get("rd").unwrap_or_default();
    let notice = move || {
        let q = query.read();
        if q.get("signed_out").is_some() {
            Some(("notice", "You have been signed out."))
        } else if q.get("ended").is_some() {
            Some(("notice warning", "Your session on this device has ended — sign in again."))
        } else if q.get("verification").is_some() {
            Some(("notice", "If that address has an account waiting for verification, we've sent it a new link."))
        } else {
            None
        }
    };
    // A refusal for an address still waiting for verification (from the URL) offers a new link.
    let unverified = matches!(
        ServerAction::<Login>::new().value().get_untracked(),
        Some(Err(AppError::EmailNotVerified))
    );
    view! {
        <Title text="Sign in — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Sign in"</h1>
            {move || notice().map(|(class, n)| view! { <p class=class role="status">{n}</p> })}
            <SignInForm next rd />
            // Shown by public/passkeys.js where the browser can use passkeys.
            <div class="passkey-sign-in stack" data-passkey-box hidden>
                <button type="button" class="secondary" data-passkey-sign-in>"Sign in with a passkey"</button>
                <p class="status" role="status" data-passkey-status></p>
            </div>
            // Hidden by public/passkeys.js once it runs.
            <p class="aside" data-passkey-needs-js>
                "Signing in with a passkey needs JavaScript. Sign in with your email and password instead."
            </p>
            {unverified.then(|| view! { <ResendByAddress /> })}
            <p class="aside"><a href="/forgot-password">"Forgot password?"</a></p>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a></p>
        </main>
    }
}

/// The email-and-password form. `next`, `rd`: where to go afterwards (from the URL). Plain forms,
/// JavaScript or not: a refusal comes back with the page (the server renders it from the
/// URL); only the password field is an island. public/passkeys.js offers passkeys itself.
#[component]
fn SignInForm(next: String, rd: String) -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let form_error = move || error.get().map(|e| e.to_string());
    view! {
        <RefreshingForm action=*action class="stack panel" attr:novalidate=true>
            <input type="hidden" name="next" value=next />
            <input type="hidden" name="rd" value=rd />
            <Field label="Email" name="email" kind="email" autocomplete="username webauthn" error=Signal::derive(|| None::<String>) />
            <PasswordField
                label="Password".into()
                name="password".into()
                autocomplete="current-password".into()
                error=None
                hint=String::new()
                meter=false
            />
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" data-pending="Signing in…">"Sign in"</button>
        </RefreshingForm>
    }
}

/// "Verify your email address first": a new link, by address (the same answer for any).
#[component]
fn ResendByAddress() -> impl IntoView {
    let resend = ServerAction::<ResendVerificationTo>::new();
    let outcome = move || match resend.value().get() {
        Some(Ok(())) => Some("If that address has an account waiting for verification, we've sent it a new link.".to_owned()),
        Some(Err(e)) => Some(e.to_string()),
        None => None,
    };
    view! {
        <RefreshingForm action=*resend class="stack panel" attr:novalidate=true>
            <p>"No link, or did it expire? We can send a new one."</p>
            <Field label="Email address" name="email" kind="email" autocomplete="email" error=Signal::derive(|| None::<String>) />
            <button type="submit" class="secondary" data-pending="Sending…">"Resend the link"</button>
            <p class="status" role="status">{outcome}</p>
        </RefreshingForm>
    }
}
