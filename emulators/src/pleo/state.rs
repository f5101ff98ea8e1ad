//! State shared by every request of one Pleo emulator: the jobs, the recorded events, the
//! fault injector, the webhook sender, and the organisations' OAuth tokens with the clock
//! they expire by.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::Map;
use uuid::Uuid;

use super::PleoConfig;
use super::events::RecordedEvent;
use super::faults::{Fault, Faults, Injector};
use super::model::{Item, Job, JobStatus};
use super::oauth::{AccessToken, Refreshed, TokenError, Tokens};
use super::timestamps::{self, UnixSeconds};
use super::webhooks::{JobCreated, WebhookDelivery, Webhooks};

/// Everything the handlers of one emulator share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: PleoConfig,
    store: Mutex<Store>,
    events: Mutex<Vec<RecordedEvent>>,
    injector: Mutex<Injector>,
    /// Companies whose access was revoked: their listings answer 403.
    refused: Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// Present when [`PleoConfig::webhook`] names a target.
    webhooks: Option<Webhooks>,
    /// The organisations' grants and the access tokens issued.
    tokens: Mutex<Tokens>,
    /// The clock access tokens expire by.
    clock: Clock,
}

impl Shared {
    /// Answers 403 to listings of `company` from now on.
    pub(super) fn refuse(&self, company: uuid::Uuid) {
        self.refused.lock().expect("refused lock").insert(company);
    }

    /// Whether listings of `company` are refused.
    pub(super) fn is_refused(&self, company: uuid::Uuid) -> bool {
        self.refused
            .lock()
            .expect("refused lock")
            .contains(&company)
    }

    pub(super) fn new(config: PleoConfig, webhooks: Option<Webhooks>) -> Self {
        Self {
            store: Mutex::new(Store::default()),
            events: Mutex::new(Vec::new()),
            injector: Mutex::new(Injector::new(config.faults.clone())),
            refused: Mutex::new(std::collections::HashSet::new()),
            tokens: Mutex::new(Tokens::new(&config)),
            clock: Clock::new(),
            config,
            webhooks,
        }
    }

    /// Exchanges a refresh token at the token endpoint; see [`Tokens::refresh`].
    pub(super) fn refresh(&self, presented: &str) -> Result<Refreshed, TokenError> {
        let now = self.clock.now();
        lock(&self.tokens).refresh(presented, now)
    }

    /// What a bearer token that no configured grant has is now.
    pub(super) fn access_token(&self, token: &str) -> AccessToken {
        let now = self.clock.now();
        lock(&self.tokens).access(token, now)
    }

    /// Counts a token call refused before its refresh token was looked at.
    pub(super) fn refuse_token_call(&self) {
        lock(&self.tokens).refuse();
    }

    pub(super) fn expires_in(&self) -> u64 {
        lock(&self.tokens).expires_in()
    }

    pub(super) fn token_calls(&self) -> u64 {
        lock(&self.tokens).calls()
    }

    pub(super) fn token_calls_by_organisation(&self) -> BTreeMap<Uuid, u64> {
        lock(&self.tokens).calls_by_organisation()
    }

    pub(super) fn refused_token_calls(&self) -> u64 {
        lock(&self.tokens).refused()
    }

    /// Moves the clock access tokens expire by forward.
    pub(super) fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Announces a new job to the webhook target, if there is one; returns at once. Call it
    /// after releasing the store.
    pub(super) fn job_created(&self, job: &JobCreated) {
        if let Some(webhooks) = &self.webhooks {
            webhooks.job_created(job);
        }
    }

    pub(super) fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.webhooks
            .as_ref()
            .map(Webhooks::deliveries)
            .unwrap_or_default()
    }

    /// Runs `work` on the jobs at the current time, after failing every job whose expiry
    /// passed, so that expiry is visible to every read and write (docs/pleo-export-api.md §7).
    pub(super) fn with_store<R>(&self, work: impl FnOnce(&mut Store, UnixSeconds) -> R) -> R {
        let now = timestamps::now();
        let mut store = lock(&self.store);
        store.expire_due(now);
        work(&mut store, now)
    }

    pub(super) fn record_event(&self, event: RecordedEvent) {
        lock(&self.events).push(event);
    }

    pub(super) fn events(&self) -> Vec<RecordedEvent> {
        lock(&self.events).clone()
    }

    /// Replaces the faults and restarts their pseudo-random sequence from the new seed.
    pub(super) fn set_faults(&self, faults: Faults) {
        *lock(&self.injector) = Injector::new(faults);
    }

    /// The fault, if any, of a request with this method and path; see
    /// [`Injector::fault_for`].
    pub(super) fn next_fault(&self, method: &Method, path: &str) -> Option<Fault> {
        lock(&self.injector).fault_for(method, path)
    }
}

