//! Times shown twice: in words ("5 minutes ago") and exactly ("2026-11-27 09:04 UTC"), so the
//! exact time is visible on touch screens and to screen readers, not only in a tooltip.
//! The wording itself is `crate::time`'s, the same on the server and in the browser.

use crate::time::exact;
use leptos::prelude::*;

/// "5 minutes ago · 2026-11-27 09:04 UTC", from a relative text the server worked out.
#[component]
pub fn When(#[prop(into)] at: String, #[prop(into)] ago: String) -> impl IntoView {
    let exact_text = exact(&at);
    view! {
        <span class="when">
            <time datetime=at.clone() title=exact_text.clone()>{ago}</time>
            <span class="exact">{exact_text}</span>
        </span>
    }
}
