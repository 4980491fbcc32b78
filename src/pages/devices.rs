//! `/settings/sessions`: every place the person is signed in, a page at a time
//! (`?cursor=`); sign out one, all others, or everywhere; name a device. Works with
//! JavaScript off.

use crate::{
    api::{
        devices::{list_devices, RenameDevice, RevokeDevice, RevokeOtherDevices, SignOutEverywhere},
        with_refresh,
    },
    components::{
        form::{refreshing_action, RefreshingForm},
        icons::DeviceIcon,
        layout::{LoadError, SignedInHeader},
        time::When,
    },
    model::{Device, DevicesView},
};
use leptos::prelude::*;
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn DevicesPage() -> impl IntoView {
    let query = use_query_map();
    let cursor = query.read_untracked().get("cursor");
    let data = {
        let cursor = cursor.clone();
        Resource::new(|| (), move |_| {
            let cursor = cursor.clone();
            async move { with_refresh(|| list_devices(cursor.clone())).await }
        })
    };
    view! {
        <Title text="Devices — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let cursor = cursor.clone();
                Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <LoadError error=e heading="Devices" /> }.erase(),
                        Ok(view_data) => view! {
                            <SignedInHeader display_name=view_data.display_name.clone() unverified_email=view_data.unverified_email.clone() />
                            <DevicesMain initial=view_data cursor />
                        }
                            .erase(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The list and its actions, an island: after signing a device out or naming one, the list
/// is loaded again and shown in place. `initial`: the list the server rendered; `cursor`:
/// which page of it (from the URL).
#[island]
fn DevicesMain(initial: DevicesView, cursor: Option<String>) -> impl IntoView {
    let revoke = refreshing_action::<RevokeDevice>();
    let revoke_others = refreshing_action::<RevokeOtherDevices>();
    let rename = refreshing_action::<RenameDevice>();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let first_page = cursor.is_none();
    let data = RwSignal::new(initial);
    // Not `new_local`: its closure holds a `String`, and a local action's closure must be
    // dropped on the thread that made it, which the server's async render does not promise.
    let reload = Action::new(move |_: &()| {
        let cursor = cursor.clone();
        async move { with_refresh(|| list_devices(cursor.clone())).await }
    });
    // Each finished action loads the list again (a failed load keeps the list shown; one whose
    // session ended has gone to the login page already, see `with_refresh`).
    Effect::new(move |before: Option<(usize, usize, usize)>| {
        let now = (revoke.version().get(), revoke_others.version().get(), rename.version().get());
        if before.is_some_and(|before| before != now) {
            reload.dispatch(());
        }
        now
    });
    Effect::new(move |_| {
        if let Some(Ok(fresh)) = reload.value().get() {
            data.set(fresh);
        }
    });
    let outcome = move || {
        if let Some(result) = revoke_others.value().get() {
            return Some(match result {
                Ok(0) => "There were no other devices to sign out.".to_string(),
                Ok(1) => "Signed out 1 other device.".to_string(),
                Ok(n) => format!("Signed out {n} other devices."),
                Err(e) => e.to_string(),
            });
        }
        match revoke.value().get() {
            Some(Ok(())) => Some("Device signed out.".to_string()),
            Some(Err(e)) => Some(e.to_string()),
            None => rename.value().get().map(|r| match r {
                Ok(()) => "Device name saved.".to_string(),
                Err(e) => e.to_string(),
            }),
        }
    };
    view! {
        {move || {
            let view_data = data.get();
            // Every other device, on this page or another.
            let others = (view_data.total - 1).max(0);
            let (shown, total) = (view_data.devices.len(), view_data.total);
            let pages = view_data.next_cursor.clone().map(|c| format!("/settings/sessions?cursor={c}"));
            view! {
                <main id="main">
                    <h1>"Devices"</h1>
                    <p class="lead">"Everywhere you are signed in. Signing a device out takes effect at once."</p>
                    <p class="status" role="status">{outcome}</p>
                    <ul class="devices">
                        {view_data
                            .devices
                            .into_iter()
                            .map(|d| view! { <DeviceRow device=d revoke=revoke rename=rename /> })
                            .collect_view()}
                    </ul>
                    {(pages.is_some() || !first_page)
                        .then(|| {
                            view! {
                                <nav class="pages" aria-label="More devices">
                                    <p>{format!("Showing {shown} of your {total} devices.")}</p>
                                    {(!first_page).then(|| view! { <a href="/settings/sessions">"Back to the first page"</a> })}
                                    {pages.map(|href| view! { <a href=href rel="next">"Show more devices"</a> })}
                                </nav>
                            }
                        })}
                    {if others == 0 {
                        view! {
                            <div class="empty-state">
                                <p><strong>"You are not signed in anywhere else."</strong></p>
                                <p>"When you sign in on another phone, tablet or computer, it appears here and you can sign it out from this page."</p>
                            </div>
                        }
                            .erase()
                    } else {
                        let explain = if others == 1 {
                            "This signs out the 1 other device where you are signed in. It will need your password to sign in again; this device stays signed in.".to_string()
                        } else {
                            format!("This signs out the {others} other devices where you are signed in. They will need your password to sign in again; this device stays signed in.")
                        };
                        view! {
                            <details class="confirm">
                                <summary>"Sign out all other devices…"</summary>
                                <div class="confirm-body">
                                    <p>{explain}</p>
                                    <RefreshingForm action=revoke_others class="inline">
                                        <button type="submit" class="danger" disabled=move || revoke_others.pending().get()>
                                            {move || if revoke_others.pending().get() { "Signing out…" } else { "Sign out other devices" }}
                                        </button>
                                    </RefreshingForm>
                                </div>
                            </details>
                        }
                            .erase()
                    }}
                    <section class="card quiet" aria-labelledby="everywhere-heading">
                        <h2 id="everywhere-heading">"Leaving this device too?"</h2>
                        <p>"Sign out everywhere ends every session, this one included."</p>
                        <ActionForm action=everywhere attr:class="inline">
                            <button type="submit" class="danger">"Sign out everywhere"</button>
                        </ActionForm>
                    </section>
                </main>
            }
        }}
    }
}

#[component]
fn DeviceRow(
    device: Device,
    revoke: Action<RevokeDevice, Result<(), crate::error::AppError>>,
    rename: Action<RenameDevice, Result<(), crate::error::AppError>>,
) -> impl IntoView {
    let name_id = format!("name-{}", device.id);
    let sign_out_label = format!("Sign out {}", device.label);
    let rename_label = format!("Name for {}", device.label);
    let id_for_rename = device.id.clone();
    let id_for_revoke = device.id.clone();
    view! {
        <li class="device" data-current=device.current.then_some("true")>
            <div class="device-head">
                <DeviceIcon kind=device.kind />
                <h2 class="device-name">{device.label.clone()}</h2>
                {device.current.then(|| view! { <span class="badge">"This device"</span> })}
            </div>
            <dl class="facts">
                <dt>"Browser"</dt>
                <dd>{device.browser.clone()}</dd>
                <dt>"Operating system"</dt>
                <dd>{device.os.clone()}</dd>
                <dt>"IP address"</dt>
                <dd>{if device.ip.is_empty() { "unknown".to_string() } else { device.ip.clone() }}</dd>
                <dt>"Signed in"</dt>
                <dd><When at=device.signed_in_at.clone() ago=device.signed_in_ago.clone() /></dd>
                <dt>"Signed in with"</dt>
                <dd class="signed-in-with">{device.signed_in_with.clone()}</dd>
                <dt>"Last active"</dt>
                <dd><When at=device.last_active_at.clone() ago=device.last_active_ago.clone() /></dd>
            </dl>
            <div class="device-actions">
                <RefreshingForm action=rename class="rename">
                    <input type="hidden" name="session_id" value=id_for_rename />
                    <label for=name_id.clone() class="visually-hidden">{rename_label.clone()}</label>
                    <input
                        id=name_id
                        name="name"
                        maxlength="64"
                        placeholder="Name this device"
                        autocomplete="off"
                        value=device.custom_name.clone().unwrap_or_default()
                    />
                    <button type="submit" class="secondary" aria-label=format!("Save name for {}", device.label)>"Save name"</button>
                </RefreshingForm>
                {(!device.current)
                    .then(|| {
                        view! {
                            <RefreshingForm action=revoke class="inline">
                                <input type="hidden" name="session_id" value=id_for_revoke.clone() />
                                <button type="submit" class="danger" aria-label=sign_out_label.clone()>"Sign out"</button>
                            </RefreshingForm>
                        }
                    })}
            </div>
        </li>
    }
}
