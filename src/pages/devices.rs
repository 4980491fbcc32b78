//! `/settings/sessions`: every place the person is signed in, a page at a time
//! (`?cursor=`); sign out one, all others, or everywhere; name a device. Works with
//! JavaScript off.

use crate::{
    api::{
        devices::{list_devices, RenameDevice, RevokeDevice, RevokeOtherDevices, SignOutEverywhere},
        with_refresh,
    },
    components::{
        icons::DeviceIcon,
        layout::{LoadError, SignedInHeader},
        time::When,
    },
    error::AppError,
    model::Device,
};
use leptos::{
    prelude::*,
    server::ServerActionError,
    server_fn::{error::ServerFnUrlError, ServerFn as _},
};
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// All the server's: every form is a plain one, JavaScript or not, and the server answers
/// with this page saying what was done (`?done=`, or a cookie where the address must stay).
#[component]
pub fn DevicesPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.read().get("cursor"),
        |cursor| async move { with_refresh(|| list_devices(cursor.clone())).await },
    );
    // "Device signed out." comes in a cookie: that answer's address stays the list's own.
    #[cfg(feature = "ssr")]
    let flash = crate::api::devices::take_done();
    #[cfg(not(feature = "ssr"))]
    let flash = None::<String>;
    // What the last action did (the cookie, or `?done=`), or why a plain form was refused
    // (the URL's error; "Confirm it's you" is the panel's to say).
    let outcome = flash.or_else(|| query.read_untracked().get("done")).and_then(|done| done_text(&done)).or_else(|| {
        use_context::<ServerActionError>()
            .map(|e| ServerFnUrlError::<AppError>::decode_err(e.err()))
            .filter(|e| !matches!(e, AppError::ReauthenticationRequired { .. }))
            .map(|e| e.to_string())
    });
    view! {
        <Title text="Devices — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
            let outcome = outcome.clone();
            Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <LoadError error=e heading="Devices" /> }.erase(),
                    Ok(view_data) => {
                        // Every other device, on this page or another.
                        let others = (view_data.total - 1).max(0);
                        let first_page = query.read_untracked().get("cursor").is_none();
                        let (shown, total) = (view_data.devices.len(), view_data.total);
                        let pages = view_data.next_cursor.clone().map(|c| format!("/settings/sessions?cursor={c}"));
                        view! {
                            <SignedInHeader display_name=view_data.display_name.clone() unverified_email=view_data.unverified_email.clone() />
                            <main id="main">
                                <h1>"Devices"</h1>
                                <p class="lead">"Everywhere you are signed in. Signing a device out takes effect at once."</p>
                                <p class="status" role="status">{outcome}</p>
                                <ul class="devices">
                                    {view_data
                                        .devices
                                        .into_iter()
                                        .map(|d| view! { <DeviceRow device=d /> })
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
                                                <SignOutOthers />
                                            </div>
                                        </details>
                                    }
                                        .erase()
                                }}
                                <section class="card quiet" aria-labelledby="everywhere-heading">
                                    <h2 id="everywhere-heading">"Leaving this device too?"</h2>
                                    <p>"Sign out everywhere ends every session, this one included."</p>
                                    // A plain form, JavaScript or not: it ends with the login page.
                                    <form action=SignOutEverywhere::url() method="post" class="inline">
                                        <button type="submit" class="danger" data-pending="Signing out…">"Sign out everywhere"</button>
                                    </form>
                                </section>
                            </main>
                        }
                            .erase()
                    }
                }
            })
            }}
        </Suspense>
    }
}

#[component]
fn DeviceRow(device: Device) -> impl IntoView {
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
                <Rename session_id=id_for_rename name_id label=rename_label device=device.label.clone() value=device.custom_name.clone().unwrap_or_default() />
                {(!device.current).then(|| view! { <SignOut session_id=id_for_revoke label=sign_out_label /> })}
            </div>
        </li>
    }
}

/// What `?done=` says (after an action, see `reload_when_done`).
fn done_text(done: &str) -> Option<String> {
    Some(match done {
        "signed-out" => "Device signed out.".to_owned(),
        "renamed" => "Device name saved.".to_owned(),
        "others-0" => "There were no other devices to sign out.".to_owned(),
        "others-1" => "Signed out 1 other device.".to_owned(),
        _ => format!("Signed out {} other devices.", done.strip_prefix("others-")?.parse::<u64>().ok()?),
    })
}

/// Naming a device: a plain form, JavaScript or not (the server answers with this page and
/// `?done=renamed`).
#[component]
fn Rename(session_id: String, name_id: String, label: String, device: String, value: String) -> impl IntoView {
    view! {
        <form action=RenameDevice::url() method="post" class="rename">
            <input type="hidden" name="session_id" value=session_id />
            <label for=name_id.clone() class="visually-hidden">{label}</label>
            <input id=name_id name="name" maxlength="64" placeholder="Name this device" autocomplete="off" value=value />
            <button type="submit" class="secondary" aria-label=format!("Save name for {device}") data-pending="Saving…">"Save name"</button>
        </form>
    }
}

/// Signing one other device out: a plain form, JavaScript or not (the server answers with
/// this page at the same address, and the list says the device went).
#[component]
fn SignOut(session_id: String, label: String) -> impl IntoView {
    view! {
        <form action=RevokeDevice::url() method="post" class="inline">
            <input type="hidden" name="session_id" value=session_id />
            <button type="submit" class="danger" aria-label=label data-pending="Signing out…">"Sign out"</button>
        </form>
    }
}

/// "Sign out other devices": a plain form, JavaScript or not (the server answers with this
/// page and `?done=others-<how many>`).
#[component]
fn SignOutOthers() -> impl IntoView {
    view! {
        <form action=RevokeOtherDevices::url() method="post" class="inline">
            <button type="submit" class="danger" data-pending="Signing out…">"Sign out other devices"</button>
        </form>
    }
}
