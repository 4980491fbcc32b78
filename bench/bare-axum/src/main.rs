//! `bare-axum ADDR`: serves `GET /livez` → "ok" on ADDR (e.g. 127.0.0.1:3918) until killed.
//! Nothing else: no middleware, no state, no logging. The same shape of server as Gatehouse
//! (multi-threaded tokio runtime, `axum::serve` with the peer address as connect info).

use axum::{routing::get, Router};
use std::net::SocketAddr;

#[tokio::main]
async fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3918".into())
        .parse()
        .expect("bare-axum ADDR, e.g. 127.0.0.1:3918");
    let app = Router::new().route("/livez", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
}
