//! The pre-export validation step of Pleo's export lifecycle (docs/pleo-export-api.md §4
//! and §5): detect pending jobs by sweeping the watched companies (and when a
//! webhook names a company), claim each with `started`, resolve the company's configuration
//! and plugin, validate (retrying transient trouble within a budget), then
//! fail the job early with `failed` and confirm it, or hand it over to item
//! processing. Items are never touched.
//!
//! Jobs of different companies run concurrently; a company has one job in
//! flight at a time. Every step is written to the [`Store`]'s journal before
//! it is acted on, so a restarted runner finishes what it had in flight: a
//! verdict reached but not posted is posted once, a claim without a verdict
//! is validated again, and nothing is posted twice. Replicas sharing one
//! store never hold the same job at once. Every validation is written to the
//! decision log.
//!
//! At shutdown detection stops at once, the jobs in flight get
//! `shutdownGraceSecs` to finish, and what is still in flight then is left in
//! the journal with its lease ended, for the next start or another replica.
//!
//! # Layout
//!
//! - this file: the [`Runner`] (its loop, resuming, one task per job,
//!   shutdown), its [`RunnerSettings`], and on-demand validation;
//! - `detection`: the concurrent sweep over the watched companies, with
//!   per-company backoff; [`DetectionReport`];
//! - `attempt`: one validation attempt (resolve, validate, count, log),
//!   shared by the lifecycle and `/v1/validate`; [`HostVerdict`];
//! - `lifecycle`: one job from claim to outcome, the journal's stage table;
//! - [`handover`]: where valid jobs go.

mod attempt;
mod detection;
pub mod handover;
mod lifecycle;
pub mod shadow;

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

pub use attempt::HostVerdict;
pub use detection::{DetectionReport, ListingTrouble, SweepReport};
pub use handover::Handover;

use crate::metrics::Metrics;
use crate::pleo::{PleoClient, PleoError};
use crate::registry::Registry;
use preflight_runtime::job::ExportJob;
use preflight_runtime::report::Verdict;
pub use preflight_store::Stage;
use preflight_store::{JobRecord, Store, StoreError};

/// How many finished outcomes the runner keeps for the operator API.
const RECENT_OUTCOMES: usize = 1_000;

/// What became of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    /// The job.
    pub job_id: uuid::Uuid,
    /// Its company.
    pub company_id: uuid::Uuid,
    /// The company's accounting system, when configured.
    pub accounting_system: Option<String>,
    /// `name version` of the plugin that decided, when one ran.
    pub plugin: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// What the runner did about it.
    pub action: Action,
    /// Validations run (more than one when transient trouble was retried).
    pub attempts: u32,
    /// Time from claim to outcome, in milliseconds.
    pub millis: f64,
}

/// What the runner did with a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Posted `failed` and confirmed the job is failed.
    FailedEarly,
    /// Valid: handed over to item processing.
    HandedOver,
    /// Another worker claimed it first (422 on `started`).
    LostRace,
    /// Pleo ended the job meanwhile (expired, cancelled).
    EndedByPleo,
    /// The outcome could not be delivered; the journal keeps it for a retry.
    Deferred(String),
}

/// How the runner retries and how much it runs at once (the operator file's
/// `[runner]`).
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Validations of one job whose checks hit transient trouble.
    pub retry_attempts: u32,
    /// Time those validations may take in all.
    pub retry_window: Duration,
    /// Delay before the second validation; doubled for each further one, and
    /// never shorter than the accounting system's `Retry-After`.
    pub retry_delay: Duration,
    /// Jobs processed at once.
    pub max_concurrent_jobs: usize,
    /// The state directory: the default home of the store and the
    /// compiled cache; `None` keeps state in memory.
    pub state_dir: Option<PathBuf>,
    /// Downstream URL told about each valid job.
    pub handover_url: Option<url::Url>,
    /// Downstream command run for each valid job; `{jobId}` is replaced.
    pub handover_command: Option<Vec<String>>,
    /// Key of the URL handover's signature (from a `whsec_…` secret),
    /// Standard Webhooks style, so the downstream can verify the runner
    /// sent it.
    pub handover_key: Option<crate::webhook::SigningKey>,
    /// Companies listed at once.
    pub detection_concurrency: usize,
    /// Time the jobs in flight get to finish at shutdown.
    pub shutdown_grace: Duration,
    /// The systems and companies in monitor mode.
    pub monitor: Monitor,
}

