//! The job state machine of docs/pleo-export-api.md §3.1: which export job events move a job
//! where, what each transition records, and lazy expiry.

use super::model::{ItemStatus, Job, JobStatus};
use super::timestamps::UnixSeconds;

/// `ExportJobEventType`: what an integration reports with `POST /v3/export-job-events`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Event {
    Started,
    Failed,
    Completed,
    CompletedWithErrors,
}

impl Event {
    const ALL: [Event; 4] = [
        Event::Started,
        Event::Failed,
        Event::Completed,
        Event::CompletedWithErrors,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Failed => "failed",
            Event::Completed => "completed",
            Event::CompletedWithErrors => "completed_with_errors",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The wire names, for error messages.
    pub(super) fn names() -> Vec<&'static str> {
        Event::ALL.into_iter().map(Event::as_str).collect()
    }
}

/// Why a job failed, as carried by a `failed` event or set by expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Failure {
    pub(super) reason: Option<String>,
    pub(super) reason_type: String,
}

/// The event is not allowed in the job's current status (422
/// `INVALID_EXPORT_JOB_STATUS_CHANGE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InvalidTransition;

/// The status `event` moves a job in status `from` to, or `None` when the transition is not
/// allowed.
///
/// Only the transitions §3.1 documents are allowed. The two it leaves open — `started` on an
/// `in_progress` job, and `failed`/`completed*` on a `pending` one — are refused, as §7
/// recommends by default; a refused second `started` is also what makes claiming safe
/// without a lock (§4).
pub(super) fn next_status(from: JobStatus, event: Event) -> Option<JobStatus> {
    match (from, event) {
        (JobStatus::Pending, Event::Started) => Some(JobStatus::InProgress),
        (JobStatus::InProgress, Event::Failed) => Some(JobStatus::Failed),
        (JobStatus::InProgress, Event::Completed) => Some(JobStatus::Completed),
        (JobStatus::InProgress, Event::CompletedWithErrors) => Some(JobStatus::CompletedWithErrors),
        _ => None,
    }
}

/// The failure reason recorded when a job expires; Pleo's wording is undocumented.
const EXPIRED_REASON: &str = "Export job was not updated within its expiry time limit.";

impl Job {
    /// Applies `event` at `now`. `failure` must be given exactly for [`Event::Failed`]; the
    /// caller has validated that (400 otherwise).
    pub(super) fn apply(
        &mut self,
        event: Event,
        failure: Option<Failure>,
        now: UnixSeconds,
    ) -> Result<(), InvalidTransition> {
        let next = next_status(self.status, event).ok_or(InvalidTransition)?;
        let at = self.stamp(now);
        self.status = next;
        self.last_updated_at = Some(at);
        match next {
            JobStatus::InProgress => self.started_at = Some(at),
            JobStatus::Failed => self.fail(failure),
            JobStatus::Completed | JobStatus::CompletedWithErrors => self.completed_at = Some(at),
            JobStatus::Pending => {}
        }
        Ok(())
    }

    /// Records the failure and abandons every item still open (docs/pleo-export-api.md §3.2).
    pub(super) fn fail(&mut self, failure: Option<Failure>) {
        self.status = JobStatus::Failed;
        if let Some(failure) = failure {
            self.failure_reason = failure.reason;
            self.failure_reason_type = Some(failure.reason_type);
        }
        for item in self.items.iter_mut().filter(|item| item.status.is_open()) {
            item.status = ItemStatus::Abandoned;
        }
    }

    /// When an active job expires: `expiresIn` seconds after its last update, or after its
    /// creation if it was never updated (docs/pleo-export-api.md §2 `expiresIn`, §3.1).
    pub(super) fn expiry_deadline(&self) -> Option<UnixSeconds> {
        self.status
            .is_active()
            .then(|| self.last_updated_at.unwrap_or(self.created_at) + i64::from(self.expires_in))
    }

