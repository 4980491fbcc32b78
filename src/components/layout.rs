//! The frame around signed-in pages: who is signed in, navigation, sign out.

use crate::api::auth::Logout;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SignedInHeader(#[prop(into)] display_name: String) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/dashboard">"Gatehouse"</a>
            <nav aria-label="Main">
                <A href="/dashboard">"Dashboard"</A>
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