/// Monitor mode (`runner.monitorSystems`, `runner.monitorCompanies`), for
/// onboarding an accounting system or a company without risk: its jobs are
/// validated and recorded as usual, but never failed. Each is handed over,
/// and the verdict it would have had is logged and counted
/// (`preflight_jobs_monitored_total`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitor {
    /// Accounting systems whose every company is monitored.
    pub systems: std::collections::BTreeSet<String>,
    /// Companies monitored whatever their system.
    pub companies: std::collections::BTreeSet<uuid::Uuid>,
}

impl Monitor {
    /// Whether a job of `company`, on `system` when its configuration was
    /// read, is in monitor mode.
    pub fn covers(&self, company: uuid::Uuid, system: Option<&str>) -> bool {
        self.companies.contains(&company)
            || system.is_some_and(|system| self.systems.contains(system))
    }
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings {
            retry_attempts: 3,
            retry_window: Duration::from_secs(120),
            retry_delay: Duration::from_secs(2),
            max_concurrent_jobs: 64,
            state_dir: None,
            handover_url: None,
            handover_command: None,
            handover_key: None,
            detection_concurrency: 16,
            shutdown_grace: Duration::from_secs(20),
            monitor: Monitor::default(),
        }
    }
}

/// Everything a runner is made of.
pub struct RunnerParts {
    /// The Export API client with the deployment's own credentials
    /// (`[pleo] auth`), for companies of no particular organisation.
    pub pleo: PleoClient,
    /// A client per further Pleo organisation, with its own grant; a
    /// company's jobs go through its organisation's.
    pub organisations: std::collections::BTreeMap<uuid::Uuid, PleoClient>,
    /// Integration configurations by company, in the store.
    pub companies: Arc<crate::companies::Companies>,
    /// Companies to poll besides the configured ones (`pleo.watchCompanies`;
    /// in any order, swept in the order of their ids). With neither, the
    /// credentials' own company is listed (no `company_id` passed).
    pub polled: Vec<uuid::Uuid>,
    /// Time between the starts of two sweeps (`pleo.pollIntervalSecs`), and
    /// the first delay of a failing company's backoff.
    pub poll_interval: Duration,
    /// Plugins by accounting system.
    pub registry: Arc<Registry>,
    /// Retry budget and concurrency.
    pub settings: RunnerSettings,
    /// The journal and the decision log.
    pub store: Store,
    /// Fields masked in the decision log (JSON keys and query parameters).
    pub mask_fields: Vec<String>,
    /// Where valid jobs go.
    pub handover: Handover,
    /// Counters and histograms.
    pub metrics: Arc<Metrics>,
}

impl RunnerParts {
    /// The client for `company`'s jobs: its organisation's, else the
    /// deployment's own.
    pub(crate) fn pleo_for(&self, company: Option<uuid::Uuid>) -> &PleoClient {
        company
            .and_then(|company| self.companies.organisation_of(company))
            .and_then(|organisation| self.organisations.get(&organisation))
            .unwrap_or(&self.pleo)
    }
}