    /// Fails the job with `job_expired` if its deadline has passed by `now`; returns whether
    /// it did. The emulator checks this lazily, whenever jobs are read or changed (§7).
    pub(super) fn expire_if_due(&mut self, now: UnixSeconds) -> bool {
        let Some(deadline) = self.expiry_deadline().filter(|&deadline| now >= deadline) else {
            return false;
        };
        let failure = Failure {
            reason: Some(EXPIRED_REASON.to_owned()),
            reason_type: "job_expired".to_owned(),
        };
        self.fail(Some(failure));
        self.expired_at = Some(deadline);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pleo::model::Item;
    use serde_json::Map;
    use uuid::Uuid;

    fn job(status: JobStatus) -> Job {
        Job {
            id: Uuid::new_v4(),
            seq: 0,
            company_id: Uuid::new_v4(),
            status,
            created_at: 1_000,
            created_by: None,
            started_at: None,
            last_updated_at: None,
            completed_at: None,
            expired_at: None,
            expires_in: 3_600,
            is_interactive: true,
            vendor_based_bookkeeping: false,
            failure_reason: None,
            failure_reason_type: None,
            corruption: Map::new(),
            items: vec![Item::pending(Uuid::new_v4()), Item::pending(Uuid::new_v4())],
        }
    }

    fn failure() -> Option<Failure> {
        Some(Failure {
            reason: Some("Failed to reach the Accounting System.".into()),
            reason_type: "accounting_system_unreachable".into(),
        })
    }

    #[test]
    fn only_the_documented_transitions_are_allowed() {
        let mut allowed = Vec::new();
        for from in JobStatus::ALL {
            for event in Event::ALL {
                if let Some(to) = next_status(from, event) {
                    allowed.push((from, event, to));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                (JobStatus::Pending, Event::Started, JobStatus::InProgress),
                (JobStatus::InProgress, Event::Failed, JobStatus::Failed),
                (
                    JobStatus::InProgress,
                    Event::Completed,
                    JobStatus::Completed
                ),
                (
                    JobStatus::InProgress,
                    Event::CompletedWithErrors,
                    JobStatus::CompletedWithErrors
                ),
            ]
        );
    }

    #[test]
    fn started_sets_started_and_last_updated() {
        let mut job = job(JobStatus::Pending);
        assert_eq!(job.apply(Event::Started, None, 2_000), Ok(()));
        assert_eq!(job.status, JobStatus::InProgress);
        assert_eq!(job.started_at, Some(2_000));
        assert_eq!(job.last_updated_at, Some(2_000));
        assert_eq!(
            job.apply(Event::Started, None, 2_001),
            Err(InvalidTransition)
        );
        assert_eq!(job.started_at, Some(2_000));
    }

    #[test]
    fn failed_records_the_reason_and_abandons_open_items() {
        let mut job = job(JobStatus::InProgress);
        job.items[0].status = ItemStatus::Successful;
        assert_eq!(job.apply(Event::Failed, failure(), 2_000), Ok(()));
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(
            job.failure_reason_type.as_deref(),
            Some("accounting_system_unreachable")
        );
        assert_eq!(job.items[0].status, ItemStatus::Successful);
        assert_eq!(job.items[1].status, ItemStatus::Abandoned);
        assert_eq!(job.completed_at, None);
    }

    #[test]
    fn completion_sets_completed_at_and_is_final() {
        let mut job = job(JobStatus::InProgress);
        assert_eq!(job.apply(Event::CompletedWithErrors, None, 900), Ok(()));
        // Never earlier than the creation time.
        assert_eq!(job.completed_at, Some(1_000));
        for event in Event::ALL {
            assert_eq!(job.apply(event, failure(), 3_000), Err(InvalidTransition));
        }
    }

    #[test]
    fn active_jobs_expire_after_expires_in_since_the_last_update() {
        let mut job = job(JobStatus::Pending);
        assert!(!job.expire_if_due(4_599));
        assert!(job.expire_if_due(4_600));
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.failure_reason_type.as_deref(), Some("job_expired"));
        assert_eq!(job.expired_at, Some(4_600));
        assert!(job.items.iter().all(|i| i.status == ItemStatus::Abandoned));

        let mut started = self::job(JobStatus::Pending);
        assert_eq!(started.apply(Event::Started, None, 2_000), Ok(()));
        assert!(!started.expire_if_due(5_599));
        assert!(started.expire_if_due(5_600));

        let mut done = self::job(JobStatus::Completed);
        assert!(!done.expire_if_due(1_000_000));
    }
}
