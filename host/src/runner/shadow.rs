//! Shadow by replay: after each live validation of a system with a version
//! in shadow, that version runs offline against the live run's recorded
//! exchanges (the replay tape): nothing reaches the accounting system, so no
//! rate limit is spent, and a request the candidate makes that the live run
//! did not is answered `unreachable` and counted. Its verdict and checks are
//! kept beside the live decision ([`preflight_store::shadow`]) and never
//! acted on; [`summarise`] turns them into what an operator decides a
//! promotion on.

use std::collections::BTreeMap;
use std::sync::Arc;

use preflight_runtime::cassette::Expectation;
use preflight_runtime::config::IntegrationConfig;
use preflight_runtime::job::ExportJob;
use preflight_runtime::plugin::{Outcome, Plugin};
use preflight_runtime::sandbox::record::Tape;
use preflight_store::shadow::{ChangedCheck, ShadowResult};

use super::RunnerParts;
use crate::metrics;

/// Runs `candidate` on `live`'s tape in the background and records the
/// comparison; the job never waits for it.
pub(crate) fn compare(
    parts: &RunnerParts,
    job: &ExportJob,
    config: &Arc<IntegrationConfig>,
    plugin: &Plugin,
    live: &Outcome,
    candidate: Arc<Plugin>,
) {
    let store = parts.store.clone();
    let metrics = Arc::clone(&parts.metrics);
    let job = job.clone();
    let config = Arc::clone(config);
    let live_label = format!("{}@{}", plugin.info().name, plugin.info().version);
    let live_expectation = Expectation::of(live);
    let exchanges = live.exchanges.clone();
    tokio::spawn(async move {
        let tape = Arc::new(Tape::new(exchanges));
        let replayed = candidate.replay(&job, &config, Arc::clone(&tape)).await;
        let candidate_label = format!("{}@{}", candidate.info().name, candidate.info().version);
        let (expectation, fault) = match replayed {
            Ok(outcome) => (Some(Expectation::of(&outcome)), None),
            Err(error) => (None, Some(error.to_string())),
        };
        let result = ShadowResult {
            job_id: job.id,
            company_id: job.company_id,
            accounting_system: config.accounting_system.clone(),
            live: live_label,
            candidate: candidate_label.clone(),
            live_verdict: live_expectation.verdict.clone(),
            live_reason: live_expectation.reason.clone(),
            candidate_verdict: expectation
                .as_ref()
                .map_or_else(|| "fault".to_owned(), |e| e.verdict.clone()),
            candidate_reason: expectation.as_ref().and_then(|e| e.reason.clone()),
            changed: expectation
                .as_ref()
                .map(|candidate| changed_checks(&live_expectation, candidate))
                .unwrap_or_default(),
            misses: tape.misses(),
            fault,
            at: preflight_store::now_millis(),
        };
        let same = result.fault.is_none()
            && (&result.live_verdict, &result.live_reason)
                == (&result.candidate_verdict, &result.candidate_reason);
        let outcome = match (&result.fault, same) {
            (Some(_), _) => "fault",
            (None, true) => "same",
            (None, false) => "differs",
        };
        metrics.inc(
            metrics::SHADOW_VALIDATIONS,
            &[
                ("system", &result.accounting_system),
                ("candidate", &candidate_label),
                ("result", outcome),
            ],
        );
        for _ in &result.misses {
            metrics.inc(
                metrics::SHADOW_MISSES,
                &[
                    ("system", &result.accounting_system),
                    ("candidate", &candidate_label),
                ],
            );
        }
        if let Err(error) = store.record_shadow(&result).await {
            tracing::error!(%error, job = %result.job_id, "cannot record a shadow comparison");
        }
    });
}

/// Every check whose status differs, by rule id, the live report's order
/// first.
fn changed_checks(live: &Expectation, candidate: &Expectation) -> Vec<ChangedCheck> {
    let status = |expectation: &Expectation, id: &str| {
        expectation
            .checks
            .iter()
            .find(|check| check.id == id)
            .map(|check| check.status.as_str().to_owned())
    };
    let mut ids: Vec<&str> = live.checks.iter().map(|check| check.id.as_str()).collect();
    for check in &candidate.checks {
        if !ids.contains(&check.id.as_str()) {
            ids.push(&check.id);
        }
    }
    ids.into_iter()
        .filter_map(|id| {
            let (before, after) = (status(live, id), status(candidate, id));
            (before != after).then(|| ChangedCheck {
                id: id.to_owned(),
                live: before,
                candidate: after,
            })
        })
        .collect()
}

