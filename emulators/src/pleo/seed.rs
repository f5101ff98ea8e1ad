//! Jobs put in place by tests and by `preflight emulate pleo --seed FILE`, standing in for
//! users pressing **Export** in Pleo's web app (docs/pleo-export-api.md §3.1, "job created").
//!
//! Seeding bypasses the one-active-job-per-company rule of E2, so tests can set up any
//! situation, e.g. two pending jobs to check "oldest first".

use serde::Deserialize;
use uuid::Uuid;

use super::lifecycle::Event;
use super::model::{ItemStatus, Job, JobStatus};
use super::state::{NewJob, Store};
use super::timestamps::UnixSeconds;

/// Items a seeded job has when the seed file does not say.
const DEFAULT_NUMBER_OF_ITEMS: u32 = 3;

/// A job to seed.
#[derive(Clone, Debug)]
pub struct SeedJob {
    /// The company the job belongs to.
    pub company_id: Uuid,
    /// The job's `vendorBasedBookkeeping` flag.
    pub vendor_based_bookkeeping: bool,
    /// How many items (accounting entries) the job has; each gets a random id.
    pub number_of_items: u32,
    /// The job's `isInteractive` flag.
    pub is_interactive: bool,
    /// The status the job starts in, usually [`JobStatus::Pending`]. Later statuses are
    /// reached through the state machine's own transitions, with their timestamps; a
    /// `failed` job has no failure reason, a `completed_with_errors` one a failed first item.
    pub status: JobStatus,
    /// `expiresIn` seconds; `None` uses [`PleoConfig::default_expires_in`](super::PleoConfig).
    pub expires_in: Option<u32>,
}

impl SeedJob {
    /// A pending, interactive job of `company_id` with three items and the default expiry.
    pub fn pending(company_id: Uuid) -> Self {
        Self {
            company_id,
            vendor_based_bookkeeping: false,
            number_of_items: DEFAULT_NUMBER_OF_ITEMS,
            is_interactive: true,
            status: JobStatus::Pending,
            expires_in: None,
        }
    }
}

/// The seed file: `{"jobs": [{"companyId": …, …}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    jobs: Vec<SeedEntry>,
}

/// One job of the seed file; only `companyId` is required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SeedEntry {
    company_id: Uuid,
    #[serde(default)]
    vendor_based_bookkeeping: bool,
    #[serde(default = "default_number_of_items")]
    number_of_items: u32,
    #[serde(default = "default_is_interactive")]
    is_interactive: bool,
    #[serde(default = "default_status")]
    status: JobStatus,
    #[serde(default)]
    expires_in: Option<u32>,
}

fn default_number_of_items() -> u32 {
    DEFAULT_NUMBER_OF_ITEMS
}

fn default_is_interactive() -> bool {
    true
}

fn default_status() -> JobStatus {
    JobStatus::Pending
}

/// Reads a seed file. Unknown fields are refused, and errors name the field, e.g.
/// `jobs[1].companyId: invalid type: …`.
pub(super) fn parse(json: &str) -> Result<Vec<SeedJob>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let file: SeedFile = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        if path == "." {
            error.inner().to_string()
        } else {
            format!("{path}: {}", error.inner())
        }
    })?;
    deserializer.end().map_err(|error| error.to_string())?;
    Ok(file.jobs.into_iter().map(SeedJob::from).collect())
}

impl From<SeedEntry> for SeedJob {
    fn from(entry: SeedEntry) -> Self {
        Self {
            company_id: entry.company_id,
            vendor_based_bookkeeping: entry.vendor_based_bookkeeping,
            number_of_items: entry.number_of_items,
            is_interactive: entry.is_interactive,
            status: entry.status,
            expires_in: entry.expires_in,
        }
    }
}

/// Stores `seed` as a new job and returns its id.
pub(super) fn insert(
    store: &mut Store,
    seed: SeedJob,
    default_expires_in: u32,
    now: UnixSeconds,
) -> Uuid {
    let new = NewJob {
        company_id: seed.company_id,
        created_by: None,
        accounting_entry_ids: (0..seed.number_of_items).map(|_| Uuid::new_v4()).collect(),
        is_interactive: seed.is_interactive,
        vendor_based_bookkeeping: seed.vendor_based_bookkeeping,
        expires_in: seed.expires_in.unwrap_or(default_expires_in),
    };
    let job = store.insert(new, now);
    advance(job, seed.status, now);
    job.id
}

