//! The server's own forms, made better once the browser runs the page's script.
//!
//! Most forms are plain `<form method=post>`s rendered by the server and sent by the browser,
//! JavaScript or not (sign in, register, sign out, the devices and operator actions...). With
//! JavaScript, one listener on the document ([`enhance`]) adds what a page of islands would:
//! - **inline checks**: a required field left empty gets its message in place (the field's
//!   `data-missing`, where the server's message would go) and the form is not sent; the
//!   message goes as soon as the field is typed in. Everything else is the server's to say;
//! - **a pending state**: the button says what is happening ("Signing in…", from its
//!   `data-pending`) and is disabled until the next page arrives; a second press is ignored;
//! - on signed-in pages, **fresh tokens**: a form sent after the access token's life would be
//!   refused as expired, so the tokens are refreshed first (as `with_refresh` does for the
//!   islands' own calls) and the form then goes;
//! - on signed-in pages, **step-up**: a form marked `data-step-up` (an action that needs a
//!   recent sign-in) asks the server first; when it is too long ago, "Confirm it's you" opens,
//!   and once confirmed the form goes on by itself. Cancelled, the button is back as it was;
//! - **nothing typed is lost**: a form the server refuses comes back as the page again, its
//!   message in place (`?__path=…&__err=…`); what was typed in its text fields (never a
//!   password) is kept for that moment in the tab's sessionStorage and put back.
//!
//! Forms inside an island are the island's own (`RefreshingForm`): left alone here.

use crate::components::step_up::StepUp;

/// What a signed-in page adds: `left`, the seconds its access token had to live when the page
/// was rendered, and the page's "Confirm it's you".
#[derive(Clone, Copy)]
pub struct SignedIn {
    pub left: i64,
    pub step_up: Option<StepUp>,
}

