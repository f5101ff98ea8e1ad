//! `POST /webhooks/pleo`: Pleo's `v1.export-job.created` makes the runner
//! list the job's company at once, so a new job is claimed at once instead
//! of at the next sweep (polling stays on as the safety net); an event
//! without a company wakes a whole sweep.
//!
//! Answers: 204 when accepted (and when a message id was seen before: the
//! sender must not retry it); 401 for a missing or bad signature or a
//! timestamp outside the tolerance; 400 for a signed body that is not an
//! event; 404 when no webhook secret is configured; 503 when the store
//! cannot remember the id (the sender retries).

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{ApiState, error};
use crate::webhook;

/// The handler.
pub async fn pleo(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(settings) = &state.webhooks else {
        return error(StatusCode::NOT_FOUND, "no webhook secret is configured").into_response();
    };
    let metrics = state.runner.metrics();
    let verified = webhook::verify(
        |name| headers.get(name).and_then(|value| value.to_str().ok()),
        &body,
        settings.key.bytes(),
        settings.tolerance,
        SystemTime::now(),
    );
    let verified = match verified {
        Ok(verified) => verified,
        Err(refused) => {
            metrics.inc(crate::metrics::WEBHOOKS, &[("result", "refused")]);
            tracing::warn!(%refused, "refused a webhook delivery");
            return error(StatusCode::UNAUTHORIZED, &refused.to_string()).into_response();
        }
    };
    let event = match webhook::Event::parse(&body) {
        Ok(event) => event,
        Err(problem) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {problem}"),
            )
            .into_response();
        }
    };
    match state.runner.store().first_delivery(&verified.id).await {
        Ok(true) => {}
        Ok(false) => {
            metrics.inc(crate::metrics::WEBHOOKS, &[("result", "duplicate")]);
            tracing::info!(id = %verified.id, "ignored a webhook delivery seen before");
            return StatusCode::NO_CONTENT.into_response();
        }
        Err(problem) => {
            tracing::error!(%problem, "cannot remember the webhook id; asking for a retry");
            return error(StatusCode::SERVICE_UNAVAILABLE, "the store is unavailable")
                .into_response();
        }
    }
    if event.is_export_job_created() {
        metrics.inc(crate::metrics::WEBHOOKS, &[("result", "wake")]);
        let job = event.job.as_deref().unwrap_or("?");
        tracing::info!(id = %verified.id, %job, "export job created; listing its company now");
        match event.company {
            Some(company) => state.runner.wake_company(company),
            None => state.runner.wake(),
        }
    } else {
        metrics.inc(crate::metrics::WEBHOOKS, &[("result", "ignored")]);
        tracing::debug!(id = %verified.id, event = %event.kind, "ignored a webhook event of another type");
    }
    StatusCode::NO_CONTENT.into_response()
}
