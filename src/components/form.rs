//! Forms whose calls survive an expired access token.
//!
//! Like Leptos's `ActionForm`: a plain `<form method=post>` to the server function's URL that
//! works without JavaScript, and, once hydrated, a call from the page. Unlike it, the call
//! goes through [`with_refresh`], so an access token that expired while the page sat open is
//! refreshed and the submission retried once — the person never notices; and a sensitive
//! call that needs a recent sign-in asks "Confirm it's you" and then goes on (`step_up`).

use crate::{components::step_up::{with_step_up, StepUp}, error::AppError};
use leptos::{
    form::FromFormData,
    prelude::*,
    server::ServerActionError,
    server_fn::{error::ServerFnUrlError, ServerFn},
};
use serde::de::DeserializeOwned;

/// An action for server function `S` that refreshes and retries once on an expired token.
/// After a no-JS submission that failed, it starts out holding that error (from the URL).
pub fn refreshing_action<S>() -> Action<S, Result<S::Output, AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let initial = use_context::<ServerActionError>()
        .and_then(|e| (e.path() == S::PATH).then(|| Err(ServerFnUrlError::<AppError>::decode_err(e.err()))));
    let step_up = use_context::<StepUp>();
    Action::new_with_value(initial, move |input: &S| {
        let input = input.clone();
        async move { with_step_up(step_up, || input.clone().run_on_client()).await }
    })
}

/// An action's latest error the way a form shows it: next to its field, or (an error that
/// belongs to no single field, like "the email is taken") above the button.
#[derive(Clone, Copy)]
pub struct FormErrors(Signal<Option<AppError>>);

impl FormErrors {
    pub fn of<T, V>(value: V) -> Self
    where
        V: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    {
        FormErrors(Signal::derive(move || value.get().and_then(Result::err)))
    }

    /// The message for one field, if the error names it.
    pub fn field(self, name: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || self.0.get().and_then(|e| e.field(name)))
    }

    /// The message for the form as a whole, if the error is not about fields.
    pub fn form(self) -> Option<String> {
        match self.0.get() {
            Some(AppError::InvalidInput { .. }) | None => None,
            Some(other) => Some(other.to_string()),
        }
    }
}

/// The form. Also for a plain `ServerAction` (`action=*server_action`): it is the same kind
/// of action. Its children keep their type (`TypedChildren`, not `Children`): a type-erased
/// child view would bring its asynchronous hydration into the wasm (see `erase`).
#[component]
pub fn RefreshingForm<S, C>(
    action: Action<S, Result<S::Output, AppError>>,
    #[prop(optional)] class: &'static str,
    children: TypedChildren<C>,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + DeserializeOwned + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    C: IntoView + 'static,
{
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        if ev.default_prevented() {
            return;
        }
        ev.prevent_default();
        match S::from_event(&ev) {
            Ok(input) => {
                action.dispatch(input);
            }
            Err(err) => {
                action.value().set(Some(Err(AppError::BadRequest(format!("The form could not be read: {err}")))));
            }
        }
    };
    view! {
        <form action=S::url() method="post" class=(!class.is_empty()).then_some(class) on:submit=on_submit>
            {children.into_inner()()}
        </form>
    }
}

/// What the page's last action said, shared by the page's islands: each form is an island of
/// its own, and the page has one status line (`StatusLine`). Provided at the root in the
/// browser (`hydrate()`); on the server there is none and the line shows what the URL says.
#[derive(Clone, Copy)]
pub struct PageStatus(RwSignal<Option<String>>);

impl PageStatus {
    pub fn provide() {
        provide_context(PageStatus(RwSignal::new(None)));
    }
}

/// The page's status line: what the last action said, else `initial` (what `?done=` says,
/// after a page load).
#[island]
pub fn StatusLine(initial: Option<String>) -> impl IntoView {
    let said = use_context::<PageStatus>();
    view! { <p class="status" role="status">{move || said.and_then(|s| s.0.get()).or_else(|| initial.clone())}</p> }
}

/// For a form whose success changes what the server renders (a list, an account's state):
/// once `action` succeeds the page loads again, as the server now has it, with `?done=` (from
/// `done`) saying what happened — the same page a form sent without JavaScript comes back to.
/// A refusal goes to the status line; a refused "Confirm it's you" says nothing (the panel
/// was the answer) unless `quiet_reauth` is false.
pub fn reload_when_done<S, O>(action: Action<S, Result<O, AppError>>, quiet_reauth: bool, done: impl Fn(&O) -> String + 'static)
where
    S: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    say_refusals(action, quiet_reauth);
    Effect::new(move |_| {
        if let Some(Ok(out)) = action.value().get() {
            reload_with_done(&done(&out));
        }
    });
}

/// An action's refusal, on the page's status line (see `reload_when_done`).
pub fn say_refusals<S, O>(action: Action<S, Result<O, AppError>>, quiet_reauth: bool)
where
    S: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let status = use_context::<PageStatus>();
    Effect::new(move |_| match action.value().get() {
        Some(Err(AppError::ReauthenticationRequired { .. })) if quiet_reauth => {}
        Some(Err(e)) => {
            if let Some(status) = status {
                status.0.set(Some(e.to_string()));
            }
        }
        _ => {}
    });
}

/// This page again with `?done=<done>` (its other query parameters kept, a no-JavaScript
/// error's dropped).
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn reload_with_done(done: &str) {
    #[cfg(feature = "hydrate")]
    {
        let location = window().location();
        if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&location.search().unwrap_or_default()) {
            params.delete("__err");
            params.delete("__path");
            params.set("done", done);
            let _ = location.set_search(&String::from(params.to_string()));
        }
    }
}