/// Listens for the page's plain forms being sent (once per page: call it from one island).
pub fn enhance(signed_in: Option<SignedIn>) {
    #[cfg(feature = "hydrate")]
    browser::listen(signed_in);
    #[cfg(not(feature = "hydrate"))]
    let _ = signed_in;
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::SignedIn;
    use crate::{
        api::{auth::refresh_session, go_to_login, security::recent_sign_in},
        components::step_up::with_step_up,
        error::AppError,
    };
    use leptos::prelude::*;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{Element, HtmlFormElement, HtmlInputElement, SubmitEvent};

    /// The nodes of `list` that are `T`s (a query's answer as elements).
    fn all<T: JsCast>(list: Result<web_sys::NodeList, wasm_bindgen::JsValue>) -> impl Iterator<Item = T> {
        let list = list.ok();
        let len = list.as_ref().map_or(0, |l| l.length());
        (0..len).filter_map(move |i| list.as_ref()?.item(i)).filter_map(|node| node.dyn_into().ok())
    }

    pub fn listen(signed_in: Option<SignedIn>) {
        put_back();
        // A little early: the form still has to travel.
        let stale_at = signed_in.map(|s| js_sys::Date::now() + (s.left - 2) as f64 * 1000.0);
        let on_submit = Closure::<dyn FnMut(SubmitEvent)>::new(move |ev: SubmitEvent| {
            let Some(form) = ev.target().and_then(|target| target.dyn_into::<HtmlFormElement>().ok()) else { return };
            if !form.method().eq_ignore_ascii_case("post") || form.closest("leptos-island").ok().flatten().is_some() {
                return;
            }
            if form.has_attribute("aria-busy") {
                // On its way already.
                ev.prevent_default();
                return;
            }
            if ev.default_prevented() {
                return;
            }
            if !filled_in(&form) {
                ev.prevent_default();
                return;
            }
            busy(&form, true);
            keep(&form);
            let Some(SignedIn { step_up, .. }) = signed_in else { return };
            let asks = form.has_attribute("data-step-up");
            // Calls under /auth (sign out, everywhere) take the refresh cookie themselves.
            let stale = stale_at.is_some_and(|at| js_sys::Date::now() >= at) && !form.action().contains("/auth/");
            if !asks && !stale {
                return;
            }
            ev.prevent_default();
            leptos::task::spawn_local(async move {
                let ready = if asks { with_step_up(step_up, recent_sign_in).await } else { refresh_session().await };
                match ready {
                    Err(e) if e.session_ended() => go_to_login(true),
                    // Not confirmed: nothing was sent.
                    Err(AppError::ReauthenticationRequired { .. }) => busy(&form, false),
                    // Ready (or not, for a passing reason: the server's answer then says so).
                    _ => {
                        let _ = form.submit();
                    }
                }
            });
        });
        let _ = document().add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        on_submit.forget();
        // Typing in a field takes its "Enter your …" away.
        let on_input = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
            if let Some(input) = ev.target().and_then(|target| target.dyn_into::<HtmlInputElement>().ok()) {
                if input.has_attribute("data-missing-shown") {
                    let _ = input.remove_attribute("data-missing-shown");
                    let _ = input.remove_attribute("aria-invalid");
                    if let Some(slot) = document().get_element_by_id(&format!("{}-error", input.id())) {
                        slot.set_text_content(None);
                    }
                }
            }
        });
        let _ = document().add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref());
        on_input.forget();
        // A page brought back by the browser's Back button shows its forms ready again.
        let on_show = Closure::<dyn FnMut(web_sys::PageTransitionEvent)>::new(|ev: web_sys::PageTransitionEvent| {
            if !ev.persisted() {
                return;
            }
            for form in all::<HtmlFormElement>(document().query_selector_all("form[aria-busy]")) {
                busy(&form, false);
            }
        });
        let _ = window().add_event_listener_with_callback("pageshow", on_show.as_ref().unchecked_ref());
        on_show.forget();
    }

    /// Whether every required field of `form` is filled in. Each one that is not gets its
    /// `data-missing` message in its error slot (`Field`'s `<id>-error`, announced as an
    /// alert), and the first of them the focus.
    fn filled_in(form: &HtmlFormElement) -> bool {
        let mut first: Option<HtmlInputElement> = None;
        for input in all::<HtmlInputElement>(form.query_selector_all("input[required][data-missing]")) {
            // A password is what it is, spaces too; other text is trimmed by the server.
            let value = input.value();
            let empty = if input.type_() == "password" { value.is_empty() } else { value.trim().is_empty() };
            if input.disabled() || !empty {
                continue;
            }
            let error_id = format!("{}-error", input.id());
            if let Some(slot) = document().get_element_by_id(&error_id) {
                slot.set_text_content(input.get_attribute("data-missing").as_deref());
            }
            let _ = input.set_attribute("aria-invalid", "true");
            let _ = input.set_attribute("data-missing-shown", "");
            let described = input.get_attribute("aria-describedby").unwrap_or_default();
            if !described.split(' ').any(|id| id == error_id) {
                let joined = if described.is_empty() { error_id.clone() } else { format!("{described} {error_id}") };
                let _ = input.set_attribute("aria-describedby", &joined);
            }
            first.get_or_insert(input);
        }
        match first {
            Some(input) => {
                let _ = input.focus();
                false
            }
            None => true,
        }
    }

    /// Where a sent form's typed text waits for the answer, for this tab only.
    const KEPT: &str = "gatehouse.sent-form";

    /// The fields of `form` as `(name, value, kind)`: what names the form (hidden fields, by
    /// which one of a page's forms to the same address is told from another), and what a
    /// person typed (text and email fields; a password never leaves the field).
    fn fields(form: &HtmlFormElement) -> Vec<(String, String, &'static str)> {
        all::<HtmlInputElement>(form.query_selector_all("input[name]"))
            .filter_map(|input| {
                let kind = match input.type_().as_str() {
                    "hidden" => "hidden",
                    "text" | "email" | "search" | "tel" | "url" => "typed",
                    _ => return None,
                };
                Some((input.name(), input.value(), kind))
            })
            .collect()
    }

    /// Keeps what was typed in `form` until the next page (`put_back`).
    fn keep(form: &HtmlFormElement) {
        let Some(storage) = window().session_storage().ok().flatten() else { return };
        let action = web_sys::Url::new(&form.action()).map(|url| url.pathname()).unwrap_or_default();
        let kept = (action, fields(form));
        if let Ok(json) = serde_json::to_string(&kept) {
            let _ = storage.set_item(KEPT, &json);
        }
    }

    /// After a refusal (the page came back with `__path`): fills the refused form's text fields with
    /// what was typed, unless the page filled them itself. What was kept is gone either way.
    fn put_back() {
        let Some(storage) = window().session_storage().ok().flatten() else { return };
        let Some(json) = storage.get_item(KEPT).ok().flatten() else { return };
        let _ = storage.remove_item(KEPT);
        let Ok((action, kept)) = serde_json::from_str::<(String, Vec<(String, String, String)>)>(&json) else { return };
        // The refusal `hydrate()` read from the URL.
        let refused = use_context::<leptos::server::ServerActionError>();
        if refused.as_ref().map(|e| e.path()) != Some(action.as_str()) {
            return;
        }
        for form in all::<HtmlFormElement>(document().query_selector_all("form[method=post]")) {
            let same_action = web_sys::Url::new(&form.action()).is_ok_and(|url| url.pathname() == action);
            let now = fields(&form);
            let same_form = kept.iter().filter(|(_, _, kind)| kind == "hidden").all(|(name, value, _)| {
                now.iter().any(|(n, v, kind)| *kind == "hidden" && n == name && v == value)
            });
            if !same_action || !same_form {
                continue;
            }
            for (name, value, _) in kept.iter().filter(|(_, _, kind)| kind == "typed") {
                let selector = format!("input[name=\"{}\"]", name.replace(['"', '\\'], ""));
                if let Some(input) = form.query_selector(&selector).ok().flatten().and_then(|el| el.dyn_into::<HtmlInputElement>().ok()) {
                    if input.value().is_empty() {
                        input.set_value(value);
                    }
                }
            }
            return;
        }
    }

    /// Marks `form` as on its way (its buttons say their `data-pending` and are disabled), or
    /// ready again. The buttons are disabled a moment later: a button disabled while its form
    /// is being sent would drop its own name and value from what is sent.
    fn busy(form: &HtmlFormElement, on: bool) {
        let buttons: Vec<Element> = all(form.query_selector_all("button[type=submit]")).collect();
        if on {
            let _ = form.set_attribute("aria-busy", "true");
            for button in &buttons {
                if let Some(pending) = button.get_attribute("data-pending") {
                    let _ = button.set_attribute("data-label", &button.inner_html());
                    button.set_text_content(Some(&pending));
                }
            }
            set_timeout(
                move || {
                    for button in &buttons {
                        let _ = button.set_attribute("disabled", "");
                    }
                },
                std::time::Duration::ZERO,
            );
        } else {
            let _ = form.remove_attribute("aria-busy");
            for button in &buttons {
                // The server's own markup, as it was.
                if let Some(label) = button.get_attribute("data-label") {
                    button.set_inner_html(&label);
                    let _ = button.remove_attribute("data-label");
                }
                let _ = button.remove_attribute("disabled");
            }
        }
    }
}
