use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Floor" />
        <Router>
            <main>
                <Routes fallback=|| "Not found.">
                    <Route path=path!("/") view=Counter />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn Counter() -> impl IntoView {
    let count = RwSignal::new(0);
    view! {
        <h1>"Floor"</h1>
        <button on:click=move |_| count.update(|n| *n += 1)>"Clicked " {count} " times"</button>
    }
}
