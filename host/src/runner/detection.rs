//! Detection: sweeping the watched companies' pending jobs.
//!
//! Companies are listed concurrently (at most `detectionConcurrency` at
//! once), in the order of their ids starting where the sweep stood (the
//! store keeps the position, so a restart goes on from there), and each
//! company's jobs start as soon as its listing returns. A company whose
//! listing fails is counted, logged once per change of its state, shown to
//! operators, and backed off on its own: every other company goes on being
//! listed and claimed. A sweep starts every poll interval (at once when it
//! took longer), and a webhook lists its company at once.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Runner, Work};
use crate::metrics;
use crate::pleo::{JobListing, PleoError};
use preflight_runtime::job::JobStatus;

/// The longest a failing company is left alone between two listings
/// (unless the poll interval is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// How often the sweep's position is written to the store.
const SAVE_CURSOR_EVERY: Duration = Duration::from_secs(1);

/// A company whose listing fails, as operators see it (`GET /v1/detection`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingTrouble {
    /// The company; `None` for the credentials' own company.
    pub company_id: Option<uuid::Uuid>,
    /// Listings failed in a row.
    pub failures: u32,
    /// When the first of them failed, in milliseconds since the epoch.
    pub since: i64,
    /// What the last one answered.
    pub last_error: String,
    /// When the company is listed again, in milliseconds since the epoch.
    pub next_attempt_at: i64,
}

/// Where detection stands (`GET /v1/detection`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectionReport {
    /// Companies watched.
    pub companies: usize,
    /// Listings at once, at most.
    pub concurrency: usize,
    /// The last complete sweep, when there was one.
    pub last_sweep: Option<SweepReport>,
    /// Companies whose listing fails, longest failing first.
    pub failing: Vec<ListingTrouble>,
}

/// One complete sweep.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// When it began, in milliseconds since the epoch.
    pub started_at: i64,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// Companies listed.
    pub listed: usize,
    /// Listings that failed.
    pub failed: usize,
    /// Companies skipped because they are backed off.
    pub backed_off: usize,
    /// Jobs started.
    pub started: usize,
}

/// The detection state of one runner.
#[derive(Default)]
pub(super) struct Detection {
    troubles: std::sync::Mutex<HashMap<Option<uuid::Uuid>, Trouble>>,
    last_sweep: std::sync::Mutex<Option<SweepReport>>,
}

struct Trouble {
    public: ListingTrouble,
    next: Instant,
    kind: &'static str,
}

/// A short, stable name for the kind of a listing error (a metric label,
/// and what makes a "change of state" worth a log line).
fn kind(error: &PleoError) -> &'static str {
    match error {
        PleoError::NotFound { .. } => "not_found",
        PleoError::Conflict { .. } => "conflict",
        PleoError::InvalidTransition { .. } => "invalid_transition",
        PleoError::Auth { status: 401, .. } => "unauthorized",
        PleoError::Auth { .. } => "forbidden",
        PleoError::Rejected { .. } => "rejected",
        PleoError::Unavailable { .. } => "unavailable",
        PleoError::Malformed { .. } => "malformed",
    }
}

/// The delay before listing a company again after `failures` failed
/// listings in a row: the interval, doubled per further failure, at most
/// [`MAX_BACKOFF`] (or the interval, when that is longer).
pub(super) fn backoff(interval: Duration, failures: u32) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(MAX_BACKOFF.max(interval))
}

/// Where a sweep over `companies` (sorted) starts: at the first company not
/// before `cursor`, wrapping to the start.
pub(super) fn start_at(companies: &[Option<uuid::Uuid>], cursor: Option<uuid::Uuid>) -> usize {
    let Some(cursor) = cursor else {
        return 0;
    };
    let position = companies.partition_point(|company| company.is_some_and(|c| c < cursor));
    if position == companies.len() {
        0
    } else {
        position
    }
}

impl Detection {
    fn backed_off(&self, company: Option<uuid::Uuid>, now: Instant) -> bool {
        self.troubles
            .lock()
            .expect("detection lock")
            .get(&company)
            .is_some_and(|trouble| trouble.next > now)
    }

    /// Records a failed listing; logs when the company starts failing or
    /// fails differently.
    fn failed(&self, company: Option<uuid::Uuid>, error: &PleoError, interval: Duration) {
        let kind = kind(error);
        let mut troubles = self.troubles.lock().expect("detection lock");
        let now = preflight_store::now_millis();
        let trouble = troubles.entry(company).or_insert_with(|| Trouble {
            public: ListingTrouble {
                company_id: company,
                failures: 0,
                since: now,
                last_error: String::new(),
                next_attempt_at: now,
            },
            next: Instant::now(),
            kind: "",
        });
        trouble.public.failures += 1;
        let delay = backoff(interval, trouble.public.failures);
        if trouble.kind != kind {
            tracing::warn!(
                company = %company_name(company),
                %error,
                retry_in = ?delay,
                "listing the company's jobs fails; backing off this company only"
            );
        }
        trouble.kind = kind;
        trouble.public.last_error = error.to_string();
        trouble.next = Instant::now() + delay;
        trouble.public.next_attempt_at =
            now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
    }