/// The runner. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    parts: RunnerParts,
    /// Whether the last listing reached Pleo; `None` before the first.
    last_poll_ok: Mutex<Option<bool>>,
    /// Set at shutdown: no job starts any more, `/readyz` says 503.
    stopping: AtomicBool,
    detection: detection::Detection,
    busy_companies: Mutex<HashSet<uuid::Uuid>>,
    /// The companies swept: the watched ones and those configured in the
    /// store when last read, sorted.
    swept: Mutex<Vec<uuid::Uuid>>,
    in_flight: Mutex<HashSet<uuid::Uuid>>,
    outcomes: Mutex<VecDeque<JobOutcome>>,
    slots: Arc<Semaphore>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
    wake: Notify,
}

impl Runner {
    /// A runner made of `parts`.
    pub fn new(mut parts: RunnerParts) -> Runner {
        let permits = parts
            .settings
            .max_concurrent_jobs
            .clamp(1, Semaphore::MAX_PERMITS);
        let slots = Arc::new(Semaphore::new(permits));
        parts.polled.sort();
        parts.polled.dedup();
        let swept = Mutex::new(parts.polled.clone());
        Runner {
            inner: Arc::new(Inner {
                parts,
                last_poll_ok: Mutex::new(None),
                stopping: AtomicBool::new(false),
                detection: detection::Detection::default(),
                busy_companies: Mutex::new(HashSet::new()),
                swept,
                in_flight: Mutex::new(HashSet::new()),
                outcomes: Mutex::new(VecDeque::new()),
                slots,
                tasks: Mutex::new(tokio::task::JoinSet::new()),
                wake: Notify::new(),
            }),
        }
    }

