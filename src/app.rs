//! The shell, the `<App/>` and its routes (server only in islands mode; `Hydrated` is an island).

use crate::pages::{
    admin::{AdminAuditPage, AdminPage, AdminUserPage},
    dashboard::DashboardPage, devices::DevicesPage, email::{ConfirmEmailPage, VerifyEmailPage}, home::HomePage,
    login::LoginPage, not_found::NotFound, not_me::NotMePage,
    recovery::{ForgotPasswordPage, ResetPasswordPage}, register::RegisterPage, security::SecurityPage,
    two_step::SecondFactorPage,
};
use crate::components::erase::page;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The hydration script carries this response's nonce; the policy allows only it.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    {
        let forward_hosts = use_context::<crate::server::state::AppState>()
            .map(|state| state.forward.form_action_sources.clone())
            .unwrap_or_default();
        let csp = crate::csp::page(nonce.as_inner(), &forward_hosts);
        if let Ok(value) = axum::http::HeaderValue::from_str(&csp) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                // Passkeys' browser side (before the app, which calls it).
                <script type="module" src="/passkeys.js"></script>
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Runs on the server only (islands mode): the router, the pages and everything not marked
/// `#[island]` never reach the browser. Following a link loads the next page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // For the server's render of the panel (a form sent without JavaScript that needs a
    // recent sign-in); the browser provides its own in `hydrate()`.
    crate::components::step_up::StepUp::provide();
    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Title text="Gatehouse" />
        <Router>
            <Routes fallback=page(NotFound)>
                <Route path=path!("/") view=page(HomePage) />
                <Route path=path!("/login") view=page(LoginPage) />
                <Route path=path!("/login/code") view=page(SecondFactorPage) />
                <Route path=path!("/register") view=page(RegisterPage) />
                <Route path=path!("/forgot-password") view=page(ForgotPasswordPage) />
                <Route path=path!("/reset-password") view=page(ResetPasswordPage) ssr=SsrMode::Async />
                <Route path=path!("/verify-email") view=page(VerifyEmailPage) ssr=SsrMode::Async />
                <Route path=path!("/confirm-email") view=page(ConfirmEmailPage) ssr=SsrMode::Async />
                <Route path=path!("/not-me") view=page(NotMePage) ssr=SsrMode::Async />
                <Route path=path!("/dashboard") view=page(DashboardPage) ssr=SsrMode::Async />
                <Route path=path!("/settings/sessions") view=page(DevicesPage) ssr=SsrMode::Async />
                <Route path=path!("/settings/password") view=page(SecurityPage) ssr=SsrMode::Async />
                <Route path=path!("/admin") view=page(AdminPage) ssr=SsrMode::Async />
                <Route path=path!("/admin/users/:id") view=page(AdminUserPage) ssr=SsrMode::Async />
                <Route path=path!("/admin/audit") view=page(AdminAuditPage) ssr=SsrMode::Async />
            </Routes>
        </Router>
        <Hydrated />
    }
}

/// Tests (and people) can tell when the page has come alive: `data-hydrated` on `<body>`.
/// The island script hydrates islands in document order and this one comes last, so its
/// effect runs once every island of the page has hydrated.
#[island]
fn Hydrated() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
