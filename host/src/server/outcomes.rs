//! `GET /v1/outcomes` and `GET /v1/plugins`.

use axum::Json;
use axum::extract::State;

use crate::runner::{JobOutcome, Runner};

/// The most recent job outcomes, oldest first.
pub async fn outcomes(State(runner): State<Runner>) -> Json<Vec<JobOutcome>> {
    Json(runner.outcomes())
}

/// The plugins in use, by accounting system.
pub async fn plugins(State(runner): State<Runner>) -> Json<Vec<serde_json::Value>> {
    let registry = runner.registry();
    let rows = registry
        .systems()
        .into_iter()
        .filter_map(|system| registry.get(&system))
        .map(|plugin| {
            serde_json::json!({
                "accountingSystem": plugin.info().accounting_system,
                "name": plugin.info().name,
                "version": plugin.info().version,
                "capabilities": plugin.info().capabilities,
                "sha256": plugin.digest(),
                "size": plugin.size(),
            })
        })
        .collect();
    Json(rows)
}
