//! `GET /v1/detection`.

use axum::Json;
use axum::extract::State;

use crate::runner::{DetectionReport, Runner};

/// Where detection stands: the companies watched, the last complete sweep,
/// and every company whose listing fails (with its last error and when it
/// is listed again).
pub async fn detection(State(runner): State<Runner>) -> Json<DetectionReport> {
    Json(runner.detection())
}
