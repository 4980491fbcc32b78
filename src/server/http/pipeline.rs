//! What stands in front of every route, as one service (ssr only).
//!
//! Every request passes, in this order: the header-size limit (431), the 30 s time limit
//! (408), the body limits (413: a declared length over 64 KiB at once, a body without a
//! declared length read here up to that limit; JSON extractors then hold it to 16 KiB), the
//! cookie jar (only where a handler can read or set cookies), the cross-site check on
//! state-changing methods (403), the public host name (a page asked for under another name
//! is redirected to the public URL's), the page guard (redirect through `/auth/refresh`
//! before a protected page; an error in the query that we did not seal is dropped). Every answer then
//! gets the server-function status fix and error seal, a JSON body on any 413, `no-store` on
//! private answers and the security headers.
//!
//! These used to be ten stacked middlewares, each its own boxed service and boxed future:
//! together about 70 % of a request's cost before any route ran (issue 18, profile in
//! docs/benchmarks/). Here they are plain functions called from one `call` and one future,
//! the headers are constants, and the work only some requests need (reading an undeclared
//! body, a cookie jar, decoding a server function's error) is skipped by the others. What
//! each step checks is in its own module: `limits`, `csrf`, `browser`, `server_fns`,
//! `headers`.
//!
//! Applied with `Router::layer`, so it runs once the route is matched: with metrics on
//! (`GATEHOUSE_METRICS_ADDR`), every answer is timed under its route template
//! (`MatchedPath`); with them off, nothing is read or timed.

use super::{browser, csrf, headers, json::MAX_BODY_BYTES, limits, server_fns};
use crate::{
    error::AppError,
    server::{metrics, state::AppState},
};
use axum::{
    body::{Body, HttpBody},
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::Method,
    response::{IntoResponse, Response},
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};
use tower::{Layer, Service};
use tower_cookies::CookieManager;

/// The layer: `router.layer(PipelineLayer::new(state, https))`. `https`: add HSTS.
#[derive(Clone)]
pub struct PipelineLayer {
    state: AppState,
    https: bool,
}

impl PipelineLayer {
    pub fn new(state: AppState, https: bool) -> Self {
        PipelineLayer { state, https }
    }
}

impl<S: Clone> Layer<S> for PipelineLayer {
    type Service = Pipeline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Pipeline { with_cookies: CookieManager::new(inner.clone()), inner, state: self.state.clone(), https: self.https }
    }
}

#[derive(Clone)]
pub struct Pipeline<S> {
    /// The route, for requests whose handlers never touch the cookie jar.
    inner: S,
    /// The same route behind a cookie jar (`tower_cookies::Cookies`).
    with_cookies: CookieManager<S>,
    state: AppState,
    https: bool,
}

/// Paths whose handlers never use the cookie jar (`tower_cookies::Cookies`): the JSON API,
/// health checks, the key set and the forward-auth check read a cookie, if at all, straight
/// from the request headers and never set one. Everything else — pages, server functions,
/// `/auth/refresh` — gets the jar.
fn needs_cookie_jar(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path == "/livez"
        || path == "/healthz"
        || path.starts_with("/.well-known/")
        || path == "/auth/forward"
        || path.starts_with("/auth/forward/"))
}

/// What a request's body needs before a handler may read it.
enum BodyWork {
    /// None at all (GET, HEAD, an empty POST): no limit to apply, nothing to time.
    Empty,
    /// A declared length within the limit.
    Sized,
    /// No declared length (chunked): read it here, up to the limit.
    Unsized,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Pipeline<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Both are axum routes, always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let https = self.https;
        let private = headers::is_private(req.uri().path());
        let timing = self.state.metrics.then(|| Timing::start(&req));
        let early_timing = timing.clone();
        let done = move |response: Response| -> BoxFuture { Box::pin(std::future::ready(Ok(finish(response, private, https, early_timing)))) };

