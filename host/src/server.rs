//! The operator HTTP API of `preflight serve`, one file per endpoint:
//!
//! - `GET /healthz`: the process is up; `GET /readyz`: plugins loaded and the
//!   last poll reached Pleo (`health`);
//! - `GET /metrics`: Prometheus text format (`metrics`);
//! - `GET /v1/outcomes`, `GET /v1/plugins`: recent outcomes and the plugins in
//!   use (`outcomes`);
//! - `POST /v1/validate` `{"jobId": …}`: validate a job on demand, for
//!   integrations that run the rest of the lifecycle themselves (`validate`).

mod health;
mod metrics;
mod outcomes;
mod validate;

use axum::Router;
use axum::routing::{get, post};

use crate::runner::Runner;

/// Builds the router over `runner`.
pub fn router(runner: Runner) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/outcomes", get(outcomes::outcomes))
        .route("/v1/plugins", get(outcomes::plugins))
        .route("/v1/validate", post(validate::validate))
        .with_state(runner)
}

/// Serves the operator API on `listener` until `shutdown` resolves.
pub async fn serve(
    runner: Runner,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "operator API listening");
    axum::serve(listener, router(runner))
        .with_graceful_shutdown(shutdown)
        .await
}
