//! Local stand-ins for the services preflight talks to: real HTTP servers on loopback that
//! answer like Pleo's Export API and the accounting systems do, including the ways they
//! fail, so plugins and the host can be tested end to end without network access.
//!
//! # Layout
//!
//! - [`server`]: what every emulator shares: [`server::serve`] starts an axum router on a
//!   TCP port and returns a [`server::Running`] handle, and [`server::RequestLog`] records
//!   every request an emulator receives.
//! - [`pleo`]: Pleo's Export API v3 (`/v3/export-jobs…`, `/v3/export-job-events`): export
//!   jobs, their items and the job state machine, with bearer/API-key auth, scopes,
//!   cursor pagination, injectable [`pleo::Faults`] and the signed
//!   `v1.export-job.created` webhook ([`pleo::WebhookTarget`]).
//! - [`quickbooks`]: QuickBooks Online's accounting API
//!   (`/v3/company/{realmId}/…`), with switchable failure scenarios.
//! - [`fortnox`]: Fortnox's API (`/3/…`), with switchable failure scenarios.
//! - [`business_central`]: Microsoft Dynamics 365 Business Central's API
//!   (`/v2.0/{tenant}/{environment}/api/v2.0/…`), with switchable failure
//!   scenarios.
//! - [`probe`]: an echoing and redirecting server for the sandbox tests.
//! - [`xero`]: Xero's identity API (`/connections`) and accounting API (`/api.xro/2.0/…`),
//!   with switchable failure [`xero::Scenario`]s.
//!
//! Each emulator module exposes a `…Config` and a running `…Emulator` handle with `start`,
//! `url`, `requests` and `shutdown`; the accounting systems switch failure `Scenario`s with
//! `set_scenarios`, Pleo switches [`pleo::Faults`] with `set_faults`.

pub mod business_central;
pub mod fortnox;
pub mod pleo;
pub mod probe;
pub mod quickbooks;
pub mod server;
pub mod xero;