    /// Records a listing that worked; logs when the company recovers.
    fn listed(&self, company: Option<uuid::Uuid>) {
        if let Some(trouble) = self
            .troubles
            .lock()
            .expect("detection lock")
            .remove(&company)
        {
            tracing::info!(
                company = %company_name(company),
                failures = trouble.public.failures,
                "listing the company's jobs works again"
            );
        }
    }

    fn failing(&self) -> usize {
        self.troubles.lock().expect("detection lock").len()
    }

    pub(super) fn report(&self, companies: usize, concurrency: usize) -> DetectionReport {
        let mut failing: Vec<ListingTrouble> = self
            .troubles
            .lock()
            .expect("detection lock")
            .values()
            .map(|trouble| trouble.public.clone())
            .collect();
        failing.sort_by_key(|trouble| (trouble.since, trouble.company_id));
        DetectionReport {
            companies,
            concurrency,
            last_sweep: *self.last_sweep.lock().expect("detection lock"),
            failing,
        }
    }
}

fn company_name(company: Option<uuid::Uuid>) -> String {
    company.map_or_else(|| "(the credentials' own)".to_owned(), |c| c.to_string())
}

/// A sweep's running account: the positions being listed, the figures, and
/// the first error.
struct Tally {
    in_flight: BTreeSet<usize>,
    report: SweepReport,
    first_error: Option<PleoError>,
}

impl Tally {
    fn new(started_at: i64) -> Tally {
        Tally {
            in_flight: BTreeSet::new(),
            report: SweepReport {
                started_at,
                seconds: 0.0,
                listed: 0,
                failed: 0,
                backed_off: 0,
                started: 0,
            },
            first_error: None,
        }
    }
}

/// What a sweep's bookkeeping needs of each listing.
struct Listed {
    position: usize,
    company: Option<uuid::Uuid>,
    result: Result<JobListing, PleoError>,
}

impl Runner {
    /// The companies a sweep lists, sorted: the watched and the configured
    /// ones (read from the store at each sweep), or the credentials' own
    /// company when there are none.
    async fn targets(&self) -> Vec<Option<uuid::Uuid>> {
        let swept = self.refresh_swept().await;
        if swept.is_empty() {
            vec![None]
        } else {
            swept.into_iter().map(Some).collect()
        }
    }

    /// One sweep over every company not backed off. Returns the jobs it
    /// started, or the first error when every listing it made failed.
    pub(super) async fn sweep(&self) -> Result<usize, PleoError> {
        let parts = &self.inner.parts;
        let detection = &self.inner.detection;
        let companies = self.targets().await;
        let concurrency = parts.settings.detection_concurrency.max(1);
        let cursor = match parts.store.detection_cursor().await {
            Ok(cursor) => cursor,
            Err(error) => {
                tracing::warn!(%error, "cannot read where detection stood; sweeping from the start");
                None
            }
        };
        let start = start_at(&companies, cursor);
        let began = Instant::now();
        let mut tally = Tally::new(preflight_store::now_millis());
        let mut listings = tokio::task::JoinSet::new();
        let mut saved = Instant::now();
        let order = (0..companies.len()).map(|k| (k, companies[(start + k) % companies.len()]));
        for (position, company) in order {
            if detection.backed_off(company, Instant::now()) {
                tally.report.backed_off += 1;
                continue;
            }
            while listings.len() >= concurrency {
                if let Some(Ok(listed)) = listings.join_next().await {
                    self.settle(listed, &mut tally);
                }
            }
            tally.in_flight.insert(position);
            let pleo = parts.pleo_for(company).clone();
            listings.spawn(async move {
                let result = pleo.list_jobs(company, &[JobStatus::Pending]).await;
                Listed {
                    position,
                    company,
                    result,
                }
            });
            if saved.elapsed() >= SAVE_CURSOR_EVERY {
                saved = Instant::now();
                self.save_cursor(&companies, start, &tally.in_flight).await;
            }
        }
        while let Some(joined) = listings.join_next().await {
            if let Ok(listed) = joined {
                self.settle(listed, &mut tally);
            }
        }
        // Complete: the next sweep starts where this one did.
        self.save_cursor(&companies, start, &tally.in_flight).await;
        let Tally {
            mut report,
            first_error,
            ..
        } = tally;
        report.seconds = began.elapsed().as_secs_f64();
        parts
            .metrics
            .set(metrics::SWEEP_SECONDS, &[], report.seconds);
        // Each listing that worked said so at once (readiness comes with
        // the first); a sweep whose every listing failed says the opposite.
        let all_failed = report.listed == 0 && report.failed > 0;
        if all_failed {
            *self.inner.last_poll_ok.lock().expect("poll state lock") = Some(false);
        }
        *detection.last_sweep.lock().expect("detection lock") = Some(report);
        match first_error {
            Some(error) if all_failed => Err(error),
            _ => Ok(report.started),
        }
    }

