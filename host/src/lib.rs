//! preflight: pre-export validation for Pleo export jobs, with the rules of
//! each accounting system as a sandboxed WebAssembly component.
//!
//! Before an integration touches any item of a claimed export job, it must
//! check that the accounting system is reachable, that the credentials and
//! permissions are there, that the right company is selected, and that the
//! job's bookkeeping workflow is supported; if not, the job fails early with a
//! reason and a message the finance user can act on. preflight runs those
//! rules as plugins built against one WIT contract (`wit/plugin.wit`).
//!
//! This crate is the service around the plugin runtime
//! ([`preflight_runtime`]) and the store ([`preflight_store`]); the command
//! line, the demo and the benchmarks are the `preflight-cli` package.
//!
//! # Layout
//!
//! - [`pleo`]: the Export API v3 client and its typed errors;
//! - [`runner`]: the lifecycle of a job, from detection and claim to the
//!   outcome, and the one validation attempt that the runner and
//!   `/v1/validate` share;
//! - [`registry`]: plugin versions per accounting system: directory, watch,
//!   signatures, compiled cache, smoke test, hot swap, rollback;
//! - [`bundled`]: the plugins built into the binary, and how a plugin named
//!   on the command line is found;
//! - [`signature`]: ed25519 signatures of plugin versions;
//! - [`oci`]: plugin versions as OCI artifacts: package, push, pull, install;
//! - [`companies`]: each company's integration configuration and OAuth
//!   tokens as runtime state in the store, secrets sealed;
//! - [`operator`]: the operator's configuration file, resolved into the
//!   settings of each part;
//! - [`service`]: an operator configuration wired into a runner;
//! - [`server`]: the operator API (`/v1`, health, metrics, webhooks);
//! - [`webhook`]: verification of Pleo's signed webhooks;
//! - [`metrics`]: counters and histograms, each name defined once with its
//!   help text.

#![warn(missing_docs)]

pub mod bundled;
pub mod companies;
pub mod input;
pub mod metrics;
pub mod oci;
pub mod operator;
pub mod pleo;
pub mod registry;
pub mod runner;
pub mod server;
pub mod service;
pub mod signature;
pub mod webhook;

pub use preflight_runtime::{
    ExportJob, FailureReason, IntegrationConfig, Limits, Outcome, Plugin, PluginError, Report,
    Runtime, RuntimeOptions, Verdict,
};
