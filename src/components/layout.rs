//! The frame around pages: who is signed in, navigation, sign out.

use crate::api::auth::Logout;
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

#[component]
pub fn SignedInHeader(#[prop(into)] display_name: String) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let path = use_location().pathname;
    let current = move |href: &'static str| (path.get() == href).then_some("page");
    view! {
        <header class="topbar">
            <a class="brand" href="/dashboard">"Gatehouse"</a>
            <nav aria-label="Main">
                <A href="/dashboard" attr:aria-current=move || current("/dashboard")>"Dashboard"</A>
                <A href="/settings/sessions" attr:aria-current=move || current("/settings/sessions")>"Devices"</A>
                <A href="/settings/password" attr:aria-current=move || current("/settings/password")>"Security"</A>
            </nav>
            <div class="who">
                <span class="signed-in-as">"Signed in as " <strong>{display_name}</strong></span>
                <ActionForm action=logout attr:class="inline">
                    <button type="submit" class="secondary" disabled=move || logout.pending().get()>
                        {move || if logout.pending().get() { "Signing out…" } else { "Sign out" }}
                    </button>
                </ActionForm>
            </div>
        </header>
    }
}

#[component]
pub fn PublicHeader() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Gatehouse"</a>
            <nav aria-label="Main">
                <a href="/login">"Sign in"</a>
                <a href="/register">"Create account"</a>
            </nav>
        </header>
    }
}

/// What a protected page shows when its data could not be loaded.
#[component]
pub fn LoadError(error: crate::error::AppError, heading: &'static str) -> impl IntoView {
    if error.session_ended() || error.wants_refresh() {
        crate::api::go_to_login(error.session_ended());
    }
    view! {
        <main class="narrow">
            <h1>{heading}</h1>
            <p class="form-error" role="alert">{error.to_string()}</p>
            <p><a href="/login">"Sign in"</a></p>
        </main>
    }
}
