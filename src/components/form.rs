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
