//! Companies over HTTP, managed while the runner runs:
//!
//! - `GET /v1/companies?accountingSystem=&organisationId=&after=&limit=`:
//!   views by company id, a page at a time (`next` is the `after` of the
//!   next page);
//! - `GET /v1/companies/{companyId}`: one view with its audit trail;
//! - `PUT /v1/companies/{companyId}`: the whole configuration (secret values
//!   left out keep the stored ones); `PATCH`: a JSON merge patch (RFC 7396);
//!   `DELETE`: removes it. Each change needs the operator token, may carry
//!   `If-Match: "<version>"` (412 when the stored version differs), and is
//!   checked before anything is stored: a refusal is 422 naming each field.
//!
//! No answer holds a secret value: views show which secrets are set and a
//! fingerprint.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ApiState;
use crate::companies::{Change, CompanyError, Via, Written};
use preflight_store::CompanyFilter;

/// The query of `GET /v1/companies`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    accounting_system: Option<String>,
    organisation_id: Option<uuid::Uuid>,
    after: Option<uuid::Uuid>,
    limit: Option<u32>,
}

/// A page of companies.
pub async fn list(State(state): State<ApiState>, Query(query): Query<ListQuery>) -> Response {
    let limit = query
        .limit
        .unwrap_or(100)
        .clamp(1, preflight_store::companies::MAX_PAGE);
    let filter = CompanyFilter {
        accounting_system: query.accounting_system.map(|s| s.to_ascii_lowercase()),
        organisation_id: query.organisation_id,
        after: query.after,
        limit: Some(limit),
    };
    match state.runner.companies().list(&filter).await {
        Ok(views) => {
            let next = (views.len() == limit as usize)
                .then(|| views.last().map(|view| view.company_id.to_string()))
                .flatten();
            Json(serde_json::json!({ "companies": views, "next": next })).into_response()
        }
        Err(error) => failure(&error, false),
    }
}

/// One company with its audit trail.
pub async fn show(State(state): State<ApiState>, Path(id): Path<uuid::Uuid>) -> Response {
    match state.runner.companies().show(id).await {
        Ok(Some((view, audit))) => {
            let mut body = serde_json::to_value(view).expect("views serialise");
            body["audit"] = serde_json::to_value(audit).expect("audit entries serialise");
            Json(body).into_response()
        }
        Ok(None) => failure(&CompanyError::NotFound(id), false),
        Err(error) => failure(&error, false),
    }
}

/// Replaces a company's configuration (or creates it).
pub async fn put(
    State(state): State<ApiState>,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    write(state, id, &headers, &body, Change::Replace).await
}

/// Merges a patch into a company's configuration.
pub async fn patch(
    State(state): State<ApiState>,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    write(state, id, &headers, &body, Change::Merge).await
}

/// Removes a company's configuration.
pub async fn remove(
    State(state): State<ApiState>,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
) -> Response {
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    match state
        .runner
        .companies()
        .remove(id, expected, Via::Api)
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => failure(&error, expected.is_some()),
    }
}

async fn write(
    state: ApiState,
    id: uuid::Uuid,
    headers: &HeaderMap,
    body: &[u8],
    change: fn(Value) -> Change,
) -> Response {
    let expected = match if_match(headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(error) => {
            return super::error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {error}"),
            )
            .into_response();
        }
    };
    if let Some(named) = document.get("companyId").and_then(Value::as_str)
        && named != id.to_string()
    {
        return failure(
            &CompanyError::Invalid(vec![preflight_runtime::config::ConfigError {
                field: "companyId".to_owned(),
                message: format!("is {named}, but the path names {id}"),
            }]),
            false,
        );
    }
    let registry: &crate::registry::Registry = state.runner.registry();
    match state
        .runner
        .companies()
        .write(id, change(document), expected, Via::Api, Some(registry))
        .await
    {
        Ok((view, written)) => {
            let status = match written {
                Written::Stored(1) => StatusCode::CREATED,
                _ => StatusCode::OK,
            };
            let mut response = (status, Json(view)).into_response();
            if let Written::Stored(version) | Written::Unchanged(version) = written
                && let Ok(value) = format!("\"{version}\"").parse()
            {
                response.headers_mut().insert(header::ETAG, value);
            }
            response
        }
        Err(error) => failure(&error, expected.is_some()),
    }
}

/// `If-Match: "<version>"` (quotes optional), if given; a malformed one
/// is answered 400.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Box<Response>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|text| text.trim().trim_matches('"'))
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|version| *version >= 0)
        .map(Some)
        .ok_or_else(|| {
            Box::new(
                super::error(
                    StatusCode::BAD_REQUEST,
                    "If-Match: expected a version, e.g. \"3\"",
                )
                .into_response(),
            )
        })
}

/// The answer to a company error: 422 naming every field, 404, 409 or 412
/// for a version conflict (412 when `If-Match` was given), 500 otherwise.
fn failure(error: &CompanyError, conditional: bool) -> Response {
    match error {
        CompanyError::Invalid(fields) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({
                "error": error.to_string(),
                "fields": fields
                    .iter()
                    .map(|field| serde_json::json!({ "field": field.field, "message": field.message }))
                    .collect::<Vec<_>>(),
            })),
        )
            .into_response(),
        CompanyError::NotFound(_) => {
            super::error(StatusCode::NOT_FOUND, &error.to_string()).into_response()
        }
        CompanyError::Conflict { current, .. } => {
            let status = if conditional {
                StatusCode::PRECONDITION_FAILED
            } else {
                StatusCode::CONFLICT
            };
            (
                status,
                Json(serde_json::json!({ "error": error.to_string(), "currentVersion": current })),
            )
                .into_response()
        }
        CompanyError::Plugin { .. } => {
            super::error(StatusCode::UNPROCESSABLE_ENTITY, &error.to_string()).into_response()
        }
        CompanyError::Sealed { .. } | CompanyError::Store(_) => {
            tracing::error!(%error, "company request failed");
            super::error(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()).into_response()
        }
    }
}
