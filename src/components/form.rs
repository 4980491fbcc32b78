//! Forms whose calls survive an expired access token.
//!
//! Like Leptos's `ActionForm`: a plain `<form method=post>` to the server function's URL that
//! works without JavaScript, and, once hydrated, a call from the page. Unlike it, the call
//! goes through [`with_refresh`], so an access token that expired while the page sat open is
//! refreshed and the submission retried once — the person never notices; and a sensitive
//! call that needs a recent sign-in asks "Confirm it's you" and then goes on (`step_up`).

use crate::{components::step_up::{with_step_up, StepUp}, error::AppError};
use leptos::{
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
        match read_form::<S>(&ev) {
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

/// The submitted form's fields as `S`. Every field of our forms is text, so they go through
/// serde_json as an object of strings: the wasm has that parser anyway (for the server's
/// answers and the islands' props), where `FromFormData` would bring a query-string parser of
/// its own (about 13 kB of the bundle). A field left out (an unticked box, a code field the
/// form does not have) is missing from the object: an `Option` field reads `None`.
pub fn read_form<S: DeserializeOwned>(ev: &leptos::ev::SubmitEvent) -> Result<S, String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let form = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::HtmlFormElement>().ok())
            .ok_or_else(|| "no form".to_owned())?;
        let data = web_sys::FormData::new_with_form(&form).map_err(|_| "no form data".to_owned())?;
        let mut json = String::from("{");
        for entry in data.entries().into_iter().flatten() {
            let pair = js_sys::Array::from(&entry);
            let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else { continue };
            if json.len() > 1 {
                json.push(',');
            }
            push_json_string(&mut json, &name);
            json.push(':');
            push_json_string(&mut json, &value);
        }
        json.push('}');
        serde_json::from_str(&json).map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        Err("forms are read in the browser".to_owned())
    }
}

/// `text` as a JSON string literal.
#[cfg(feature = "hydrate")]
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
