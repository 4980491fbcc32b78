//! `/`: what Gatehouse is, and the way in.

use crate::components::layout::PublicHeader;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Gatehouse" />
        <PublicHeader />
        <main class="home" id="main">
            <section class="hero">
                <h1>"Sign in once. Stay in control."</h1>
                <p class="lead">
                    "A short-lived access token proves who you are on every request; "
                    "a long-lived refresh token, rotated on every use, quietly gets you a new one."
                </p>
                <p class="cta">
                    <a class="button" href="/register">"Create account"</a>
                    <a class="button secondary" href="/login">"Sign in"</a>
                </p>
            </section>
            <ul class="features" aria-label="What you get">
                <li>
                    <h2>"Short-lived access"</h2>
                    <p>"Access tokens last minutes, are checked on every request and renewed without you noticing."</p>
                </li>
                <li>
                    <h2>"Every device in view"</h2>
                    <p>"See where you are signed in, recognise each device, and sign any of them out at once."</p>
                </li>
                <li>
                    <h2>"Theft noticed"</h2>
                    <p>"A refresh token that is used twice ends its session and shows up in your activity."</p>
                </li>
            </ul>
        </main>
    }
}
