//! A local stand-in for Xero's identity and accounting APIs.
//!
//! The facts it follows are in docs/accounting-systems.md §1 and in Xero's OpenAPI files
//! (xero-identity.yaml, xero_accounting.yaml); every module cites what it models.
//!
//! # Endpoints
//!
//! The base URL ([`XeroEmulator::url`]) stands for `https://api.xero.com`:
//!
//! - `GET /connections`: the tenants the token reaches (camelCase `Connection` objects).
//! - Under `/api.xro/2.0`: `GET /Organisation`, `/Accounts`, `/TaxRates`, `/Currencies`,
//!   `/Contacts`; `GET`/`PUT`/`POST /ManualJournals`; `GET /ManualJournals/{id}`;
//!   `GET /ManualJournals/{id}/Attachments`; `GET`/`PUT`/`POST
//!   /ManualJournals/{id}/Attachments/{FileName}`.
//! - Anything else: 404 with an empty body.
//!
//! Every endpoint wants `Authorization: Bearer <access token>`; accounting endpoints also
//! want `Xero-tenant-id: <tenant id>` and answer with Xero's envelope and rate-limit headers.
//!
//! # Scenarios
//!
//! [`Scenario`]s make the emulator fail the way Xero does. Several can be active at once;
//! each request checks them in this order: `slow` (delay, then carry on), `unavailable`
//! (503), `rate-limited` (429), `token-expired` (401), then the token itself, then for
//! accounting calls `tenant-not-connected` and the tenant header (403), then the
//! missing-scope scenarios (401 `insufficient_scope`). The remaining scenarios change
//! what individual endpoints return.
//!
//! # OAuth
//!
//! `POST /connect/token` (Xero's `identity.xero.com/connect/token`) refreshes tokens for any
//! number of *grants*, one per connected company:
//!
//! - The configured refresh token ([`XeroConfig::refresh_token`]) belongs to the grant
//!   [`DEFAULT_GRANT`]. A never-seen refresh token `<configured refresh token>:<name>`
//!   ([`XeroConfig::grant_refresh_token`]) starts the grant `<name>` at its first use.
//! - Every refresh rotates the grant's refresh token and issues a new access token. Both
//!   are numbered by one counter for the whole emulator, so the first access token issued
//!   is `xero-refreshed-access-token-1` whichever grant asked, and no token repeats.
//! - An issued access token works for [`XeroConfig::access_token_lifetime`] (30 minutes,
//!   the answer's `expires_in`), even under `token-expired`; afterwards it gets the 401 an
//!   expired token gets under that scenario. The configured access token never expires by
//!   itself: only the scenario expires it.
//! - The refresh token a rotation replaced stays usable for [`XeroConfig::refresh_grace`]
//!   (30 minutes) after its first use, as Xero documents, so a host that crashed before
//!   storing the new token can retry; the retry rotates again. Older tokens, and the
//!   previous one after its grace period, are `400 invalid_grant`.
//! - [`XeroEmulator::token_calls`], [`XeroEmulator::token_calls_by_grant`] and
//!   [`XeroEmulator::refused_token_calls`] count the token calls;
//!   [`XeroEmulator::advance_clock`] lets tests expire tokens and end grace periods
//!   without waiting.

mod attachments;
mod chart;
mod contacts;
mod dates;
mod filter;
mod gate;
mod identity;
mod journals;
mod oauth;
mod responses;
mod scenario;
mod seed;
mod settings;
mod state;
mod token;
mod validation;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;

pub use self::oauth::DEFAULT_GRANT;
pub use self::scenario::Scenario;
use self::state::Shared;
pub use crate::server::RecordedRequest;
use crate::server::{self, RequestLog, Running};

/// Port `preflight emulate xero` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4011;
/// The access token the emulator accepts by default.
pub const DEMO_ACCESS_TOKEN: &str = "xero-demo-access-token";
/// The refresh token the demo connection starts with; exchanged at
/// `POST /connect/token` for a new access token (and a new refresh token).
/// `xero-demo-refresh-token:<name>` starts the grant `<name>` instead.
pub const DEMO_REFRESH_TOKEN: &str = "xero-demo-refresh-token";
/// The tenant (organisation) id the emulator is connected to by default.
pub const DEMO_TENANT_ID: &str = "b7c1d2e3-0f4a-4b5c-8d6e-7f8091a2b3c4";
/// The name of the default organisation.
pub const DEMO_ORGANISATION_NAME: &str = "Acme ApS";

/// Prefix of the accounting API, relative to the base URL.
const ACCOUNTING_BASE: &str = "/api.xro/2.0";

/// How a Xero emulator behaves.
#[derive(Clone, Debug)]
pub struct XeroConfig {
    /// The bearer token the connection starts with (expired under the
    /// `token-expired` scenario, never otherwise; tokens issued by a refresh are accepted
    /// too, for [`XeroConfig::access_token_lifetime`]).
    pub access_token: String,
    /// The refresh token of the [`DEFAULT_GRANT`]; `<refresh_token>:<name>` starts the
    /// grant `<name>` (see [`XeroConfig::grant_refresh_token`]).
    pub refresh_token: String,
    /// How long an access token issued by a refresh is accepted; the token answer's
    /// `expires_in` (whole seconds, at least 1). Xero's is 30 minutes.
    pub access_token_lifetime: Duration,
    /// How long after its first use a rotated refresh token still works (Xero: 30 minutes).
    pub refresh_grace: Duration,
    /// The connected organisation's tenant id, expected in `Xero-tenant-id`.
    pub tenant_id: String,
    /// The connected organisation's name (`tenantName`, `Organisation.Name`).
    pub organisation_name: String,
    /// Scenarios active from the start; see [`XeroEmulator::set_scenarios`] to change them.
    pub scenarios: Vec<Scenario>,
    /// How long the `slow` scenario delays each answer.
    pub slow_delay: Duration,
    /// The `Retry-After` seconds the `rate-limited` scenario sends.
    pub retry_after_secs: u32,
}

