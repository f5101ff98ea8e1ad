//! `GET /healthz` and `GET /readyz`.

use axum::extract::State;
use axum::http::StatusCode;

use crate::runner::Runner;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when plugins are loaded, the last listing reached Pleo, and the
/// runner is not shutting down (503 first thing at shutdown, so load
/// balancers drain).
pub async fn readyz(State(runner): State<Runner>) -> (StatusCode, String) {
    if runner.is_stopping() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        );
    }
    if runner.registry().systems().is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no plugin loaded\n".to_owned(),
        );
    }
    match runner.last_poll_ok() {
        Some(true) => (StatusCode::OK, "ready\n".to_owned()),
        Some(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the last sweep could not list any company's jobs\n".to_owned(),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not polled yet\n".to_owned(),
        ),
    }
}
