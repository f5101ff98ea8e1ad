//! `GET /v1/outcomes`.

use axum::Json;
use axum::extract::State;

use crate::runner::{JobOutcome, Runner};

/// The most recent job outcomes, oldest first.
pub async fn outcomes(State(runner): State<Runner>) -> Json<Vec<JobOutcome>> {
    Json(runner.outcomes())
}
