//! One job, from claim to outcome, each step written to the journal before
//! it is acted on:
//!
//! ```text
//! claiming ─started→ claimed ─validate→ failing ─failed→ done(failed)
//!                                   └─→ handing_over ─handover→ done(handed_over)
//! ```
//!
//! A job taken up from the journal after a crash is first looked up in Pleo,
//! and the journal's stage and Pleo's status together say what is left:
//! `claiming` with the job still pending means `started` never landed (post
//! it); `claiming` or `claimed` with the job in progress means validate;
//! `failing` with the job in progress means post the recorded verdict;
//! `failing` with the job failed for that reason means the post landed and
//! only `done` is missing.
//!
//! Claims are reconciled, never released blind: a `started` that may have
//! landed without a success coming back (an unanswered attempt, or a job
//! taken up from the journal whose earlier `started` may have landed) is
//! followed by a look at the job, and an `in_progress` job whose claim the
//! journal holds is ours. A claim is released only when Pleo answered that
//! it is not ours. While a step is in flight the lease is renewed; a replica
//! that finds another holding the job leaves it to that replica, which
//! reconciles with Pleo the same way.
//!
//! The retry budget lives in the journal ([`preflight_store::Budget`]):
//! validations counted, the first one's time and the last one's verdict
//! survive restarts and takeovers, so a job is validated at most
//! `retryAttempts` times in all and within `retryWindowSecs` of the first.
//!
//! Over 500 lines with its tests: every step of a job and the stage table that
//! decides what is left after a crash belong together.

use std::time::{Duration, Instant};

use tracing::Instrument as _;

use super::{Action, JobOutcome, RunnerParts, Stage, Work, attempt};
use crate::pleo::{JobEvent, PleoError};
use preflight_runtime::job::{ExportJob, JobStatus, ReasonType};
use preflight_runtime::report::{FailureReason, Verdict};
use preflight_store::{Acquired, Budget, JobResult, StoreError};

/// Processes one job. Returns `None` when the job was left alone (another
/// replica holds it, it is finished, or the claim could not be made or
/// recorded: a later poll or resume takes it up).
pub(super) async fn process(parts: &RunnerParts, work: Work) -> Option<JobOutcome> {
    let (job_id, company_id) = work.ids();
    // At ERROR level so the job and company ride along on every line about
    // the job, whatever level the operator filters at.
    let span = tracing::error_span!("job", job = %job_id, company = %company_id);
    async move {
        let started = Instant::now();
        let (stage, fresh) = match parts.store.acquire(job_id, company_id).await {
            Ok(Acquired::New) => (Stage::Claiming, true),
            Ok(Acquired::Resumed(stage)) => (stage, false),
            Ok(Acquired::Finished(_)) => return None,
            Ok(Acquired::HeldBy { owner, .. }) => {
                tracing::debug!(%owner, "another replica holds the job");
                return None;
            }
            Err(error) => {
                tracing::error!(%error, "cannot record the claim; leaving the job for later");
                return None;
            }
        };
        let job = match work {
            // A job new to the journal, from a listing just made.
            Work::Pending(job) if fresh => job,
            // Taken up from the journal (a restart, a takeover, or found
            // mid-way by a poll): what Pleo says now decides, never a listing
            // that may be older than the previous holder's claim.
            _ => match parts.pleo_for(Some(company_id)).get_job(job_id).await {
                Ok(job) => job,
                Err(error) if error.is_not_found() => {
                    tracing::warn!("the job vanished from Pleo; closing it in the journal");
                    record(parts, job_id, &done(JobResult::EndedByPleo))
                        .await
                        .ok()?;
                    return None;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot look the job up; trying again later");
                    return None;
                }
            },
        };
        let mut run = Run {
            parts,
            job,
            started,
            resumed: !fresh,
            accounting_system: None,
        };
        tokio::select! {
            biased;
            outcome = run.from(stage) => outcome,
            () = hold_lease(parts, job_id) => {
                tracing::warn!("another replica took the job over (this replica's lease ran out); leaving it to that replica");
                parts.metrics.inc(crate::metrics::LEASES_LOST, &[]);
                None
            }
        }
    }
    .instrument(span)
    .await
}

