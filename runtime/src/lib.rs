//! The plugin runtime of preflight: one wasmtime engine, the host side of the
//! WIT contract in every version it runs, and the sandbox every plugin call
//! passes through. A plugin gets nothing but what this crate grants.
//!
//! # Layout
//!
//! - [`bindings`]: the host side of the WIT contract: every `bindgen!` of the
//!   host, one per contract version, and the conversions of older versions'
//!   values to the latest;
//! - [`engine`]: the wasmtime engine, linker, epoch ticker and HTTP client
//!   ([`Runtime`]);
//! - [`gate`]: what a component may import and must export, checked at load;
//! - [`plugin`]: compile once, instantiate per validation, contain faults
//!   ([`Plugin`]);
//! - [`cache`]: compiled components on disk, authenticated;
//! - [`sandbox`]: what a plugin gets: the store data, `log`, the origin
//!   policy, credentials, redaction, and [`sandbox::outbound`], the single
//!   checked HTTP path;
//! - [`limits`]: per-validation limits and their defaults;
//! - [`manifest`]: what a plugin asks for (origins, limits, contract version);
//! - [`report`]: checks, the report, and the [`Verdict`] derived from it;
//! - [`job`]: Pleo's `ExportJobV3`, as validation needs it;
//! - [`config`]: a company's integration configuration and credentials.

#![warn(missing_docs)]

pub mod bindings;
pub mod cache;
pub mod cassette;
pub mod config;
pub mod engine;
pub mod gate;
pub mod job;
pub mod limits;
pub mod manifest;
pub mod oauth;
pub mod plugin;
pub mod report;
pub mod sandbox;

pub use config::IntegrationConfig;
pub use engine::{Runtime, RuntimeOptions};
pub use job::ExportJob;
pub use limits::Limits;
pub use plugin::{Outcome, Plugin, PluginError};
pub use report::{FailureReason, Report, Verdict};
