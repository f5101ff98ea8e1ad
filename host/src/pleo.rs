//! Client of Pleo's Export API v3: the calls the pre-export validation step
//! makes (docs/pleo-export-api.md §2: E1 list jobs, E3 get a job, E4 post a job event).
//!
//! - [`client`]: [`PleoClient`], authentication, retries with backoff;
//! - [`error`]: [`PleoError`], typed so callers branch on 404, 409, 422.

use std::time::Duration;

pub mod client;
pub mod error;

pub use client::{JobEvent, JobListing, PleoAuth, PleoClient, RetryPolicy};
pub use error::{ExceptionInfo, PleoError};

/// Pleo's production base URL (docs/pleo-export-api.md §1).
pub const PRODUCTION_URL: &str = "https://external.pleo.io";

/// How the Export API is reached and polled (the operator file's `[pleo]`).
#[derive(Debug, Clone)]
pub struct PleoSettings {
    /// The Export API's base URL.
    pub base_url: url::Url,
    /// The credentials.
    pub auth: PleoAuth,
    /// Companies polled even though they have no integration configuration
    /// (their jobs fail with `missing_configuration`).
    pub watch_companies: Vec<uuid::Uuid>,
    /// Time between polls.
    pub poll_interval: Duration,
    /// Timeout of one request to Pleo (its retries each get their own).
    pub request_timeout: Duration,
    /// The Pleo organisations served besides the credentials' own, each
    /// with its own grant (`[[pleo.organisations]]`); a company names its
    /// organisation with `organisationId`.
    pub organisations: Vec<(uuid::Uuid, PleoAuth)>,
}
