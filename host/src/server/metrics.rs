//! `GET /metrics`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::runner::Runner;

/// Every metric in the Prometheus text format.
pub async fn metrics(State(runner): State<Runner>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let metrics = runner.metrics();
            for ((plugin, reason), count) in runner.registry().runtime().refusals().snapshot() {
                metrics.set_counter(
                    crate::metrics::PLUGIN_REQUESTS_REFUSED,
                    &[("plugin", &plugin), ("reason", reason)],
                    count,
                );
            }
            metrics.render()
        },
    )
}
