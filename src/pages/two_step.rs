//! Two-step verification in the browser: `/login/code` (the second step of signing in, works
//! with JavaScript off) and the security page's "Two-step verification" section (set up with
//! a QR code, recovery codes, turn off).

use crate::{
    api::{
        auth::SecondFactor,
        two_step::{begin_totp, ConfirmTotp, RenewRecoveryCodes, TurnOffTotp},
    },
    components::{
        field::Field,
        form::{refreshing_action, RefreshingForm},
        layout::PublicHeader,
    },
    error::AppError,
    model::{TotpSetup, TwoStepStatus},
};
use leptos::prelude::*;
use crate::components::erase::Erase as _;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    // Forward-auth's return URL, carried from the sign-in page; followed only to an allowed host.
    let rd = query.read_untracked().get("rd").unwrap_or_default();
    view! {
        <Title text="Two-step verification — Gatehouse" />
        <PublicHeader />
        <main class="narrow" id="main">
            <h1>"Two-step verification"</h1>
            <p>"Enter the 6-digit code your authenticator app shows for Gatehouse."</p>
            <SecondFactorForm next rd />
        </main>
    }
}

/// The code (or a recovery code). `next`, `rd`: where to go afterwards (from the URL). A
/// plain form: a refusal comes back with the page.
#[component]
fn SecondFactorForm(next: String, rd: String) -> impl IntoView {
    let action = ServerAction::<SecondFactor>::new();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let expired = move || matches!(error.get(), Some(AppError::ChallengeExpired));
    view! {
        <RefreshingForm action=*action class="stack panel" attr:novalidate=true>
            <input type="hidden" name="next" value=next />
            <input type="hidden" name="rd" value=rd />
            // One of the two codes: neither field is required on its own (the server says what is missing).
            <Field label="Authentication code" name="code" autocomplete="one-time-code" error=Signal::derive(|| None::<String>) required=false />
            <details class="recovery">
                <summary>"Lost your phone? Use a recovery code"</summary>
                <Field label="Recovery code" name="recovery_code" autocomplete="off" error=Signal::derive(|| None::<String>) required=false hint="One of the ten codes you saved when you turned two-step verification on. Each works once." />
            </details>
            <p class="form-error" role="alert">{move || error.get().map(|e| e.to_string())}</p>
            {move || expired().then(|| view! { <p><a href="/login">"Sign in again"</a></p> })}
            <button type="submit" data-pending="Verifying…">"Verify"</button>
        </RefreshingForm>
    }
}

/// The security page's section: off (set up), pending (scan, then a code), or on. `initial`
/// comes with the page; the section keeps it current as the person acts (in the security
/// page's island).
#[component]
pub fn TwoStepSection(initial: TwoStepStatus) -> impl IntoView {
    let step_up = use_context::<crate::components::step_up::StepUp>();
    let setup = Action::new(move |_: &()| async move { crate::components::step_up::with_step_up(step_up, begin_totp).await });
    let confirm = refreshing_action::<ConfirmTotp>();
    let renew = refreshing_action::<RenewRecoveryCodes>();
    let turn_off = refreshing_action::<TurnOffTotp>();
    let status = RwSignal::new(initial);
    Effect::new(move |_| {
        if let Some(Ok(codes)) = confirm.value().get() {
            status.set(TwoStepStatus { enabled: true, recovery_codes_left: codes.len() as i64 });
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(codes)) = renew.value().get() {
            status.update(|s| s.recovery_codes_left = codes.len() as i64);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = turn_off.value().get() {
            status.set(TwoStepStatus { enabled: false, recovery_codes_left: 0 });
            setup.value().set(None);
        }
    });
    let codes = move || match (status.get().enabled, confirm.value().get(), renew.value().get()) {
        (true, _, Some(Ok(codes))) | (true, Some(Ok(codes)), None) => Some(codes),
        _ => None,
    };
    view! {
        <h2>"Two-step verification"</h2>
        {move || {
            let s = status.get();
            if s.enabled {
                view! {
                    <p class="notice" role="status">
                        {format!("Two-step verification is on. {} recovery code{} left.", s.recovery_codes_left, if s.recovery_codes_left == 1 { "" } else { "s" })}
                    </p>
                    <div class="actions">
                        <RefreshingForm action=renew class="inline">
                            <button type="submit" class="secondary">"Show new recovery codes"</button>
                        </RefreshingForm>
                        <RefreshingForm action=turn_off class="inline">
                            <button type="submit" class="danger">"Turn off"</button>
                        </RefreshingForm>
                    </div>
                }
                    .erase()
            } else {
                view! {
                    <p>"Sign in with your password and a code from an authenticator app on your phone, so a stolen password alone is not enough."</p>
                    {move || match setup.value().get() {
                        Some(Ok(pending)) => view! { <Enrol setup=pending confirm=confirm /> }.erase(),
                        other => view! {
                            <button type="button" on:click=move |_| { setup.dispatch(()); }>"Set up authenticator app"</button>
                            <p class="form-error" role="alert">{other.and_then(Result::err).map(|e| e.to_string())}</p>
                            <noscript><p>"Setting up two-step verification needs JavaScript."</p></noscript>
                        }
                            .erase(),
                    }}
                }
                    .erase()
            }
        }}
        {move || codes().map(|codes| view! {
            <section class="panel" aria-labelledby="recovery-codes">
                <h3 id="recovery-codes">"Recovery codes"</h3>
                <p>"If you lose your phone, each of these signs you in once. Save them somewhere safe now: they are not shown again."</p>
                <ul class="codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
            </section>
        })}
    }
}

/// The pending authenticator: the QR code, the key as text, and the first code.
#[component]
fn Enrol(setup: TotpSetup, confirm: Action<ConfirmTotp, Result<Vec<String>, AppError>>) -> impl IntoView {
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err).and_then(|e| e.field("code").or(Some(e.to_string()))));
    let pending = confirm.pending();
    view! {
        <ol class="steps">
            <li>"Scan this QR code with your authenticator app (Google Authenticator, 1Password, Aegis, …)."</li>
        </ol>
        <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=setup.qr_svg></div>
        <p>"Can't scan it? Enter this key instead: " <code class="totp-secret">{setup.secret}</code></p>
        <RefreshingForm action=confirm class="stack panel">
            <Field label="Authentication code" name="code" autocomplete="one-time-code" error=error hint="The 6-digit code your app now shows for Gatehouse." />
            <button type="submit" disabled=move || pending.get()>
                {move || if pending.get() { "Verifying…" } else { "Verify" }}
            </button>
        </RefreshingForm>
    }
}
