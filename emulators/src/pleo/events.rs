//! Export job events (E4 `POST /v3/export-job-events`, docs/pleo-export-api.md §2): how
//! integrations claim, fail and complete jobs. Every call that reaches the handler is
//! recorded, so tests can assert the exact failure reason an integration sent (§7).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::Caller;
use super::jobs::visible;
use super::lifecycle::{Event, Failure};
use super::model::JOB_FAILURE_REASON_TYPES;
use super::responses::ApiError;
use super::state::Shared;

/// One `POST /v3/export-job-events` the emulator handled, as sent and as answered.
#[derive(Clone, Debug, Serialize)]
pub struct RecordedEvent {
    /// The body's `jobId` as sent; empty when it was missing or not a string.
    pub job_id: String,
    /// The body's `event` as sent; empty when it was missing or not a string.
    pub event: String,
    /// The body's `failureReason`, if it was a string.
    pub failure_reason: Option<String>,
    /// The body's `failureReasonType`, if it was a string.
    pub failure_reason_type: Option<String>,
    /// The status the emulator answered: 202, or 400, 404 or 422.
    pub status: u16,
    /// The raw body: its JSON, or a JSON string of its text when it was not JSON.
    pub body: Value,
}

impl RecordedEvent {
    fn new(body: Value, status: StatusCode) -> Self {
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            job_id: text("jobId").unwrap_or_default(),
            event: text("event").unwrap_or_default(),
            failure_reason: text("failureReason"),
            failure_reason_type: text("failureReasonType"),
            status: status.as_u16(),
            body,
        }
    }
}

/// E4: 202 with an empty body when the event was applied; 400 for a malformed body, 404
/// for an unknown job, 422 `INVALID_EXPORT_JOB_STATUS_CHANGE` for a refused transition.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let outcome = match &parsed {
        Ok(value) => handle(&shared, &caller, value),
        Err(error) => Err(ApiError::bad_request(format!(
            "Malformed request body: {error}"
        ))),
    };
    let status = match &outcome {
        Ok(()) => StatusCode::ACCEPTED,
        Err(error) => error.status,
    };
    let raw = parsed.unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    shared.record_event(RecordedEvent::new(raw, status));
    match outcome {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(error) => error.into_response(),
    }
}

fn handle(shared: &Shared, caller: &Caller, body: &Value) -> Result<(), ApiError> {
    let request = EventRequest::from_json(body)?;
    shared.with_store(|store, now| {
        let job = visible(store.job_mut(request.job_id), caller)?;
        job.apply(request.event, request.failure, now)
            .map_err(|_| ApiError::invalid_status_change())
    })
}

/// A validated `CreateExportJobEvent` body.
#[derive(Debug, PartialEq, Eq)]
struct EventRequest {
    job_id: Uuid,
    event: Event,
    failure: Option<Failure>,
}

impl EventRequest {
    /// Validates the body (docs/pleo-export-api.md §7): `jobId` a UUID, `event` in the enum, and a
    /// `failureReasonType` from the 15 job-level values exactly when the event is `failed`
    /// (the spec says to include it "only for failed"). A `failureReason` on other events
    /// is ignored.
    fn from_json(body: &Value) -> Result<Self, ApiError> {
        let fields = body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))?;
        let job_id = job_id(fields)?;
        let event = event(fields)?;
        let reason = optional_text(fields, "failureReason")?;
        let reason_type = reason_type(fields)?;
        let failure = match (event, reason_type) {
            (Event::Failed, Some(reason_type)) => Some(Failure {
                reason,
                reason_type,
            }),
            (Event::Failed, None) => {
                return Err(ApiError::bad_request(
                    "A failed event needs a failureReasonType.",
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::bad_request(
                    "failureReasonType may only be sent with a failed event.",
                ));
            }
            (_, None) => None,
        };
        Ok(Self {
            job_id,
            event,
            failure,
        })
    }
}

fn job_id(fields: &Map<String, Value>) -> Result<Uuid, ApiError> {
    let raw = required_text(fields, "jobId")?;
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::bad_request(format!("jobId must be a UUID: '{raw}'.")))
}

