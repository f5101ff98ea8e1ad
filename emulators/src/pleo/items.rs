//! Export job items, the control layer (docs/pleo-export-api.md §2): list them (E5
//! `GET /v3/export-jobs/{jobId}/items`) and report per-item results (E6
//! `PUT /v3/export-jobs/{jobId}/items`).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::auth::Caller;
use super::jobs::visible;
use super::model::{ITEM_FAILURE_REASON_TYPES, Item, ItemStatus, Job};
use super::pagination::PageRequest;
use super::query::Query;
use super::request;
use super::responses::{self, ApiError};
use super::state::Shared;
use super::timestamps::{self, UnixSeconds};

/// Most item updates one E6 call may carry (413 beyond; docs/pleo-export-api.md §2).
const MAX_UPDATES: usize = 100;

/// E5: a job's items in creation order, optionally only those with `status`.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = request::job_id(path)?;
    let query = Query::parse(raw.as_deref())?;
    let status = query.single("status")?.map(item_status).transpose()?;
    // No sorting key of items is documented; creation order is the only one offered.
    let page = PageRequest::from_query(&query, &[])?;
    let rows = shared.with_store(|store, _| {
        let job = visible(store.job(id), &caller)?;
        Ok::<_, ApiError>(rows(job, status))
    })?;

    let mut parameters = Map::new();
    if let Some(status) = status {
        parameters.insert("status".into(), json!([status.as_str()]));
    }
    let (data, pagination) = page.paginate(rows, parameters);
    let body = json!({ "data": data, "pagination": pagination });
    Ok(responses::json_body(StatusCode::OK, &body))
}

/// The job's items with `status` (all without), keyed by their index for the cursors.
fn rows(job: &Job, status: Option<ItemStatus>) -> Vec<(u64, Value)> {
    (0u64..)
        .zip(&job.items)
        .filter(|(_, item)| status.is_none_or(|wanted| item.status == wanted))
        .map(|(index, item)| (index, item.to_json(job.id)))
        .collect()
}

fn item_status(name: &str) -> Result<ItemStatus, ApiError> {
    ItemStatus::from_name(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Unknown export job item status '{name}'; expected one of pending, in_progress, \
             failed, successful, abandoned."
        ))
    })
}

/// One `UpdateExportJobItemV3` entry as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateItem {
    accounting_entry_id: Uuid,
    status: String,
    exported_at: Option<String>,
    external_id: Option<String>,
    external_url: Option<String>,
    failure_reason: Option<String>,
    failure_reason_type: Option<String>,
}

/// An update, validated.
#[derive(Debug)]
struct ItemUpdate {
    accounting_entry_id: Uuid,
    status: ItemStatus,
    exported_at: Option<UnixSeconds>,
    external_id: Option<String>,
    external_url: Option<String>,
    failure_reason: Option<String>,
    failure_reason_type: Option<String>,
}

impl ItemUpdate {
    fn validate(sent: UpdateItem, index: usize) -> Result<Self, ApiError> {
        let invalid = |what: String| ApiError::bad_request(format!("Item [{index}]: {what}"));
        let status = item_status(&sent.status).map_err(|error| invalid(error.message))?;
        let exported_at = sent
            .exported_at
            .map(|text| {
                timestamps::parse(&text)
                    .ok_or_else(|| invalid(format!("exportedAt is not a date-time: '{text}'.")))
            })
            .transpose()?;
        if let Some(reason_type) = &sent.failure_reason_type
            && !ITEM_FAILURE_REASON_TYPES.contains(&reason_type.as_str())
        {
            return Err(invalid(format!(
                "Unknown failureReasonType '{reason_type}'; expected one of {}.",
                ITEM_FAILURE_REASON_TYPES.join(", ")
            )));
        }
        Ok(Self {
            accounting_entry_id: sent.accounting_entry_id,
            status,
            exported_at,
            external_id: sent.external_id,
            external_url: sent.external_url,
            failure_reason: sent.failure_reason,
            failure_reason_type: sent.failure_reason_type,
        })
    }

    /// A PUT replaces the item's result: fields left out are cleared, so a retried item
    /// that now succeeded keeps no stale failure reason.
    fn apply(self, item: &mut Item) {
        item.status = self.status;
        item.exported_at = self.exported_at;
        item.external_id = self.external_id;
        item.external_url = self.external_url;
        item.failure_reason = self.failure_reason;
        item.failure_reason_type = self.failure_reason_type;
    }
}

