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

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracing::Instrument as _;

use super::{Action, JobOutcome, RunnerParts, Stage, Work};
use crate::config::IntegrationConfig;
use crate::job::{ExportJob, JobStatus};
use crate::pleo::{JobEvent, PleoError};
use crate::plugin::{Outcome, Plugin, PluginError};
use crate::report::{FailureReason, Verdict};
use crate::store::decisions::{Decision, PluginRef};
use crate::store::{Acquired, StoreError};

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
        let stage = match parts.store.acquire(job_id, company_id).await {
            Ok(Acquired::New) => Stage::Claiming,
            Ok(Acquired::Resumed(stage)) => stage,
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
            Work::Pending(job) if stage == Stage::Claiming => job,
            // Taken up from the journal (or found mid-way): what does Pleo say now?
            _ => match parts.pleo.get_job(job_id).await {
                Ok(job) => job,
                Err(error) if error.is_not_found() => {
                    tracing::warn!("the job vanished from Pleo; closing it in the journal");
                    record(parts, job_id, &done("ended_by_pleo")).await.ok()?;
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
        };
        run.from(stage).await
    }
    .instrument(span)
    .await
}

struct Run<'a> {
    parts: &'a RunnerParts,
    job: ExportJob,
    started: Instant,
}

impl Run<'_> {
    /// Goes on from `stage`, given the job's status in Pleo.
    async fn from(&mut self, stage: Stage) -> Option<JobOutcome> {
        let status = self.job.status;
        match (stage, status) {
            (Stage::Claiming, JobStatus::Pending) => {
                if !self.claim().await? {
                    return Some(self.outcome(None, Verdict::Proceed, Action::LostRace, 0));
                }
                self.validate_and_act().await
            }
            (Stage::Claiming | Stage::Claimed, JobStatus::InProgress) => {
                if let Err(error) = record(self.parts, self.job.id, &Stage::Claimed).await {
                    tracing::error!(%error, "cannot record the claim; trying again later");
                    return None;
                }
                self.validate_and_act().await
            }
            (Stage::Failing { reason, message }, JobStatus::InProgress) => {
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
            (Stage::HandingOver, JobStatus::InProgress) => {
                let action = self.hand_over().await;
                Some(self.outcome(None, Verdict::Proceed, action, 0))
            }
            (Stage::Failing { reason, .. }, JobStatus::Failed)
                if self.job.failure_reason_type.as_deref() == Some(reason.as_str()) =>
            {
                // The post landed before the crash; only `done` is missing.
                tracing::info!("the recorded verdict was already posted; closing the job");
                record(self.parts, self.job.id, &done("failed"))
                    .await
                    .ok()?;
                None
            }
            (Stage::HandingOver, JobStatus::Completed | JobStatus::CompletedWithErrors) => {
                record(self.parts, self.job.id, &done("handed_over"))
                    .await
                    .ok()?;
                None
            }
            (stage, status) if status.is_final() => {
                tracing::info!(
                    stage = stage.name(),
                    status = status.as_str(),
                    "Pleo ended the job meanwhile"
                );
                record(self.parts, self.job.id, &done("ended_by_pleo"))
                    .await
                    .ok()?;
                Some(self.outcome(None, Verdict::Proceed, Action::EndedByPleo, 0))
            }
            (stage, status) => {
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
        let (verdict, plugin, attempts) = decide(self.parts, &self.job).await;
        let action = match (verdict.reason(), verdict.message()) {
            (Some(reason), Some(message)) => {
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
    /// another worker claimed it; `None`: it stays pending for later.
    async fn claim(&mut self) -> Option<bool> {
        let parts = self.parts;
        let claimed = match parts.pleo.post_event(&JobEvent::started(self.job.id)).await {
            Ok(()) => true,
            Err(PleoError::InvalidTransition {
                after_unanswered_attempt: true,
                ..
            }) => {
                // An earlier attempt got no answer and may have been applied:
                // the job is ours if it is now in progress (the journal holds
                // the claim, so no other replica of ours posted it).
                let now = parts.pleo.get_job(self.job.id).await;
                let ours = matches!(now, Ok(ref job) if job.status == JobStatus::InProgress);
                tracing::warn!(ours, "claim answered 422 after an unanswered attempt");
                ours
            }
            Err(PleoError::InvalidTransition { .. }) => {
                tracing::info!("another worker claimed the job first; leaving it alone");
                parts.metrics.inc("preflight_jobs_lost_total", &[]);
                false
            }
            Err(error) => {
                parts.metrics.inc(
                    "preflight_pleo_errors_total",
                    &[("operation", "post_event")],
                );
                tracing::error!(%error, "could not claim the job; it stays pending for the next poll");
                let _ = record(parts, self.job.id, &Stage::Released).await;
                return None;
            }
        };
        if !claimed {
            let _ = record(parts, self.job.id, &Stage::Released).await;
            return Some(false);
        }
        parts.metrics.inc("preflight_jobs_claimed_total", &[]);
        self.job.status = JobStatus::InProgress;
        if let Err(error) = record(parts, self.job.id, &Stage::Claimed).await {
            // The journal still says `claiming`; a resume finds the job in
            // progress and validates it.
            tracing::error!(%error, "cannot record the claim after the fact; continuing");
            if matches!(error, StoreError::NotOwner(_)) {
                return None;
            }
        }
        Some(true)
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
                record(parts, job.id, &done("ended_by_pleo")).await.ok()?;
                return Some(Action::EndedByPleo);
            }
            Err(error) => {
                parts.metrics.inc(
                    "preflight_pleo_errors_total",
                    &[("operation", "post_event")],
                );
                tracing::error!(%error, "could not post `failed`; the journal keeps the verdict for the next attempt");
                return Some(Action::Deferred(error.to_string()));
            }
        }
        // A 422 means the job left `in_progress` already: our own earlier
        // attempt (its answer lost), or Pleo (expiry, the user cancelling).
        let (action, outcome) = match confirm_failed(parts, job).await {
            Ok(confirmed) if confirmed.failure_reason_type.as_deref() == Some(reason.as_str()) => {
                parts.metrics.inc(
                    "preflight_jobs_failed_total",
                    &[("reason", reason.as_str())],
                );
                (Action::FailedEarly, "failed")
            }
            Ok(_) => (Action::EndedByPleo, "ended_by_pleo"),
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
                    parts.metrics.inc("preflight_jobs_handed_over_total", &[]);
                    if record(parts, self.job.id, &done("handed_over"))
                        .await
                        .is_err()
                    {
                        // A resume hands it over again: downstreams get each
                        // job at least once and key on its id.
                        return Action::Deferred("handed over, not recorded".to_owned());
                    }
                    return Action::HandedOver;
                }
                Err(problem) => last = problem,
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
            accounting_system: self
                .parts
                .companies
                .get(&self.job.company_id)
                .map(|c| c.accounting_system.clone()),
            plugin,
            verdict,
            action,
            attempts,
            millis: self.started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

fn done(outcome: &str) -> Stage {
    Stage::Done {
        outcome: outcome.to_owned(),
    }
}

/// Writes `stage` to the journal, logging why it could not be.
async fn record(parts: &RunnerParts, job: uuid::Uuid, stage: &Stage) -> Result<(), StoreError> {
    parts.store.record(job, stage).await.inspect_err(|error| {
        tracing::error!(%error, stage = stage.name(), "cannot write to the journal");
    })
}

/// Resolves company → configuration → plugin and validates, retrying while
/// the only trouble is transient and the budget allows; every validation is
/// written to the decision log. Never returns `Verdict::Retry`.
async fn decide(parts: &RunnerParts, job: &ExportJob) -> (Verdict, Option<String>, u32) {
    let (config, plugin) = match resolve(parts, job).await {
        Ok(resolved) => resolved,
        Err(verdict) => return (verdict, None, 0),
    };
    let settings = &parts.settings;
    let deadline = Instant::now() + settings.retry_window.min(expiry_budget(job));
    let system = display_name(&config.accounting_system);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let began = Instant::now();
        let at = SystemTime::now();
        let result = plugin.validate(job, config).await;
        let verdict = match &result {
            Ok(outcome) => {
                let failed_calls = outcome
                    .exchanges
                    .iter()
                    .filter(|e| e.status.is_none_or(|s| s >= 500 || s == 429))
                    .count();
                for _ in 0..failed_calls {
                    parts.metrics.inc(
                        "preflight_accounting_errors_total",
                        &[("system", &config.accounting_system)],
                    );
                }
                outcome.verdict.clone()
            }
            Err(error) => {
                parts.metrics.inc(
                    "preflight_plugin_faults_total",
                    &[("plugin", plugin.label())],
                );
                tracing::error!(%error, "plugin fault; the job fails as integration_unusable");
                error.verdict(&system)
            }
        };
        let logged = match &result {
            Ok(outcome) => Logged::Answered(outcome),
            Err(error) => Logged::Faulted(error),
        };
        write_decision(parts, job, Some(config), Some(&plugin), logged, attempt, at).await;
        parts.metrics.observe(
            "preflight_validation_seconds",
            &[("plugin", plugin.label())],
            began.elapsed(),
        );
        let label = crate::store::decisions::verdict_label(&verdict);
        parts.metrics.inc(
            "preflight_jobs_validated_total",
            &[("plugin", plugin.label()), ("verdict", label)],
        );
        let Verdict::Retry {
            reason,
            message,
            check,
            retry_after,
        } = verdict
        else {
            return (verdict, Some(plugin.label().to_owned()), attempt);
        };
        let backoff = settings
            .retry_delay
            .saturating_mul(1 << (attempt - 1).min(10));
        let delay = retry_after.map_or(backoff, |seconds| {
            backoff.max(Duration::from_secs(seconds.into()))
        });
        if attempt >= settings.retry_attempts || Instant::now() + delay >= deadline {
            tracing::info!(attempt, %reason, "transient trouble persists; failing the job");
            return (
                Verdict::Fail {
                    reason,
                    message,
                    check,
                },
                Some(plugin.label().to_owned()),
                attempt,
            );
        }
        tracing::info!(attempt, ?delay, %reason, "transient trouble; validating again after a delay");
        tokio::time::sleep(delay).await;
    }
}

/// The company's configuration and the plugin for its accounting system;
/// when either is missing, the host's verdict, written to the decision log.
pub(super) async fn resolve<'p>(
    parts: &'p RunnerParts,
    job: &ExportJob,
) -> Result<(&'p IntegrationConfig, Arc<Plugin>), Verdict> {
    let Some(config) = parts.companies.get(&job.company_id) else {
        tracing::warn!("no integration configuration for the company");
        let verdict = super::missing_configuration();
        let logged = Logged::Host(&verdict);
        write_decision(parts, job, None, None, logged, 1, SystemTime::now()).await;
        return Err(verdict);
    };
    let Some(plugin) = parts.registry.get(&config.accounting_system) else {
        tracing::warn!(system = %config.accounting_system, "no plugin for the accounting system");
        let verdict =
            super::unsupported_system(&config.accounting_system, &parts.registry.systems());
        let logged = Logged::Host(&verdict);
        write_decision(parts, job, Some(config), None, logged, 1, SystemTime::now()).await;
        return Err(verdict);
    };
    Ok((config, plugin))
}

/// What a logged validation came to.
pub(super) enum Logged<'a> {
    /// The plugin answered.
    Answered(&'a Outcome),
    /// The plugin faulted (the job fails as `integration_unusable`).
    Faulted(&'a PluginError),
    /// No plugin ran (no configuration, no plugin for the system).
    Host(&'a Verdict),
}

/// Writes one validation to the decision log; a failure to write is logged,
/// never fatal to the job.
pub(super) async fn write_decision(
    parts: &RunnerParts,
    job: &ExportJob,
    config: Option<&IntegrationConfig>,
    plugin: Option<&Plugin>,
    logged: Logged<'_>,
    attempt: u32,
    at: SystemTime,
) {
    let plugin = plugin.map(|plugin| PluginRef {
        name: plugin.info().name.clone(),
        version: plugin.info().version.clone(),
        digest: plugin.digest().to_owned(),
        wit: format!("preflight:plugin@{}", crate::gate::CONTRACT_VERSION),
    });
    let elapsed_ms = at.elapsed().unwrap_or_default().as_secs_f64() * 1000.0;
    let (verdict, fault, checks, exchanges) = match logged {
        Logged::Answered(outcome) => (
            outcome.verdict.clone(),
            None,
            outcome.report.checks.clone(),
            outcome.exchanges.clone(),
        ),
        Logged::Faulted(error) => {
            let system = config.map_or("the accounting system".to_owned(), |c| {
                display_name(&c.accounting_system)
            });
            (
                error.verdict(&system),
                Some(error.to_string()),
                Vec::new(),
                Vec::new(),
            )
        }
        Logged::Host(verdict) => (verdict.clone(), None, Vec::new(), Vec::new()),
    };
    let decision = Decision {
        id: 0,
        job_id: job.id,
        company_id: job.company_id,
        accounting_system: config.map(|c| c.accounting_system.clone()),
        plugin,
        replica: parts.store.replica().to_owned(),
        attempt,
        at: crate::store::millis(at),
        elapsed_ms,
        verdict,
        fault,
        job: serde_json::to_value(job).unwrap_or_default(),
        config: config.map(IntegrationConfig::snapshot),
        checks,
        exchanges,
    };
    if let Err(error) = parts
        .store
        .log_decision(&decision, &parts.mask_fields)
        .await
    {
        tracing::error!(%error, "cannot write the decision log");
    }
}

/// How long retries may take without letting the job expire: its
/// `expiresIn`, less a margin for posting the outcome.
fn expiry_budget(job: &ExportJob) -> Duration {
    let expires_in = Duration::from_secs(job.expires_in.into());
    expires_in.saturating_sub((expires_in / 4).min(Duration::from_secs(30)))
}

/// The accounting system's name as users know it.
pub(super) fn display_name(system: &str) -> String {
    match system {
        "xero" => "Xero".to_owned(),
        "quickbooks" => "QuickBooks Online".to_owned(),
        "fortnox" => "Fortnox".to_owned(),
        "business-central" => "Business Central".to_owned(),
        other => {
            let mut chars = other.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        }
    }
}

/// `GET /v3/export-jobs/{id}` until the job shows `failed` (a few tries, in
/// case the read lags the write).
async fn confirm_failed(parts: &RunnerParts, job: &ExportJob) -> Result<ExportJob, String> {
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100) * attempt).await;
        }
        match parts.pleo.get_job(job.id).await {
            Ok(current) if current.status == JobStatus::Failed => return Ok(current),
            Ok(current) => last = format!("job is {}", current.status.as_str()),
            Err(error) => last = error.to_string(),
        }
    }
    Err(last)
}
