//! A labelled input with its error shown in place and announced to screen readers.
//!
//! Password fields get two enhancements once the page is hydrated: a show/hide toggle and,
//! where asked for, a strength meter. Without JavaScript neither is shown and the field is a
//! plain password field; the server applies the same strength minimum either way.

use crate::api::strength::PasswordStrength;
use leptos::server_fn::ServerFn as _;
use leptos::{oco::Oco, prelude::*};

/// The texts are `Oco`s: literals where a page writes them, owned strings where they arrive
/// as an island's props (`PasswordField`).
#[component]
pub fn Field(
    /// The visible label, also the input's accessible name.
    #[prop(into)]
    label: Oco<'static, str>,
    /// The form field name sent to the server.
    #[prop(into)]
    name: Oco<'static, str>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] autocomplete: Oco<'static, str>,
    /// The server's message for this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    #[prop(optional, into)] hint: Oco<'static, str>,
    /// Show a strength meter under a new password.
    #[prop(optional)]
    meter: bool,
    /// The form needs it filled in (false where one of several fields will do).
    #[prop(default = true)]
    required: bool,
    /// What to say when the field is left empty (checked in the browser before a plain form
    /// is sent, see `plain_forms`); by default "Enter your <label>".
    #[prop(optional, into)]
    missing: Oco<'static, str>,
) -> impl IntoView {
    let missing = if !missing.is_empty() {
        missing
    } else if kind == "email" {
        Oco::Borrowed("Enter your email address")
    } else {
        Oco::Owned(format!("Enter your {}", label.to_ascii_lowercase()))
    };
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let meter_id = format!("{id}-strength");
    let password = kind == "password";
    let has_hint = !hint.is_empty();
    // False on the server and during hydration, true once the browser has taken over: the
    // enhancements appear only when they can work.
    let enhanced = RwSignal::new(false);
    if password {
        Effect::new(move |_| enhanced.set(true));
    }
    let shown = RwSignal::new(false);
    // The server scores the password (see `api::strength`), a quarter second after typing
    // stops; an answer for an older value is ignored.
    let value = RwSignal::new(String::new());
    let ask = Action::new_local(|pw: &String| {
        let pw = pw.clone();
        async move { (pw.clone(), PasswordStrength { password: pw }.run_on_client().await.ok()) }
    });
    let estimate = Memo::new(move |_| {
        let current = value.get();
        match ask.value().get() {
            Some((scored, Some(s))) if !current.is_empty() && scored == current => Some(s),
            _ => None,
        }
    });
    let typed = move |v: String| {
        value.set(v.clone());
        if v.is_empty() {
            return;
        }
        set_timeout(
            move || {
                if value.get_untracked() == v {
                    ask.dispatch(v.clone());
                }
            },
            std::time::Duration::from_millis(250),
        );
    };
    let described = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        let meter_id = meter_id.clone();
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if meter && enhanced.get() {
                ids.push(meter_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let input_type = move || if password && shown.get() { "text" } else { kind };
    let toggle = password.then(|| {
        view! {
            <button
                type="button"
                class="reveal"
                hidden=move || !enhanced.get()
                aria-controls=id.clone()
                aria-pressed=move || if shown.get() { "true" } else { "false" }
                on:click=move |_| shown.update(|s| *s = !*s)
            >
                {move || if shown.get() { "Hide" } else { "Show" }}
                <span class="visually-hidden">" " {label.to_ascii_lowercase()}</span>
            </button>
        }
    });
    let meter_view = meter.then(|| {
        let score = move || estimate.get().map(|s| s.score.to_string());
        let text = move || match estimate.get() {
            None => String::new(),
            Some(s) => {
                let verdict = if s.acceptable() { "" } else { " — too easy to guess" };
                let label = s.label();
                match s.advice {
                    Some(a) => format!("Strength: {label}{verdict}. {a}"),
                    None => format!("Strength: {label}{verdict}."),
                }
            }
        };
        view! {
            <div class="strength" hidden=move || !enhanced.get() data-score=score>
                <div class="strength-bar" aria-hidden="true">
                    <span></span>
                    <span></span>
                    <span></span>
                    <span></span>
                </div>
                <p class="strength-text" id=meter_id.clone() aria-live="polite">{text}</p>
            </div>
        }
    });
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <div class=if password { "input-row" } else { "input-row plain" }>
                <input
                    id=id.clone()
                    name=name
                    type=input_type
                    autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                    required=required
                    data-missing=required.then_some(missing)
                    spellcheck=password.then_some("false")
                    aria-invalid=move || error.get().is_some().then_some("true")
                    aria-describedby=described
                    on:input=move |ev| {
                        if meter {
                            typed(event_target_value(&ev));
                        }
                    }
                />
                {toggle}
            </div>
            {has_hint.then(|| view! { <p class="hint" id=hint_id.clone()>{hint}</p> })}
            {meter_view}
            <p class="field-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}

/// A password field in a form that is the server's (no island around it): the show/hide
/// toggle and the strength meter need the browser, so the field is an island of its own.
/// Inside an island, use `Field` (an island does not nest in another here).
#[island]
pub fn PasswordField(
    label: String,
    name: String,
    autocomplete: String,
    error: Option<String>,
    hint: String,
    meter: bool,
) -> impl IntoView {
    view! {
        <Field
            label=label
            name=name
            kind="password"
            autocomplete=autocomplete
            error=Signal::stored(error)
            hint=hint
            meter=meter
        />
    }
}
