//! The 404 page.

use crate::components::layout::PublicHeader;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found — Gatehouse" />
        <PublicHeader />
        <main class="narrow edge" id="main">
            <p class="edge-code" aria-hidden="true">"404"</p>
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p class="cta">
                <a class="button" href="/">"Go to the start page"</a>
                <a class="button secondary" href="/dashboard">"Go to your dashboard"</a>
            </p>
        </main>
    }
}