impl Default for XeroConfig {
    fn default() -> Self {
        Self {
            access_token: DEMO_ACCESS_TOKEN.to_owned(),
            refresh_token: DEMO_REFRESH_TOKEN.to_owned(),
            access_token_lifetime: Duration::from_secs(30 * 60),
            refresh_grace: Duration::from_secs(30 * 60),
            tenant_id: DEMO_TENANT_ID.to_owned(),
            organisation_name: DEMO_ORGANISATION_NAME.to_owned(),
            scenarios: Vec::new(),
            slow_delay: Duration::from_secs(10),
            retry_after_secs: 1,
        }
    }
}

impl XeroConfig {
    /// The refresh token that starts the grant `name` at its first use:
    /// `<refresh_token>:<name>`. [`DEFAULT_GRANT`] and the empty name start nothing.
    pub fn grant_refresh_token(&self, name: &str) -> String {
        format!("{}:{name}", self.refresh_token)
    }
}

/// A running Xero emulator; it stops when dropped or on [`XeroEmulator::shutdown`].
#[derive(Debug)]
pub struct XeroEmulator {
    shared: Arc<Shared>,
    log: RequestLog,
    server: Running,
}

impl XeroEmulator {
    /// Starts an emulator on `listen` (port 0 picks a free port). It accepts requests as
    /// soon as this returns.
    pub async fn start(config: XeroConfig, listen: SocketAddr) -> std::io::Result<XeroEmulator> {
        let shared = Arc::new(Shared::new(config));
        let log = RequestLog::new();
        let server = server::serve(log.wrap(router(Arc::clone(&shared))), listen).await?;
        tracing::info!(url = %server.url(), "Xero emulator listening");
        Ok(Self {
            shared,
            log,
            server,
        })
    }

    /// The base URL plugins are configured with, e.g. `http://127.0.0.1:4011`.
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

    /// How many `POST /connect/token` calls succeeded, over all grants.
    pub fn token_calls(&self) -> u64 {
        self.shared.token_calls()
    }

    /// Successful `POST /connect/token` calls per grant name ([`DEFAULT_GRANT`] for the
    /// configured refresh token). Grants never refreshed are absent, so the values add up
    /// to [`XeroEmulator::token_calls`].
    pub fn token_calls_by_grant(&self) -> BTreeMap<String, u64> {
        self.shared.token_calls_by_grant()
    }

    /// How many successful `POST /connect/token` calls spent a grant's previous
    /// refresh token within its grace period: a client that lost the answer
    /// to its last refresh (or two clients refreshing one grant at once).
    pub fn graced_token_calls(&self) -> u64 {
        self.shared.graced_token_calls()
    }

    /// How many `POST /connect/token` calls were refused (any `400` answer).
    pub fn refused_token_calls(&self) -> u64 {
        self.shared.refused_token_calls()
    }

    /// Moves the emulator's clock forward: access tokens expire and grace periods end as if
    /// `by` had passed, and the rate-limit windows roll on. Dates in answers
    /// (`DateTimeUTC`, …) keep following the real clock.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// Stops the emulator and waits until it has stopped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// All routes, each behind the gate of its API.
fn router(shared: Arc<Shared>) -> Router {
    let identity = Router::new()
        .route("/connections", get(identity::connections))
        // The OpenAPI file spells the path with a capital C.
        .route("/Connections", get(identity::connections))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::identity,
        ));
    // The token endpoint authenticates by refresh token, not bearer token.
    let token = Router::new().route("/connect/token", axum::routing::post(token::refresh));
    identity
        .merge(token)
        .merge(accounting_routes(&shared))
        .with_state(shared)
}

fn accounting_routes(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    let path = |rest: &str| format!("{ACCOUNTING_BASE}{rest}");
    let upload_limit = DefaultBodyLimit::max(attachments::MAX_ATTACHMENT_BYTES);
    Router::new()
        .route(&path("/Organisation"), get(settings::organisation))
        .route(&path("/Accounts"), get(settings::accounts))
        .route(&path("/TaxRates"), get(settings::tax_rates))
        .route(&path("/Currencies"), get(settings::currencies))
        .route(&path("/Contacts"), get(contacts::list))
        .route(
            &path("/ManualJournals"),
            get(journals::list)
                .put(journals::create)
                .post(journals::upsert),
        )
        .route(&path("/ManualJournals/{id}"), get(journals::get_one))
        .route(
            &path("/ManualJournals/{id}/Attachments"),
            get(attachments::list),
        )
        .route(
            &path("/ManualJournals/{id}/Attachments/{file_name}"),
            get(attachments::download)
                .put(attachments::upload)
                .post(attachments::upload)
                .layer(upload_limit),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(shared),
            gate::accounting,
        ))
}

/// Serialises a model for a response body. The models are plain structs with string keys,
/// so this cannot fail in practice; if it ever did, the item shows as `null` and is logged.
fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|error| {
        tracing::error!(%error, "could not serialise a Xero emulator model");
        Value::Null
    })
}
