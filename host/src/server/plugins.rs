//! The plugin registry over HTTP: `GET /v1/plugins` lists every version with
//! its state; `POST /v1/plugins/reload` reads the plugin directory again;
//! `POST /v1/plugins/{system}/rollback` returns a system to its previous
//! version; `POST /v1/plugins/{system}/shadow` (`{"version": …}`) puts a
//! loaded version in shadow, `GET` of the same path sums up its comparisons
//! with the live version, `…/promote` makes it active and `…/discard` takes
//! it out of shadow; `POST /v1/plugins/{system}/canary` (`{"version": …,
//! "percent": …}`) lets a version serve a share of the companies, which a
//! rollback ends. The changes need the operator token.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::ApiState;
use crate::registry::{Change, RollbackError, ShadowError, VersionView};
use crate::runner::shadow::{ShadowSummary, summarise};

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

type Refusal = (StatusCode, Json<serde_json::Value>);

/// The status a shadow change is refused with.
fn refused(error: &ShadowError) -> Refusal {
    let status = match error {
        ShadowError::UnknownSystem(_) | ShadowError::NoSuchVersion { .. } => StatusCode::NOT_FOUND,
        ShadowError::OnlyVersion { .. } | ShadowError::NoShadow(_) => StatusCode::CONFLICT,
        ShadowError::Share(_) => StatusCode::BAD_REQUEST,
    };
    super::error(status, &error.to_string())
}

/// The body of `POST /v1/plugins/{system}/shadow`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowRequest {
    /// The loaded version to put in shadow.
    version: String,
}

/// Puts a loaded version of `system` in shadow.
pub async fn shadow(
    State(state): State<ApiState>,
    Path(system): Path<String>,
    Json(request): Json<ShadowRequest>,
) -> Result<Json<VersionView>, Refusal> {
    state
        .runner
        .registry()
        .shadow(&system, &request.version)
        .await
        .map(Json)
        .map_err(|error| refused(&error))
}

/// The body of `POST /v1/plugins/{system}/canary`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryRequest {
    /// The loaded version to serve the share.
    version: String,
    /// The share of companies, 1 to 100.
    percent: u8,
}

/// Lets a loaded version of `system` serve a share of its companies.
pub async fn canary(
    State(state): State<ApiState>,
    Path(system): Path<String>,
    Json(request): Json<CanaryRequest>,
) -> Result<Json<VersionView>, Refusal> {
    state
        .runner
        .registry()
        .canary(&system, &request.version, request.percent)
        .await
        .map(Json)
        .map_err(|error| refused(&error))
}

/// Makes `system`'s version in shadow (or its canary) active.
pub async fn promote(
    State(state): State<ApiState>,
    Path(system): Path<String>,
) -> Result<Json<VersionView>, Refusal> {
    state
        .runner
        .registry()
        .promote(&system)
        .await
        .map(Json)
        .map_err(|error| refused(&error))
}

/// Takes `system`'s version in shadow out of it.
pub async fn discard(
    State(state): State<ApiState>,
    Path(system): Path<String>,
) -> Result<Json<VersionView>, Refusal> {
    state
        .runner
        .registry()
        .discard(&system)
        .await
        .map(Json)
        .map_err(|error| refused(&error))
}

/// The comparisons of `system`'s version in shadow (or of `?candidate=
/// name@version`, one shadowed before) with the live version, summed up.
pub async fn shadow_diff(
    State(state): State<ApiState>,
    Path(system): Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Result<Json<ShadowSummary>, Refusal> {
    let candidate = match query.get("candidate") {
        Some(candidate) => candidate.clone(),
        None => {
            let plugin = state
                .runner
                .registry()
                .shadow_of(&system)
                .ok_or_else(|| refused(&ShadowError::NoShadow(system.clone())))?;
            format!("{}@{}", plugin.info().name, plugin.info().version)
        }
    };
    let results = state
        .runner
        .store()
        .shadow_results(&system, &candidate)
        .await
        .map_err(|error| super::error(StatusCode::SERVICE_UNAVAILABLE, &error.to_string()))?;
    Ok(Json(summarise(&system, &candidate, &results)))
}
