//! "Confirm it's you" (step-up) in the browser.
//!
//! A sensitive action whose session last proved who this is too long ago answers
//! `reauthentication_required`. [`with_step_up`] then opens the [`ConfirmItsYou`] panel (in
//! the frame of every signed-in page), waits for the person to confirm — password, plus a
//! code when two-step verification is on, or one of their passkeys — and runs the same call again: they carry on with
//! what they asked for without typing it again. Cancelling leaves the error in place.
//!
//! Without JavaScript the failed form comes back with the error in the URL; the panel then
//! shows itself as a plain form that confirms and returns to this page, where the person
//! sends their form again.

use crate::{
    api::{security::Reauthenticate, with_refresh},
    components::field::Field,
    error::AppError,
};
use futures_channel::oneshot;
use leptos::{
    prelude::*,
    server::ServerActionError,
    server_fn::{error::ServerFnUrlError, ServerFn},
};
use crate::components::erase::Erase as _;
use std::future::Future;

/// The open question "is it you?", shared by the page's actions and the panel.
#[derive(Clone, Copy)]
pub struct StepUp {
    /// `Some(two_step)` while the panel is open.
    asking: RwSignal<Option<bool>>,
    /// The account has a passkey, which confirms too.
    passkey: RwSignal<bool>,
    waiter: StoredValue<Option<oneshot::Sender<bool>>>,
}

impl StepUp {
    /// Makes the question available: on the server to the whole app (in `App`), in the
    /// browser to every island of the page (at the root, in `hydrate()`).
    pub fn provide() {
        provide_context(StepUp { asking: RwSignal::new(None), passkey: RwSignal::new(false), waiter: StoredValue::new(None) });
    }

    /// Opens the panel and waits: true once the person confirmed, false if they cancelled
    /// (or another question replaced this one).
    pub async fn ask(self, two_step: bool, passkey: bool) -> bool {
        let (answer, wait) = oneshot::channel();
        self.waiter.set_value(Some(answer));
        self.passkey.set(passkey);
        self.asking.set(Some(two_step));
        wait.await.unwrap_or(false)
    }

    fn finish(self, confirmed: bool) {
        self.asking.set(None);
        if let Some(answer) = self.waiter.try_update_value(Option::take).flatten() {
            let _ = answer.send(confirmed);
        }
    }
}

/// Runs `call` (refreshing an expired token, see `with_refresh`); when it answers
/// `reauthentication_required`, asks "Confirm it's you" and, once confirmed, runs it again.
pub async fn with_step_up<T, F, Fut>(step_up: Option<StepUp>, call: F) -> Result<T, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let first = with_refresh(&call).await;
    match (first, step_up) {
        (Err(AppError::ReauthenticationRequired { two_step, passkey }), Some(step_up)) if cfg!(feature = "hydrate") => {
            if step_up.ask(two_step, passkey).await {
                with_refresh(&call).await
            } else {
                Err(AppError::ReauthenticationRequired { two_step, passkey })
            }
        }
        (other, _) => other,
    }
}

/// The panel: shown while a question is open. In the frame of every signed-in page (its
/// island, `layout::FrameLive`); the page's other islands ask through the shared [`StepUp`].
/// `here`: this page's path, where the no-JavaScript form comes back to.
#[component]
pub fn ConfirmItsYou(here: String) -> impl IntoView {
    let Some(step_up) = use_context::<StepUp>() else { return ().erase() };
    // A form sent without JavaScript that was refused for want of a recent sign-in.
    if let Some(e) = use_context::<ServerActionError>() {
        if let AppError::ReauthenticationRequired { two_step, .. } = ServerFnUrlError::<AppError>::decode_err(e.err()) {
            step_up.asking.set(Some(two_step));
        }
    }
    // One action for both ways of confirming: the password (and code), or `None` for "Use a
    // passkey" (options, the browser's assertion, then the confirmation).
    let confirm = Action::new_local(|input: &Option<Reauthenticate>| {
        let input = input.clone();
        async move {
            use crate::components::passkey::{run, Ceremony};
            match input {
                Some(input) => with_refresh(|| input.clone().run_on_client()).await,
                None => with_refresh(|| run(Ceremony::Confirm, String::new())).await.map(drop),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = confirm.value().get() {
            confirm.value().set(None);
            step_up.finish(true);
        }
    });
    // The account has a passkey (the server said so); a browser that cannot use it says so
    // when the button is pressed.
    let passkeys = move || step_up.passkey.get();
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    let field = move |name: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(name)));
    let form_error = move || error.get().filter(|e| !matches!(e, AppError::InvalidInput { .. })).map(|e| e.to_string());
    let pending = confirm.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Ok(input) = crate::components::form::read_form::<Reauthenticate>(&ev) {
            confirm.dispatch(Some(input));
        }
    };
    view! {
        {move || step_up.asking.get().map(|two_step| view! {
            <section class="step-up panel" role="dialog" aria-labelledby="step-up-heading">
                <h2 id="step-up-heading">"Confirm it's you"</h2>
                <p>"This change needs you to prove it's you again."</p>
                <form action=Reauthenticate::url() method="post" class="stack" on:submit=on_submit>
                    <input type="hidden" name="next" value=here.clone() />
                    <Field label="Your password" name="confirm_password" kind="password" autocomplete="current-password" error=field("password") />
                    {two_step.then(|| view! {
                        <Field label="Code from your app" name="confirm_code" autocomplete="one-time-code" error=field("code") />
                    }.erase())}
                    <p class="form-error" role="alert">{form_error}</p>
                    <div class="actions">
                        <button type="submit" disabled=move || pending.get()>
                            {move || if pending.get() { "Confirming…" } else { "Confirm it's you" }}
                        </button>
                        <button type="button" class="secondary" hidden=move || !passkeys() disabled=move || pending.get() on:click=move |_| {
                            confirm.dispatch(None);
                        }>"Use a passkey"</button>
                        <button type="button" class="secondary" on:click=move |_| step_up.finish(false)>"Cancel"</button>
                    </div>
                </form>
            </section>
        }.erase())}
    }
    .erase()
}