    /// The metrics the runner updates.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.parts.metrics
    }

    /// The plugins by accounting system.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.parts.registry
    }

    /// The most recent outcomes, oldest first.
    pub fn outcomes(&self) -> Vec<JobOutcome> {
        self.inner
            .outcomes
            .lock()
            .expect("outcomes lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Asks the runner to sweep every company now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Lists `company`'s pending jobs now (a webhook announced one) and
    /// starts them. Without a list of companies, the credentials' own
    /// company is listed; a company the runner neither watches nor has a
    /// configuration for is ignored.
    pub fn wake_company(&self, company: uuid::Uuid) {
        if self.is_stopping() {
            return;
        }
        let runner = self.clone();
        tokio::spawn(async move {
            let swept = runner.refresh_swept().await;
            let target = if swept.is_empty() {
                None
            } else if swept.binary_search(&company).is_ok() {
                Some(company)
            } else {
                tracing::info!(%company, "a webhook named a company this runner does not watch; ignored");
                return;
            };
            runner.list_now(target).await;
        });
    }

    /// Reads which companies are configured now and keeps the list swept
    /// (the watched ones and the configured ones); when the store cannot be
    /// read, the last list stands.
    pub(crate) async fn refresh_swept(&self) -> Vec<uuid::Uuid> {
        let parts = &self.inner.parts;
        match parts.companies.ids().await {
            Ok(configured) => {
                let mut swept: Vec<uuid::Uuid> = configured
                    .into_iter()
                    .chain(parts.polled.iter().copied())
                    .collect();
                swept.sort();
                swept.dedup();
                *self.inner.swept.lock().expect("swept lock") = swept.clone();
                swept
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the configured companies; sweeping the last list read");
                self.inner.swept.lock().expect("swept lock").clone()
            }
        }
    }

    /// The companies a validation may use now: the configuration company
    /// `id` has in the store.
    pub fn companies(&self) -> &Arc<crate::companies::Companies> {
        &self.inner.parts.companies
    }

    /// Whether the runner is shutting down.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Where detection stands: the last sweep and the failing companies.
    pub fn detection(&self) -> DetectionReport {
        self.inner.detection.report(
            self.targets_len(),
            self.inner.parts.settings.detection_concurrency,
        )
    }

    fn targets_len(&self) -> usize {
        self.inner.swept.lock().expect("swept lock").len().max(1)
    }

    /// The journal and the decision log.
    pub fn store(&self) -> &Store {
        &self.inner.parts.store
    }

    /// Runs until `shutdown` resolves: every poll interval (or when woken)
    /// takes up the journal's unfinished jobs and sweeps the watched
    /// companies. At shutdown, detection stops at once and the jobs in
    /// flight get the grace period to finish ([`Runner::finish`]).
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        let interval = self.inner.parts.poll_interval;
        let detect = async {
            loop {
                let began = Instant::now();
                if let Err(error) = self.resume().await {
                    tracing::error!(%error, "could not read the journal's unfinished jobs; trying again at the next interval");
                }
                if let Err(error) = self.sweep().await {
                    tracing::error!(%error, "no company could be listed; trying again at the next interval");
                }
                tokio::select! {
                    () = tokio::time::sleep_until((began + interval).into()) => {}
                    () = self.inner.wake.notified() => {}
                }
            }
        };
        tokio::select! {
            () = shutdown => {}
            () = detect => {}
        }
        self.finish().await;
    }

    /// Stops taking up jobs and gives those in flight the grace period
    /// (`shutdownGraceSecs`) to finish. Jobs still in flight after it are
    /// stopped where they stand: the journal has every step they took, and
    /// their leases are ended so that the next start, or another replica,
    /// takes them up at once. Returns how many were left so.
    pub async fn finish(&self) -> usize {
        self.inner.stopping.store(true, Ordering::SeqCst);
        // Jobs waiting for a slot never start.
        self.inner.slots.close();
        let grace = self.inner.parts.settings.shutdown_grace;
        let mut tasks = std::mem::take(&mut *self.inner.tasks.lock().expect("tasks lock"));
        let drained = tokio::time::timeout(grace, join_all(&mut tasks)).await;
        if drained.is_ok() {
            return 0;
        }
        let unfinished: Vec<uuid::Uuid> = self
            .inner
            .in_flight
            .lock()
            .expect("in-flight lock")
            .iter()
            .copied()
            .collect();
        tasks.shutdown().await;
        let parts = &self.inner.parts;
        for _ in &unfinished {
            parts.metrics.inc(crate::metrics::SHUTDOWN_UNFINISHED, &[]);
        }
        match parts.store.let_go(&unfinished).await {
            Ok(count) => tracing::warn!(
                in_flight = unfinished.len(),
                held = count,
                ?grace,
                "the grace period ended with jobs in flight; the journal keeps them for the next start"
            ),
            Err(error) => {
                tracing::error!(%error, "cannot end the leases of the jobs left in flight; they are taken up once the leases run out")
            }
        }
        unfinished.len()
    }

    /// Takes up the journal's unfinished jobs that are this replica's (from
    /// before a restart) or whose holder's lease ran out, and finishes each
    /// from where it stopped, without a second `started`. Jobs this runner
    /// never claimed are left alone. Returns how many it started.
    pub async fn resume(&self) -> Result<usize, StoreError> {
        let mut resumed = 0;
        for record in self.inner.parts.store.unfinished().await? {
            let (job, company, stage) = (record.job_id, record.company_id, record.stage.name());
            // Jobs this process is working on are unfinished too: skipped.
            if self.spawn(Work::Resume(record)) {
                tracing::info!(%job, %company, stage, "resuming an unfinished job from the journal");
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// Whether the last listing reached Pleo; `None` before the first.
    pub fn last_poll_ok(&self) -> Option<bool> {
        *self.inner.last_poll_ok.lock().expect("poll state lock")
    }

    /// Sweeps every watched company once (those backed off excepted) and
    /// starts each pending job whose company has no job in flight. Returns
    /// how many it started, or the first error when every listing failed.
    pub async fn poll(&self) -> Result<usize, PleoError> {
        self.sweep().await
    }

    /// Waits until no job is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let mut tasks = std::mem::take(&mut *self.inner.tasks.lock().expect("tasks lock"));
            if tasks.is_empty() {
                return;
            }
            join_all(&mut tasks).await;
        }
    }

    /// Starts `work` unless its job is in flight here or its company
    /// already has a job in flight.
    fn spawn(&self, work: Work) -> bool {
        let (job_id, company) = work.ids();
        if self.is_stopping() {
            return false;
        }
        if !self
            .inner
            .in_flight
            .lock()
            .expect("in-flight lock")
            .insert(job_id)
        {
            return false;
        }
        if !self
            .inner
            .busy_companies
            .lock()
            .expect("busy lock")
            .insert(company)
        {
            self.inner
                .in_flight
                .lock()
                .expect("in-flight lock")
                .remove(&job_id);
            return false;
        }
        let runner = self.clone();
        self.inner
            .tasks
            .lock()
            .expect("tasks lock")
            .spawn(async move {
                // Closed at shutdown: a job still waiting then never starts.
                let outcome = match Arc::clone(&runner.inner.slots).acquire_owned().await {
                    Ok(permit) => {
                        let outcome = lifecycle::process(&runner.inner.parts, work).await;
                        drop(permit);
                        outcome
                    }
                    Err(_) => None,
                };
                runner
                    .inner
                    .busy_companies
                    .lock()
                    .expect("busy lock")
                    .remove(&company);
                runner
                    .inner
                    .in_flight
                    .lock()
                    .expect("in-flight lock")
                    .remove(&job_id);
                if let Some(outcome) = outcome {
                    let mut outcomes = runner.inner.outcomes.lock().expect("outcomes lock");
                    if outcomes.len() == RECENT_OUTCOMES {
                        outcomes.pop_front();
                    }
                    outcomes.push_back(outcome);
                }
            });
        true
    }
}

/// Waits for every task of `tasks`, logging those that ended abnormally.
async fn join_all(tasks: &mut tokio::task::JoinSet<()>) {
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result {
            tracing::error!(%error, "a job task ended abnormally");
        }
    }
}

