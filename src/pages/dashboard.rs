//! `/dashboard`: who is signed in, this session, and the access token's remaining life.

use crate::{
    api::{dashboard::{check_session, get_dashboard}, devices::DisownSignIn, with_refresh},
    components::{
        layout::{LoadError, SignedInHeader},
        time::When,
    },
    model::{FlowView, Moment, SecurityEvent},
    time::{exact, exact_secs, relative},
};
use leptos::{prelude::*, server_fn::ServerFn as _};
use crate::components::erase::Erase as _;
use leptos_meta::Title;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| async move { with_refresh(get_dashboard).await });
    view! {
        <Title text="Dashboard — Gatehouse" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        // The session card is an island and gets only what it shows; how the
                        // sign-in works and the activity are the server's.
                        let session = Session {
                            display_name: d.user.display_name.clone(),
                            access_expires_at: d.access_expires_at.clone(),
                            access_expires_unix: d.access_expires_unix,
                            rotations: d.rotations,
                            server_now_unix: d.server_now_unix,
                            signed_in: d.signed_in.clone(),
                            rotated: d.rotated.clone(),
                        };
                        view! {
                            <SignedInHeader display_name=d.user.display_name.clone() unverified_email=d.user.unverified_email() />
                            <main id="main">
                                <DashboardView data=session />
                                <FlowPanel flow=d.flow expires=d.access_expires_unix now=d.server_now_unix />
                                <ActivityPanel events=d.events />
                            </main>
                        }
                            .erase()
                    }
                    Err(e) => view! { <LoadError error=e heading="Dashboard" /> }.erase(),
                }
            })}
        </Suspense>
    }
}

/// What the session card shows: the island's props.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Session {
    display_name: String,
    access_expires_at: String,
    access_expires_unix: i64,
    rotations: i64,
    server_now_unix: i64,
    signed_in: Moment,
    rotated: Vec<Moment>,
}

/// The access token's expiry as the page now knows it, shared by the dashboard's islands: a
/// "Check my session" that refreshed the tokens moves it, and the flow's countdown follows.
/// Provided at the root in the browser (`hydrate()`).
#[derive(Clone, Copy)]
pub struct AccessExpiry(RwSignal<Option<i64>>);

impl AccessExpiry {
    pub fn provide() {
        provide_context(AccessExpiry(RwSignal::new(None)));
    }
}

/// "4:59 left", or expired, for `left` seconds.
fn countdown_text(left: i64) -> String {
    if left <= 0 {
        "expired — it will be refreshed on your next action".to_string()
    } else {
        format!("{}:{:02} left", left / 60, left % 60)
    }
}

/// A clock ticking each second in the browser from the server's `start` (so the first render
/// matches the server's).
fn ticking(start: i64) -> RwSignal<i64> {
    let now = RwSignal::new(start);
    #[cfg(feature = "hydrate")]
    {
        let tick = move || now.set((js_sys::Date::now() / 1000.0) as i64);
        Effect::new(move |_| tick());
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    }
    now
}

