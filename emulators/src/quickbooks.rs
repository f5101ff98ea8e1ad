//! A local stand-in for QuickBooks Online's accounting API (v3).
//!
//! The facts it follows are in docs/accounting-systems.md §2 ("QuickBooks Online"); every
//! module cites what it models, and marks with \[I\] what is inferred rather than documented.
//!
//! # Endpoints
//!
//! The base URL ([`QuickBooksEmulator::url`]) stands for `https://quickbooks.api.intuit.com`.
//! Everything lives under the company path `/v3/company/{realmId}`:
//!
//! - `GET companyinfo/{realmId}`: the company (`CompanyInfo`, with the plan as the
//!   `OfferingSku` name/value pair);
//! - `GET query?query=<statement>` (or `POST query` with the statement as the body): the
//!   query language, `select * | count(*) from <Entity> [where …] [orderby …]
//!   [startposition n] [maxresults n]`, over `Account`, `TaxCode`, `JournalCode`, `Vendor`,
//!   `Bill`, `JournalEntry` and `Attachable`. Name-list entities answer active rows only
//!   unless the statement filters on `Active`, as QuickBooks does;
//! - `POST upload`: a multipart upload with exactly the two parts `file_metadata_01` (an
//!   Attachable as JSON) and `file_content_01`; anything else is refused.
//!
//! Anything else answers 404 with an empty body. `minorversion` is accepted and ignored.
//! Every call wants `Authorization: Bearer <access token>`, and the realm in the path must
//! be the one the token was issued for.
//!
//! # Scenarios
//!
//! [`Scenario`]s make the emulator fail the way QuickBooks does. Several can be active at
//! once; each request checks them in this order: `slow` (delay, then carry on),
//! `unavailable` (503), `rate-limited` (429 fault 3001), `token-expired` (401 fault 3200),
//! then the token itself (401 fault 3200), then the realm (403 fault 3100), then
//! `missing-scope` (403 fault 3100). The remaining scenarios change what individual
//! entities return.

mod company;
mod faults;
mod query;
mod scenario;
mod seed;
mod state;
mod time;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};

pub use self::scenario::Scenario;
use self::state::Shared;
pub use crate::server::RecordedRequest;
use crate::server::{self, RequestLog, Running};

/// Port `preflight emulate quickbooks` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4012;
/// The access token the emulator accepts by default. Real tokens are opaque JWE strings
/// (docs/accounting-systems.md §2); the emulator only compares them.
pub const DEMO_ACCESS_TOKEN: &str = "quickbooks-demo-access-token";
/// The realm (company) id the demo token was issued for.
pub const DEMO_REALM_ID: &str = "9341453050607040";
/// The name of the demo company.
pub const DEMO_COMPANY_NAME: &str = "Acme SAS";

/// How a QuickBooks Online emulator behaves.
#[derive(Clone, Debug)]
pub struct QuickBooksConfig {
    /// The only bearer token accepted.
    pub access_token: String,
    /// The realm the token was issued for; other realms in the path answer 403.
    pub realm_id: String,
    /// The company's name (`CompanyInfo.CompanyName`).
    pub company_name: String,
    /// Scenarios active from the start; see [`QuickBooksEmulator::set_scenarios`].
    pub scenarios: Vec<Scenario>,
    /// How long the `slow` scenario delays each answer.
    pub slow_delay: Duration,
}

impl Default for QuickBooksConfig {
    fn default() -> Self {
        Self {
            access_token: DEMO_ACCESS_TOKEN.to_owned(),
            realm_id: DEMO_REALM_ID.to_owned(),
            company_name: DEMO_COMPANY_NAME.to_owned(),
            scenarios: Vec::new(),
            slow_delay: Duration::from_secs(10),
        }
    }
}

/// A running QuickBooks Online emulator; it stops when dropped or on
/// [`QuickBooksEmulator::shutdown`].
#[derive(Debug)]
pub struct QuickBooksEmulator {
    shared: Arc<Shared>,
    log: RequestLog,
    server: Running,
}

impl QuickBooksEmulator {
    /// Starts an emulator on `listen` (port 0 picks a free port). It accepts requests as
    /// soon as this returns.
    pub async fn start(
        config: QuickBooksConfig,
        listen: SocketAddr,
    ) -> std::io::Result<QuickBooksEmulator> {
        let shared = Arc::new(Shared::new(config));
        let log = RequestLog::new();
        let server = server::serve(log.wrap(router(Arc::clone(&shared))), listen).await?;
        tracing::info!(url = %server.url(), "QuickBooks Online emulator listening");
        Ok(Self {
            shared,
            log,
            server,
        })
    }

    /// The base URL plugins are configured with, e.g. `http://127.0.0.1:4012`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The bound address, with the real port when port 0 was requested.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Replaces the active scenarios; requests arriving from now on see the new set.
    pub fn set_scenarios(&self, scenarios: &[Scenario]) {
        self.shared.set_scenarios(scenarios);
    }

    /// Every request received so far (up to the newest 10,000), rejected ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.log.clear();
    }

    /// Stops the emulator and waits until it has stopped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// All routes of the company API, behind its gate.
fn router(shared: Arc<Shared>) -> Router {
    let path = |rest: &str| format!("/v3/company/{{realm}}{rest}");
    Router::new()
        .route(&path("/companyinfo/{id}"), get(company::company_info))
        .route(&path("/query"), get(query::get).post(query::post))
        .route(
            &path("/upload"),
            post(upload::upload).layer(DefaultBodyLimit::max(upload::MAX_UPLOAD_BYTES)),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            state::gate,
        ))
        .with_state(shared)
}