        if limits::header_bytes(&req) > limits::MAX_HEADER_BYTES {
            return done(AppError::HeadersTooLarge { max_kib: limits::MAX_HEADER_BYTES / 1024 }.into_response());
        }
        let body = match req.body().size_hint().exact() {
            Some(0) => BodyWork::Empty,
            Some(n) if n > limits::MAX_REQUEST_BODY as u64 => return done(AppError::PayloadTooLarge.into_response()),
            Some(_) => BodyWork::Sized,
            None => BodyWork::Unsized,
        };
        if !matches!(body, BodyWork::Empty) {
            DefaultBodyLimit::max(MAX_BODY_BYTES).apply(&mut req);
        }
        let cookies = needs_cookie_jar(req.uri().path());

        if let BodyWork::Unsized = body {
            // The slow path: read the body first (under the time limit: a client trickling
            // it in gets its 408), then the same checks.
            let mut this = self.clone();
            return Box::pin(async move {
                let work = async move {
                    let (parts, body) = req.into_parts();
                    match axum::body::to_bytes(body, limits::MAX_REQUEST_BODY).await {
                        Ok(bytes) => this.route(Request::from_parts(parts, Body::from(bytes)), cookies).await,
                        Err(_) => AppError::PayloadTooLarge.into_response(),
                    }
                };
                let response = tokio::time::timeout(limits::REQUEST_TIMEOUT, work).await.unwrap_or_else(|_| AppError::Timeout.into_response());
                Ok(finish(response, private, https, timing))
            });
        }

        let routed = self.route(req, cookies);
        Box::pin(async move {
            let response = tokio::time::timeout(limits::REQUEST_TIMEOUT, routed).await.unwrap_or_else(|_| AppError::Timeout.into_response());
            Ok(finish(response, private, https, timing))
        })
    }
}

impl<S> Pipeline<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// The cross-site check and the page guard, then the route; then the server-function
    /// error status and seal. The future owns everything it needs.
    fn route(&mut self, mut req: Request, cookies: bool) -> impl Future<Output = Response> + Send + 'static {
        let state = self.state.clone();
        let mut signed_in_page = false;
        let refused = if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) { None } else { csrf::refuse(&state, &req) };
        let early = refused.or_else(|| browser::public_host(&state, &req)).or_else(|| match browser::guard_page(&state, &mut req) {
            browser::Guarded::Answer(response) => Some(response),
            browser::Guarded::SignedIn => {
                signed_in_page = true;
                None
            }
            browser::Guarded::Open => None,
        });
        let routed = match early {
            Some(response) => Routed::Early(response),
            None if cookies => Routed::Cookies(self.with_cookies.call(req)),
            None => Routed::Plain(self.inner.call(req)),
        };
        async move {
            let response = match routed {
                Routed::Early(response) => return response,
                Routed::Plain(f) => f.await.unwrap_or_else(|e| match e {}),
                Routed::Cookies(f) => f.await.unwrap_or_else(|e| match e {}),
            };
            let mut response = server_fns::error_answers(&state, response).await;
            if signed_in_page {
                browser::no_store(&mut response);
            }
            response
        }
    }
}

/// Where a request went: answered by a check, or on to the route (with or without the jar).
enum Routed<A, B> {
    Early(Response),
    Plain(A),
    Cookies(B),
}

/// What every answer gets on its way out: a JSON body on a 413 that lacks one, then the
/// security headers; and with metrics on, its time under its route.
fn finish(response: Response, private: bool, https: bool, timing: Option<Timing>) -> Response {
    let mut response = limits::json_413(response);
    headers::secure(response.headers_mut(), private, https);
    if let Some(timing) = timing {
        timing.observe(&response);
    }
    response
}

/// A request being timed (metrics on only): its route's timer, method and start.
#[derive(Clone)]
struct Timing {
    route: &'static metrics::RouteTimer,
    method: usize,
    started: Instant,
}

impl Timing {
    fn start(req: &Request) -> Timing {
        Timing {
            route: metrics::route_timer(req.extensions().get::<MatchedPath>().map_or("other", |p| p.as_str())),
            method: metrics::method_label(req.method()),
            started: Instant::now(),
        }
    }

    fn observe(self, response: &Response) {
        self.route.observe(self.method, response.status().as_u16(), self.started.elapsed());
    }
}
