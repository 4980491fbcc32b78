//! The security page's "Passkeys" section: the account's passkeys (name, added, last used),
//! "Add a passkey" and "Remove" — both sensitive (step-up). The ceremonies run in
//! `public/passkeys.js` (`components::passkey`); after one, the page loads again with the
//! list as the server has it. Kept free of reactive lists on purpose: the WebAssembly grows
//! by little. Adding needs JavaScript (the browser creates the passkey); removing works
//! without it (a plain form to the server function).

use crate::{
    api::passkeys::RemovePasskey,
    components::{
        form::FormErrors,
        passkey::{self, Ceremony},
        step_up::{with_step_up, StepUp},
    },
    model::PasskeyInfo,
    time::exact,
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

/// Back to the security page, which says what happened.
fn done(what: &str) {
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href(&format!("/settings/password?passkey={what}"));
    #[cfg(not(feature = "hydrate"))]
    let _ = what;
}

#[component]
pub fn PasskeysSection(initial: Vec<PasskeyInfo>) -> impl IntoView {
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
    let said = match use_query_map().read_untracked().get("passkey").as_deref() {
        Some("added") => Some("Passkey added."),
        Some("removed") => Some("Passkey removed."),
        _ => None,
    };
    let name = NodeRef::<leptos::html::Input>::new();
    let on_add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        act.dispatch((Ceremony::Add, name.get().map(|input| input.value()).unwrap_or_default()));
    };
    let items = if initial.is_empty() {
        view! { <p class="passkeys-none">"You have no passkeys yet."</p> }.into_any()
    } else {
        view! {
            <ul class="passkeys">
                {initial.into_iter().map(|p| view! { <PasskeyItem passkey=p act=act /> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <h2>"Passkeys"</h2>
        <p>"A passkey signs you in with your device's screen lock or a security key instead of your password and code. It only works on this site, so it cannot be phished."</p>
        {items}
        <p class="status" role="status">{said}</p>
        <form class="stack panel passkey-add" hidden=move || !can_add.get() on:submit=on_add>
            <div class="field">
                <label for="field-passkey_name">"Passkey name"</label>
                <div class="input-row plain">
                    <input
                        id="field-passkey_name"
                        name="passkey_name"
                        maxlength="64"
                        autocomplete="off"
                        aria-describedby="field-passkey_name-hint"
                        node_ref=name
                    />
                </div>
                <p class="hint" id="field-passkey_name-hint">"For example \u{201c}Work laptop\u{201d} or \u{201c}Blue security key\u{201d}; leave it empty to name it after this device."</p>
                <p class="field-error" role="alert">{move || errors.field("name").get()}</p>
            </div>
            <p class="form-error" role="alert">{move || errors.form()}</p>
            <button type="submit" disabled=move || act.pending().get()>"Add a passkey"</button>
        </form>
        <p class="notice" hidden=move || can_add.get()>"Adding a passkey needs JavaScript: your browser creates it."</p>
    }
    .into_any()
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
