//! One job, from claim to outcome.

use std::time::{Duration, Instant};

use tracing::Instrument as _;

use super::{Action, JobOutcome, RunnerParts, Stage};
use crate::job::{ExportJob, JobStatus};
use crate::pleo::{JobEvent, PleoError};
use crate::report::Verdict;

/// Processes one job; `resumed` when this runner claimed it before a restart.
/// Returns `None` when the job was left for a later poll (the claim could not
/// be made or recorded).
pub(super) async fn process(
    parts: &RunnerParts,
    job: ExportJob,
    resumed: bool,
) -> Option<JobOutcome> {
    // At ERROR level so the job and company ride along on every line about
    // the job, whatever level the operator filters at.
    let span = tracing::error_span!("job", job = %job.id, company = %job.company_id);
    async move {
        let started = Instant::now();
        if !resumed {
            match claim(parts, &job).await {
                Claim::Ours => {}
                Claim::Lost => {
                    return Some(outcome(
                        &job,
                        parts,
                        None,
                        Verdict::Proceed,
                        Action::LostRace,
                        0,
                        started,
                    ));
                }
                Claim::NotNow => return None,
            }
        }
        let (verdict, plugin, attempts) = match parts.journal.stage(job.id) {
            // A verdict reached before a crash is posted as it was, not
            // re-decided.
            Some(Stage::Failing { reason, message }) => (
                Verdict::Fail {
                    reason,
                    message,
                    check: "journal".to_owned(),
                },
                None,
                0,
            ),
            _ => decide(parts, &job).await,
        };
        let action = match (verdict.reason(), verdict.message()) {
            (Some(reason), Some(message)) => fail(parts, &job, reason, message).await,
            _ => hand_over(parts, &job).await,
        };
        tracing::info!(
            plugin = plugin.as_deref().unwrap_or("-"),
            verdict = verdict.reason().map_or("proceed", |reason| reason.as_str()),
            ?action,
            attempts,
            "job processed"
        );
        Some(outcome(
            &job, parts, plugin, verdict, action, attempts, started,
        ))
    }
    .instrument(span)
    .await
}

enum Claim {
    Ours,
    Lost,
    NotNow,
}

/// `started`, recorded before and after.
async fn claim(parts: &RunnerParts, job: &ExportJob) -> Claim {
    if let Err(error) = parts.journal.record(job.id, Stage::Claiming) {
        tracing::error!(%error, "cannot record the claim; leaving the job for later");
        return Claim::NotNow;
    }
    let claimed = match parts.pleo.post_event(&JobEvent::started(job.id)).await {
        Ok(()) => true,
        Err(PleoError::InvalidTransition {
            after_unanswered_attempt: true,
            ..
        }) => {
            // An earlier attempt got no answer and may have been applied: the
            // job is ours if it is now in progress. (Pleo records no owner; a
            // rival claiming in the same instant would also validate it, and
            // Pleo's state machine keeps the outcome single.)
            let now = parts.pleo.get_job(job.id).await;
            let ours = matches!(now, Ok(ref job) if job.status == JobStatus::InProgress);
            tracing::warn!(ours, "claim answered 422 after an unanswered attempt");
            ours
        }
        Err(PleoError::InvalidTransition { .. }) => {
            tracing::info!("another worker claimed the job first; leaving it alone");
            parts.metrics.inc("preflight_jobs_lost_total", &[]);
            release(parts, job);
            return Claim::Lost;
        }
        Err(error) => {
            parts.metrics.inc(
                "preflight_pleo_errors_total",
                &[("operation", "post_event")],
            );
            tracing::error!(%error, "could not claim the job; it stays pending for the next poll");
            release(parts, job);
            return Claim::NotNow;
        }
    };
    if !claimed {
        release(parts, job);
        return Claim::Lost;
    }
    parts.metrics.inc("preflight_jobs_claimed_total", &[]);
    if let Err(error) = parts.journal.record(job.id, Stage::Claimed) {
        tracing::error!(%error, "cannot record the claim after the fact; continuing");
    }
    Claim::Ours
}

fn release(parts: &RunnerParts, job: &ExportJob) {
    if let Err(error) = parts.journal.record(job.id, Stage::Released) {
        tracing::error!(%error, "cannot record the release");
    }
}

