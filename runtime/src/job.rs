//! Pleo's export job (`ExportJobV3` in the Export API v3 OpenAPI file), as the
//! API returns it, and its conversion into the contract's `export-job`.

use serde::{Deserialize, Serialize};

use crate::report::FailureReason;

/// An export job as Pleo's Export API v3 returns it (`ExportJobV3`). The
/// required fields are those the spec marks required; the others are optional
/// there too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJob {
    /// Job id (UUID).
    pub id: uuid::Uuid,
    /// The Pleo company (entity) the job belongs to (UUID).
    pub company_id: uuid::Uuid,
    /// Current status.
    pub status: JobStatus,
    /// When the user pressed Export (`YYYY-MM-DDTHH:MM:SSZ`).
    pub created_at: String,
    /// Seconds until expiry, counted from `lastUpdatedAt`.
    pub expires_in: u32,
    /// User-initiated (true) or system-initiated (false).
    pub is_interactive: bool,
    /// Number of export items in the job.
    pub number_of_items: u32,
    /// True when the job books against vendors (accounts payable).
    pub vendor_based_bookkeeping: bool,
    /// Who created the job (UUID), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<uuid::Uuid>,
    /// When a `started` event moved the job to `in_progress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Last change of the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_at: Option<String>,
    /// When the job was completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// When the job expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<String>,
    /// The failure text shown to the user, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The failure reason type, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason_type: Option<ReasonType>,
}

/// A job's `failureReasonType` as Pleo reports it: one of the reasons an
/// integration sets, or another of Pleo's job-level values (set by Pleo
/// itself, e.g. on expiry), kept as it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReasonType {
    /// A reason an integration may set.
    Set(FailureReason),
    /// Any other value.
    Other(String),
}

impl ReasonType {
    /// Whether this is `reason`.
    pub fn is(&self, reason: FailureReason) -> bool {
        matches!(self, ReasonType::Set(set) if *set == reason)
    }
}

/// `ExportJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, not yet claimed.
    Pending,
    /// Claimed with a `started` event.
    InProgress,
    /// Failed (by the integration, by expiry or by the user).
    Failed,
    /// All items exported.
    Completed,
    /// Ended with some failed items.
    CompletedWithErrors,
}

impl JobStatus {
    /// The wire name, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::InProgress => "in_progress",
            JobStatus::Failed => "failed",
            JobStatus::Completed => "completed",
            JobStatus::CompletedWithErrors => "completed_with_errors",
        }
    }

    /// Whether the job has ended (failed or completed).
    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Pending | JobStatus::InProgress)
    }
}

/// Why a job document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", if path.is_empty() { "the job" } else { path.as_str() })]
pub struct JobError {
    /// JSON path of the offending field (`data.status`); empty for the document.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl ExportJob {
    /// Parses a job from JSON, bare or wrapped in `{"data": …}` as the API
    /// returns it. An error names the field.
    pub fn from_json(json: &str) -> Result<Self, JobError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Wrapped { data: serde_json::Value },
            Bare(serde_json::Value),
        }
        let value: serde_json::Value = serde_json::from_str(json).map_err(|error| JobError {
            path: String::new(),
            message: format!("not valid JSON: {error}"),
        })?;
        let (prefix, value) = match serde_json::from_value::<Shape>(value) {
            Ok(Shape::Wrapped { data }) => ("data.", data),
            Ok(Shape::Bare(value)) => ("", value),
            Err(error) => {
                return Err(JobError {
                    path: String::new(),
                    message: error.to_string(),
                });
            }
        };
        Self::from_value(value).map_err(|error| JobError {
            path: match error.path.as_str() {
                "" => prefix.trim_end_matches('.').to_owned(),
                path => format!("{prefix}{path}"),
            },
            message: error.message,
        })
    }

    /// Parses a bare job from a JSON value (an element of a job list); an
    /// error names the field.
    pub fn from_value(value: serde_json::Value) -> Result<Self, JobError> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            JobError {
                path: if path == "." { String::new() } else { path },
                message: error.into_inner().to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = r#"{
        "id": "8eb648ab-464b-42a0-ba17-eda703657e33",
        "companyId": "12abc3d4-e567-890e-1234-abc56e78fabc",
        "status": "in_progress",
        "createdAt": "2023-11-07T05:31:56Z",
        "expiresIn": 3600,
        "isInteractive": true,
        "numberOfItems": 12,
        "vendorBasedBookkeeping": false,
        "failureReason": null
    }"#;

    #[test]
    fn reads_bare_and_wrapped_jobs() {
        let bare = ExportJob::from_json(JOB).unwrap();
        assert_eq!(bare.status, JobStatus::InProgress);
        assert_eq!(bare.number_of_items, 12);
        let wrapped = ExportJob::from_json(&format!(r#"{{"data": {JOB}}}"#)).unwrap();
        assert_eq!(wrapped, bare);
    }

    #[test]
    fn errors_name_the_field() {
        let unknown_status = JOB.replace("in_progress", "done");
        let error = ExportJob::from_json(&format!(r#"{{"data": {unknown_status}}}"#)).unwrap_err();
        assert_eq!(error.path, "data.status");
        assert!(
            error.message.contains("unknown variant `done`"),
            "{}",
            error.message
        );

        let missing = JOB.replace(r#""numberOfItems": 12,"#, "");
        let error = ExportJob::from_json(&missing).unwrap_err();
        assert!(
            error.to_string().contains("missing field `numberOfItems`"),
            "{error}"
        );

        let bad_id = JOB.replace("8eb648ab-464b", "not-a-uuid");
        assert_eq!(ExportJob::from_json(&bad_id).unwrap_err().path, "id");

        assert!(
            ExportJob::from_json("{")
                .unwrap_err()
                .message
                .contains("not valid JSON")
        );
    }
}
