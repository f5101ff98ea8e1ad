//! Export jobs: list (E1 `GET /v3/export-jobs`), create (E2 `POST /v3/export-jobs`) and
//! get one (E3 `GET /v3/export-jobs/{jobId}`), docs/pleo-export-api.md §2.

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, json};
use uuid::Uuid;

use super::auth::Caller;
use super::model::{Job, JobStatus};
use super::pagination::PageRequest;
use super::query::Query;
use super::request;
use super::responses::{self, ApiError};
use super::state::{NewJob, Shared};
use super::webhooks::JobCreated;

/// `sorting_keys` the job list accepts; valid keys are undocumented (docs/pleo-export-api.md
/// §1.3), and creation time is the one order §4 needs ("oldest first").
const SORTABLE: [&str; 2] = ["createdAt", "created_at"];

/// E1: the caller's company's jobs, optionally only those in `statuses`, oldest first.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = Query::parse(raw.as_deref())?;
    // The how-tos write `companyId`; the spec's name is `company_id` (docs/pleo-export-api.md §1).
    let requested = match query.uuid("company_id")? {
        Some(company) => Some(company),
        None => query.uuid("companyId")?,
    };
    let company = caller.company(requested, "company_id")?;
    if shared.is_refused(company) {
        return Err(ApiError::forbidden(format!(
            "The credential does not give access to company {company}."
        )));
    }
    let statuses = statuses(&query)?;
    let page = PageRequest::from_query(&query, &SORTABLE)?;
    let rows = shared.with_store(|store, _| {
        store
            .jobs()
            .iter()
            .filter(|job| job.company_id == company)
            .filter(|job| statuses.is_empty() || statuses.contains(&job.status))
            .map(|job| (job.seq, job.to_json()))
            .collect::<Vec<_>>()
    });

    let mut parameters = Map::new();
    parameters.insert("company_id".into(), json!([company]));
    if !statuses.is_empty() {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        parameters.insert("statuses".into(), json!(names));
    }
    let (data, pagination) = page.paginate(rows, parameters);
    let body = json!({ "data": data, "pagination": pagination });
    Ok(responses::json_body(StatusCode::OK, &body))
}

/// The `statuses` filter; an unknown status is a 400.
fn statuses(query: &Query) -> Result<Vec<JobStatus>, ApiError> {
    query
        .list("statuses")
        .into_iter()
        .map(|name| {
            JobStatus::from_name(name).ok_or_else(|| {
                let valid: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::bad_request(format!(
                    "Unknown export job status '{name}'; expected one of {}.",
                    valid.join(", ")
                ))
            })
        })
        .collect()
}

/// The `CreateExportJob` body (docs/pleo-export-api.md §2, E2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateExportJob {
    accounting_entry_ids: Option<Vec<Uuid>>,
    company_id: Option<Uuid>,
    employee_id: Option<Uuid>,
    is_interactive: Option<bool>,
    options: Option<CreateOptions>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    vendor_based_bookkeeping: Option<bool>,
}

/// E2: creates a `pending` job and announces it with the `v1.export-job.created` webhook;
/// 409 while the company has a pending or in-progress job.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateExportJob = request::json(&body)?;
    let requested = request
        .company_id
        .ok_or_else(|| ApiError::required_parameter_missing("companyId"))?;
    let company_id = caller.company(Some(requested), "companyId")?;
    let accounting_entry_ids = entry_ids(request.accounting_entry_ids)?;
    let new = NewJob {
        company_id,
        created_by: request.employee_id,
        accounting_entry_ids,
        // Spec defaults: interactive unless told otherwise, no vendor-based bookkeeping.
        is_interactive: request.is_interactive.unwrap_or(true),
        vendor_based_bookkeeping: request
            .options
            .and_then(|options| options.vendor_based_bookkeeping)
            .unwrap_or(false),
        expires_in: shared.config.default_expires_in,
    };
    let (job, created) = shared.with_store(|store, now| {
        let busy = store
            .jobs()
            .iter()
            .any(|job| job.company_id == company_id && job.status.is_active());
        if busy {
            return Err(ApiError::already_in_progress());
        }
        let job = store.insert(new, now);
        Ok((job.to_json(), JobCreated::new(job)))
    })?;
    shared.job_created(&created);
    Ok(responses::data(StatusCode::CREATED, job))
}

/// The entries to export: required, at least one, each once.
fn entry_ids(ids: Option<Vec<Uuid>>) -> Result<Vec<Uuid>, ApiError> {
    let ids = ids.ok_or_else(|| ApiError::required_parameter_missing("accountingEntryIds"))?;
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "accountingEntryIds must name at least one accounting entry.",
        ));
    }
    let mut seen = HashSet::with_capacity(ids.len());
    if let Some(duplicate) = ids.iter().find(|id| !seen.insert(**id)) {
        return Err(ApiError::bad_request(format!(
            "accountingEntryIds lists {duplicate} more than once."
        )));
    }
    Ok(ids)
}

/// E3: one job; 404 `EXPORT_NOT_FOUND` for an unknown job or another company's.
pub(super) async fn get_one(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = request::job_id(path)?;
    let job = shared.with_store(|store, _| visible(store.job(id), &caller).map(Job::to_json))?;
    Ok(responses::data(StatusCode::OK, job))
}

/// `job` if it exists and the caller may see it; otherwise the 404 of E3/E5/E6.
/// Works for shared and exclusive references alike.
pub(super) fn visible<J: Deref<Target = Job>>(
    job: Option<J>,
    caller: &Caller,
) -> Result<J, ApiError> {
    job.filter(|job| caller.can_see(job.company_id))
        .ok_or_else(ApiError::export_not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_required_non_empty_and_unique() {
        let id = Uuid::new_v4();
        assert_eq!(entry_ids(Some(vec![id])), Ok(vec![id]));
        assert_eq!(
            entry_ids(None).map_err(|e| e.kind),
            Err("REQUIRED_PARAMETER_MISSING")
        );
        assert!(entry_ids(Some(Vec::new())).is_err());
        assert!(entry_ids(Some(vec![id, id])).is_err());
    }

    #[test]
    fn statuses_accept_only_the_enum() {
        let query = Query::parse(Some("statuses=pending,in_progress")).expect("valid");
        assert_eq!(
            statuses(&query),
            Ok(vec![JobStatus::Pending, JobStatus::InProgress])
        );
        let query = Query::parse(Some("statuses=canceled")).expect("valid");
        assert!(statuses(&query).is_err());
    }
}