/// What a job task starts from.
enum Work {
    /// A pending job from a poll.
    Pending(ExportJob),
    /// An unfinished job from the journal.
    Resume(JobRecord),
}

impl Work {
    fn ids(&self) -> (uuid::Uuid, uuid::Uuid) {
        match self {
            Work::Pending(job) => (job.id, job.company_id),
            Work::Resume(record) => (record.job_id, record.company_id),
        }
    }
}

/// The answer of an on-demand validation.
#[derive(Debug, Clone, Serialize)]
pub struct OnDemand {
    /// The job as Pleo returned it.
    pub job: ExportJob,
    /// The company's accounting system, when configured.
    pub accounting_system: Option<String>,
    /// The plugin's outcome, when a plugin ran.
    pub outcome: Option<preflight_runtime::plugin::Outcome>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Runner {
    /// Validates job `job_id` once, for integrations that run the rest of the
    /// lifecycle themselves: no claim, no event, no retry. The attempt is
    /// counted and logged like every attempt of the runner's own.
    pub async fn validate_on_demand(&self, job_id: uuid::Uuid) -> Result<OnDemand, PleoError> {
        let parts = &self.inner.parts;
        // The job may belong to any organisation served: the deployment's
        // own client first, then each organisation's, until one knows it.
        let mut found = parts.pleo.get_job(job_id).await;
        for client in parts.organisations.values() {
            match &found {
                Err(error) if error.is_not_found() || error.is_auth() => {
                    found = client.get_job(job_id).await;
                }
                _ => break,
            }
        }
        let job = found?;
        let (verdict, outcome, accounting_system) = match attempt::resolve(parts, &job).await {
            Ok(resolved) => {
                let attempt = attempt::run(parts, &job, &resolved, 1, attempt::Budgeted::No).await;
                let system = resolved.config.accounting_system.clone();
                (attempt.verdict, attempt.outcome, Some(system))
            }
            Err(why) => {
                let system = why.accounting_system();
                (attempt::host_decided(parts, &job, &why).await, None, system)
            }
        };
        Ok(OnDemand {
            job,
            accounting_system,
            outcome,
            verdict,
        })
    }
}
