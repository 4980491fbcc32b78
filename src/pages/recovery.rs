//! `/forgot-password` and `/reset-password?token=…`: getting back in with a link by mail.
//! Both work with JavaScript off; opening the link changes nothing until the form is sent.

use crate::{
    api::recovery::{reset_link_usable, ForgotPassword, ResetPassword},
    components::{field::{Field, PasswordField}, layout::PublicHeader},
};
use leptos::prelude::*;
use crate::components::form::RefreshingForm;
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    // `?sent`: the form was sent without JavaScript.
    let sent = use_query_map().read_untracked().get("sent").is_some();
    view! {
        <Title text="Reset your password — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Reset your password"</h1>
            <ForgotForm sent />
            <p class="aside"><a href="/login">"Back to sign in"</a></p>
        </main>
    }
}

/// "We've sent a link" (once it is) and the form, plain: the answer comes back with the page.
#[component]
fn ForgotForm(sent: bool) -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let sent = move || sent || matches!(action.value().get(), Some(Ok(())));
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let field_error = Signal::derive(move || error.get().and_then(|e| e.field("email")));
    let form_error = move || error.get().filter(|e| e.field("email").is_none()).map(|e| e.to_string());
    view! {
        {move || sent().then(|| view! {
            <p class="notice" role="status">
                "If an account exists for that address, we've sent a link. It works for 30 minutes."
            </p>
        })}
        <p>"Enter the email address of your account and we'll send you a link to set a new password."</p>
        <RefreshingForm action=*action class="stack panel" attr:novalidate=true>
            <Field label="Email" name="email" kind="email" autocomplete="username" error=field_error />
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" data-pending="Sending…">"Send reset link"</button>
        </RefreshingForm>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let usable = Resource::new(token, |token| async move { reset_link_usable(token).await.unwrap_or(false) });
    view! {
        <Title text="Set a new password — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Set a new password"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                {move || Suspend::new(async move {
                    if usable.await {
                        view! { <ResetForm token=token() /> }.erase()
                    } else {
                        view! {
                            <p class="notice warning" role="status">
                                "This link is no longer valid: it was used, it expired, or the password has changed since."
                            </p>
                            <p><a href="/forgot-password">"Ask for a new link"</a></p>
                        }
                            .erase()
                    }
                })}
            </Suspense>
        </main>
    }
}

/// The new password: a plain form; the password field, with its meter, is an island.
#[component]
fn ResetForm(token: String) -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let field_error = Signal::derive(move || error.get().and_then(|e| e.field("new_password")));
    let form_error = move || error.get().filter(|e| e.field("new_password").is_none()).map(|e| e.to_string());
    view! {
        <p>"Choose a new password. Every device signed in to your account will be signed out; this browser will be signed in."</p>
        <RefreshingForm action=*action class="stack panel" attr:novalidate=true>
            <input type="hidden" name="token" value=token />
            <PasswordField
                label="New password".into()
                name="new_password".into()
                autocomplete="new-password".into()
                error=field_error.get_untracked()
                hint=String::new()
                meter=true
            />
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" data-pending="Setting…">"Set new password"</button>
        </RefreshingForm>
    }
}
