//! The decision log over HTTP, read from the store and so the same on every
//! replica: `GET /v1/decisions` lists validations with the filters of
//! `preflight outcomes`; `GET /v1/jobs/{job}` is everything known of one job,
//! as `preflight outcomes show --json` prints it.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use crate::runner::Runner;
use preflight_store::{DecisionQuery, DecisionSummary, JobReport};

/// How many decisions a list holds when the query names no `limit`.
const DEFAULT_LIMIT: u32 = 50;
/// The most a list holds, whatever the query asks.
const MAX_LIMIT: u32 = 1_000;

type Answer<T> = Result<Json<T>, (StatusCode, Json<serde_json::Value>)>;

/// Validations matching the query's filters, newest first.
pub async fn list(
    State(runner): State<Runner>,
    query: Result<Query<DecisionQuery>, QueryRejection>,
) -> Answer<Vec<DecisionSummary>> {
    let Query(mut query) =
        query.map_err(|rejection| super::error(StatusCode::BAD_REQUEST, &rejection.body_text()))?;
    query.limit = Some(query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT));
    let filter = query.filter().map_err(|bad| {
        super::error(
            StatusCode::BAD_REQUEST,
            &format!("{}: {}", bad.field, bad.message),
        )
    })?;
    match runner.store().decisions(&filter).await {
        Ok(rows) => Ok(Json(rows)),
        Err(error) => Err(unavailable(&error)),
    }
}

/// One job: its stage and holder, its journal and every validation in full.
pub async fn job(
    State(runner): State<Runner>,
    job: Result<Path<uuid::Uuid>, axum::extract::rejection::PathRejection>,
) -> Answer<JobReport> {
    let Path(job) =
        job.map_err(|rejection| super::error(StatusCode::BAD_REQUEST, &rejection.body_text()))?;
    match runner.store().report(job).await {
        Ok(Some(report)) => Ok(Json(report)),
        Ok(None) => Err(super::error(
            StatusCode::NOT_FOUND,
            &format!("job {job} is not in the store"),
        )),
        Err(error) => Err(unavailable(&error)),
    }
}

fn unavailable(error: &preflight_store::StoreError) -> (StatusCode, Json<serde_json::Value>) {
    tracing::warn!(%error, "decision log read failed");
    super::error(StatusCode::SERVICE_UNAVAILABLE, &error.to_string())
}
