//! The host's view of a plugin's report, and the verdict derived from it.
//!
//! The report is checked against the contract before it is trusted: a failed
//! check must carry a reason and a message, and the whole report must fit the
//! report-size limit. A report that breaks the contract is a plugin fault.

use serde::Serialize;

/// The job-level failure reasons an integration may set; serialised as Pleo's
/// `ExportJobFailureReasonType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// `invalid_configuration`.
    InvalidConfiguration,
    /// `missing_configuration`.
    MissingConfiguration,
    /// `accounting_system_unreachable`.
    AccountingSystemUnreachable,
    /// `accounting_system_authentication_failure`.
    AccountingSystemAuthenticationFailure,
    /// `accounting_system_rate_limit`.
    AccountingSystemRateLimit,
    /// `accounting_system_timeout`.
    AccountingSystemTimeout,
    /// `authorization_failure`.
    AuthorizationFailure,
    /// `validation_failure`.
    ValidationFailure,
    /// `integration_unusable`.
    IntegrationUnusable,
}

impl FailureReason {
    /// Pleo's wire name, e.g. `missing_configuration`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::InvalidConfiguration => "invalid_configuration",
            FailureReason::MissingConfiguration => "missing_configuration",
            FailureReason::AccountingSystemUnreachable => "accounting_system_unreachable",
            FailureReason::AccountingSystemAuthenticationFailure => {
                "accounting_system_authentication_failure"
            }
            FailureReason::AccountingSystemRateLimit => "accounting_system_rate_limit",
            FailureReason::AccountingSystemTimeout => "accounting_system_timeout",
            FailureReason::AuthorizationFailure => "authorization_failure",
            FailureReason::ValidationFailure => "validation_failure",
            FailureReason::IntegrationUnusable => "integration_unusable",
        }
    }

    /// The reason with Pleo's wire name `name`.
    pub fn from_name(name: &str) -> Option<FailureReason> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The rule holds.
    Passed,
    /// The rule does not hold.
    Failed,
    /// The rule does not apply.
    Skipped,
    /// Transient trouble kept the rule from being verified.
    Unverified,
}

impl CheckStatus {
    /// The status's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "failed",
            CheckStatus::Skipped => "skipped",
            CheckStatus::Unverified => "unverified",
        }
    }
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Check {
    /// Stable rule id.
    pub id: String,
    /// What the rule found.
    pub status: CheckStatus,
    /// Why the job fails (failed and unverified checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// For the finance user.
    pub message: String,
    /// For the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Seconds the accounting system asked to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// A plugin's report, checked against the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks in the order they ran.
    pub checks: Vec<Check>,
}

/// What the host decides from a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed or was skipped: the job may go on to item processing.
    Proceed,
    /// A check failed: the job fails early with this reason and message.
    Fail {
        /// `failureReasonType`.
        reason: FailureReason,
        /// `failureReason`: the user-facing message.
        message: String,
        /// The rule that decided.
        check: String,
    },
    /// Nothing failed, but a check could not be verified because of transient
    /// trouble: validate again later, and fail with `reason` once the retry
    /// budget is spent.
    Retry {
        /// The reason to fail with when retries run out.
        reason: FailureReason,
        /// The user-facing message to fail with.
        message: String,
        /// The rule that could not be verified.
        check: String,
        /// Seconds the accounting system asked to wait, if it said.
        retry_after: Option<u32>,
    },
}

impl Verdict {
    /// True when the job may proceed.
    pub fn proceeds(&self) -> bool {
        matches!(self, Verdict::Proceed)
    }

    /// The failure reason, unless the job proceeds.
    pub fn reason(&self) -> Option<FailureReason> {
        match self {
            Verdict::Proceed => None,
            Verdict::Fail { reason, .. } | Verdict::Retry { reason, .. } => Some(*reason),
        }
    }

    /// The user-facing message, unless the job proceeds.
    pub fn message(&self) -> Option<&str> {
        match self {
            Verdict::Proceed => None,
            Verdict::Fail { message, .. } | Verdict::Retry { message, .. } => Some(message),
        }
    }
}

