//! Serves the floor app (only needed to look at it; the bundle measurement builds the
//! front end alone).

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() {
    use leptos::prelude::*;
    use leptos_axum::{generate_route_list, LeptosRoutes};
    use leptos_floor::app::{shell, App};

    let options = get_configuration(None).expect("leptos configuration").leptos_options;
    let addr = options.site_addr;
    let routes = generate_route_list(App);
    let app = axum::Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options);
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    axum::serve(listener, app.into_make_service()).await.expect("serve");
}

#[cfg(not(feature = "ssr"))]
fn main() {}
