//! Local stand-ins for the services preflight talks to: real HTTP servers on loopback that
//! answer like Pleo's Export API and the accounting systems do, including the ways they
//! fail, so plugins and the host can be tested end to end without network access.
//!
//! # Layout
//!
//! - [`server`]: what every emulator shares: [`server::serve`] starts an axum router on a
//!   TCP port and returns a [`server::Running`] handle, and [`server::RequestLog`] records
//!   every request an emulator receives.
//! - [`xero`]: Xero's identity API (`/connections`) and accounting API (`/api.xro/2.0/…`),
//!   with switchable failure [`xero::Scenario`]s.
//!
//! Each emulator module exposes a `…Config`, a running `…Emulator` handle with `start`,
//! `url`, `set_scenarios`, `requests` and `shutdown`, and its `Scenario` enum.

pub mod server;
pub mod xero;
