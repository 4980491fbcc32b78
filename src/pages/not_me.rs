//! `/not-me?token=…`: the "This wasn't me" link of a new-device alert. Opening it shows the
//! sign-in and changes nothing; its one button (a plain form POST, so it works with
//! JavaScript off, signed in or not) signs that device out and mails a reset link.

use crate::{
    api::not_me::{not_me_sign_in, NotMe},
    components::layout::PublicHeader,
    model::ReportedSignIn,
};
use leptos::prelude::*;
use crate::components::form::RefreshingForm;
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn NotMePage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let done = move || query.read().get("done").is_some();
    let found = Resource::new(token, |token| async move { not_me_sign_in(token).await.ok().flatten() });
    view! {
        <Title text="This wasn't me — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Was this you?"</h1>
            {move || if done() {
                view! {
                    <p class="notice" role="status">
                        "That device is signed out, and your account no longer knows it. We've emailed you a link \
                         to set a new password; it works for 30 minutes."
                    </p>
                    <p>"Whoever signed in knew your password: set a new one now, then review your devices."</p>
                    <p class="aside"><a href="/forgot-password">"Didn't get the link? Ask for another"</a></p>
                }
                    .erase()
            } else {
                view! {
                    <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                        {move || Suspend::new(async move {
                            match found.await {
                                Some(sign_in) => view! { <Report sign_in token=token() /> }.erase(),
                                None => view! {
                                    <p class="notice warning" role="status">
                                        "This link is no longer valid: it was used already, or it expired."
                                    </p>
                                    <p>
                                        "If someone else may know your password, "
                                        <a href="/forgot-password">"set a new one"</a>
                                        " and review your devices."
                                    </p>
                                }
                                    .erase(),
                            }
                        })}
                    </Suspense>
                }
                    .erase()
            }}
        </main>
    }
}

#[component]
fn Report(sign_in: ReportedSignIn, token: String) -> impl IntoView {
    let ReportedSignIn { device, ip, at, when, still_signed_in } = sign_in;
    let from = if ip.is_empty() { String::new() } else { format!(" (address {ip})") };
    view! {
        <div class="panel stack">
            <p>
                "Your account was signed in to from " <strong>{device}</strong> {from}
                {(!when.is_empty()).then(|| view! { " on " <time datetime=at>{when}</time> })}
                ", a device it had not been used on before."
            </p>
            <p>
                {if still_signed_in { "That device is still signed in. " } else { "That device is no longer signed in. " }}
                "If it wasn't you, the button signs it out at once, makes your account forget it, and emails \
                 you a link to set a new password."
            </p>
            <NotMeForm token />
            <p class="aside">"If it was you, there is nothing to do: close this page."</p>
        </div>
    }
}

/// The button, a plain form (a refusal comes back with the page).
#[component]
fn NotMeForm(token: String) -> impl IntoView {
    let action = ServerAction::<NotMe>::new();
    let error = move || action.value().get().and_then(Result::err).map(|e| e.to_string());
    view! {
        <RefreshingForm action=*action class="stack">
            <input type="hidden" name="token" value=token />
            <p class="form-error" role="alert">{error}</p>
            <button type="submit" class="danger" data-pending="Signing it out…">"This wasn't me"</button>
        </RefreshingForm>
    }
}
