//! `/verify-email?token=…` and `/confirm-email?token=…`: the pages links about the account's
//! address open. Opening the verification link verifies (the one thing opening a link may
//! do); opening the email-change link only asks, and the button on it (a POST) confirms.
//! Both work with JavaScript off.

use crate::{
    api::email::{pending_email_change, verify_email, ConfirmEmailChange},
    components::layout::PublicHeader,
    error::AppError,
};
use leptos::prelude::*;
use crate::components::form::RefreshingForm;
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let verified = Resource::new(token, |token| async move { verify_email(token).await });
    view! {
        <Title text="Verify your email address — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Verify your email address"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                {move || Suspend::new(async move {
                    match verified.await {
                        Ok(()) => view! {
                            <p class="notice" role="status">"Thank you: your email address is verified."</p>
                            <p><a href="/dashboard">"Go to your dashboard"</a></p>
                        }
                            .erase(),
                        Err(AppError::InvalidLink) => view! {
                            <p class="notice warning" role="status">
                                "This link is no longer valid: it was used, it expired, or the address has changed since. "
                                "Sign in to ask for a new one."
                            </p>
                            <p><a href="/dashboard">"Sign in"</a></p>
                        }
                            .erase(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.erase(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    // `?done`: the form was sent without JavaScript and the change went through.
    let done = query.read_untracked().get("done").is_some();
    let target = Resource::new(token, |token| async move { pending_email_change(token).await });
    view! {
        <Title text="Confirm your new email address — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Confirm your new email address"</h1>
            {if done {
                view! { <Changed to=None /> }.erase()
            } else {
                view! {
                    <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                        {move || Suspend::new(async move {
                            match target.await {
                                Ok(Some(new_email)) => view! { <ConfirmForm token=token() new_email=new_email /> }.erase(),
                                Ok(None) => view! {
                                    <p class="notice warning" role="status">
                                        "This link is no longer valid: it was used, it expired, or the address has changed since."
                                    </p>
                                    <p><a href="/settings/password">"Ask for a new one"</a></p>
                                }
                                    .erase(),
                                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.erase(),
                            }
                        })}
                    </Suspense>
                }
                    .erase()
            }}
        </main>
    }
}

/// The change went through: `to`, the new address, when this page made it.
#[component]
fn Changed(to: Option<String>) -> impl IntoView {
    let said = match to {
        Some(to) => format!("Your email address is now {to}."),
        None => "Your email address was changed.".to_owned(),
    };
    view! {
        <p class="notice" role="status">{said}</p>
        <p><a href="/dashboard">"Go to your dashboard"</a></p>
    }
}

/// The question and its button; once confirmed, the new address (an island: without
/// JavaScript the server answers with `?done=1` and the page says it changed).
#[island]
fn ConfirmForm(token: String, new_email: String) -> impl IntoView {
    let action = ServerAction::<ConfirmEmailChange>::new();
    let error = move || action.value().get().and_then(Result::err).map(|e| e.to_string());
    let pending = action.pending();
    // Only a success swaps the form for what changed (a memo: a refusal leaves the form be).
    let confirmed = Memo::new(move |_| match action.value().get() {
        Some(Ok(to)) => Some(to),
        _ => None,
    });
    let ask = move || {
        let (token, new_email) = (token.clone(), new_email.clone());
        view! {
            <p>"Make " <strong>{new_email}</strong> " the address of your account? We will tell the old address."</p>
            <RefreshingForm action=*action class="stack panel">
                <input type="hidden" name="token" value=token />
                <p class="form-error" role="alert">{error}</p>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Confirming…" } else { "Confirm new address" }}
                </button>
            </RefreshingForm>
        }
    };
    view! {
        {move || match confirmed.get() {
            Some(to) => view! { <Changed to=Some(to) /> }.erase(),
            None => ask().erase(),
        }}
    }
}