impl Report {
    /// Replaces every one of `secrets` in the checks' texts (message and
    /// hint). Responses reach a plugin redacted, but a plugin that put a
    /// credential together from pieces must not get it to Pleo (the
    /// message is the job's `failureReason`), the decision log or the logs.
    pub(crate) fn redact(&mut self, secrets: &[String]) {
        use crate::sandbox::redact::redact_with;
        for check in &mut self.checks {
            check.message = redact_with(secrets, std::mem::take(&mut check.message));
            check.hint = check.hint.take().map(|hint| redact_with(secrets, hint));
        }
    }

    /// The verdict: the first failed check fails the job; otherwise the first
    /// unverified one asks for a retry; otherwise the job proceeds.
    pub fn verdict(&self) -> Verdict {
        let first = |status| self.checks.iter().find(|check| check.status == status);
        if let Some(check) = first(CheckStatus::Failed) {
            return Verdict::Fail {
                reason: check.reason.unwrap_or(FailureReason::IntegrationUnusable),
                message: check.message.clone(),
                check: check.id.clone(),
            };
        }
        if let Some(check) = first(CheckStatus::Unverified) {
            return Verdict::Retry {
                reason: check
                    .reason
                    .unwrap_or(FailureReason::AccountingSystemUnreachable),
                message: check.message.clone(),
                check: check.id.clone(),
                retry_after: check.retry_after,
            };
        }
        Verdict::Proceed
    }
}

/// How a report breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractBreach {
    /// Over the report-size limit.
    #[error("report of {bytes} bytes is over the report-size limit")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// A check is malformed.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_texts_are_redacted() {
        let mut report = super::Report {
            checks: vec![super::Check {
                id: "a".to_owned(),
                status: super::CheckStatus::Failed,
                reason: Some(super::FailureReason::IntegrationUnusable),
                message: "joined: s3cr3t-".to_owned() + "token",
                hint: Some("s3cr3t-token again".to_owned()),
                retry_after: None,
            }],
        };
        report.redact(&["s3cr3t-token".to_owned(), String::new()]);
        assert_eq!(report.checks[0].message, "joined: [redacted]");
        assert_eq!(report.checks[0].hint.as_deref(), Some("[redacted] again"));
        assert_eq!(
            report.verdict().message(),
            Some("joined: [redacted]"),
            "the verdict Pleo gets is derived from the redacted report"
        );
    }

    use super::*;

    fn check(id: &str, status: CheckStatus, reason: Option<FailureReason>) -> Check {
        Check {
            id: id.to_owned(),
            status,
            reason,
            message: format!("message of {id}"),
            hint: None,
            retry_after: None,
        }
    }

    #[test]
    fn first_failed_check_decides() {
        let report = Report {
            checks: vec![
                check("a", CheckStatus::Passed, None),
                check(
                    "b",
                    CheckStatus::Unverified,
                    Some(FailureReason::AccountingSystemTimeout),
                ),
                check(
                    "c",
                    CheckStatus::Failed,
                    Some(FailureReason::MissingConfiguration),
                ),
                check(
                    "d",
                    CheckStatus::Failed,
                    Some(FailureReason::InvalidConfiguration),
                ),
            ],
        };
        assert_eq!(
            report.verdict(),
            Verdict::Fail {
                reason: FailureReason::MissingConfiguration,
                message: "message of c".to_owned(),
                check: "c".to_owned()
            }
        );
    }

    #[test]
    fn unverified_without_failures_asks_for_retry() {
        let report = Report {
            checks: vec![
                check("a", CheckStatus::Skipped, None),
                check(
                    "b",
                    CheckStatus::Unverified,
                    Some(FailureReason::AccountingSystemRateLimit),
                ),
            ],
        };
        assert_eq!(
            report.verdict().reason(),
            Some(FailureReason::AccountingSystemRateLimit)
        );
        assert!(matches!(report.verdict(), Verdict::Retry { .. }));
        assert!(
            Report {
                checks: vec![check("a", CheckStatus::Passed, None)]
            }
            .verdict()
            .proceeds()
        );
    }

    #[test]
    fn reasons_use_pleo_wire_names() {
        assert_eq!(
            serde_json::to_string(&FailureReason::AccountingSystemRateLimit).unwrap(),
            "\"accounting_system_rate_limit\""
        );
        assert_eq!(
            FailureReason::IntegrationUnusable.as_str(),
            "integration_unusable"
        );
    }
}
