//! `POST /v1/validate`: validate one job on demand.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::pleo::PleoError;
use crate::runner::Runner;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidateRequest {
    job_id: uuid::Uuid,
}

/// Validates the job and answers with the verdict, the report and the
/// exchanges; posts nothing to Pleo.
pub async fn validate(
    State(runner): State<Runner>,
    body: Result<Json<ValidateRequest>, JsonRejection>,
) -> (StatusCode, Json<serde_json::Value>) {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return super::error(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    match runner.validate_on_demand(request.job_id).await {
        Ok(answer) => (
            StatusCode::OK,
            Json(serde_json::to_value(answer).expect("answers serialise")),
        ),
        Err(PleoError::NotFound { .. }) => super::error(
            StatusCode::NOT_FOUND,
            &format!("job {} not found in Pleo", request.job_id),
        ),
        Err(problem) => super::error(StatusCode::BAD_GATEWAY, &problem.to_string()),
    }
}
