//! `/`: what Gatehouse is, and the way in.

use crate::components::layout::PublicHeader;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Gatehouse" />
        <PublicHeader />
        <main class="narrow">
            <h1>"Gatehouse"</h1>
            <p class="lead">
                "Sign in once. A short-lived access token proves who you are on every request; "
                "a long-lived refresh token, rotated on every use, quietly gets you a new one."
            </p>
            <p>
                <a class="button" href="/register">"Create account"</a>
                " "
                <a class="button secondary" href="/login">"Sign in"</a>
            </p>
        </main>
    }
}