/// Renews this replica's lease on `job` every third of the lease while the
/// job's steps run; returns once the job is no longer this replica's (another
/// replica took it over after the lease ran out, say after a pause of the
/// whole process).
async fn hold_lease(parts: &RunnerParts, job: uuid::Uuid) {
    let every = (parts.store.lease() / 3).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        match parts.store.renew(job).await {
            Ok(()) => {}
            Err(StoreError::NotOwner(_)) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot renew the job's lease; trying again");
            }
        }
    }
}

struct Run<'a> {
    parts: &'a RunnerParts,
    job: ExportJob,
    started: Instant,
    /// Taken up from the journal: a `started` of an earlier attempt (ours
    /// before a restart, or the previous holder's) may have landed.
    resumed: bool,
    /// The company's accounting system, once its configuration was read.
    accounting_system: Option<String>,
}

impl Run<'_> {
    /// Goes on from `stage`, given the job's status in Pleo.
    async fn from(&mut self, stage: Stage) -> Option<JobOutcome> {
        let status = self.job.status;
        match next(&stage, status, self.job.failure_reason_type.as_ref()) {
            Step::Claim => {
                if !self.claim().await? {
                    return Some(self.outcome(None, Verdict::Proceed, Action::LostRace, 0));
                }
                self.validate_and_act().await
            }
            Step::Validate => {
                if let Err(error) = record(self.parts, self.job.id, &Stage::Claimed).await {
                    tracing::error!(%error, "cannot record the claim; trying again later");
                    return None;
                }
                self.validate_and_act().await
            }
            Step::PostRecorded { reason, message } => {
                // A verdict reached before a crash is posted as it was, not
                // re-decided.
                let action = self.fail(reason, &message).await?;
                let verdict = Verdict::Fail {
                    reason,
                    message,
                    check: "journal".to_owned(),
                };
                Some(self.outcome(None, verdict, action, 0))
            }
            Step::HandOver => {
                let action = self.hand_over().await;
                Some(self.outcome(None, Verdict::Proceed, action, 0))
            }
            Step::Close(result) => {
                tracing::info!(%result, "the outcome already reached Pleo; closing the job");
                record(self.parts, self.job.id, &done(result)).await.ok()?;
                None
            }
            Step::EndedByPleo => {
                tracing::info!(
                    stage = stage.name(),
                    status = status.as_str(),
                    "Pleo ended the job meanwhile"
                );
                record(self.parts, self.job.id, &done(JobResult::EndedByPleo))
                    .await
                    .ok()?;
                Some(self.outcome(None, Verdict::Proceed, Action::EndedByPleo, 0))
            }
            Step::Release => {
                // Claimed in the journal but pending in Pleo (or the like):
                // the claim is void; a later poll claims it afresh.
                tracing::warn!(
                    stage = stage.name(),
                    status = status.as_str(),
                    "journal and Pleo disagree; releasing the job"
                );
                let _ = record(self.parts, self.job.id, &Stage::Released).await;
                None
            }
        }
    }

    async fn validate_and_act(&mut self) -> Option<JobOutcome> {
        let decided = decide(self.parts, &self.job).await;
        let (verdict, plugin, attempts) = (decided.verdict, decided.plugin, decided.attempts);
        self.accounting_system = decided.accounting_system;
        let monitored = verdict.reason().is_some()
            && self
                .parts
                .settings
                .monitor
                .covers(self.job.company_id, self.accounting_system.as_deref());
        let action = match (verdict.reason(), verdict.message()) {
            (Some(reason), Some(message)) if !monitored => {
                let intent = Stage::Failing {
                    reason,
                    message: message.to_owned(),
                };
                if let Err(error) = record(self.parts, self.job.id, &intent).await {
                    tracing::error!(%error, "cannot record the verdict; not posting it: the job is validated again later");
                    return None;
                }
                self.fail(reason, message).await?
            }
            _ => {
                if let (true, Some(reason), Some(message)) =
                    (monitored, verdict.reason(), verdict.message())
                {
                    tracing::warn!(
                        reason = reason.as_str(),
                        "monitor mode: handing over a job the verdict would have failed: {message}"
                    );
                    self.parts.metrics.inc(
                        crate::metrics::JOBS_MONITORED,
                        &[
                            ("system", self.accounting_system.as_deref().unwrap_or("-")),
                            ("reason", reason.as_str()),
                        ],
                    );
                }
                if let Err(error) = record(self.parts, self.job.id, &Stage::HandingOver).await {
                    tracing::error!(%error, "cannot record the verdict; not handing over: the job is validated again later");
                    return None;
                }
                self.hand_over().await
            }
        };
        tracing::info!(
            plugin = plugin.as_deref().unwrap_or("-"),
            verdict = verdict.reason().map_or("proceed", |reason| reason.as_str()),
            ?action,
            attempts,
            "job processed"
        );
        Some(self.outcome(plugin, verdict, action, attempts))
    }

    /// Posts `started`. `Some(true)`: the job is ours; `Some(false)`:
    /// another worker claimed it (released); `None`: not settled yet (the
    /// journal keeps the claim, and a resume looks at the job again) or
    /// released because Pleo refused the request outright.
    async fn claim(&mut self) -> Option<bool> {
        let parts = self.parts;
        let claimed = match parts
            .pleo_for(Some(self.job.company_id))
            .post_event(&JobEvent::started(self.job.id))
            .await
        {
            Ok(()) => true,
            Err(error @ PleoError::InvalidTransition { .. }) => {
                // A `started` of ours may have landed before this one (its
                // answer lost, or sent before a restart or by the replica we
                // took over from): the job is ours if it is now in progress,
                // since the journal holds the claim. Otherwise the 422 means
                // another worker won.
                let status = if self.resumed || error.may_have_applied() {
                    Some(self.status_now().await?)
                } else {
                    None
                };
                if status == Some(JobStatus::InProgress) {
                    tracing::warn!(
                        "claim answered 422, and the job is in progress under our claim: ours"
                    );
                    true
                } else {
                    tracing::info!(
                        status = status.map(|s| s.as_str()),
                        "another worker claimed the job first; leaving it alone"
                    );
                    parts.metrics.inc(crate::metrics::JOBS_LOST, &[]);
                    false
                }
            }
            Err(error @ PleoError::Unavailable { .. }) => {
                parts
                    .metrics
                    .inc(crate::metrics::PLEO_ERRORS, &[("operation", "post_event")]);
                // No success came back; whether Pleo applied the claim is
                // only known by looking. Never released blind: the journal
                // keeps `claiming`, so a resume looks again.
                match self.status_now().await {
                    Some(JobStatus::InProgress) => {
                        tracing::warn!(%error, "the claim's answers were lost, and the job is in progress under our claim: ours");
                        true
                    }
                    status => {
                        tracing::error!(%error, status = status.map(|s| s.as_str()), "could not claim the job; the journal keeps the claim and a resume looks at it again");
                        return None;
                    }
                }
            }
            Err(error) => {
                // Pleo answered, and refused: nothing was applied.
                parts
                    .metrics
                    .inc(crate::metrics::PLEO_ERRORS, &[("operation", "post_event")]);
                tracing::error!(%error, "Pleo refused the claim; the job stays pending for the next poll");
                let _ = record(parts, self.job.id, &Stage::Released).await;
                return None;
            }
        };
        if !claimed {
            let _ = record(parts, self.job.id, &Stage::Released).await;
            return Some(false);
        }
        parts.metrics.inc(crate::metrics::JOBS_CLAIMED, &[]);
        self.job.status = JobStatus::InProgress;
        if let Err(error) = record(parts, self.job.id, &Stage::Claimed).await {
            if matches!(error, StoreError::NotOwner(_)) {
                // Taken over meanwhile: the new holder finds the job in
                // progress under the journal's claim and validates it.
                tracing::warn!(
                    "the job was taken over while it was being claimed; leaving it to the new holder"
                );
                return None;
            }
            // The journal still says `claiming`; a resume finds the job in
            // progress and validates it.
            tracing::error!(%error, "cannot record the claim after the fact; continuing");
        }
        Some(true)
    }

    /// The job's status in Pleo now; `None` when it cannot be looked up.
    async fn status_now(&self) -> Option<JobStatus> {
        match self
            .parts
            .pleo_for(Some(self.job.company_id))
            .get_job(self.job.id)
            .await
        {
            Ok(job) => Some(job.status),
            Err(error) => {
                tracing::error!(%error, "cannot look the job up after its claim");
                None
            }
        }
    }

    /// Posts `failed` (the intent is in the journal), then confirms with
    /// `GET` that the job is failed. `None` when another replica took the
    /// job over meanwhile.
    async fn fail(&self, reason: FailureReason, message: &str) -> Option<Action> {
        let parts = self.parts;
        let job = &self.job;
        match parts
            .pleo
            .post_event(&JobEvent::failed(job.id, reason, message))
            .await
        {
            Ok(()) | Err(PleoError::InvalidTransition { .. }) => {}
            Err(error) if error.is_not_found() => {
                tracing::warn!("the job vanished before it could be failed");
                record(parts, job.id, &done(JobResult::EndedByPleo))
                    .await
                    .ok()?;
                return Some(Action::EndedByPleo);
            }
            Err(error) => {
                parts
                    .metrics
                    .inc(crate::metrics::PLEO_ERRORS, &[("operation", "post_event")]);
                tracing::error!(%error, "could not post `failed`; the journal keeps the verdict for the next attempt");
                return Some(Action::Deferred(error.to_string()));
            }
        }
        // A 422 means the job left `in_progress` already: our own earlier
        // attempt (its answer lost), or Pleo (expiry, the user cancelling).
        let (action, outcome) = match confirm_failed(parts, job).await {
            Ok(confirmed)
                if confirmed
                    .failure_reason_type
                    .as_ref()
                    .is_some_and(|set| set.is(reason)) =>
            {
                parts
                    .metrics
                    .inc(crate::metrics::JOBS_FAILED, &[("reason", reason.as_str())]);
                (Action::FailedEarly, JobResult::Failed)
            }
            Ok(_) => (Action::EndedByPleo, JobResult::EndedByPleo),
            Err(problem) => {
                tracing::error!(%problem, "posted `failed` but could not confirm it");
                return Some(Action::Deferred(problem));
            }
        };
        record(parts, job.id, &done(outcome)).await.ok()?;
        Some(action)
    }

    /// Hands a valid job over, retrying the downstream a few times.
    async fn hand_over(&self) -> Action {
        let parts = self.parts;
        let mut last = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1) * attempt).await;
            }
            match parts.handover.hand_over(&self.job).await {
                Ok(()) => {
                    parts.metrics.inc(crate::metrics::JOBS_HANDED_OVER, &[]);
                    parts
                        .metrics
                        .inc(crate::metrics::HANDOVERS, &[("result", "accepted")]);
                    if record(parts, self.job.id, &done(JobResult::HandedOver))
                        .await
                        .is_err()
                    {
                        // A resume hands it over again: downstreams get each
                        // job at least once and key on its id.
                        return Action::Deferred("handed over, not recorded".to_owned());
                    }
                    return Action::HandedOver;
                }
                Err(problem) => {
                    parts
                        .metrics
                        .inc(crate::metrics::HANDOVERS, &[("result", "refused")]);
                    last = problem;
                }
            }
        }
        // The journal still says `handing_over`: the next resume retries.
        tracing::error!(problem = %last, "the downstream did not accept the job");
        Action::Deferred(last)
    }

    fn outcome(
        &self,
        plugin: Option<String>,
        verdict: Verdict,
        action: Action,
        attempts: u32,
    ) -> JobOutcome {
        JobOutcome {
            job_id: self.job.id,
            company_id: self.job.company_id,
            accounting_system: self.accounting_system.clone(),
            plugin,
            verdict,
            action,
            attempts,
            millis: self.started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// What is left to do for a job, from its journal stage and its status in
/// Pleo: the table at the top of this file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Post `started`, then validate.
    Claim,
    /// The claim landed: validate.
    Validate,
    /// Post the verdict recorded before a crash.
    PostRecorded {
        /// Its reason.
        reason: FailureReason,
        /// Its message.
        message: String,
    },
    /// Hand the job over (again: downstreams key on the job id).
    HandOver,
    /// The outcome reached Pleo before a crash; only `done` is missing.
    Close(JobResult),
    /// Pleo ended the job meanwhile.
    EndedByPleo,
    /// Journal and Pleo disagree: the claim is void.
    Release,
}

fn next(stage: &Stage, status: JobStatus, reason_type: Option<&ReasonType>) -> Step {
    match (stage, status) {
        (Stage::Claiming, JobStatus::Pending) => Step::Claim,
        (Stage::Claiming | Stage::Claimed, JobStatus::InProgress) => Step::Validate,
        (Stage::Failing { reason, message }, JobStatus::InProgress) => Step::PostRecorded {
            reason: *reason,
            message: message.clone(),
        },
        (Stage::HandingOver, JobStatus::InProgress) => Step::HandOver,
        (Stage::Failing { reason, .. }, JobStatus::Failed)
            if reason_type.is_some_and(|set| set.is(*reason)) =>
        {
            Step::Close(JobResult::Failed)
        }
        (Stage::HandingOver, JobStatus::Completed | JobStatus::CompletedWithErrors) => {
            Step::Close(JobResult::HandedOver)
        }
        (_, status) if status.is_final() => Step::EndedByPleo,
        _ => Step::Release,
    }
}

fn done(outcome: JobResult) -> Stage {
    Stage::Done { outcome }
}

/// Writes `stage` to the journal, logging why it could not be.
async fn record(parts: &RunnerParts, job: uuid::Uuid, stage: &Stage) -> Result<(), StoreError> {
    parts.store.record(job, stage).await.inspect_err(|error| {
        tracing::error!(%error, stage = stage.name(), "cannot write to the journal");
    })
}

/// Validates the job, retrying while the only trouble is transient and the
/// budget allows; every attempt is one [`attempt::run`], counted in the
/// journal with its decision. A job taken up after a restart goes on with the
/// budget the journal holds: a final verdict reached before the restart
/// stands, and a spent budget fails the job with the last transient verdict
/// without validating again. Never returns `Verdict::Retry`.
async fn decide(parts: &RunnerParts, job: &ExportJob) -> Decided {
    let resolved = match attempt::resolve(parts, job).await {
        Ok(resolved) => resolved,
        Err(why) => {
            return Decided {
                accounting_system: why.accounting_system(),
                verdict: attempt::host_decided(parts, job, &why).await,
                plugin: None,
                attempts: 0,
            };
        }
    };
    let accounting_system = Some(resolved.config.accounting_system.clone());
    let (verdict, plugin, attempts) = decide_with(parts, job, &resolved).await;
    Decided {
        verdict,
        plugin,
        attempts,
        accounting_system,
    }
}

/// What [`decide`] came to.
struct Decided {
    verdict: Verdict,
    plugin: Option<String>,
    attempts: u32,
    accounting_system: Option<String>,
}

/// [`decide`] once the configuration and the plugin are known: every
/// attempt of the job runs on this one version of the configuration.
async fn decide_with(
    parts: &RunnerParts,
    job: &ExportJob,
    resolved: &attempt::Resolved,
) -> (Verdict, Option<String>, u32) {
    let plugin = Some(resolved.plugin.label().to_owned());
    let settings = &parts.settings;
    let window = millis(settings.retry_window.min(expiry_budget(job)));
    let mut budget = match parts.store.budget(job.id).await {
        Ok(budget) => budget,
        Err(error) => {
            tracing::error!(%error, "cannot read the job's retry budget; counting from here");
            Budget::default()
        }
    };
    loop {
        match budget.last_verdict.take() {
            Some(Verdict::Retry {
                reason,
                message,
                check,
                retry_after,
            }) => {
                let backoff = settings
                    .retry_delay
                    .saturating_mul(1 << budget.attempts.saturating_sub(1).min(10));
                let delay = retry_after.map_or(backoff, |seconds| {
                    backoff.max(Duration::from_secs(seconds.into()))
                });
                let now = preflight_store::now_millis();
                let last = budget.last_attempt_at.unwrap_or(now);
                let next = last.saturating_add(millis(delay));
                let deadline = budget
                    .first_attempt_at
                    .unwrap_or(last)
                    .saturating_add(window);
                if budget.attempts >= settings.retry_attempts || next >= deadline {
                    tracing::info!(attempts = budget.attempts, %reason, "transient trouble persists; failing the job");
                    let verdict = Verdict::Fail {
                        reason,
                        message,
                        check,
                    };
                    return (verdict, plugin, budget.attempts);
                }
                tracing::info!(attempt = budget.attempts, ?delay, %reason, "transient trouble; validating again after a delay");
                let wait = u64::try_from(next.saturating_sub(now)).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Some(verdict) => {
                // Reached, and counted, before a restart or just now: it
                // stands.
                return (verdict, plugin, budget.attempts);
            }
            None => {}
        }
        let number = budget.attempts + 1;
        let began = preflight_store::now_millis();
        let verdict = attempt::run(parts, job, resolved, number, attempt::Budgeted::Yes)
            .await
            .verdict;
        budget.attempts = number;
        budget.first_attempt_at.get_or_insert(began);
        budget.last_attempt_at = Some(began);
        budget.last_verdict = Some(verdict);
    }
}

/// A duration in whole milliseconds, for arithmetic on stored times.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// How long retries may take without letting the job expire: its
/// `expiresIn`, less a margin for posting the outcome.
fn expiry_budget(job: &ExportJob) -> Duration {
    let expires_in = Duration::from_secs(job.expires_in.into());
    expires_in.saturating_sub((expires_in / 4).min(Duration::from_secs(30)))
}

/// `GET /v3/export-jobs/{id}` until the job shows `failed` (a few tries, in
/// case the read lags the write).
async fn confirm_failed(parts: &RunnerParts, job: &ExportJob) -> Result<ExportJob, String> {
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100) * attempt).await;
        }
        match parts.pleo_for(Some(job.company_id)).get_job(job.id).await {
            Ok(current) if current.status == JobStatus::Failed => return Ok(current),
            Ok(current) => last = format!("job is {}", current.status.as_str()),
            Err(error) => last = error.to_string(),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stage_table_says_what_is_left_to_do() {
        use JobStatus::{Completed, CompletedWithErrors, Failed, InProgress, Pending};
        let failing = Stage::Failing {
            reason: FailureReason::MissingConfiguration,
            message: "Connect Xero.".to_owned(),
        };
        let ours = ReasonType::Set(FailureReason::MissingConfiguration);
        let other = ReasonType::Set(FailureReason::IntegrationUnusable);
        let expired = ReasonType::Other("job_expired".to_owned());
        let post = Step::PostRecorded {
            reason: FailureReason::MissingConfiguration,
            message: "Connect Xero.".to_owned(),
        };
        let table: &[(&Stage, JobStatus, Option<&ReasonType>, Step)] = &[
            (&Stage::Claiming, Pending, None, Step::Claim),
            (&Stage::Claiming, InProgress, None, Step::Validate),
            (&Stage::Claimed, InProgress, None, Step::Validate),
            (&Stage::Claimed, Pending, None, Step::Release),
            (&failing, InProgress, None, post),
            (
                &failing,
                Failed,
                Some(&ours),
                Step::Close(JobResult::Failed),
            ),
            (&failing, Failed, Some(&other), Step::EndedByPleo),
            (&failing, Failed, Some(&expired), Step::EndedByPleo),
            (&failing, Pending, None, Step::Release),
            (&Stage::HandingOver, InProgress, None, Step::HandOver),
            (
                &Stage::HandingOver,
                Completed,
                None,
                Step::Close(JobResult::HandedOver),
            ),
            (
                &Stage::HandingOver,
                CompletedWithErrors,
                None,
                Step::Close(JobResult::HandedOver),
            ),
            (&Stage::HandingOver, Failed, None, Step::EndedByPleo),
            (&Stage::Claiming, Failed, None, Step::EndedByPleo),
            (&Stage::Claimed, Completed, None, Step::EndedByPleo),
        ];
        for (stage, status, reason_type, step) in table {
            assert_eq!(
                &next(stage, *status, *reason_type),
                step,
                "{} with the job {}",
                stage.name(),
                status.as_str()
            );
        }
    }
}
