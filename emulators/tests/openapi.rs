//! The Pleo emulator against its contract: a real emulator on `127.0.0.1:0`, driven over
//! HTTP through every endpoint and error case. Each answer's status is checked against
//! docs/pleo-export-api.md, and its body against the schema the shipped OpenAPI files
//! (`openapi/pleo/*.yml`) give for that operation and status.
//!
//! The OpenAPI schemas are turned into JSON Schema 2020-12 first, and tightened so that a
//! deviating answer fails instead of slipping through:
//!
//! - `nullable: true` (OpenAPI 3.0) becomes a type union with `"null"`;
//! - every `$ref: "#/components/schemas/…"` resolves, because the document's components sit
//!   under the validator's root;
//! - the spec's placeholder pattern `YYYY-MM-DDTHH:mi:ssZ` becomes the regular expression
//!   it describes;
//! - objects with `properties` refuse other properties, so misspelt or extra fields fail;
//! - a string described as "one of `X` values" must be one of the enum schema `X`;
//! - formats (`uuid`, `date-time`) are checked.
//!
//! Error statuses the spec does not list for an operation (400, 401, 403, 429, 5xx…) are
//! checked against `ExceptionInfo`, the spec's error body (docs/pleo-export-api.md §1.2).
//!
//! # Layout
//!
//! `spec` (the OpenAPI files as JSON Schema), `harness` (emulator, client and checked
//! answers), then one file per concern: `jobs` (E1–E3), `events` (E4, expiry), `items`
//! (E5, E6), `access` (credentials, scopes, unknown routes), `controls` (faults, seeding).

#[path = "openapi/access.rs"]
mod access;
#[path = "openapi/controls.rs"]
mod controls;
#[path = "openapi/events.rs"]
mod events;
#[path = "openapi/harness.rs"]
mod harness;
#[path = "openapi/items.rs"]
mod items;
#[path = "openapi/jobs.rs"]
mod jobs;
#[path = "openapi/spec.rs"]
mod spec;
