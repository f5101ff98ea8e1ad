//! A local stand-in for Fortnox's REST API (`https://api.fortnox.se/3/`).
//!
//! The facts it follows are in docs/accounting-systems.md §3 ("Fortnox"); every module cites
//! what it models.
//!
//! # Endpoints
//!
//! The base URL ([`FortnoxEmulator::url`]) stands for `https://api.fortnox.se`; the API
//! lives under `/3`. Every endpoint is a read (`GET`), which is all a validator may do:
//!
//! - `/3/companyinformation`: the company the token is bound to (`CompanyInformation`
//!   with `CompanyName`, `DatabaseNumber`, `OrganizationNumber`, …);
//! - `/3/financialyears` (`?date=YYYY-MM-DD`), `/3/financialyears/{id}`;
//! - `/3/accounts` and `/3/accounts/{number}` (`?financialyear=`, paged by `limit` and
//!   `page` with `MetaInformation`), each account with its `VATCode`;
//! - `/3/voucherseries`, `/3/voucherseries/{code}`, `/3/vouchers`;
//! - `/3/suppliers`, `/3/supplierinvoices`;
//! - `/3/inbox` (`?path=inbox_v`), `/3/voucherfileconnections`;
//! - anything else under `/3`: 404 in the `ErrorInformation` envelope.
//!
//! Every endpoint wants `Authorization: Bearer <access token>`. Errors are
//! `{"ErrorInformation":{"error":1,"message":"…","code":…}}`; the emulator answers them
//! with the statuses clients observe rather than the documented ones (401 for a bad token,
//! 400 for a missing scope, 403 for a missing licence), so a validator has to key on the
//! code.
//!
//! # Scenarios
//!
//! [`Scenario`]s make the emulator fail the way Fortnox does. Several can be active at
//! once; each request checks them in this order: `slow` (delay, then carry on),
//! `unavailable` (503), `rate-limited` and the real limit of 25 requests per sliding
//! 5 seconds (429 without `Retry-After`), the token (401 code 2000311 when missing, 2000310
//! when wrong or under `token-expired`), `no-api-licence` (403 code 2001103), then the
//! path's scope (400 code 2000663 under the missing-scope scenarios) and licence (403 code
//! 2001101 under `no-supplier-invoice-licence`). The remaining scenarios change what
//! individual endpoints return.

mod gate;
mod handlers;
mod responses;
mod scenario;
mod seed;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;

pub use self::scenario::Scenario;
use self::state::Shared;
pub use crate::server::RecordedRequest;
use crate::server::{self, RequestLog, Running};

/// Port `preflight emulate fortnox` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4013;
/// The access token the emulator accepts by default.
pub const DEMO_ACCESS_TOKEN: &str = "fortnox-demo-access-token";
/// The database number of the company the token is bound to by default; it is the tenant
/// id of Fortnox service accounts (docs/accounting-systems.md §3, "Tenant").
pub const DEMO_DATABASE_NUMBER: u64 = 1_234_567;
/// The organisation number of the default company.
pub const DEMO_ORGANIZATION_NUMBER: &str = "556677-8899";
/// The name of the default company.
pub const DEMO_COMPANY_NAME: &str = "Nordisk Demo AB";

/// How a Fortnox emulator behaves.
#[derive(Clone, Debug)]
pub struct FortnoxConfig {
    /// The only bearer token accepted.
    pub access_token: String,
    /// The name of the company the token is bound to (`CompanyName`).
    pub company_name: String,
    /// Its database number (`DatabaseNumber`).
    pub database_number: u64,
    /// Its organisation number (`OrganizationNumber`).
    pub organization_number: String,
    /// Scenarios active from the start; see [`FortnoxEmulator::set_scenarios`] to change
    /// them.
    pub scenarios: Vec<Scenario>,
    /// How long the `slow` scenario delays each answer.
    pub slow_delay: Duration,
}

impl Default for FortnoxConfig {
    fn default() -> Self {
        Self {
            access_token: DEMO_ACCESS_TOKEN.to_owned(),
            company_name: DEMO_COMPANY_NAME.to_owned(),
            database_number: DEMO_DATABASE_NUMBER,
            organization_number: DEMO_ORGANIZATION_NUMBER.to_owned(),
            scenarios: Vec::new(),
            slow_delay: Duration::from_secs(10),
        }
    }
}

/// A running Fortnox emulator; it stops when dropped or on [`FortnoxEmulator::shutdown`].
#[derive(Debug)]
pub struct FortnoxEmulator {
    shared: Arc<Shared>,
    log: RequestLog,
    server: Running,
}

impl FortnoxEmulator {
    /// Starts an emulator on `listen` (port 0 picks a free port). It accepts requests as
    /// soon as this returns.
    pub async fn start(
        config: FortnoxConfig,
        listen: SocketAddr,
    ) -> std::io::Result<FortnoxEmulator> {
        let shared = Arc::new(Shared::new(config));
        let log = RequestLog::new();
        let server = server::serve(log.wrap(router(Arc::clone(&shared))), listen).await?;
        shared.set_url(server.url());
        tracing::info!(url = %server.url(), "Fortnox emulator listening");
        Ok(Self {
            shared,
            log,
            server,
        })
    }

    /// The base URL plugins are configured with, e.g. `http://127.0.0.1:4013`; the API is
    /// under `/3/`.
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

/// All routes behind the gate; unknown paths answer 404 in Fortnox's envelope.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/3/companyinformation", get(handlers::company_information))
        .route("/3/financialyears", get(handlers::financial_years))
        .route("/3/financialyears/{id}", get(handlers::financial_year))
        .route("/3/accounts", get(handlers::accounts))
        .route("/3/accounts/{number}", get(handlers::account))
        .route("/3/voucherseries", get(handlers::voucher_series))
        .route("/3/voucherseries/{code}", get(handlers::voucher_series_one))
        .route("/3/vouchers", get(handlers::vouchers))
        .route("/3/suppliers", get(handlers::suppliers))
        .route("/3/supplierinvoices", get(handlers::supplier_invoices))
        .route("/3/inbox", get(handlers::inbox))
        .route(
            "/3/voucherfileconnections",
            get(handlers::voucher_file_connections),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::api,
        ))
        .fallback(handlers::not_found)
        .with_state(shared)
}
