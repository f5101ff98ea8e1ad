//! End-to-end tests: real emulators on 127.0.0.1 over TCP, real components
//! built from `guest/`, the real host and the real `preflight` binary.
//!
//! # Layout
//!
//! - `support`: starting runtimes, loading plugins, jobs and configurations;
//! - `xero`: the Xero validator against the Xero emulator, one case per
//!   scenario;
//! - `sandbox`: what a misbehaving plugin can and cannot do;
//! - `cli`: `preflight check`, `emulate`, `plugins` and `demo` as a user runs
//!   them, including the `examples/xero` walkthrough.

mod cli;
mod sandbox;
mod support;
mod xero;
