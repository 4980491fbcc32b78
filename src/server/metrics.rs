//! Operator metrics (ssr only): counters and histograms in Prometheus text, served at
//! `/metrics` on a listener of its own (`GATEHOUSE_METRICS_ADDR`, off by default).
//!
//! The recording functions below are what the rest of the server calls. With metrics off no
//! recorder is installed, and the `metrics` crate's macros then do nothing but read one
//! global pointer; the request pipeline (`http/pipeline.rs`) does not even time requests.
//!
//! Labels are bounded sets: outcomes are error codes (`AppError::code`), reasons are
//! `EndReason`s, routes are the router's templates (`/api/v1/sessions/{id}`), never raw paths.

use axum::{routing::get, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{Mutex, OnceLock},
    time::Duration,
};

/// Sign-ins by outcome: `success`, or the error code that ended them
/// (`invalid_credentials`, `second_factor_required`, `too_many_attempts`, …).
pub const SIGN_INS: &str = "gatehouse_sign_ins_total";
/// Refreshes by outcome: `success`, or the error code (`refresh_token_reused` is a reuse
/// detection, `session_revoked`, `invalid_refresh_token`, …).
pub const REFRESHES: &str = "gatehouse_refreshes_total";
/// Sessions ended, by reason (`EndReason::as_str`).
pub const REVOCATIONS: &str = "gatehouse_revocations_total";
/// Requests refused with 429, by route.
pub const THROTTLED: &str = "gatehouse_throttled_requests_total";
/// Mail waiting to be sent (queued, not yet sent or given up).
pub const MAIL_QUEUE_DEPTH: &str = "gatehouse_mail_queue_depth";
/// Mail delivery attempts that failed.
pub const MAIL_FAILURES: &str = "gatehouse_mail_failures_total";
/// Seconds a password hashing job waited for a hashing thread.
pub const HASH_QUEUE_WAIT: &str = "gatehouse_password_hash_queue_wait_seconds";
/// Request latency in seconds, by route template, method and status class.
pub const REQUEST_DURATION: &str = "gatehouse_http_request_duration_seconds";

/// Latency buckets (seconds): from a cached token check to a slow hash under load.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls, as from several test servers in
/// one process, get the same one) and answers the handle that renders it.
pub fn install() -> Result<PrometheusHandle, String> {
    // One installer at a time: a second server starting meanwhile waits for the handle
    // instead of finding the recorder set and the handle not yet.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let builder = PrometheusBuilder::new().set_buckets(BUCKETS).map_err(|e| format!("metrics: {e}"))?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    // Set already (under the lock, so not by us): something else in this process installed one.
    if metrics::set_global_recorder(recorder).is_err() {
        return HANDLE.get().cloned().ok_or_else(|| "metrics: another recorder is installed".to_owned());
    }
    describe();
    let _ = HANDLE.set(handle.clone());
    Ok(HANDLE.get().cloned().unwrap_or(handle))
}

fn describe() {
    metrics::describe_counter!(SIGN_INS, "Sign-ins by outcome (success or the error code)");
    metrics::describe_counter!(REFRESHES, "Refresh-token rotations by outcome (refresh_token_reused: reuse detected)");
    metrics::describe_counter!(REVOCATIONS, "Sessions ended, by reason");
    metrics::describe_counter!(THROTTLED, "Requests answered 429, by route");
    metrics::describe_gauge!(MAIL_QUEUE_DEPTH, "Mail queued and not yet sent");
    metrics::describe_counter!(MAIL_FAILURES, "Failed mail delivery attempts");
    metrics::describe_histogram!(HASH_QUEUE_WAIT, metrics::Unit::Seconds, "Time a password hash waited for a hashing thread");
    metrics::describe_histogram!(REQUEST_DURATION, metrics::Unit::Seconds, "Request latency by route");
}

/// How often the recorded latencies are folded into their buckets when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The exporter keeps every histogram sample until upkeep folds it into the buckets (a
/// scrape does it too); without this task a server nobody scrapes would keep each request's
/// latency forever — 16 bytes a request, a gigabyte an hour at full speed.
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    })
}

