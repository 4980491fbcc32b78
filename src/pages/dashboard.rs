//! `/dashboard`: who is signed in, this session, and the access token's remaining life.

use crate::{
    api::{dashboard::{get_dashboard, check_session}, go_to_login, with_refresh},
    components::layout::SignedInHeader,
    model::Dashboard,
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
                    Err(e) => {
                        if e.session_ended() || e.wants_refresh() {
                            go_to_login(e.session_ended());
                        }
                        view! {
                            <main class="narrow">
                                <h1>"Dashboard"</h1>
                                <p class="form-error" role="alert">{e.to_string()}</p>
                                <p><a href="/login?next=/dashboard">"Sign in"</a></p>
                            </main>
                        }
                            .into_any()
                    }
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
        </main>
    }
}

