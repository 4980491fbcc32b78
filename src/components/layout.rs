//! The frame around pages: who is signed in, navigation, sign out. Rendered on the server;
//! its live parts are islands: the step-up panel with fresh tokens for the plain forms, and
//! the verification notice.

use crate::api::{auth::Logout, email::ResendVerification};
use leptos::prelude::*;
use crate::components::{form::RefreshingForm, plain_forms};
use crate::components::erase::Erase as _;
use leptos_meta::Meta;
use leptos_router::{
    components::A,
    hooks::use_location,
};

/// The frame of signed-in pages. `unverified_email`: the account's address while it is not
/// verified, which puts a notice with "Resend the link" under the header.
#[component]
pub fn SignedInHeader(#[prop(into)] display_name: String, #[prop(default = None)] unverified_email: Option<String>) -> impl IntoView {
    // The router runs on the server only: the page's path goes to the panel as a prop.
    let here = use_location().pathname.get_untracked();
    // How long the access token this page was rendered with has to live (the page guard
    // verified it), for `plain_forms`.
    #[cfg(feature = "ssr")]
    let left = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::server::auth::AuthUser>().map(|me| me.claims.exp - crate::server::clock::now()))
        .unwrap_or(0);
    #[cfg(not(feature = "ssr"))]
    let left = 0;
    // `<A>` marks the link to the current page with aria-current="page" itself.
    let initial = display_name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/dashboard"><Logo />"Gatehouse"</a>
            <nav aria-label="Main">
                <A href="/dashboard">"Dashboard"</A>
                <A href="/settings/sessions">"Devices"</A>
                <A href="/settings/password">"Security"</A>
            </nav>
            <div class="who">
                <span class="avatar" aria-hidden="true">{initial}</span>
                <span class="signed-in-as">"Signed in as " <strong>{display_name}</strong></span>
                <SignOut />
            </div>
        </header>
        {unverified_email.map(|email| view! { <VerifyNotice email=email /> })}
        <FrameLive here left />
    }
    .erase()
}

/// The live part of the frame, one island: the step-up panel (`here`: this page's path) and
/// the plain forms' pending states, fresh tokens and step-up (`left`: the access token's
/// seconds to live when the page was rendered; see `plain_forms`).
#[island]
fn FrameLive(here: String, left: i64) -> impl IntoView {
    plain_forms::enhance(Some(plain_forms::SignedIn { left, step_up: use_context() }));
    view! { <crate::components::step_up::ConfirmItsYou here /> }
}

/// The live part of a public page: its plain forms' pending states (`plain_forms`).
#[island]
fn PublicLive() -> impl IntoView {
    plain_forms::enhance(None);
}

/// "Sign out": a plain form, JavaScript or not (it ends on the login page either way).
#[component]
fn SignOut() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <RefreshingForm action=*logout class="inline">
            <button type="submit" class="secondary" data-pending="Signing out…">"Sign out"</button>
        </RefreshingForm>
    }
}

/// "Verify your email address", until it is (an island: the notice says the link went out in
/// place; a form sent without JavaScript comes back to the security page, which says it).
#[island]
fn VerifyNotice(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let pending = resend.pending();
    let outcome = move || match resend.value().get() {
        Some(Ok(())) => Some("We've sent a new link. Check your inbox.".to_owned()),
        Some(Err(e)) => Some(e.to_string()),
        None => None,
    };
    view! {
        <div class="verify-notice" role="region" aria-label="Email verification">
            <p>
                "Please verify your email address: follow the link we sent to " <strong>{email}</strong> "."
            </p>
            <RefreshingForm action=*resend class="inline">
                <button type="submit" class="secondary" disabled=move || pending.get()>
                    {move || if pending.get() { "Sending…" } else { "Resend the link" }}
                </button>
            </RefreshingForm>
            <p class="status" role="status">{outcome}</p>
        </div>
    }
}

#[component]
pub fn PublicHeader() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/"><Logo />"Gatehouse"</a>
            <nav aria-label="Main">
                <A href="/login">"Sign in"</A>
                <A href="/register">"Create account"</A>
            </nav>
        </header>
        <PublicLive />
    }
    .erase()
}

/// The mark beside the name: a gate, drawn inline.
#[component]
fn Logo() -> impl IntoView {
    view! {
        <svg class="logo" aria-hidden="true" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
            <path d="M4 21V9l8-5 8 5v12" />
            <path d="M9 21v-7a3 3 0 0 1 6 0v7" />
        </svg>
    }
}

/// What a protected page shows when its data could not be loaded. When the session is over
/// (or its token needs the refresh a navigation gets), the page sends the browser on to the
/// login page, coming back here afterwards: a `<meta>` refresh, JavaScript or not.
#[component]
pub fn LoadError(error: crate::error::AppError, heading: &'static str) -> impl IntoView {
    let to_login = (error.session_ended() || error.wants_refresh()).then(|| {
        let location = use_location();
        let search = location.search.get_untracked();
        let search = search.trim_start_matches('?');
        let here = if search.is_empty() { location.pathname.get_untracked() } else { format!("{}?{search}", location.pathname.get_untracked()) };
        let ended = if error.session_ended() { "&ended=1" } else { "" };
        view! { <Meta http_equiv="refresh" content=format!("0;url=/login?next={}{ended}", encode(&here)) /> }
    });
    view! {
        {to_login}
        <main class="narrow" id="main">
            <h1>{heading}</h1>
            <p class="form-error" role="alert">{error.to_string()}</p>
            <p><a href="/login">"Sign in"</a></p>
        </main>
    }
}

/// Percent-encodes a query or path value (the same on both targets).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
