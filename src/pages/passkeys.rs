//! The security page's "Passkeys" section: the account's passkeys (name, added, last used),
//! "Add a passkey" and "Remove" — both sensitive (step-up). Adding runs the browser's
//! ceremony (`components::passkey`), so it needs JavaScript; the section says so without.

use crate::{
    api::passkeys::{list_passkeys, RemovePasskey},
    components::{
        form::FormErrors,
        passkey,
        step_up::{with_step_up, StepUp},
    },
    model::PasskeyInfo,
    time::exact,
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

#[component]
pub fn PasskeysSection(initial: Vec<PasskeyInfo>) -> impl IntoView {
    let step_up = use_context::<StepUp>();
    let list = RwSignal::new(initial);
    let name = RwSignal::new(String::new());
    // False on the server and without JavaScript: adding needs the browser's ceremony.
    let can_add = RwSignal::new(false);
    Effect::new(move |_| can_add.set(passkey::supported()));
    let add = Action::new_local(move |name: &String| {
        let name = name.clone();
        async move {
            let added = with_step_up(step_up, || passkey::add(name.clone())).await?;
            if let Ok(all) = crate::api::with_refresh(list_passkeys).await {
                list.set(all);
            }
            Ok(added)
        }
    });
    // Through the script (and "Confirm it's you" when asked); without JavaScript, the form
    // posts to the server function and the page comes back.
    let remove = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move { with_step_up(step_up, || passkey::remove(id.clone())).await }
    });
    // After a removal, the list as the server has it now.
    let reload = Action::new(|_: &()| async move { crate::api::with_refresh(list_passkeys).await });
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            reload.dispatch(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(all)) = reload.value().get() {
            list.set(all);
        }
    });
    let add_errors = FormErrors::of(add.value());
    let name_error = add_errors.field("name");
    let remove_errors = FormErrors::of(remove.value());
    let query = use_query_map();
    // What happened last, said once.
    let said = RwSignal::new(query.read_untracked().get("passkey").filter(|p| p == "removed").map(|_| "Passkey removed.".to_owned()));
    Effect::new(move |_| {
        if let Some(Ok(name)) = add.value().get() {
            said.set(Some(format!("Passkey \u{201c}{name}\u{201d} added.")));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            said.set(Some("Passkey removed.".to_owned()));
        }
    });
    let done = move || said.get();
    let pending = add.pending();
    let on_add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add.dispatch(name.get_untracked());
    };
    view! {
        <h2>"Passkeys"</h2>
        <p>"A passkey signs you in with your device's screen lock or a security key instead of your password and code. It only works on this site, so it cannot be phished."</p>
        {move || {
            let all = list.get();
            if all.is_empty() {
                view! { <p class="passkeys-none">"You have no passkeys yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="passkeys">
                        {all.into_iter().map(|p| view! { <PasskeyItem passkey=p remove=remove /> }).collect_view()}
                    </ul>
                }.into_any()
            }
        }}
        <p class="form-error" role="alert">{move || remove_errors.form()}</p>
        <noscript><p class="notice">"Adding a passkey needs JavaScript: your browser creates it."</p></noscript>
        {move || can_add.get().then(|| view! {
            <form class="stack panel passkey-add" on:submit=on_add>
                <div class="field">
                    <label for="field-passkey_name">"Passkey name"</label>
                    <div class="input-row plain">
                        <input
                            id="field-passkey_name"
                            name="passkey_name"
                            maxlength="64"
                            autocomplete="off"
                            aria-describedby="field-passkey_name-hint"
                            aria-invalid=move || name_error.get().is_some().then_some("true")
                            bind:value=name
                        />
                    </div>
                    <p class="hint" id="field-passkey_name-hint">"For example \u{201c}Work laptop\u{201d} or \u{201c}Blue security key\u{201d}; leave it empty to name it after this device."</p>
                    <p class="field-error" role="alert">{move || name_error.get()}</p>
                </div>
                <p class="form-error" role="alert">{move || add_errors.form()}</p>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Adding…" } else { "Add a passkey" }}
                </button>
            </form>
        })}
        <p class="status" role="status">{done}</p>
    }
    .into_any()
}

#[component]
fn PasskeyItem(passkey: PasskeyInfo, remove: Action<String, Result<(), crate::error::AppError>>) -> impl IntoView {
    let label = format!("Remove {}", passkey.name);
    let id = passkey.id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remove.dispatch(id.clone());
    };
    view! {
        <li class="passkey">
            <h3 class="passkey-name">{passkey.name.clone()}</h3>
            <p class="facts">
                "Added " {exact(&passkey.created_at)} " · "
                {match &passkey.last_used_at {
                    Some(at) => format!("last used {}", exact(at)),
                    None => "not used yet".to_owned(),
                }}
            </p>
            <form action=RemovePasskey::url() method="post" class="remove" on:submit=on_submit>
                <input type="hidden" name="id" value=passkey.id.clone() />
                <button type="submit" class="secondary" aria-label=label>"Remove"</button>
            </form>
        </li>
    }
}