/// Moves a new pending job to `status` through the transitions of docs/pleo-export-api.md
/// §3.1, giving finished jobs the item results an integration would have reported.
fn advance(job: &mut Job, status: JobStatus, now: UnixSeconds) {
    let last = match status {
        JobStatus::Pending => return,
        JobStatus::InProgress => None,
        JobStatus::Failed => Some(Event::Failed),
        JobStatus::Completed => Some(Event::Completed),
        JobStatus::CompletedWithErrors => Some(Event::CompletedWithErrors),
    };
    // Both transitions are allowed from these statuses, so the results can be ignored.
    let _ = job.apply(Event::Started, None, now);
    let Some(last) = last else {
        return;
    };
    if last != Event::Failed {
        report_results(job, last == Event::CompletedWithErrors, now);
    }
    let _ = job.apply(last, None, now);
}

/// Marks every item exported, except the first one when `with_errors`.
fn report_results(job: &mut Job, with_errors: bool, now: UnixSeconds) {
    let exported_at = job.stamp(now);
    for (index, item) in job.items.iter_mut().enumerate() {
        if with_errors && index == 0 {
            item.status = ItemStatus::Failed;
            item.failure_reason = Some("Seeded as failed.".to_owned());
            item.failure_reason_type = Some("unexpected_failure".to_owned());
        } else {
            item.status = ItemStatus::Successful;
            item.exported_at = Some(exported_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPANY: &str = "5a7c3b1e-2d4f-4e6a-8b9c-0d1e2f3a4b5c";

    #[test]
    fn only_the_company_is_required() {
        let jobs = parse(&format!(r#"{{"jobs": [{{"companyId": "{COMPANY}"}}]}}"#))
            .expect("valid seed file");
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].company_id.to_string(), COMPANY);
        assert_eq!(jobs[0].number_of_items, DEFAULT_NUMBER_OF_ITEMS);
        assert!(jobs[0].is_interactive);
        assert_eq!(jobs[0].status, JobStatus::Pending);
        assert_eq!(jobs[0].expires_in, None);
    }

    #[test]
    fn reads_every_field() {
        let jobs = parse(&format!(
            r#"{{"jobs": [{{"companyId": "{COMPANY}", "vendorBasedBookkeeping": true,
                "numberOfItems": 7, "isInteractive": false, "status": "in_progress",
                "expiresIn": 60}}]}}"#
        ))
        .expect("valid seed file");
        let job = &jobs[0];
        assert!(job.vendor_based_bookkeeping && !job.is_interactive);
        assert_eq!((job.number_of_items, job.expires_in), (7, Some(60)));
        assert_eq!(job.status, JobStatus::InProgress);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"jobs": [{}]}"#.to_owned(), "companyId"),
            (
                r#"{"jobs": [{"companyId": "x"}]}"#.to_owned(),
                "jobs[0].companyId",
            ),
            (
                format!(r#"{{"jobs": [{{"companyId": "{COMPANY}", "owner": 1}}]}}"#),
                "owner",
            ),
            (
                format!(r#"{{"jobs": [{{"companyId": "{COMPANY}", "status": "done"}}]}}"#),
                "jobs[0].status",
            ),
            (r#"{"job": []}"#.to_owned(), "job"),
            (r#"{"jobs": []} trailing"#.to_owned(), "trailing"),
        ];
        for (json, field) in cases {
            let error = parse(&json).expect_err(&json);
            assert!(error.contains(field), "{json}: {error}");
        }
    }

    #[test]
    fn later_statuses_are_reached_with_their_side_effects() {
        let mut store = Store::default();
        let mut seeded = |status| {
            let seed = SeedJob {
                status,
                ..SeedJob::pending(Uuid::new_v4())
            };
            let id = insert(&mut store, seed, 3_600, 1_000);
            store.job(id).cloned().expect("seeded job")
        };
        let running = seeded(JobStatus::InProgress);
        assert_eq!(running.started_at, Some(1_000));
        let done = seeded(JobStatus::CompletedWithErrors);
        assert_eq!(done.status, JobStatus::CompletedWithErrors);
        let statuses: Vec<_> = done.items.iter().map(|i| i.status).collect();
        assert_eq!(
            statuses,
            [
                ItemStatus::Failed,
                ItemStatus::Successful,
                ItemStatus::Successful
            ]
        );
        let failed = seeded(JobStatus::Failed);
        assert!(
            failed
                .items
                .iter()
                .all(|i| i.status == ItemStatus::Abandoned)
        );
        assert_eq!(seeded(JobStatus::Completed).status, JobStatus::Completed);
    }
}
