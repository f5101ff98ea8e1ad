//! Checks and the report they make up.
//!
//! Every rule adds one [`Check`] with a stable id. Messages are written for the
//! finance user who pressed Export (what is wrong, what to do, in the accounting
//! system's vocabulary); hints are for the operator (status codes, error codes).
//!
//! A [`Validator`](crate::Validator) records its checks in a
//! [`Plan`](crate::plan::Plan), which makes the [`Report`]; only a
//! [`RawValidator`](crate::raw::RawValidator) builds a report by hand.

use crate::bindings::preflight::plugin::types as wit;
use crate::{Check, CheckStatus, FailureReason};

impl Check {
    /// The rule holds.
    pub fn passed(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Passed, None, message.into())
    }

    /// The rule does not hold: the job must fail with `reason`.
    pub fn failed(id: &str, reason: FailureReason, message: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Failed, Some(reason), message.into())
    }

    /// The rule does not apply to this job.
    pub fn skipped(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Skipped, None, message.into())
    }

    /// The rule could not be verified because of transient trouble; `reason`
    /// says which (timeout, rate limit, unreachable).
    pub fn unverified(id: &str, reason: FailureReason, message: impl Into<String>) -> Self {
        Self::new(id, CheckStatus::Unverified, Some(reason), message.into())
    }

    fn new(id: &str, status: CheckStatus, reason: Option<FailureReason>, message: String) -> Self {
        Check {
            id: id.to_owned(),
            status,
            reason,
            message,
            hint: None,
            retry_after: None,
        }
    }

    /// Adds technical detail for the operator.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Records how many seconds the accounting system asked to wait.
    pub fn with_retry_after(mut self, seconds: Option<u32>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// True when the check stops the job from proceeding now: failed, or not
    /// verified.
    pub fn blocks(&self) -> bool {
        matches!(self.status, CheckStatus::Failed | CheckStatus::Unverified)
    }
}

/// The checks of one validation, in report order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    checks: Vec<Check>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check.
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// True when any check so far fails or could not be verified.
    pub fn is_blocked(&self) -> bool {
        self.checks.iter().any(Check::blocks)
    }

    /// The checks so far.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }
}

impl From<Report> for wit::Report {
    fn from(report: Report) -> Self {
        wit::Report {
            checks: report.checks,
        }
    }
}
