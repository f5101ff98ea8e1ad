//! The operator HTTP API of `preflight serve`, one file per endpoint:
//!
//! - `GET /healthz`: the process is up; `GET /readyz`: plugins loaded, the
//!   last sweep reached Pleo, and not shutting down (`health`);
//! - `GET /metrics`: Prometheus text format (`metrics`);
//! - `GET /v1/outcomes`: this process's recent outcomes (`outcomes`);
//! - `GET /v1/detection`: the last sweep over the watched companies and the
//!   companies whose listing fails (`detection`);
//! - `GET /v1/decisions`, `GET /v1/jobs/{job}`: the decision log and one
//!   job's journal, from the store (`decisions`);
//! - `GET /v1/plugins`, `POST /v1/plugins/reload`,
//!   `POST /v1/plugins/{system}/rollback|shadow|canary|promote|discard`,
//!   `GET /v1/plugins/{system}/shadow`: the plugin registry and rollouts
//!   (`plugins`);
//! - `GET /v1/companies`, `GET/PUT/PATCH/DELETE /v1/companies/{companyId}`:
//!   companies' configurations, managed at runtime (`companies`);
//! - `POST /v1/validate` `{"jobId": …}`: validate a job on demand, for
//!   integrations that run the rest of the lifecycle themselves (`validate`);
//! - `POST /webhooks/pleo`: Pleo's signed webhooks wake the runner
//!   (`webhooks`; authenticated by signature, not by the operator token);
//! - `/console`: the operator console, server-rendered pages (`console`).
//!
//! With `server.token` configured every `/v1` request needs it as a bearer
//! token; without one, reads are open and changes are refused (`auth`).

mod auth;
mod companies;
mod console;
mod decisions;
mod detection;
mod health;
mod metrics;
mod outcomes;
mod plugins;
mod validate;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post, put};

use crate::runner::Runner;
use crate::webhook::WebhookSettings;
use preflight_runtime::config::Secret;

/// What every handler gets.
#[derive(Clone)]
pub struct ApiState {
    /// The runner (and through it the registry and metrics).
    pub runner: Runner,
    /// The operator token, if configured.
    pub token: Option<Arc<Secret>>,
    /// Pleo's webhook secret and tolerance, if configured.
    pub webhooks: Option<Arc<WebhookSettings>>,
}

impl axum::extract::FromRef<ApiState> for Runner {
    fn from_ref(state: &ApiState) -> Runner {
        state.runner.clone()
    }
}

/// Where the operator API listens and its token (the operator file's
/// `[server]`).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address of the operator API.
    pub listen: SocketAddr,
    /// Bearer token every `/v1` request must carry; without one the API's
    /// reads are open and its changes (reload, rollback) refused.
    pub token: Option<Secret>,
}

/// The largest body `POST /webhooks/pleo` reads (Pleo's events are a few
/// hundred bytes); a larger one is answered 413 and counted in
/// `preflight_inputs_refused_total{input="webhook"}`.
pub const WEBHOOK_BODY_BYTES: usize = 64 << 10;

/// The largest body a `/v1` request may carry (`{"jobId": …}`); a larger one
/// is answered 413 and counted in `preflight_inputs_refused_total{input="api"}`.
pub const API_BODY_BYTES: usize = 64 << 10;

/// Builds the router over `runner`; `token` guards `/v1`; `webhooks`
/// enables `POST /webhooks/pleo`.
pub fn router(runner: Runner, token: Option<Secret>, webhooks: Option<WebhookSettings>) -> Router {
    let state = ApiState {
        runner,
        token: token.map(Arc::new),
        webhooks: webhooks.map(Arc::new),
    };
    let changes = Router::new()
        .route("/v1/plugins/reload", post(plugins::reload))
        .route("/v1/plugins/{system}/rollback", post(plugins::rollback))
        .route("/v1/plugins/{system}/shadow", post(plugins::shadow))
        .route("/v1/plugins/{system}/canary", post(plugins::canary))
        .route("/v1/plugins/{system}/promote", post(plugins::promote))
        .route("/v1/plugins/{system}/discard", post(plugins::discard))
        .route(
            "/v1/companies/{company}",
            put(companies::put)
                .patch(companies::patch)
                .delete(companies::remove),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::changes_need_a_token,
        ));
    let v1 = Router::new()
        .route("/v1/outcomes", get(outcomes::outcomes))
        .route("/v1/detection", get(detection::detection))
        .route("/v1/decisions", get(decisions::list))
        .route("/v1/jobs/{job}", get(decisions::job))
        .route("/v1/plugins", get(plugins::list))
        .route("/v1/plugins/{system}/shadow", get(plugins::shadow_diff))
        .route("/v1/companies", get(companies::list))
        .route("/v1/companies/{company}", get(companies::show))
        .route("/v1/validate", post(validate::validate))
        .merge(changes)
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), API_BODY_BYTES, "api"),
            within,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route(
            "/webhooks/pleo",
            post(webhooks::pleo).layer(axum::middleware::from_fn_with_state(
                (state.clone(), WEBHOOK_BODY_BYTES, "webhook"),
                within,
            )),
        )
        .merge(v1)
        .merge(
            console::router(state.clone()).layer(axum::middleware::from_fn_with_state(
                (state.clone(), API_BODY_BYTES, "console"),
                within,
            )),
        )
        .with_state(state)
}

/// Serves the operator API on `listener` until `shutdown` resolves.
pub async fn serve(
    runner: Runner,
    token: Option<Secret>,
    webhooks: Option<WebhookSettings>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "operator API listening");
    axum::serve(listener, router(runner, token, webhooks))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Holds a request's body to `limit` bytes: a declared length over it is
/// refused before anything is read, a body that outgrows it as it arrives.
async fn within(
    axum::extract::State((state, limit, input)): axum::extract::State<(
        ApiState,
        usize,
        &'static str,
    )>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let refuse = || {
        state
            .runner
            .metrics()
            .inc(crate::metrics::INPUTS_REFUSED, &[("input", input)]);
        tracing::warn!(input, limit, "refused a request body over its limit");
        // The rest of the body is never read, so the connection cannot carry
        // another request: say so, or a client reuses it and its next request
        // fails on a connection the server has dropped.
        let mut response = error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over the limit of {} KiB", limit >> 10),
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        response
    };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return refuse();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Err(_) => refuse(),
    }
}

/// A JSON error body, `{"error": …}`.
pub(crate) fn error(
    status: StatusCode,
    message: &str,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    (status, axum::Json(serde_json::json!({ "error": message })))
}
