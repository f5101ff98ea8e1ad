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
//! # Layout
//!
//! - [`bindings`]: the host side of the WIT contract (the one `bindgen!`);
//! - [`engine`]: the wasmtime engine, linker, epoch ticker and HTTP client
//!   ([`Runtime`]);
//! - [`gate`]: what a component may import and must export, checked at load;
//! - [`plugin`]: compile once, instantiate per validation, contain faults
//!   ([`Plugin`]);
//! - [`sandbox`]: what a plugin gets: the store data, `log`, and
//!   [`sandbox::outbound`], the single checked HTTP path;
//! - [`limits`]: per-validation limits and their defaults;
//! - [`manifest`]: what a plugin asks for (origins, limits, contract version);
//! - [`report`]: checks, the report, and the [`Verdict`] derived from it;
//! - [`job`]: Pleo's `ExportJobV3`;
//! - [`config`]: a company's integration configuration and credentials;
//! - [`bundled`]: the plugins built into the binary;
//! - [`demo`]: the demonstration run of `preflight demo`;
//! - [`bench`]: the benchmarks of `preflight bench`;
//! - `cli` (binary only): one file per subcommand.

#![warn(missing_docs)]

pub mod bench;
pub mod bindings;
pub mod bundled;
pub mod cache;
pub mod config;
pub mod demo;
pub mod engine;
pub mod gate;
pub mod job;
pub mod limits;
pub mod manifest;
pub mod metrics;
pub mod operator;
pub mod pleo;
pub mod plugin;
pub mod registry;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod server;
pub mod service;
pub mod signature;
pub mod store;
pub mod webhook;

pub use config::IntegrationConfig;
pub use engine::{Runtime, RuntimeOptions};
pub use job::ExportJob;
pub use limits::Limits;
pub use plugin::{Outcome, Plugin, PluginError};
pub use report::{FailureReason, Report, Verdict};
