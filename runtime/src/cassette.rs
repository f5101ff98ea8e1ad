//! Cassettes: one validation kept as a file, to run again offline against
//! a plugin and compare (`preflight check --record FILE` writes one,
//! `preflight test` runs them). The tape engine is the replay's
//! ([`crate::sandbox::record::Tape`]): every request is answered from the
//! recorded exchanges, nothing is sent.
//!
//! Format, version 1 (JSON, camelCase):
//!
//! ```json
//! {
//!   "cassette": 1,
//!   "job": { "id": "…", "companyId": "…", "…": "Pleo's ExportJobV3" },
//!   "config": { "accountingSystem": "xero", "baseUrl": "…", "tenantId": "…", "settings": {} },
//!   "exchanges": [ { "method": "GET", "url": "…", "status": 200, "…": "as the decision log keeps them" } ],
//!   "expect": { "verdict": "fail", "reason": "missing_configuration",
//!               "checks": [ { "id": "xero.accounts", "status": "failed" } ] }
//! }
//! ```
//!
//! The configuration never holds credentials (the host attaches them; a
//! replay sends nothing), and the exchanges are what the sandbox recorded:
//! credentials redacted from responses, never copied into requests.

use serde::{Deserialize, Serialize};

use crate::config::IntegrationConfig;
use crate::plugin::Outcome;
use crate::report::CheckStatus;
use crate::sandbox::outbound::Exchange;

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// One recorded validation and what it is expected to come to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cassette {
    /// The format version ([`VERSION`]).
    pub cassette: u32,
    /// The export job, as the plugin was given it.
    pub job: serde_json::Value,
    /// The integration configuration without credentials.
    pub config: serde_json::Value,
    /// The recorded outbound exchanges, in order.
    pub exchanges: Vec<Exchange>,
    /// The verdict and checks expected.
    pub expect: Expectation,
}

/// What a cassette expects of a validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectation {
    /// `proceed`, `fail` or `retry`.
    pub verdict: String,
    /// The failure reason type, for `fail` and `retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every check by rule id, with its status.
    pub checks: Vec<ExpectedCheck>,
}

/// One check as expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedCheck {
    /// The rule id.
    pub id: String,
    /// Its status.
    pub status: CheckStatus,
}

impl Expectation {
    /// What `outcome` came to, as a cassette expects it.
    pub fn of(outcome: &Outcome) -> Expectation {
        let verdict = match &outcome.verdict {
            crate::Verdict::Proceed => "proceed",
            crate::Verdict::Fail { .. } => "fail",
            crate::Verdict::Retry { .. } => "retry",
        };
        Expectation {
            verdict: verdict.to_owned(),
            reason: outcome
                .verdict
                .reason()
                .map(|reason| reason.as_str().to_owned()),
            checks: outcome
                .report
                .checks
                .iter()
                .map(|check| ExpectedCheck {
                    id: check.id.clone(),
                    status: check.status,
                })
                .collect(),
        }
    }

    /// How `actual` differs from this expectation, one line per difference
    /// (none when it is met).
    pub fn differences(&self, actual: &Expectation) -> Vec<String> {
        let mut differences = Vec::new();
        if (&self.verdict, &self.reason) != (&actual.verdict, &actual.reason) {
            let show = |e: &Expectation| match &e.reason {
                Some(reason) => format!("{} ({reason})", e.verdict),
                None => e.verdict.clone(),
            };
            differences.push(format!(
                "verdict: expected {}, got {}",
                show(self),
                show(actual)
            ));
        }
        let status = |checks: &[ExpectedCheck], id: &str| {
            checks
                .iter()
                .find(|check| check.id == id)
                .map(|check| check.status.as_str().to_owned())
        };
        let mut ids: Vec<&str> = self.checks.iter().map(|c| c.id.as_str()).collect();
        for check in &actual.checks {
            if !ids.contains(&check.id.as_str()) {
                ids.push(&check.id);
            }
        }
        for id in ids {
            let (expected, got) = (status(&self.checks, id), status(&actual.checks, id));
            if expected != got {
                differences.push(format!(
                    "check {id}: expected {}, got {}",
                    expected.as_deref().unwrap_or("no such check"),
                    got.as_deref().unwrap_or("no such check")
                ));
            }
        }
        differences
    }
}

impl Cassette {
    /// A cassette of `outcome`, the validation of `job` with `config`.
    pub fn record(
        job: serde_json::Value,
        config: &IntegrationConfig,
        outcome: &Outcome,
    ) -> Cassette {
        Cassette {
            cassette: VERSION,
            job,
            config: config.snapshot(),
            exchanges: outcome.exchanges.clone(),
            expect: Expectation::of(outcome),
        }
    }

    /// Reads a cassette; an error names the field, or the version.
    pub fn parse(text: &str) -> Result<Cassette, String> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let cassette: Cassette = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| format!("{}: {}", error.path(), error.inner()))?;
        if cassette.cassette != VERSION {
            return Err(format!(
                "cassette: version {} is not one this preflight reads ({VERSION})",
                cassette.cassette
            ));
        }
        Ok(cassette)
    }
}
