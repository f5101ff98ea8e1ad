//! The plugin registry over HTTP: `GET /v1/plugins` lists every version with
//! its state; `POST /v1/plugins/reload` reads the plugin directory again;
//! `POST /v1/plugins/{system}/rollback` returns a system to its previous
//! version. The two changes need the operator token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::ApiState;
use crate::registry::{Change, RollbackError, VersionView};

/// Every version of every accounting system's plugin.
pub async fn list(State(state): State<ApiState>) -> Json<Vec<VersionView>> {
    Json(state.runner.registry().list())
}

/// Loads what changed in the plugin directory; answers with what each
/// changed version came to.
pub async fn reload(
    State(state): State<ApiState>,
) -> Result<Json<Vec<Change>>, (StatusCode, Json<serde_json::Value>)> {
    let registry = state.runner.registry();
    if registry.dir().is_none() {
        return Err(super::error(
            StatusCode::CONFLICT,
            "no plugin directory is configured (plugins.dir): there is nothing to reload",
        ));
    }
    Ok(Json(registry.reload().await))
}

/// Returns `system` to the version active before the current one.
pub async fn rollback(
    State(state): State<ApiState>,
    Path(system): Path<String>,
) -> Result<Json<VersionView>, (StatusCode, Json<serde_json::Value>)> {
    match state.runner.registry().rollback(&system).await {
        Ok(view) => Ok(Json(view)),
        Err(error @ RollbackError::UnknownSystem(_)) => {
            Err(super::error(StatusCode::NOT_FOUND, &error.to_string()))
        }
        Err(error @ RollbackError::NoPrevious(_)) => {
            Err(super::error(StatusCode::CONFLICT, &error.to_string()))
        }
    }
}