fn event(fields: &Map<String, Value>) -> Result<Event, ApiError> {
    let raw = required_text(fields, "event")?;
    Event::from_name(raw).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Unknown event '{raw}'; expected one of {}.",
            Event::names().join(", ")
        ))
    })
}

fn reason_type(fields: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let Some(raw) = optional_text(fields, "failureReasonType")? else {
        return Ok(None);
    };
    if JOB_FAILURE_REASON_TYPES.contains(&raw.as_str()) {
        Ok(Some(raw))
    } else {
        Err(ApiError::bad_request(format!(
            "Unknown failureReasonType '{raw}'; expected one of {}.",
            JOB_FAILURE_REASON_TYPES.join(", ")
        )))
    }
}

/// A string field that must be present (400 `REQUIRED_PARAMETER_MISSING` otherwise).
fn required_text<'a>(fields: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    match fields.get(key) {
        None | Some(Value::Null) => Err(ApiError::required_parameter_missing(key)),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(ApiError::bad_request(format!("{key} must be a string."))),
    }
}

/// A string field that may be absent or `null`.
fn optional_text(fields: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::bad_request(format!("{key} must be a string."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JOB: &str = "8eb648ab-464b-42a0-ba17-eda703657e33";

    fn parse(body: Value) -> Result<EventRequest, String> {
        EventRequest::from_json(&body).map_err(|error| error.message)
    }

    #[test]
    fn accepts_the_documented_failed_event() {
        let request = parse(json!({
            "jobId": JOB,
            "event": "failed",
            "failureReason": "Failed to reach the Accounting System.",
            "failureReasonType": "accounting_system_unreachable",
        }));
        assert_eq!(
            request,
            Ok(EventRequest {
                job_id: Uuid::parse_str(JOB).expect("uuid"),
                event: Event::Failed,
                failure: Some(Failure {
                    reason: Some("Failed to reach the Accounting System.".into()),
                    reason_type: "accounting_system_unreachable".into(),
                }),
            })
        );
    }

    #[test]
    fn accepts_plain_events_with_null_extras() {
        for event in ["started", "completed", "completed_with_errors"] {
            let body = json!({"jobId": JOB, "event": event, "failureReasonType": null});
            assert_eq!(parse(body).map(|r| r.failure), Ok(None), "{event}");
        }
    }

    #[test]
    fn refuses_malformed_bodies() {
        let bodies = [
            json!([]),
            json!({"event": "started"}),
            json!({"jobId": "42", "event": "started"}),
            json!({"jobId": 42, "event": "started"}),
            json!({"jobId": JOB}),
            json!({"jobId": JOB, "event": "canceled"}),
            json!({"jobId": JOB, "event": "failed"}),
            json!({"jobId": JOB, "event": "failed", "failureReasonType": "vendor_unknown"}),
            json!({
                "jobId": JOB, "event": "failed",
                "failureReasonType": "job_expired", "failureReason": 1,
            }),
            json!({"jobId": JOB, "event": "started", "failureReasonType": "invalid_configuration"}),
        ];
        for body in bodies {
            assert!(parse(body.clone()).is_err(), "{body}");
        }
    }

    #[test]
    fn every_job_level_reason_type_is_accepted() {
        for reason_type in JOB_FAILURE_REASON_TYPES {
            let body = json!({"jobId": JOB, "event": "failed", "failureReasonType": reason_type});
            assert!(parse(body).is_ok(), "{reason_type}");
        }
    }

    #[test]
    fn records_what_was_sent() {
        let recorded = RecordedEvent::new(
            json!({"jobId": JOB, "event": "failed", "failureReasonType": "x"}),
            StatusCode::BAD_REQUEST,
        );
        assert_eq!(recorded.job_id, JOB);
        assert_eq!(recorded.failure_reason_type.as_deref(), Some("x"));
        assert_eq!(recorded.failure_reason, None);
        assert_eq!(recorded.status, 400);
        let garbage = RecordedEvent::new(Value::String("{".into()), StatusCode::BAD_REQUEST);
        assert_eq!(garbage.job_id, "");
    }
}
