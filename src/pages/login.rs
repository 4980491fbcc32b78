//! `/login`: sign in, then back to where the person was going.

use crate::{api::auth::Login, components::{field::Field, layout::PublicHeader}};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let notice = move || {
        let q = query.read();
        if q.get("signed_out").is_some() {
            Some(("notice", "You have been signed out."))
        } else if q.get("ended").is_some() {
            Some(("notice warning", "Your session on this device has ended — sign in again."))
        } else {
            None
        }
    };
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let form_error = move || error.get().map(|e| e.to_string());
    let pending = action.pending();
    view! {
        <Title text="Sign in — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Sign in"</h1>
            {move || notice().map(|(class, n)| view! { <p class=class role="status">{n}</p> })}
            <ActionForm action=action attr:class="stack panel" attr:novalidate=true>
                <input type="hidden" name="next" value=next />
                <Field label="Email" name="email" kind="email" autocomplete="username" error=Signal::derive(|| None::<String>) />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=Signal::derive(|| None::<String>)
                />
                <p class="form-error" role="alert">{form_error}</p>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="aside"><a href="/forgot-password">"Forgot password?"</a></p>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a></p>
        </main>
    }
}