/// Time since the emulator started plus every [`Clock::advance`], for token expiry.
#[derive(Debug)]
struct Clock {
    started: Instant,
    advanced: Mutex<Duration>,
}

impl Clock {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            advanced: Mutex::new(Duration::ZERO),
        }
    }

    fn now(&self) -> Duration {
        self.started.elapsed().saturating_add(*lock(&self.advanced))
    }

    fn advance(&self, by: Duration) {
        let mut advanced = lock(&self.advanced);
        *advanced = advanced.saturating_add(by);
    }
}

/// A poisoned lock only means a panic in another request; the data is still usable.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a new job is made of, whether created through the API or seeded.
#[derive(Clone, Debug)]
pub(super) struct NewJob {
    pub(super) company_id: Uuid,
    pub(super) created_by: Option<Uuid>,
    pub(super) accounting_entry_ids: Vec<Uuid>,
    pub(super) is_interactive: bool,
    pub(super) vendor_based_bookkeeping: bool,
    pub(super) expires_in: u32,
}

/// The jobs, in creation order.
#[derive(Debug, Default)]
pub(super) struct Store {
    jobs: Vec<Job>,
    next_seq: u64,
    last_created_at: Option<UnixSeconds>,
}

impl Store {
    /// Adds a `pending` job with one `pending` item per accounting entry.
    ///
    /// `createdAt` is strictly increasing: a job created within the same second as the
    /// previous one gets the next second, so "oldest first" (docs/pleo-export-api.md §4) is
    /// unambiguous even to a client that sorts by `createdAt` itself.
    pub(super) fn insert(&mut self, new: NewJob, now: UnixSeconds) -> &mut Job {
        let created_at = self
            .last_created_at
            .map_or(now, |last| now.max(last.saturating_add(1)));
        self.last_created_at = Some(created_at);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.jobs.push(Job {
            id: Uuid::new_v4(),
            seq,
            company_id: new.company_id,
            status: JobStatus::Pending,
            created_at,
            created_by: new.created_by,
            started_at: None,
            last_updated_at: None,
            completed_at: None,
            expired_at: None,
            expires_in: new.expires_in,
            is_interactive: new.is_interactive,
            vendor_based_bookkeeping: new.vendor_based_bookkeeping,
            failure_reason: None,
            failure_reason_type: None,
            corruption: Map::new(),
            items: new
                .accounting_entry_ids
                .into_iter()
                .map(Item::pending)
                .collect(),
        });
        let last = self.jobs.len() - 1;
        &mut self.jobs[last]
    }

    pub(super) fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    pub(super) fn job(&self, id: Uuid) -> Option<&Job> {
        self.jobs.iter().find(|job| job.id == id)
    }

    pub(super) fn job_mut(&mut self, id: Uuid) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|job| job.id == id)
    }

    fn expire_due(&mut self, now: UnixSeconds) {
        for job in &mut self.jobs {
            if job.expire_if_due(now) {
                tracing::debug!(job_id = %job.id, "Pleo emulator: export job expired");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_job() -> NewJob {
        NewJob {
            company_id: Uuid::new_v4(),
            created_by: None,
            accounting_entry_ids: vec![Uuid::new_v4()],
            is_interactive: true,
            vendor_based_bookkeeping: false,
            expires_in: 3_600,
        }
    }

    #[test]
    fn creation_times_strictly_increase_within_one_second() {
        let mut store = Store::default();
        let first = store.insert(new_job(), 1_000).created_at;
        let second = store.insert(new_job(), 1_000).created_at;
        let third = store.insert(new_job(), 999).created_at;
        let later = store.insert(new_job(), 5_000).created_at;
        assert_eq!([first, second, third, later], [1_000, 1_001, 1_002, 5_000]);
        let seqs: Vec<u64> = store.jobs().iter().map(|job| job.seq).collect();
        assert_eq!(seqs, [0, 1, 2, 3]);
    }
}
