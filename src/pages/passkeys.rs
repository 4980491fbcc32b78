//! The security page's "Passkeys" section: the account's passkeys (name, added, last used),
//! "Add a passkey" and "Remove" — both sensitive (step-up). The ceremonies run in
//! `public/passkeys.js` (`components::passkey`); after one, the page loads again with the
//! list as the server has it. Kept free of reactive lists on purpose: the WebAssembly grows
//! by little. Adding needs JavaScript (the browser creates the passkey); removing works
//! without it (a plain form to the server function).

use crate::{
    api::passkeys::RemovePasskey,
    components::{
        field::Field,
        form::FormErrors,
        passkey::{self, Ceremony},
        step_up::{with_step_up, StepUp},
    },
    model::PasskeyInfo,
    time::exact,
};
use leptos::{prelude::*, server_fn::ServerFn};

/// Back to the security page, which says what happened.
fn done(what: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href(&format!("/settings/password?passkey={what}"));
    #[cfg(not(feature = "hydrate"))]
    let _ = what;
}

/// In the security page's island. `said`: what the last ceremony did (`?passkey=`, from the
/// URL).
#[component]
pub fn PasskeysSection(initial: Vec<PasskeyInfo>, said: Option<String>) -> impl IntoView {
    let step_up = use_context::<StepUp>();
    // False on the server and without JavaScript: adding needs the browser's ceremony.
    let can_add = RwSignal::new(false);
    Effect::new(move |_| can_add.set(passkey::supported()));
    // Adding and removing: one action (one way of asking "Confirm it's you" and waiting).
    let act = Action::new_local(move |(what, arg): &(Ceremony, String)| {
        let (what, arg) = (*what, arg.clone());
        async move {
            with_step_up(step_up, || passkey::run(what, arg.clone())).await?;
            done(if what == Ceremony::Add { "added" } else { "removed" });
            Ok(())
        }
    });
    let errors = FormErrors::of(act.value());
    let said = match said.as_deref() {
        Some("added") => Some("Passkey added."),
        Some("removed") => Some("Passkey removed."),
        _ => None,
    };
    let on_add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        act.dispatch((Ceremony::Add, typed_name(&ev)));
    };
    // Either line, fixed for this page load (no type-erased views: each costs the bundle).
    let none = initial.is_empty().then(|| view! { <p class="passkeys-none">"You have no passkeys yet."</p> });
    let list = (!initial.is_empty()).then(|| view! {
        <ul class="passkeys">
            {initial.into_iter().map(|p| view! { <PasskeyItem passkey=p act=act /> }).collect_view()}
        </ul>
    });
    view! {
        <h2>"Passkeys"</h2>
        <p>"A passkey signs you in with your device's screen lock or a security key instead of your password and code. It only works on this site, so it cannot be phished."</p>
        {none}
        {list}
        <p class="status" role="status">{said}</p>
        <form class="stack panel passkey-add" hidden=move || !can_add.get() on:submit=on_add>
            <Field
                label="Passkey name"
                name="passkey_name"
                autocomplete="off"
                hint="For example \u{201c}Work laptop\u{201d} or \u{201c}Blue security key\u{201d}; leave it empty to name it after this device (at most 64 characters)."
                error=errors.field("name")
            />
            <p class="form-error" role="alert">{move || errors.form()}</p>
            <button type="submit" disabled=move || act.pending().get()>"Add a passkey"</button>
        </form>
        <p class="notice" hidden=move || can_add.get()>"Adding a passkey needs JavaScript: your browser creates it."</p>
    }
}

/// The name typed into the form being sent.
fn typed_name(ev: &leptos::ev::SubmitEvent) -> String {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        ev.target()
            .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok())
            .and_then(|form| web_sys::FormData::new_with_form(&form).ok())
            .and_then(|data| data.get("passkey_name").as_string())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        String::new()
    }
}

#[component]
fn PasskeyItem(passkey: PasskeyInfo, act: Action<(Ceremony, String), Result<(), crate::error::AppError>>) -> impl IntoView {
    let label = format!("Remove {}", passkey.name);
    let id = passkey.id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        act.dispatch((Ceremony::Remove, id.clone()));
    };
    let used = match &passkey.last_used_at {
        Some(at) => format!("last used {}", exact(at)),
        None => "not used yet".to_owned(),
    };
    view! {
        <li class="passkey">
            <h3 class="passkey-name">{passkey.name}</h3>
            <p class="facts">"Added " {exact(&passkey.created_at)} " · " {used}</p>
            <form action=RemovePasskey::url() method="post" class="remove" on:submit=on_submit>
                <input type="hidden" name="id" value=passkey.id />
                <button type="submit" class="secondary" aria-label=label>"Remove"</button>
            </form>
        </li>
    }
}
