//! Client of Pleo's Export API v3: the calls the pre-export validation step
//! makes (pleo-api.md §2: E1 list jobs, E3 get a job, E4 post a job event).
//!
//! - [`client`]: [`PleoClient`], authentication, retries with backoff;
//! - [`error`]: [`PleoError`], typed so callers branch on 404, 409, 422.

pub mod client;
pub mod error;

pub use client::{JobEvent, JobListing, PleoAuth, PleoClient, RetryPolicy};
pub use error::{ExceptionInfo, PleoError};

/// Pleo's production base URL (pleo-api.md §1).
pub const PRODUCTION_URL: &str = "https://external.pleo.io";