/// The session card: an island (the countdown ticks, "Check my session" and the timeline it
/// grows), given what it shows by the server.
#[island]
fn DashboardView(data: Session) -> impl IntoView {
    let expires = RwSignal::new(data.access_expires_unix);
    let expires_text = RwSignal::new(data.access_expires_at.clone());
    let rotations = RwSignal::new(data.rotations);
    let rotated = RwSignal::new(data.rotated.clone());
    let now = ticking(data.server_now_unix);
    let countdown = move || countdown_text(expires.get() - now.get());
    let shared = use_context::<AccessExpiry>();
    let check = Action::new_local(|_: &()| async move { with_refresh(check_session).await });
    // A check that needed a transparent refresh comes back with a new token and one more
    // rotation: the timeline grows a step and the countdown follows the new token.
    Effect::new(move |_| {
        if let Some(Ok(status)) = check.value().get() {
            expires.set(status.access_expires_unix);
            if let Some(shared) = shared {
                shared.0.set(Some(status.access_expires_unix));
            }
            expires_text.set(status.access_expires_at.clone());
            if status.rotations > rotations.get_untracked() {
                if let Some(m) = status.last_rotated.clone() {
                    rotated.update(|list| {
                        if list.last() != Some(&m) {
                            list.push(m);
                        }
                    });
                }
                rotations.set(status.rotations);
            }
        }
    });
    let check_result = move || {
        check.value().get().map(|r| match r {
            Ok(s) => format!("Your session is active. Access token valid until {}.", exact_secs(&s.access_expires_at)),
            Err(e) => e.to_string(),
        })
    };
    let name = data.display_name.clone();
    let signed_in = data.signed_in.clone();
    let earlier = move || (rotations.get() - rotated.with(|r| r.len() as i64)).max(0);
    view! {
            <h1>"Dashboard"</h1>
            <p class="lead">"Welcome, " <span class="display-name">{name}</span> "."</p>
            <section class="card" aria-labelledby="this-session">
                <h2 id="this-session">"This session"</h2>
                <ol class="timeline" aria-label="This session so far">
                    <li class="tl-step">
                        <p class="tl-title">"Signed in"</p>
                        <p class="tl-when">
                            <time datetime=signed_in.at.clone()>{move || relative(signed_in.unix, now.get())}</time>
                            <span class="exact">{exact(&signed_in.at)}</span>
                        </p>
                    </li>
                    {move || {
                        let n = earlier();
                        (n > 0).then(|| view! {
                            <li class="tl-step tl-gap">
                                <p class="tl-detail">{format!("{n} earlier refresh{}", if n == 1 { "" } else { "es" })}</p>
                            </li>
                        })
                    }}
                    {move || {
                        rotated
                            .get()
                            .into_iter()
                            .map(|m| view! {
                                <li class="tl-step tl-rotation">
                                    <p class="tl-title">"Tokens refreshed"</p>
                                    <p class="tl-detail">"New access token; the refresh token was rotated."</p>
                                    <p class="tl-when">
                                        <time datetime=m.at.clone()>{move || relative(m.unix, now.get())}</time>
                                        <span class="exact">{exact(&m.at)}</span>
                                    </p>
                                </li>
                            })
                            .collect_view()
                    }}
                    <li class="tl-step tl-now">
                        <p class="tl-title">"Now"</p>
                        <p class="tl-detail">
                            <span>"Access token expires"</span>
                            " "
                            <time data-testid="access-expiry" datetime=move || expires_text.get()>{move || exact_secs(&expires_text.get())}</time>
                            " (" <span class="countdown">{countdown}</span> ")"
                        </p>
                        <p class="tl-detail">
                            {move || match rotations.get() {
                                0 => "Refresh token not rotated yet.".to_string(),
                                1 => "Refresh token rotated once.".to_string(),
                                n => format!("Refresh token rotated {n} times."),
                            }}
                        </p>
                    </li>
                </ol>
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
    }
    .erase()
}

/// The flow's countdown (an island): the access token's time left, following the session
/// card's "Check my session" (`AccessExpiry`). `expires`, `now`: as the server rendered.
#[island]
fn Countdown(expires: i64, now: i64) -> impl IntoView {
    let now = ticking(now);
    let shared = use_context::<AccessExpiry>();
    let expires = move || shared.and_then(|shared| shared.0.get()).unwrap_or(expires);
    view! { <span class="countdown-copy">{move || countdown_text(expires() - now.get())}</span> }
}

/// The seed's flow, told with this session's own data (the server's; the countdown is an
/// island).
#[component]
fn FlowPanel(flow: FlowView, expires: i64, now: i64) -> impl IntoView {
    let rotated = match (flow.last_rotated_at.clone(), flow.last_rotated_ago.clone()) {
        (Some(at), Some(ago)) => view! {
            <span>
                {format!("{} time{}, last ", flow.rotations, if flow.rotations == 1 { "" } else { "s" })}
                <When at=at ago=ago />
            </span>
        }
        .erase(),
        _ => view! { <span>"not yet — it rotates the first time your access token is renewed"</span> }.erase(),
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
                    <time datetime=flow.issued_at.clone()>{exact_secs(&flow.issued_at)}</time>
                    "; " <Countdown expires now /> ". Its contents, decoded on the server:"
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

/// The account's security activity, newest first (all the server's).
#[component]
fn ActivityPanel(events: Vec<SecurityEvent>) -> impl IntoView {
    // A refused "This wasn't me" comes back in the URL.
    let error = ServerAction::<DisownSignIn>::new().value().get_untracked().and_then(Result::err).map(|e| e.to_string());
    view! {
        <section class="card" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Security activity"</h2>
            <p class="form-error" role="alert">{error}</p>
            {if events.is_empty() {
                view! { <p class="empty">"Nothing yet. Sign-ins, password changes and devices signed out will be listed here."</p> }.erase()
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
                                        <When at=e.at.clone() ago=e.ago.clone() />
                                        {e.can_disown.then(|| view! { <Disown session /> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .erase()
            }}
        </section>
    }
}

/// "This wasn't me": a plain form, JavaScript or not (the server answers with the security
/// page; a refusal comes back in the URL, said above the list).
#[component]
fn Disown(session: String) -> impl IntoView {
    view! {
        <form action=DisownSignIn::url() method="post" class="inline">
            <input type="hidden" name="session_id" value=session />
            <button type="submit" class="link danger" data-pending="Signing it out…">"This wasn't me"</button>
        </form>
    }
}
