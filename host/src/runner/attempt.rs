//! One validation attempt, the same for the lifecycle (which retries
//! transient trouble around it) and for `/v1/validate`: resolve the
//! company's configuration and plugin, validate, count, and write the
//! decision log, exactly once each.
//!
//! [`resolve`] is pure: it answers what to run, or the host's own verdict
//! when nothing can run; [`host_decided`] and [`run`] are the two ways an
//! attempt ends, and each writes its decision.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use preflight_runtime::config::IntegrationConfig;
use preflight_runtime::job::ExportJob;
use preflight_runtime::plugin::{Outcome, Plugin, PluginError};
use preflight_runtime::report::{FailureReason, Verdict};
use preflight_store::decisions::{Decision, PluginRef};

use super::RunnerParts;
use crate::metrics;

/// What a job is validated with.
pub(crate) struct Resolved {
    /// The company's integration configuration: the version read when the
    /// job's validation began, kept by every attempt of it.
    pub(crate) config: Arc<IntegrationConfig>,
    /// The plugin for its accounting system: the active one, or the
    /// canary for the company's share.
    pub(crate) plugin: Arc<Plugin>,
}

/// Why no plugin can validate a job: the host decides the verdict itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostVerdict {
    /// The company has no integration configuration.
    NoConfiguration,
    /// The company is configured for an accounting system no plugin
    /// validates.
    UnsupportedSystem {
        /// The configured system.
        system: String,
        /// The systems that have a plugin, by the names their plugins give
        /// them (`plugin-info.display-name`), as the finance user knows them.
        supported: Vec<String>,
    },
    /// The company's configuration could not be read (the store failed, or
    /// a stored value does not open): transient for the job, an alert for
    /// the operator.
    Unreadable {
        /// What went wrong, for the log (never shown to the finance user).
        problem: String,
    },
}

impl HostVerdict {
    /// The accounting system the company is configured for, when known.
    pub fn accounting_system(&self) -> Option<String> {
        match self {
            HostVerdict::UnsupportedSystem { system, .. } => Some(system.clone()),
            HostVerdict::NoConfiguration | HostVerdict::Unreadable { .. } => None,
        }
    }

    /// The verdict the job gets.
    pub fn verdict(&self) -> Verdict {
        match self {
            HostVerdict::Unreadable { .. } => Verdict::Retry {
                reason: FailureReason::IntegrationUnusable,
                message: "Pleo's accounting integration could not read this company's \
                          configuration just now, so the export was not checked. Export again \
                          in a few minutes; if it keeps failing, contact the integration's support."
                    .to_owned(),
                check: "preflight.configuration".to_owned(),
                retry_after: None,
            },
            HostVerdict::NoConfiguration => Verdict::Fail {
                reason: FailureReason::MissingConfiguration,
                message: "Pleo's accounting integration has no configuration for this company, \
                          so the export cannot be checked. Connect the company's accounting \
                          system in Pleo's integration settings, then export again."
                    .to_owned(),
                check: "preflight.configuration".to_owned(),
            },
            HostVerdict::UnsupportedSystem { system, supported } => Verdict::Fail {
                reason: FailureReason::InvalidConfiguration,
                message: format!(
                    "This company is set up to export to '{system}', which Pleo's integration \
                     does not support. Choose a supported accounting system ({}) in Pleo's \
                     integration settings, then export again.",
                    supported.join(", ")
                ),
                check: "preflight.accounting-system".to_owned(),
            },
        }
    }
}

/// The company's configuration as stored now, then the plugin for its
/// accounting system.
pub(crate) async fn resolve(parts: &RunnerParts, job: &ExportJob) -> Result<Resolved, HostVerdict> {
    let config = parts
        .companies
        .get(job.company_id)
        .await
        .map_err(|error| HostVerdict::Unreadable {
            problem: error.to_string(),
        })?
        .ok_or(HostVerdict::NoConfiguration)?;
    let plugin = parts
        .registry
        .get_for(&config.accounting_system, job.company_id)
        .ok_or_else(|| HostVerdict::UnsupportedSystem {
            system: config.accounting_system.clone(),
            supported: supported_names(&parts.registry),
        })?;
    Ok(Resolved { config, plugin })
}

