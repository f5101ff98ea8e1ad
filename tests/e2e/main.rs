//! End-to-end tests: real emulators on 127.0.0.1 over TCP, real components
//! built from `guest/`, the real host and the real `preflight` binary.
//!
//! # Layout
//!
//! - `support`: starting runtimes, loading plugins, jobs and configurations;
//! - `xero`, `quickbooks`, `fortnox`, `business_central`: each validator
//!   against its emulator, one case per scenario;
//! - `messages`: every message a plugin or the host sends to Pleo, for every
//!   scenario of every emulator, against the reviewed snapshot files in
//!   `messages/`, with the numbers and plurals of every text checked;
//! - `emulators`: every company an emulator lists is usable end to end;
//! - `contract`: a component of the frozen 0.1.0 contract beside the 0.2.0
//!   plugins;
//! - `lifecycle`: detect, claim, validate, fail early or hand over, against
//!   the Pleo emulator, with races, restarts and injected faults;
//! - `registry`: plugin versions landing, hot swap under load, refusals,
//!   rollback, signatures and the compiled cache;
//! - `sandbox`: what a misbehaving plugin can and cannot do;
//! - `serve`: the `preflight serve` binary and its operator API;
//! - `operator`: bad values of the operator file refused at load, naming
//!   the file and the field;
//! - `store`: the journal, decision log and webhook ids on SQLite and
//!   PostgreSQL;
//! - `durable`: SIGKILL crashes with restarts, and replicas sharing one
//!   PostgreSQL;
//! - `faults`: the runner at scale and under faults: a paused replica taken
//!   over, SIGTERM within the grace period, retry budgets over SIGKILLs, and
//!   a soak of two replicas under Pleo faults;
//! - `webhooks`: Pleo's signed webhook waking `serve`;
//! - `replay`: recorded validations replayed offline;
//! - `cassettes`: `check --record` against each system's emulator, then
//!   `preflight test` with the emulator stopped; `--mask-field`;
//! - `cli`: `preflight check`, `emulate`, `plugins` and `demo` as a user runs
//!   them, including the `examples/xero` walkthrough.

mod author;
mod browser;
mod business_central;
mod cassettes;
mod cli;
mod companies;
mod console;
mod contract;
mod durable;
mod emulators;
mod faults;
mod fortnox;
mod lifecycle;
mod messages;
mod operator;
mod quickbooks;
mod registry;
mod replay;
mod sandbox;
mod serve;
mod store;
mod support;
mod webhooks;
mod xero;
