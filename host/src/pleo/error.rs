//! What can go wrong talking to Pleo, typed for the decisions callers make:
//! a 422 on `started` means another worker won the job; a 404 means the job is
//! gone; transient trouble has already been retried.

use serde::Deserialize;

/// Pleo's error body (`ExceptionInfo`, docs/pleo-export-api.md §1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ExceptionInfo {
    /// E.g. `INVALID_EXPORT_JOB_STATUS_CHANGE`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Human-readable text, when given.
    #[serde(default)]
    pub message: Option<String>,
}

impl std::fmt::Display for ExceptionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{} ({message})", self.kind),
            None => f.write_str(&self.kind),
        }
    }
}

/// A failed call to Pleo's Export API.
#[derive(Debug, thiserror::Error)]
pub enum PleoError {
    /// 404: the job does not exist (or is not visible to these credentials).
    #[error("{what}: not found: {info}")]
    NotFound {
        /// The request.
        what: String,
        /// Pleo's error body.
        info: ExceptionInfo,
    },
    /// 409: e.g. an export already in progress for the company.
    #[error("{what}: conflict: {info}")]
    Conflict {
        /// The request.
        what: String,
        /// Pleo's error body.
        info: ExceptionInfo,
    },
    /// 422: the job's state does not allow this (a `started` on a job that is
    /// no longer pending means another worker claimed it).
    #[error("{what}: {info}")]
    InvalidTransition {
        /// The request.
        what: String,
        /// Pleo's error body.
        info: ExceptionInfo,
        /// True when an earlier attempt of the same request got no answer: it
        /// may have been applied, and this 422 may be its own echo.
        after_unanswered_attempt: bool,
    },
    /// 401 or 403: the credentials are missing, wrong or lack a scope.
    #[error("{what}: Pleo refused the credentials ({status}): {info}")]
    Auth {
        /// The request.
        what: String,
        /// 401 or 403.
        status: u16,
        /// Pleo's error body.
        info: ExceptionInfo,
    },
    /// Another 4xx: the request itself is wrong.
    #[error("{what}: rejected ({status}): {info}")]
    Rejected {
        /// The request.
        what: String,
        /// The status.
        status: u16,
        /// Pleo's error body.
        info: ExceptionInfo,
    },
    /// Still failing after every retry: 429, 5xx, timeouts, connection errors.
    #[error("{what}: gave up after {attempts} attempt(s): {last}")]
    Unavailable {
        /// The request.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last problem.
        last: String,
        /// True when an attempt got no answer at all (a timeout, a dropped
        /// connection): it may have been applied.
        unanswered: bool,
    },
    /// A 2xx answer whose body is not what the API documents.
    #[error("{what}: unreadable answer: {detail}")]
    Malformed {
        /// The request.
        what: String,
        /// What was wrong.
        detail: String,
    },
}

impl PleoError {
    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PleoError::NotFound { .. })
    }

    /// True for a 401 or 403: the credentials do not reach it (for a job
    /// of another organisation, what an organisation's token is told).
    pub fn is_auth(&self) -> bool {
        matches!(self, PleoError::Auth { .. })
    }

    /// True for a 422.
    pub fn is_invalid_transition(&self) -> bool {
        matches!(self, PleoError::InvalidTransition { .. })
    }

    /// Whether the request may have been applied although no success came
    /// back: some attempt went unanswered (then the last answer, a 422 or a
    /// transport error, does not say what Pleo did).
    pub fn may_have_applied(&self) -> bool {
        matches!(
            self,
            PleoError::InvalidTransition {
                after_unanswered_attempt: true,
                ..
            } | PleoError::Unavailable {
                unanswered: true,
                ..
            }
        )
    }
}