/// The display names of the systems `registry` serves, sorted.
fn supported_names(registry: &crate::registry::Registry) -> Vec<String> {
    let mut names: Vec<String> = registry
        .systems()
        .iter()
        .filter_map(|system| registry.get(system))
        .map(|plugin| plugin.info().system_name().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What one attempt came to.
pub(crate) struct Attempt {
    /// The verdict of this attempt (`Retry` included: the caller decides).
    pub(crate) verdict: Verdict,
    /// What the plugin answered, unless it faulted.
    pub(crate) outcome: Option<Outcome>,
}

/// Ends an attempt that no plugin could run: logs why and writes the
/// decision.
pub(crate) async fn host_decided(
    parts: &RunnerParts,
    job: &ExportJob,
    why: &HostVerdict,
) -> Verdict {
    let config = match why {
        HostVerdict::NoConfiguration => {
            tracing::warn!("no integration configuration for the company");
            None
        }
        HostVerdict::UnsupportedSystem { system, .. } => {
            tracing::warn!(%system, "no plugin for the accounting system");
            parts.companies.get(job.company_id).await.ok().flatten()
        }
        HostVerdict::Unreadable { problem } => {
            tracing::error!(%problem, "cannot read the company's configuration");
            None
        }
    };
    let verdict = why.verdict();
    let entry = Entry {
        verdict: verdict.clone(),
        fault: None,
        outcome: None,
    };
    let written = Written {
        number: 1,
        at: SystemTime::now(),
        budgeted: Budgeted::No,
    };
    write_decision(parts, job, config.as_deref(), None, entry, written).await;
    verdict
}

/// Whether an attempt spends a job's retry budget in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budgeted {
    /// One of the lifecycle's validations of a job this replica holds: the
    /// decision and the budget are written together.
    Yes,
    /// On demand (`/v1/validate`): logged only.
    No,
}

/// Validates `job` once with `resolved`, counts it, and writes the decision
/// (attempt number `number`). A plugin fault becomes the
/// `integration_unusable` verdict; the finance user's message names the
/// accounting system as the plugin calls it.
pub(crate) async fn run(
    parts: &RunnerParts,
    job: &ExportJob,
    resolved: &Resolved,
    number: u32,
    budgeted: Budgeted,
) -> Attempt {
    let Resolved { config, plugin } = resolved;
    let config: &IntegrationConfig = config;
    let (began, at) = (Instant::now(), SystemTime::now());
    let result = plugin.validate(job, config).await;
    parts.metrics.observe(
        metrics::VALIDATION_SECONDS,
        &[("plugin", plugin.label())],
        began.elapsed(),
    );
    let (verdict, outcome) = match result {
        Ok(outcome) => {
            let failed_calls = outcome
                .exchanges
                .iter()
                .filter(|e| e.status.is_none_or(|s| s >= 500 || s == 429))
                .count();
            for _ in 0..failed_calls {
                parts.metrics.inc(
                    metrics::ACCOUNTING_ERRORS,
                    &[("system", &config.accounting_system)],
                );
            }
            let entry = Entry {
                verdict: outcome.verdict.clone(),
                fault: None,
                outcome: Some(&outcome),
            };
            let written = Written {
                number,
                at,
                budgeted,
            };
            write_decision(parts, job, Some(config), Some(plugin), entry, written).await;
            if let Some(candidate) = parts.registry.shadow_of(&config.accounting_system) {
                super::shadow::compare(parts, job, &resolved.config, plugin, &outcome, candidate);
            }
            (outcome.verdict.clone(), Some(outcome))
        }
        Err(error) => {
            parts
                .metrics
                .inc(metrics::PLUGIN_FAULTS, &[("plugin", plugin.label())]);
            tracing::error!(%error, "plugin fault; the job fails as integration_unusable");
            let verdict = error.verdict(plugin.info().system_name());
            let entry = Entry {
                verdict: verdict.clone(),
                fault: Some(&error),
                outcome: None,
            };
            let written = Written {
                number,
                at,
                budgeted,
            };
            write_decision(parts, job, Some(config), Some(plugin), entry, written).await;
            (verdict, None)
        }
    };
    let label = preflight_store::decisions::verdict_label(&verdict);
    parts.metrics.inc(
        metrics::JOBS_VALIDATED,
        &[("plugin", plugin.label()), ("verdict", label)],
    );
    Attempt { verdict, outcome }
}

/// What one decision-log entry records.
struct Entry<'a> {
    verdict: Verdict,
    fault: Option<&'a PluginError>,
    outcome: Option<&'a Outcome>,
}

/// Which attempt an entry records, and whether it spends the budget.
struct Written {
    number: u32,
    at: SystemTime,
    budgeted: Budgeted,
}

/// Writes one validation to the decision log (with the job's budget when
/// budgeted); a failure to write is logged, never fatal to the job.
async fn write_decision(
    parts: &RunnerParts,
    job: &ExportJob,
    config: Option<&IntegrationConfig>,
    plugin: Option<&Plugin>,
    entry: Entry<'_>,
    written: Written,
) {
    let Written {
        number: attempt,
        at,
        budgeted,
    } = written;
    let plugin = plugin.map(|plugin| PluginRef {
        name: plugin.info().name.clone(),
        version: plugin.info().version.clone(),
        digest: plugin.digest().to_owned(),
        wit: format!(
            "{}@{}",
            preflight_runtime::gate::CONTRACT,
            plugin.info().contract
        ),
    });
    let elapsed_ms = at.elapsed().unwrap_or_default().as_secs_f64() * 1000.0;
    let (checks, exchanges) = entry.outcome.map_or_else(
        || (Vec::new(), Vec::new()),
        |outcome| (outcome.report.checks.clone(), outcome.exchanges.clone()),
    );
    let decision = Decision {
        id: 0,
        job_id: job.id,
        company_id: job.company_id,
        accounting_system: config.map(|c| c.accounting_system.clone()),
        plugin,
        replica: parts.store.replica().to_owned(),
        attempt,
        at: preflight_store::millis(at),
        elapsed_ms,
        verdict: entry.verdict,
        fault: entry.fault.map(ToString::to_string),
        job: serde_json::to_value(job).unwrap_or_default(),
        config: config.map(IntegrationConfig::snapshot),
        checks,
        exchanges,
    };
    let store = &parts.store;
    let logged = match budgeted {
        Budgeted::Yes => match store.log_attempt(&decision, &parts.mask_fields).await {
            Err(preflight_store::StoreError::NotOwner(_)) => {
                // Taken over meanwhile: the new holder keeps the budget; the
                // log still shows this validation.
                tracing::warn!("the job was taken over during its validation");
                store.log_decision(&decision, &parts.mask_fields).await
            }
            logged => logged,
        },
        Budgeted::No => store.log_decision(&decision, &parts.mask_fields).await,
    };
    if let Err(error) = logged {
        tracing::error!(%error, "cannot write the decision log");
    }
}