/// E6: applies up to 100 item results; 200 `{data, errors}` with the updated items and one
/// `ACCOUNTING_ENTRY_DOES_NOT_EXIST` error per entry that is not in the job.
///
/// Checks in order: body shape (400), count (413), job (404), job finished (422).
pub(super) async fn update(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = request::job_id(path)?;
    let updates = updates(&body)?;
    let body = shared.with_store(|store, now| {
        let job = visible(store.job_mut(id), &caller)?;
        if job.status.is_terminal() {
            return Err(ApiError::job_finished());
        }
        Ok(apply_updates(job, updates, now))
    })?;
    Ok(responses::json_body(StatusCode::OK, &body))
}

/// The validated updates of an E6 body: a JSON array of at most [`MAX_UPDATES`] entries.
fn updates(body: &[u8]) -> Result<Vec<ItemUpdate>, ApiError> {
    let entries: Vec<Value> = request::json(body)?;
    if entries.len() > MAX_UPDATES {
        return Err(ApiError::items_update_limit());
    }
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let sent: UpdateItem = serde_json::from_value(entry).map_err(|error| {
                ApiError::bad_request(format!("Item [{index}]: malformed entry: {error}"))
            })?;
            ItemUpdate::validate(sent, index)
        })
        .collect()
}

/// Applies `updates` in order and builds the `ExportJobItemUpdateV3` body. An item updated
/// twice is listed once, with its final state. Any applied update counts as activity on
/// the job and postpones its expiry (docs/pleo-export-api.md §3.1).
fn apply_updates(job: &mut Job, updates: Vec<ItemUpdate>, now: UnixSeconds) -> Value {
    let mut updated: Vec<usize> = Vec::new();
    let mut errors = Vec::new();
    for update in updates {
        let entry = update.accounting_entry_id;
        match job
            .items
            .iter()
            .position(|item| item.accounting_entry_id == entry)
        {
            Some(index) => {
                update.apply(&mut job.items[index]);
                if !updated.contains(&index) {
                    updated.push(index);
                }
            }
            None => errors.push(unknown_entry(entry, job.id)),
        }
    }
    if !updated.is_empty() {
        job.last_updated_at = Some(job.stamp(now));
    }
    let data: Vec<Value> = updated
        .iter()
        .map(|&index| job.items[index].to_json(job.id))
        .collect();
    json!({ "data": data, "errors": errors })
}

/// The `ExportJobItemUpdateErrorV3` of an entry that is not in the job; the type is the
/// first `ExportJobItemUpdateErrorType` value (docs/pleo-export-api.md §2, E6).
fn unknown_entry(entry: Uuid, job_id: Uuid) -> Value {
    json!({
        "accountingEntryId": entry,
        "message": format!("Accounting entry {entry} is not part of export job {job_id}."),
        "type": "ACCOUNTING_ENTRY_DOES_NOT_EXIST",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_bodies_are_validated_entry_by_entry() {
        let entry = Uuid::new_v4();
        let valid = format!(
            r#"[{{"accountingEntryId":"{entry}","status":"successful",
                 "exportedAt":"2024-01-02T03:04:05Z","externalId":"J-1"}}]"#
        );
        let parsed = updates(valid.as_bytes()).expect("valid body");
        assert_eq!(parsed[0].status, ItemStatus::Successful);
        assert_eq!(
            parsed[0].exported_at,
            timestamps::parse("2024-01-02T03:04:05Z")
        );

        let entry_with = |rest: &str| format!(r#"[{{"accountingEntryId":"{entry}",{rest}}}]"#);
        for body in [
            "{}".to_owned(),
            format!(r#"[{{"accountingEntryId":"{entry}"}}]"#),
            entry_with(r#""status":"done""#),
            entry_with(r#""status":"failed","failureReasonType":"job_expired""#),
            entry_with(r#""status":"successful","exportedAt":"yesterday""#),
        ] {
            let error = updates(body.as_bytes()).expect_err(&body);
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{body}");
        }
    }

    #[test]
    fn more_than_a_hundred_updates_are_too_many() {
        let entries: Vec<Value> = (0..=MAX_UPDATES).map(|_| json!({})).collect();
        let body = serde_json::to_vec(&entries).expect("serialisable");
        let error = updates(&body).expect_err("too many");
        assert_eq!(error.kind, "EXPORT_JOB_ITEMS_UPDATE_LIMIT");
    }
}