/// The `/metrics` listener's router.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                handle.run_upkeep();
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
            }
        }),
    )
}

/// A sign-in ended: `Ok` is `success`, an error counts under its code.
pub fn sign_in<T>(result: &Result<T, crate::error::AppError>) {
    metrics::counter!(SIGN_INS, "outcome" => outcome(result)).increment(1);
}

/// A refresh ended, as [`sign_in`].
pub fn refresh<T>(result: &Result<T, crate::error::AppError>) {
    metrics::counter!(REFRESHES, "outcome" => outcome(result)).increment(1);
}

fn outcome<T>(result: &Result<T, crate::error::AppError>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(e) => e.code(),
    }
}

/// `count` sessions ended for `reason`.
pub fn revoked(reason: &'static str, count: usize) {
    if count > 0 {
        metrics::counter!(REVOCATIONS, "reason" => reason).increment(count as u64);
    }
}

pub fn mail_queue_depth(depth: i64) {
    metrics::gauge!(MAIL_QUEUE_DEPTH).set(depth as f64);
}

pub fn mail_failed() {
    metrics::counter!(MAIL_FAILURES).increment(1);
}

pub fn hash_queue_wait(waited: Duration) {
    metrics::histogram!(HASH_QUEUE_WAIT).record(waited.as_secs_f64());
}

/// Per route template, the request-duration histograms by method and status class: made once
/// for the process (a route's template is one of the router's, so there are as many as it has
/// routes, plus `other` for the fallback) and kept for its life.
pub struct RouteTimer {
    route: &'static str,
    handles: [[OnceLock<metrics::Histogram>; 5]; 8],
}

/// The timer of `route` (a template, from `MatchedPath`, or `other`).
///
/// Every request of a busy server asks, so each thread remembers the timers it has seen: a
/// request costs one lookup in a map no other thread touches; the timer it gets needs no
/// lookup at all when the answer is recorded. No label strings built, no registry lookup, no
/// lock or reference count shared between threads — only the histogram's own append.
pub fn route_timer(route: &str) -> &'static RouteTimer {
    thread_local! {
        static SEEN: RefCell<HashMap<Box<str>, &'static RouteTimer>> = RefCell::new(HashMap::new());
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(timer) = seen.get(route) {
            return *timer;
        }
        static ALL: Mutex<Vec<&'static RouteTimer>> = Mutex::new(Vec::new());
        let mut all = ALL.lock().unwrap_or_else(|p| p.into_inner());
        let timer = match all.iter().find(|t| t.route == route) {
            Some(timer) => *timer,
            None => {
                let route: &'static str = Box::leak(route.into());
                let timer: &'static RouteTimer =
                    Box::leak(Box::new(RouteTimer { route, handles: std::array::from_fn(|_| std::array::from_fn(|_| OnceLock::new())) }));
                all.push(timer);
                timer
            }
        };
        seen.insert(route.into(), timer);
        timer
    })
}

impl RouteTimer {
    /// One request answered: its latency, and a 429 counted as throttled.
    /// `method` is [`method_label`]'s.
    pub fn observe(&self, method: usize, status: u16, elapsed: Duration) {
        let class = match status {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        self.handles[method][class]
            .get_or_init(|| {
                metrics::histogram!(REQUEST_DURATION, "route" => self.route, "method" => METHODS[method], "status" => CLASSES[class])
            })
            .record(elapsed.as_secs_f64());
        if status == 429 {
            metrics::counter!(THROTTLED, "route" => self.route).increment(1);
        }
    }
}

/// Method labels (the last one for any other method).
const METHODS: [&str; 8] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A method as its label's place in `METHODS`: the standard ones, anything else `other` (a
/// client picks the method).
pub fn method_label(method: &axum::http::Method) -> usize {
    use axum::http::Method;
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::DELETE => 3,
        Method::PATCH => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}