    /// Lists `company` now, outside the sweep (a webhook named it), and
    /// starts its jobs.
    pub(super) async fn list_now(&self, company: Option<uuid::Uuid>) {
        let result = self
            .inner
            .parts
            .pleo
            .list_jobs(company, &[JobStatus::Pending])
            .await;
        let listed = Listed {
            position: 0,
            company,
            result,
        };
        self.settle(listed, &mut Tally::new(0));
    }

    /// Books one listing and starts the company's jobs, oldest first.
    fn settle(&self, listed: Listed, tally: &mut Tally) {
        let parts = &self.inner.parts;
        let detection = &self.inner.detection;
        tally.in_flight.remove(&listed.position);
        let report = &mut tally.report;
        match listed.result {
            Ok(listing) => {
                report.listed += 1;
                parts.metrics.inc(metrics::LISTINGS, &[("result", "ok")]);
                detection.listed(listed.company);
                *self.inner.last_poll_ok.lock().expect("poll state lock") = Some(true);
                for (id, error) in listing.malformed {
                    parts.metrics.inc(metrics::JOBS_MALFORMED, &[]);
                    tracing::error!(job = id.as_deref().unwrap_or("unknown"), %error, "skipping a malformed job from Pleo");
                }
                for job in listing.jobs {
                    parts.metrics.inc(
                        metrics::JOBS_SEEN,
                        &[("company", &job.company_id.to_string())],
                    );
                    if self.spawn(Work::Pending(job)) {
                        report.started += 1;
                    }
                }
            }
            Err(error) => {
                report.failed += 1;
                parts.metrics.inc(metrics::LISTINGS, &[("result", "error")]);
                parts
                    .metrics
                    .inc(metrics::PLEO_ERRORS, &[("operation", "list_jobs")]);
                let company = company_name(listed.company);
                parts.metrics.inc(
                    metrics::LISTING_ERRORS,
                    &[("company", &company), ("kind", kind(&error))],
                );
                detection.failed(listed.company, &error, parts.poll_interval);
                tally.first_error.get_or_insert(error);
            }
        }
        parts
            .metrics
            .set(metrics::LISTING_FAILING, &[], detection.failing() as f64);
    }

    /// Writes the sweep's position: the first company not yet listed.
    async fn save_cursor(
        &self,
        companies: &[Option<uuid::Uuid>],
        start: usize,
        in_flight: &BTreeSet<usize>,
    ) {
        let position = in_flight.first().copied().unwrap_or(0);
        let Some(Some(company)) = companies.get((start + position) % companies.len().max(1)) else {
            return;
        };
        if let Err(error) = self.inner.parts.store.set_detection_cursor(*company).await {
            tracing::warn!(%error, "cannot record where detection stands");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_company_backs_off_doubling_up_to_a_cap() {
        let minute = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=6).map(|n| backoff(minute, n).as_secs()).collect();
        assert_eq!(delays, [60, 120, 240, 480, 900, 900]);
        // An interval longer than the cap is never shortened.
        let hour = Duration::from_secs(3600);
        assert_eq!(backoff(hour, 3), hour);
        assert_eq!(backoff(minute, u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_sweep_starts_where_the_last_one_stood() {
        let ids: Vec<Option<uuid::Uuid>> = (1..=4u128)
            .map(|n| Some(uuid::Uuid::from_u128(n * 10)))
            .collect();
        assert_eq!(start_at(&ids, None), 0);
        assert_eq!(start_at(&ids, Some(uuid::Uuid::from_u128(30))), 2);
        // A company removed since: the next one after it.
        assert_eq!(start_at(&ids, Some(uuid::Uuid::from_u128(25))), 2);
        // Past the last one: from the start.
        assert_eq!(start_at(&ids, Some(uuid::Uuid::from_u128(99))), 0);
        assert_eq!(start_at(&[None], Some(uuid::Uuid::from_u128(30))), 0);
    }

    #[test]
    fn listing_errors_have_stable_kinds() {
        let info = crate::pleo::ExceptionInfo::default();
        let forbidden = PleoError::Auth {
            what: "GET".into(),
            status: 403,
            info: info.clone(),
        };
        let unauthorized = PleoError::Auth {
            what: "GET".into(),
            status: 401,
            info,
        };
        assert_eq!(kind(&forbidden), "forbidden");
        assert_eq!(kind(&unauthorized), "unauthorized");
    }
}