/// What a candidate's comparisons come to, for `GET
/// /v1/plugins/{system}/shadow` and `preflight plugins shadow-diff`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowSummary {
    /// The accounting system.
    pub accounting_system: String,
    /// The candidate, `name@version`.
    pub candidate: String,
    /// Jobs it ran beside; each counts once, by its latest validation (a
    /// job retried for transient trouble is validated again, and the last
    /// validation is the one its outcome came from).
    pub jobs_compared: usize,
    /// Those where it came to the live verdict (and reason).
    pub same_verdict: usize,
    /// Live passes (or retries) it would have failed, by failure reason.
    pub would_now_fail: BTreeMap<String, usize>,
    /// Live failures (or retries) it would have let through.
    pub would_now_pass: usize,
    /// Validations it faulted on.
    pub faults: usize,
    /// Rules only it reports.
    pub rules_added: Vec<String>,
    /// Rules only the live version reports.
    pub rules_removed: Vec<String>,
    /// Rules both report, with another status, and how often.
    pub rules_changed: BTreeMap<String, usize>,
    /// Requests it made that were not on the live tape (answered
    /// `unreachable`).
    pub requests_not_on_tape: usize,
    /// The comparisons whose verdict differs, oldest first.
    pub differing: Vec<ShadowResult>,
}

/// Sums up `results`, the comparisons of one candidate, oldest first: per
/// job, its latest comparison counts.
pub fn summarise(
    accounting_system: &str,
    candidate: &str,
    results: &[ShadowResult],
) -> ShadowSummary {
    let mut latest = BTreeMap::new();
    for (index, result) in results.iter().enumerate() {
        latest.insert(result.job_id, index);
    }
    let mut kept: Vec<usize> = latest.into_values().collect();
    kept.sort_unstable();
    let results: Vec<&ShadowResult> = kept.into_iter().map(|index| &results[index]).collect();
    let mut summary = ShadowSummary {
        accounting_system: accounting_system.to_owned(),
        candidate: candidate.to_owned(),
        jobs_compared: results.len(),
        ..ShadowSummary::default()
    };
    let mut added = std::collections::BTreeSet::new();
    let mut removed = std::collections::BTreeSet::new();
    for result in results {
        summary.requests_not_on_tape += result.misses.len();
        for change in &result.changed {
            match (&change.live, &change.candidate) {
                (None, Some(_)) => {
                    added.insert(change.id.clone());
                }
                (Some(_), None) => {
                    removed.insert(change.id.clone());
                }
                _ => *summary.rules_changed.entry(change.id.clone()).or_default() += 1,
            }
        }
        if result.fault.is_some() {
            summary.faults += 1;
            summary.differing.push((*result).clone());
            continue;
        }
        let same = (&result.live_verdict, &result.live_reason)
            == (&result.candidate_verdict, &result.candidate_reason);
        if same {
            summary.same_verdict += 1;
            continue;
        }
        match (
            result.live_verdict.as_str(),
            result.candidate_verdict.as_str(),
        ) {
            (_, "proceed") => summary.would_now_pass += 1,
            (_, "fail") => {
                let reason = result.candidate_reason.clone().unwrap_or_default();
                *summary.would_now_fail.entry(reason).or_default() += 1;
            }
            _ => {}
        }
        summary.differing.push((*result).clone());
    }
    summary.rules_added = added.into_iter().collect();
    summary.rules_removed = removed.into_iter().collect();
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        job: u128,
        live: (&str, Option<&str>),
        candidate: (&str, Option<&str>),
    ) -> ShadowResult {
        ShadowResult {
            job_id: uuid::Uuid::from_u128(job),
            company_id: uuid::Uuid::from_u128(job),
            accounting_system: "xero".to_owned(),
            live: "xero@0.1.0".to_owned(),
            candidate: "xero@0.3.0".to_owned(),
            live_verdict: live.0.to_owned(),
            live_reason: live.1.map(str::to_owned),
            candidate_verdict: candidate.0.to_owned(),
            candidate_reason: candidate.1.map(str::to_owned),
            changed: Vec::new(),
            misses: Vec::new(),
            fault: None,
            at: 0,
        }
    }

    #[test]
    fn a_job_validated_again_counts_once_by_its_latest_comparison() {
        let rate_limited = ("retry", Some("rate_limited"));
        let missing = ("fail", Some("missing_configuration"));
        let results = [
            // Job 1: retried, then both versions fail it the same way.
            result(1, rate_limited, ("proceed", None)),
            result(2, ("proceed", None), missing),
            result(1, missing, missing),
        ];
        let summary = summarise("xero", "xero@0.3.0", &results);
        assert_eq!(summary.jobs_compared, 2);
        assert_eq!(summary.same_verdict, 1);
        assert_eq!(summary.would_now_pass, 0, "job 1's retry no longer counts");
        assert_eq!(
            summary.would_now_fail,
            BTreeMap::from([("missing_configuration".to_owned(), 1)])
        );
        let differing: Vec<_> = summary.differing.iter().map(|r| r.job_id).collect();
        assert_eq!(differing, [uuid::Uuid::from_u128(2)]);
    }
}
