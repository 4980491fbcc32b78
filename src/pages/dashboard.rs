//! `/dashboard`: who is signed in, this session, and the access token's remaining life.

use crate::{
    api::{dashboard::{check_session, get_dashboard}, devices::DisownSignIn, with_refresh},
    components::{
        form::{refreshing_action, RefreshingForm},
        layout::{LoadError, SignedInHeader},
    },
    model::{Dashboard, FlowView, SecurityEvent},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| async move { with_refresh(get_dashboard).await });
    view! {
        <Title text="Dashboard — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <DashboardView data=d /> }.into_any(),
                    Err(e) => view! { <LoadError error=e heading="Dashboard" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DashboardView(data: Dashboard) -> impl IntoView {
    let expires = RwSignal::new(data.access_expires_unix);
    let expires_text = RwSignal::new(data.access_expires_at.clone());
    // The countdown starts from the server's idea of now and then ticks in the browser.
    let now = RwSignal::new(data.server_now_unix);
    #[cfg(feature = "hydrate")]
    {
        let tick = move || now.set((js_sys::Date::now() / 1000.0) as i64);
        tick();
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    }
    let countdown = move || {
        let left = expires.get() - now.get();
        if left <= 0 {
            "expired — it will be refreshed on your next action".to_string()
        } else {
            format!("{}:{:02} left", left / 60, left % 60)
        }
    };
    let check = Action::new_local(|_: &()| async move { with_refresh(check_session).await });
    Effect::new(move |_| {
        if let Some(Ok(status)) = check.value().get() {
            expires.set(status.access_expires_unix);
            expires_text.set(status.access_expires_at.clone());
        }
    });
    let check_result = move || {
        check.value().get().map(|r| match r {
            Ok(s) => format!("Your session is active. Access token valid until {}.", s.access_expires_at),
            Err(e) => e.to_string(),
        })
    };
    let name = data.user.display_name.clone();
    view! {
        <SignedInHeader display_name=name.clone() />
        <main>
            <h1>"Dashboard"</h1>
            <p class="lead">"Welcome, " <span class="display-name">{name}</span> "."</p>
            <section class="card" aria-labelledby="this-session">
                <h2 id="this-session">"This session"</h2>
                <dl class="facts">
                    <dt>"Signed in"</dt>
                    <dd><time datetime=data.signed_in_at.clone()>{data.signed_in_at.clone()}</time></dd>
                    <dt>"Access token expires"</dt>
                    <dd>
                        <time data-testid="access-expiry" datetime=move || expires_text.get()>{move || expires_text.get()}</time>
                        " (" <span class="countdown">{countdown}</span> ")"
                    </dd>
                    <dt>"Refresh token rotations"</dt>
                    <dd>{data.rotations}</dd>
                </dl>
                <button
                    type="button"
                    class="secondary"
                    disabled=move || check.pending().get()
                    on:click=move |_| {
                        check.dispatch(());
                    }
                >
                    {move || if check.pending().get() { "Checking…" } else { "Check my session" }}
                </button>
                <p class="status" role="status" data-testid="session-check">{check_result}</p>
            </section>
            <FlowPanel flow=data.flow countdown=Signal::derive(countdown) />
            <ActivityPanel events=data.events />
        </main>
    }
}


/// The seed's flow, told with this session's own data.
#[component]
fn FlowPanel(flow: FlowView, countdown: Signal<String>) -> impl IntoView {
    let rotated = match (flow.last_rotated_at.clone(), flow.last_rotated_ago.clone()) {
        (Some(at), Some(ago)) => view! {
            <span>
                {format!("{} time{}, last ", flow.rotations, if flow.rotations == 1 { "" } else { "s" })}
                <time datetime=at.clone() title=at>{ago}</time>
            </span>
        }
        .into_any(),
        _ => view! { <span>"not yet — it rotates the first time your access token is renewed"</span> }.into_any(),
    };
    view! {
        <section class="card flow" aria-labelledby="flow-heading">
            <h2 id="flow-heading">"How your sign-in works, live"</h2>
            <ol class="flow-steps">
                <li>
                    <strong>"Sign in."</strong>
                    " Your password was checked once; the server started this session and gave your browser two tokens."
                </li>
                <li>
                    <strong>"Access token"</strong>
                    " — sent with every request and checked every time. Issued "
                    <time datetime=flow.issued_at.clone()>{flow.issued_at.clone()}</time>
                    ", expires in " <span class="countdown-copy">{move || countdown.get()}</span> ". Its contents, decoded on the server:"
                    <dl class="claims">
                        {flow
                            .claims
                            .into_iter()
                            .map(|(k, v)| view! { <dt><code>{k}</code></dt><dd><code>{v}</code></dd> })
                            .collect_view()}
                    </dl>
                </li>
                <li>
                    <strong>"Refresh token"</strong>
                    " — never readable by this page. When the access token expires it is exchanged for a new pair, and is itself replaced (rotated): "
                    {rotated}
                    ". A replaced refresh token that shows up again signs this device out."
                </li>
                <li>
                    <strong>"Sign out"</strong>
                    " ends the session on the server: both tokens stop working at once."
                </li>
            </ol>
        </section>
    }
}

/// The account's security activity, newest first.
#[component]
fn ActivityPanel(events: Vec<SecurityEvent>) -> impl IntoView {
    let disown = refreshing_action::<DisownSignIn>();
    let error = move || disown.value().get().and_then(Result::err).map(|e| e.to_string());
    view! {
        <section class="card" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Security activity"</h2>
            <p class="form-error" role="alert">{error}</p>
            {if events.is_empty() {
                view! { <p class="empty">"Nothing yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="events">
                        {events
                            .into_iter()
                            .map(|e| {
                                let session = e.session_id.clone().unwrap_or_default();
                                view! {
                                    <li class="event" data-kind=e.kind.clone()>
                                        <span class="event-text">{e.text.clone()}</span>
                                        " "
                                        <time datetime=e.at.clone() title=e.at.clone()>{e.ago.clone()}</time>
                                        {e.can_disown.then(|| view! {
                                            <RefreshingForm action=disown class="inline">
                                                <input type="hidden" name="session_id" value=session.clone() />
                                                <button type="submit" class="link danger">"This wasn't me"</button>
                                            </RefreshingForm>
                                        })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}
