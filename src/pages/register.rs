//! `/register`: create an account; it is signed in straight away.

use crate::{api::auth::Register, components::{field::{Field, PasswordField}, form::FormErrors, layout::PublicHeader}};
use leptos::prelude::*;
use crate::components::form::RefreshingForm;
use leptos_meta::Title;

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! {
        <Title text="Create account — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Create account"</h1>
            <RegisterForm />
            <p class="aside">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </main>
    }
}

/// The form, plain (a refusal comes back with the page, errors next to their fields); the
/// password field, with its strength meter, is an island.
#[component]
fn RegisterForm() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let errors = FormErrors::of(action.value());
    let field = move |name: &'static str| errors.field(name);
    // Errors that belong to no single field (e.g. the email is taken) show above the button.
    let form_error = move || errors.form();
    view! {
        <RefreshingForm action=*action class="stack panel" attr:novalidate=true>
            <Field label="Display name" name="display_name" autocomplete="nickname" error=field("display_name") missing="Enter a display name" />
            <Field label="Email" name="email" kind="email" autocomplete="email" error=field("email") />
            <PasswordField
                label="Password".into()
                name="password".into()
                autocomplete="new-password".into()
                error=field("password").get_untracked()
                hint="At least 10 characters and not easy to guess. A few unrelated words make a strong one.".into()
                meter=true
            />
            <p class="form-error" role="alert">{form_error}</p>
            <button type="submit" data-pending="Creating account…">"Create account"</button>
        </RefreshingForm>
    }
}
