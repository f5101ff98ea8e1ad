//! A local stand-in for Microsoft Dynamics 365 Business Central's API v2.0 (online).
//!
//! The facts it follows are in docs/accounting-systems.md §5; every module cites what it models
//! and marks with \[I\] what the facts leave open and the emulator had to choose.
//!
//! # Endpoints
//!
//! The server root ([`BusinessCentralEmulator::url`]) stands for
//! `https://api.businesscentral.dynamics.com`. Under
//! `/v2.0/{Entra tenant}/{environment}/api/v2.0` ([`BusinessCentralEmulator::api_url`]),
//! all `GET`:
//!
//! - `/companies` and `/companies({id})`;
//! - `/companies({id})/journals`, `/accounts`, `/taxGroups`, `/vendors`,
//!   `/purchaseInvoices`, `/attachments`;
//! - `/companies({id})/journals({id})/journalLines`.
//!
//! Collections answer OData's `{"@odata.context": …, "value": […]}` and honour `$top`;
//! other query options are accepted and ignored. Errors answer
//! `{"error":{"code":"…","message":"…"}}`. Anything else: 404 `BadRequest_NotFound`.
//!
//! Every call wants `Authorization: Bearer <access token>`; a token is valid for the
//! configured Entra tenant only (401 `Authentication_InvalidCredentials` otherwise), and an
//! environment other than the configured one answers 404.
//!
//! # Scenarios
//!
//! [`Scenario`]s make the emulator fail the way Business Central does. Several can be active
//! at once; each request checks them in this order: `slow` (delay, then carry on),
//! `maintenance` (503 + `retry-after`), `outage` (502 + `retry-after`), `rate-limited`
//! (429), `token-expired` and `app-not-registered` (401), then the token and tenant (401),
//! `unknown-environment` and the environment (404), `wrong-company` and the company
//! (`Internal_CompanyNotFound`), then the permission and licence scenarios of the entity set
//! read. The remaining scenarios change what the sets contain.

mod gate;
mod odata;
mod resources;
mod responses;
mod scenario;
mod seed;
mod state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;

pub use self::scenario::Scenario;
use self::state::Shared;
pub use crate::server::RecordedRequest;
use crate::server::{self, RequestLog, Running};

/// Port `preflight emulate business-central` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4014;
/// The access token the emulator accepts by default.
pub const DEMO_ACCESS_TOKEN: &str = "business-central-demo-access-token";
/// The Microsoft Entra tenant id of the demo environment.
pub const DEMO_TENANT_ID: &str = "7e9a0c61-1d3b-4f7e-9c55-2b8f4a6d1e20";
/// The demo environment's name.
pub const DEMO_ENVIRONMENT: &str = "Production";
/// The id of the demo company (the integration's `tenantId`).
pub const DEMO_COMPANY_ID: &str = "f03f6225-081c-ec11-bb77-000d3abcd65f";
/// The name of the demo company.
pub const DEMO_COMPANY_NAME: &str = "CRONUS Danmark A/S";

/// How a Business Central emulator behaves.
#[derive(Clone, Debug)]
pub struct BusinessCentralConfig {
    /// The only bearer token accepted.
    pub access_token: String,
    /// The Microsoft Entra tenant id the token is valid for (the first path segment after
    /// `/v2.0/`).
    pub tenant_id: String,
    /// The one environment of the tenant (the second path segment); compared ignoring case.
    pub environment: String,
    /// The id of the company holding the demo data.
    pub company_id: String,
    /// That company's name.
    pub company_name: String,
    /// Scenarios active from the start; see [`BusinessCentralEmulator::set_scenarios`].
    pub scenarios: Vec<Scenario>,
    /// How long the `slow` scenario delays each answer.
    pub slow_delay: Duration,
    /// The `retry-after` seconds the `maintenance` and `outage` scenarios send.
    pub retry_after_secs: u32,
}

impl Default for BusinessCentralConfig {
    fn default() -> Self {
        Self {
            access_token: DEMO_ACCESS_TOKEN.to_owned(),
            tenant_id: DEMO_TENANT_ID.to_owned(),
            environment: DEMO_ENVIRONMENT.to_owned(),
            company_id: DEMO_COMPANY_ID.to_owned(),
            company_name: DEMO_COMPANY_NAME.to_owned(),
            scenarios: Vec::new(),
            slow_delay: Duration::from_secs(10),
            retry_after_secs: 1,
        }
    }
}

/// A running Business Central emulator; it stops when dropped or on
/// [`BusinessCentralEmulator::shutdown`].
#[derive(Debug)]
pub struct BusinessCentralEmulator {
    shared: Arc<Shared>,
    log: RequestLog,
    server: Running,
}

impl BusinessCentralEmulator {
    /// Starts an emulator on `listen` (port 0 picks a free port). It accepts requests as
    /// soon as this returns.
    pub async fn start(
        config: BusinessCentralConfig,
        listen: SocketAddr,
    ) -> std::io::Result<BusinessCentralEmulator> {
        let shared = Arc::new(Shared::new(config));
        let log = RequestLog::new();
        let server = server::serve(log.wrap(router(Arc::clone(&shared))), listen).await?;
        tracing::info!(url = %server.url(), "Business Central emulator listening");
        Ok(Self {
            shared,
            log,
            server,
        })
    }

    /// The server root, e.g. `http://127.0.0.1:4014`, standing for
    /// `https://api.businesscentral.dynamics.com`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The configured environment's root, `{url}/v2.0/{tenant}/{environment}`: the base URL
    /// the Business Central plugin is configured with.
    pub fn environment_url(&self) -> String {
        let config = &self.shared.config;
        format!(
            "{}/v2.0/{}/{}",
            self.url(),
            config.tenant_id,
            config.environment
        )
    }

    /// The API root of the configured environment, `{environment_url}/api/v2.0`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v2.0", self.environment_url())
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

/// The API route; everything else is Business Central's not-found answer.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2.0/{tenant}/{environment}/api/v2.0/{*rest}", get(api))
        .fallback(|uri: Uri| async move { responses::no_resource(&uri.to_string()) })
        .with_state(shared)
}

/// One API call: the gate, then the path, then the entity set.
async fn api(
    State(shared): State<Arc<Shared>>,
    Path((tenant, environment, rest)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let active = match gate::admit(&shared, &tenant, &environment, &headers).await {
        Ok(active) => active,
        Err(refusal) => return refusal,
    };
    let Some(target) = odata::parse(&rest) else {
        return responses::no_resource(&uri.to_string());
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    let ask = resources::Ask {
        target,
        top: odata::top(query.get("$top").map(String::as_str)),
        root: format!("http://{host}/v2.0/{tenant}/{environment}/api/v2.0"),
        uri: uri.to_string(),
    };
    resources::answer(&shared, &active, ask)
}