/// Resolves company → configuration → plugin and validates, retrying while
/// the only trouble is transient and the budget allows. Never returns
/// `Verdict::Retry`.
async fn decide(parts: &RunnerParts, job: &ExportJob) -> (Verdict, Option<String>, u32) {
    let Some(config) = parts.companies.get(&job.company_id) else {
        tracing::warn!("no integration configuration for the company");
        return (super::missing_configuration(), None, 0);
    };
    let Some(plugin) = parts.registry.get(&config.accounting_system) else {
        tracing::warn!(system = %config.accounting_system, "no plugin for the accounting system");
        return (
            super::unsupported_system(&config.accounting_system, &parts.registry.systems()),
            None,
            0,
        );
    };
    let settings = &parts.settings;
    let deadline = Instant::now() + settings.retry_window.min(expiry_budget(job));
    let system = display_name(&config.accounting_system);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let began = Instant::now();
        let verdict = match plugin.validate(job, config).await {
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
                outcome.verdict
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
        parts.metrics.observe(
            "preflight_validation_seconds",
            &[("plugin", plugin.label())],
            began.elapsed(),
        );
        let label = match &verdict {
            Verdict::Proceed => "proceed",
            Verdict::Fail { .. } => "fail",
            Verdict::Retry { .. } => "retry",
        };
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

/// How long retries may take without letting the job expire: its
/// `expiresIn`, less a margin for posting the outcome.
fn expiry_budget(job: &ExportJob) -> Duration {
    let expires_in = Duration::from_secs(job.expires_in.into());
    expires_in.saturating_sub((expires_in / 4).min(Duration::from_secs(30)))
}

/// The accounting system's name as users know it.
fn display_name(system: &str) -> String {
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

/// Posts `failed`, then confirms with `GET` that the job is failed.
async fn fail(
    parts: &RunnerParts,
    job: &ExportJob,
    reason: crate::report::FailureReason,
    message: &str,
) -> Action {
    if let Err(error) = parts.journal.record(
        job.id,
        Stage::Failing {
            reason,
            message: message.to_owned(),
        },
    ) {
        tracing::error!(%error, "cannot record the verdict before posting it; posting anyway");
    }
    match parts
        .pleo
        .post_event(&JobEvent::failed(job.id, reason, message))
        .await
    {
        Ok(()) | Err(PleoError::InvalidTransition { .. }) => {}
        Err(error) if error.is_not_found() => {
            tracing::warn!("the job vanished before it could be failed");
            finish(parts, job, "ended_by_pleo");
            return Action::EndedByPleo;
        }
        Err(error) => {
            parts.metrics.inc(
                "preflight_pleo_errors_total",
                &[("operation", "post_event")],
            );
            tracing::error!(%error, "could not post `failed`; the journal keeps the verdict for the next attempt");
            return Action::Deferred(error.to_string());
        }
    }
    // A 422 means the job left `in_progress` already: our own earlier
    // attempt (its answer lost), or Pleo (expiry, the user cancelling).
    let action = match confirm_failed(parts, job).await {
        Ok(confirmed) if confirmed.failure_reason_type.as_deref() == Some(reason.as_str()) => {
            parts.metrics.inc(
                "preflight_jobs_failed_total",
                &[("reason", reason.as_str())],
            );
            Action::FailedEarly
        }
        Ok(_) => Action::EndedByPleo,
        Err(problem) => {
            tracing::error!(%problem, "posted `failed` but could not confirm it");
            return Action::Deferred(problem);
        }
    };
    finish(parts, job, "failed");
    action
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

/// Hands a valid job over, retrying the downstream a few times.
async fn hand_over(parts: &RunnerParts, job: &ExportJob) -> Action {
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1) * attempt).await;
        }
        match parts.handover.hand_over(job).await {
            Ok(()) => {
                parts.metrics.inc("preflight_jobs_handed_over_total", &[]);
                finish(parts, job, "handed_over");
                return Action::HandedOver;
            }
            Err(problem) => last = problem,
        }
    }
    // The journal still says `Claimed`: the next resume validates the job
    // again and retries the handover.
    tracing::error!(problem = %last, "the downstream did not accept the job");
    Action::Deferred(last)
}

fn finish(parts: &RunnerParts, job: &ExportJob, outcome: &str) {
    if let Err(error) = parts.journal.record(
        job.id,
        Stage::Done {
            outcome: outcome.to_owned(),
        },
    ) {
        tracing::error!(%error, "cannot record the outcome");
    }
}

fn outcome(
    job: &ExportJob,
    parts: &RunnerParts,
    plugin: Option<String>,
    verdict: Verdict,
    action: Action,
    attempts: u32,
    started: Instant,
) -> JobOutcome {
    JobOutcome {
        job_id: job.id,
        company_id: job.company_id,
        accounting_system: parts
            .companies
            .get(&job.company_id)
            .map(|c| c.accounting_system.clone()),
        plugin,
        verdict,
        action,
        attempts,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    }
}
