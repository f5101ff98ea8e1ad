//! Export jobs and their items as the emulator stores them, and their JSON form: the
//! `ExportJobV3` and `ExportJobItemV3` schemas (docs/pleo-export-api.md §2).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::timestamps::{self, UnixSeconds};

/// The status of an export job (`ExportJobStatus`, docs/pleo-export-api.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, waiting for an integration to claim it with a `started` event.
    Pending,
    /// Claimed by an integration, which is processing it.
    InProgress,
    /// Failed: by a `failed` event, or by expiry (`job_expired`). Terminal.
    Failed,
    /// Every item was exported. Terminal.
    Completed,
    /// Finished, but some items failed to export. Terminal.
    CompletedWithErrors,
}

impl JobStatus {
    /// Every status, in the order the spec's enum lists them.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Pending,
        JobStatus::InProgress,
        JobStatus::Failed,
        JobStatus::Completed,
        JobStatus::CompletedWithErrors,
    ];

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

    /// The status with wire name `name`, if there is one.
    pub fn from_name(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether no event can change the status any more (docs/pleo-export-api.md §3.1).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Failed | JobStatus::Completed | JobStatus::CompletedWithErrors
        )
    }

    /// Whether the job counts as active: it blocks a new job for its company (409) and
    /// can expire (docs/pleo-export-api.md §2 E2, §3.1).
    pub(super) fn is_active(self) -> bool {
        matches!(self, JobStatus::Pending | JobStatus::InProgress)
    }
}

/// The status of one export job item (`ExportJobItemStatus`, docs/pleo-export-api.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ItemStatus {
    Pending,
    InProgress,
    Failed,
    Successful,
    Abandoned,
}

impl ItemStatus {
    const ALL: [ItemStatus; 5] = [
        ItemStatus::Pending,
        ItemStatus::InProgress,
        ItemStatus::Failed,
        ItemStatus::Successful,
        ItemStatus::Abandoned,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Failed => "failed",
            ItemStatus::Successful => "successful",
            ItemStatus::Abandoned => "abandoned",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Items still waiting or being exported; these become `abandoned` when the job fails
    /// (docs/pleo-export-api.md §3.2).
    pub(super) fn is_open(self) -> bool {
        matches!(self, ItemStatus::Pending | ItemStatus::InProgress)
    }
}

/// `ExportJobFailureReasonType`: the 15 job-level reasons (docs/pleo-export-api.md §2, E4).
pub(super) const JOB_FAILURE_REASON_TYPES: [&str; 15] = [
    "invalid_configuration",
    "missing_configuration",
    "authentication_failure",
    "accounting_system_authentication_failure",
    "pleo_rate_limit",
    "accounting_system_rate_limit",
    "service_unreachable",
    "accounting_system_unreachable",
    "validation_failure",
    "authorization_failure",
    "integration_unusable",
    "job_expired",
    "service_timeout",
    "accounting_system_timeout",
    "canceled_by_user",
];

/// `ExportJobItemFailureReasonType`: the 18 item-level reasons (docs/pleo-export-api.md §2,
/// E5/E6).
pub(super) const ITEM_FAILURE_REASON_TYPES: [&str; 18] = [
    "receipt_upload_failure",
    "receipt_download_failure",
    "receipt_file_size_limit_exceeded",
    "receipt_conversion_failure",
    "unexpected_failure",
    "invalid_configuration",
    "missing_configuration",
    "accounting_system_authentication_failure",
    "accounting_system_rate_limit",
    "accounting_system_unreachable",
    "validation_failure",
    "accounting_system_validation_failure",
    "authorization_failure",
    "accounting_system_timeout",
    "vendor_unknown",
    "account_unknown",
    "tax_code_unknown",
    "tag_unknown",
];

/// One stored export job with its items.
#[derive(Clone, Debug)]
pub(super) struct Job {
    pub(super) id: Uuid,
    /// Creation order; cursors point at it and lists are sorted by it.
    pub(super) seq: u64,
    pub(super) company_id: Uuid,
    pub(super) status: JobStatus,
    pub(super) created_at: UnixSeconds,
    pub(super) created_by: Option<Uuid>,
    pub(super) started_at: Option<UnixSeconds>,
    pub(super) last_updated_at: Option<UnixSeconds>,
    pub(super) completed_at: Option<UnixSeconds>,
    pub(super) expired_at: Option<UnixSeconds>,
    pub(super) expires_in: u32,
    pub(super) is_interactive: bool,
    pub(super) vendor_based_bookkeeping: bool,
    pub(super) failure_reason: Option<String>,
    pub(super) failure_reason_type: Option<String>,
    /// Fields served in place of the real ones (a `null` removes the field):
    /// injected malformed data, for testing clients.
    pub(super) corruption: Map<String, Value>,
    pub(super) items: Vec<Item>,
}

impl Job {
    /// The `ExportJobV3` JSON object.
    ///
    /// `failureReasonType` is left out rather than `null` when unset: unlike the other
    /// optional fields, the spec does not declare it nullable.
    pub(super) fn to_json(&self) -> Value {
        let mut body = Map::new();
        let mut put = |key: &str, value: Value| body.insert(key.to_owned(), value);
        put("id", json!(self.id));
        put("companyId", json!(self.company_id));
        put("status", json!(self.status.as_str()));
        put("createdAt", json!(timestamps::format(self.created_at)));
        put("createdBy", json!(self.created_by));
        put("startedAt", optional_time(self.started_at));
        put("lastUpdatedAt", optional_time(self.last_updated_at));
        put("completedAt", optional_time(self.completed_at));
        put("expiredAt", optional_time(self.expired_at));
        put("expiresIn", json!(self.expires_in));
        put("isInteractive", json!(self.is_interactive));
        put("numberOfItems", json!(self.items.len()));
        put(
            "vendorBasedBookkeeping",
            json!(self.vendor_based_bookkeeping),
        );
        put("failureReason", json!(self.failure_reason));
        if let Some(reason_type) = &self.failure_reason_type {
            put("failureReasonType", json!(reason_type));
        }
        for (key, value) in &self.corruption {
            match value {
                Value::Null => body.remove(key),
                value => body.insert(key.clone(), value.clone()),
            };
        }
        Value::Object(body)
    }

