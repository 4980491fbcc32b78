//! `/settings/password`: change the password; every other device is signed out.

use crate::{
    api::{security::{whoami, ChangePassword}, with_refresh},
    components::{
        field::Field,
        form::{refreshing_action, RefreshingForm},
        layout::{LoadError, SignedInHeader},
    },
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SecurityPage() -> impl IntoView {
    let change = refreshing_action::<ChangePassword>();
    let me = Resource::new(|| (), |_| async move { with_refresh(whoami).await });
    let query = use_query_map();
    let reported = move || query.read().get("reported").is_some();
    let error = Signal::derive(move || change.value().get().and_then(Result::err));
    let field = move |name: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(name)));
    let form_error = move || match error.get() {
        Some(AppError::InvalidInput { .. }) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let done = move || match change.value().get() {
        Some(Ok(0)) => Some("Password changed. You were not signed in anywhere else.".to_string()),
        Some(Ok(n)) => Some(format!("Password changed. {n} other device{} signed out.", if n == 1 { " was" } else { "s were" })),
        _ => None,
    };
    let pending = change.pending();
    view! {
        <Title text="Security — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Err(e) => view! { <LoadError error=e heading="Security" /> }.into_any(),
                    Ok(name) => view! {
                        <SignedInHeader display_name=name />
                        <main class="narrow" id="main">
                            <h1>"Security"</h1>
                            {move || reported().then(|| view! {
                                <p class="notice" role="status">
                                    "We signed that device out. Change your password now so it cannot sign in again."
                                </p>
                            })}
                            <h2>"Change password"</h2>
                            <p>"Changing your password signs out every other device. This one stays signed in."</p>
                            <RefreshingForm action=change class="stack panel">
                                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" error=field("current_password") />
                                <Field label="New password" name="new_password" kind="password" autocomplete="new-password" error=field("new_password") hint="At least 10 characters and not easy to guess." meter=true />
                                <p class="form-error" role="alert">{form_error}</p>
                                <button type="submit" disabled=move || pending.get()>
                                    {move || if pending.get() { "Changing password…" } else { "Change password" }}
                                </button>
                            </RefreshingForm>
                            <p class="status" role="status">{done}</p>
                        </main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
