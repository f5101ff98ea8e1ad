//! `GET /healthz` and `GET /readyz`.

use axum::extract::State;
use axum::http::StatusCode;

use crate::runner::Runner;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when plugins are loaded and the last poll reached Pleo.
pub async fn readyz(State(runner): State<Runner>) -> (StatusCode, String) {
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
            "the last poll could not reach Pleo\n".to_owned(),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not polled yet\n".to_owned(),
        ),
    }
}