    /// The `ExportJobItemV3` JSON of every item, in creation order.
    pub(super) fn items_json(&self) -> Vec<Value> {
        self.items
            .iter()
            .map(|item| item.to_json(self.id))
            .collect()
    }

    /// A timestamp for something happening to this job at `now`. Seeding spaces creation
    /// times a second apart and may put `createdAt` slightly ahead of the clock; later
    /// timestamps never precede it.
    pub(super) fn stamp(&self, now: UnixSeconds) -> UnixSeconds {
        now.max(self.created_at)
    }
}

/// One accounting entry of a job and how its export went.
#[derive(Clone, Debug)]
pub(super) struct Item {
    pub(super) accounting_entry_id: Uuid,
    pub(super) status: ItemStatus,
    pub(super) exported_at: Option<UnixSeconds>,
    pub(super) external_id: Option<String>,
    pub(super) external_url: Option<String>,
    pub(super) failure_reason: Option<String>,
    pub(super) failure_reason_type: Option<String>,
}

impl Item {
    /// A new item, `pending` with no result yet.
    pub(super) fn pending(accounting_entry_id: Uuid) -> Self {
        Self {
            accounting_entry_id,
            status: ItemStatus::Pending,
            exported_at: None,
            external_id: None,
            external_url: None,
            failure_reason: None,
            failure_reason_type: None,
        }
    }

    /// The `ExportJobItemV3` JSON object; as for jobs, a missing `failureReasonType` is
    /// left out because the spec does not declare it nullable.
    pub(super) fn to_json(&self, job_id: Uuid) -> Value {
        let mut body = Map::new();
        let mut put = |key: &str, value: Value| body.insert(key.to_owned(), value);
        put("accountingEntryId", json!(self.accounting_entry_id));
        put("exportJobId", json!(job_id));
        put("status", json!(self.status.as_str()));
        put("exportedAt", optional_time(self.exported_at));
        put("externalId", json!(self.external_id));
        put("externalUrl", json!(self.external_url));
        put("failureReason", json!(self.failure_reason));
        if let Some(reason_type) = &self.failure_reason_type {
            put("failureReasonType", json!(reason_type));
        }
        Value::Object(body)
    }
}

fn optional_time(secs: Option<UnixSeconds>) -> Value {
    secs.map_or(Value::Null, |secs| Value::String(timestamps::format(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip_and_match_serde() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::from_name(status.as_str()), Some(status));
            assert_eq!(json!(status), json!(status.as_str()));
        }
        for status in ItemStatus::ALL {
            assert_eq!(ItemStatus::from_name(status.as_str()), Some(status));
        }
        assert_eq!(JobStatus::from_name("canceled"), None);
    }

    #[test]
    fn only_finished_jobs_are_terminal() {
        let terminal: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                JobStatus::Failed,
                JobStatus::Completed,
                JobStatus::CompletedWithErrors
            ]
        );
        assert!(
            JobStatus::ALL
                .iter()
                .all(|s| s.is_terminal() != s.is_active())
        );
    }

    #[test]
    fn item_json_leaves_out_an_unset_reason_type() {
        let item = Item::pending(Uuid::nil());
        let body = item.to_json(Uuid::nil());
        assert_eq!(body["status"], "pending");
        assert_eq!(body["exportedAt"], Value::Null);
        assert!(body.get("failureReasonType").is_none());
    }
}
