//! A local stand-in for Pleo's Export API v3.
//!
//! It follows docs/pleo-export-api.md (cited by section throughout) and the shipped OpenAPI
//! files under `emulators/openapi/pleo/`; `tests/openapi.rs` checks every answer against them.
//!
//! # Endpoints
//!
//! The base URL ([`PleoEmulator::url`]) stands for `https://external.pleo.io`:
//!
//! - E1 `GET /v3/export-jobs`: jobs of one company, filtered by `statuses`, oldest first,
//!   cursor-paginated.
//! - E2 `POST /v3/export-jobs`: create a job (409 while the company has an active one).
//! - E3 `GET /v3/export-jobs/{jobId}`: one job.
//! - E4 `POST /v3/export-job-events`: `started`, `failed`, `completed`,
//!   `completed_with_errors`, checked against the state machine of §3.1 (422 otherwise).
//! - E5 `GET /v3/export-jobs/{jobId}/items` and E6 `PUT /v3/export-jobs/{jobId}/items`:
//!   the job's items and per-item results.
//! - Anything else: 404 `NOT_FOUND`. Errors always carry an `ExceptionInfo` body.
//!
//! The data layer (E7 `GET /v3/export-items`) and the hidden E8/E9 are not served:
//! pre-export validation runs before any item is fetched.
//!
//! # Webhook
//!
//! With a [`PleoConfig::webhook`] target, every new job, seeded
//! ([`PleoEmulator::seed_job`], [`PleoEmulator::seed_from_json`]) or created through E2,
//! is announced with Pleo's `v1.export-job.created` webhook (docs/pleo-export-api.md §4.1,
//! §7), sent the Standard Webhooks way in a background task:
//!
//! - `POST` to [`WebhookTarget::url`] with `content-type: application/json`,
//!   `webhook-id: msg_<32 hex digits>` (the `eventId` without hyphens),
//!   `webhook-timestamp: <unix seconds>` and `webhook-signature: v1,<base64 of
//!   HMAC-SHA256("{id}.{timestamp}.{body}")>` ([`sign_webhook`]);
//! - the body `{"eventId": …, "eventType": "v1.export-job.created", "data": {"id",
//!   "companyId", "createdAt", "createdBy", "expiresIn", "numberOfItems", "status"}}`,
//!   the job's fields as E3 shows them once it is created (a job seeded in a later status
//!   is announced in that status);
//! - an answer other than 2xx, or none, is retried after 100 ms and again after 400 ms
//!   (three attempts), with the same `webhook-id`, each attempt signed with its own
//!   timestamp. [`PleoEmulator::webhook_deliveries`] lists every attempt.
//!
//! The secret must be `whsec_` followed by the base64 of the key; [`PleoEmulator::start`]
//! refuses anything else rather than guessing how to use it.
//!
//! # Credentials and faults
//!
//! Every `/v3` route wants a [`Grant`]ed credential with the operation's [`Scope`] (403
//! otherwise), or an organisation's access token (see below); anything else is 401. See
//! [`PleoConfig::default`] for the demo credentials.
//! [`Faults`] make a share of requests fail with 5xx or 429, answer slowly, or drop the
//! connection, before authentication; or let a request be processed (an event applied and
//! recorded in [`PleoEmulator::events`]) and then lose its answer, closing the connection
//! without one, or hold the answer back for a while, so a client can be left unsure whether
//! its claim went through (docs/pleo-export-api.md §4). A [`FaultScope`] limits faults to
//! E1 listings, E3 lookups or E4 events; other requests never get one.
//!
//! # Organisations and OAuth
//!
//! A partner integration serves several Pleo organisations, each of which granted it access
//! through OAuth (docs/pleo-export-api.md §1.1, "OAuth"). Each [`Organisation`] of
//! [`PleoConfig::organisations`] has its companies and the refresh token its grant starts
//! with; the authorisation-code step before that is not emulated. The token endpoint,
//! `POST /oauth/token` on the same base URL (it stands for `https://auth.pleo.io` here), is
//! never hit by faults and implements the refresh of RFC 6749 §6:
//!
//! - The client authenticates with HTTP Basic, [`PleoConfig::client`]
//!   ([`DEMO_CLIENT_ID`]:[`DEMO_CLIENT_SECRET`] by default); without it, or with the wrong
//!   one, `401 {"error":"invalid_client"}` with `WWW-Authenticate: Basic realm="pleo"`.
//! - The body is a form, `grant_type=refresh_token&refresh_token=…`. Another grant type is
//!   `400 {"error":"unsupported_grant_type"}`; a missing parameter, one given twice or a body
//!   that is not `application/x-www-form-urlencoded` is `400 {"error":"invalid_request"}`.
//! - An organisation's current refresh token gets `200 {"access_token":
//!   "pleo-org-access-<n>", "token_type": "Bearer", "expires_in": <seconds>,
//!   "refresh_token": "pleo-org-refresh-<n>", "scope": "export-jobs:read export-jobs:write
//!   export-items:read"}` (`Cache-Control: no-store`). The refresh token rotates on every
//!   use: the one just used is refused from then on, like any token that is not an
//!   organisation's current one, with `400 {"error":"invalid_grant"}`. One counter numbers
//!   the tokens of all organisations, so none is issued twice.
//! - The access token is an organisation-level credential with every scope that reaches
//!   only the organisation's companies: another company's jobs are unknown (404), and
//!   naming another company in a listing or a new job is the 403 a company-level grant
//!   gets for a company not its own. Like every organisation-level credential it must name
//!   the company where an operation needs one. An organisation has no access token until
//!   its first refresh; a refresh does not revoke the access tokens issued before it.
//! - It works for [`PleoConfig::access_token_lifetime`] (an hour by default; `expires_in`
//!   is that in whole seconds, at least 1), then gets `401` with `WWW-Authenticate: Bearer
//!   error="invalid_token", error_description="The access token expired"` and the body
//!   `{"type": "UNAUTHORIZED", "message": "The access token expired."}`. Token expiry
//!   follows a clock tests can move with [`PleoEmulator::advance_clock`].
//!
//! [`PleoEmulator::token_calls`], [`PleoEmulator::token_calls_by_organisation`] and
//! [`PleoEmulator::refused_token_calls`] count the calls to the token endpoint.
//!
//! # Layout
//!
//! `auth` (credentials, scopes, companies), `oauth` (organisations and the token
//! endpoint), `faults` (injection middleware and its PRNG),
//! `jobs`, `events`, `items` (the endpoints), `lifecycle` (state machine and expiry),
//! `model` (jobs, items and their JSON), `state` (the shared store), `seed` (seeding),
//! `pagination` + `cursor` (§1.3), `query` + `request` (reading requests), `responses`
//! (bodies and errors), `timestamps` and `base64` (formats done by hand), `webhooks` (the
//! `v1.export-job.created` webhook, its signature and delivery).

mod auth;
mod base64;
mod cursor;
mod events;
mod faults;
mod items;
mod jobs;
mod lifecycle;
mod model;
mod oauth;
mod pagination;
mod query;
mod request;
mod responses;
mod seed;
mod state;
mod timestamps;
mod webhooks;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use serde_json::Value;
use uuid::Uuid;

pub use self::auth::{Credential, Grant, Scope};
pub use self::events::RecordedEvent;
pub use self::faults::{FaultScope, Faults};
use self::model::Job;
pub use self::model::JobStatus;
pub use self::oauth::Organisation;
pub use self::seed::SeedJob;
use self::state::Shared;
use self::webhooks::{JobCreated, Webhooks};
pub use self::webhooks::{WebhookDelivery, WebhookTarget, sign_webhook};
pub use crate::server::RecordedRequest;
use crate::server::{self, RequestLog, Running};

/// Port `preflight emulate pleo` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4010;
/// Organisation-level bearer token with every export scope (multi-entity: must pass
/// `company_id`).
pub const DEMO_ORG_TOKEN: &str = "pleo-demo-org-token";
/// API key (Basic `base64("<key>:")`) with every export scope, organisation-level.
pub const DEMO_API_KEY: &str = "pleo-demo-api-key";

/// OAuth client id the token endpoint expects by default ([`PleoConfig::client`]).
pub const DEMO_CLIENT_ID: &str = "preflight-demo-client";
/// OAuth client secret the token endpoint expects by default ([`PleoConfig::client`]).
pub const DEMO_CLIENT_SECRET: &str = "preflight-demo-client-secret";

/// Lifetime of access tokens issued at the token endpoint unless configured otherwise.
const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3_600);

/// `expiresIn` of new jobs unless configured otherwise: the value of Pleo's webhook example
/// (docs/pleo-export-api.md §4.1, §7).
const DEFAULT_EXPIRES_IN: u32 = 3_600;

/// How a Pleo emulator behaves.
#[derive(Clone, Debug)]
pub struct PleoConfig {
    /// The credentials accepted, with their scopes and companies.
    pub grants: Vec<Grant>,
    /// Faults active from the start; see [`PleoEmulator::set_faults`] to change them.
    pub faults: Faults,
    /// `expiresIn` of jobs created through the API or seeded without one (seconds).
    pub default_expires_in: u32,
    /// Where to send the `v1.export-job.created` webhook of every new job; `None` sends
    /// none. See the module documentation.
    pub webhook: Option<WebhookTarget>,
    /// The organisations that granted the partner access through OAuth, each with its
    /// refresh token for `POST /oauth/token`; see the module documentation.
    pub organisations: Vec<Organisation>,
    /// How long an access token issued at `POST /oauth/token` works; `expires_in` announces
    /// it in whole seconds, at least 1.
    pub access_token_lifetime: Duration,
    /// The OAuth client id and secret `POST /oauth/token` demands with HTTP Basic; `None`
    /// lets any caller refresh.
    pub client: Option<(String, String)>,
}

impl Default for PleoConfig {
    /// [`DEMO_ORG_TOKEN`] as a bearer token and [`DEMO_API_KEY`] as an API key, both
    /// organisation-level with every scope; no faults; jobs expire after an hour; no
    /// webhook; no OAuth organisations; issued access tokens last an hour; the client is
    /// [`DEMO_CLIENT_ID`] with [`DEMO_CLIENT_SECRET`].
    fn default() -> Self {
        Self {
            grants: vec![
                Grant::organisation(Credential::Bearer(DEMO_ORG_TOKEN.to_owned())),
                Grant::organisation(Credential::ApiKey(DEMO_API_KEY.to_owned())),
            ],
            faults: Faults::default(),
            default_expires_in: DEFAULT_EXPIRES_IN,
            webhook: None,
            organisations: Vec::new(),
            access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            client: Some((DEMO_CLIENT_ID.to_owned(), DEMO_CLIENT_SECRET.to_owned())),
        }
    }
}

/// A running Pleo emulator; it stops when dropped or on [`PleoEmulator::shutdown`].
#[derive(Debug)]
pub struct PleoEmulator {
    shared: Arc<Shared>,
    log: RequestLog,
    server: Running,
}

impl PleoEmulator {
    /// Starts an emulator on `listen` (port 0 picks a free port). It accepts requests as
    /// soon as this returns.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] when [`PleoConfig::webhook`] is invalid
    /// (see [`WebhookTarget::validate`]) or [`PleoConfig::organisations`] are ambiguous (an
    /// id twice, an empty refresh token, or one refresh token for two organisations),
    /// before binding anything. Webhooks are sent from tasks on the runtime this is called
    /// on.
    pub async fn start(config: PleoConfig, listen: SocketAddr) -> io::Result<PleoEmulator> {
        oauth::validate(&config.organisations)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let webhooks = match &config.webhook {
            Some(target) => {
                let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
                let webhooks = Webhooks::new(target, runtime)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
                Some(webhooks)
            }
            None => None,
        };
        let shared = Arc::new(Shared::new(config, webhooks));
        let log = RequestLog::new();
        let server = server::serve(log.wrap(router(Arc::clone(&shared))), listen).await?;
        tracing::info!(url = %server.url(), "Pleo emulator listening");
        Ok(Self {
            shared,
            log,
            server,
        })
    }

    /// The base URL clients are configured with, e.g. `http://127.0.0.1:4010`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The bound address, with the real port when port 0 was requested.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Creates a job with `number_of_items` items, as if a user had pressed **Export**, and
    /// returns its id. Each job's `createdAt` is later than the previous one's. With a
    /// webhook target, the job is announced in the background.
    pub fn seed_job(&self, job: SeedJob) -> Uuid {
        let default_expires_in = self.shared.config.default_expires_in;
        let (id, created) = self.shared.with_store(|store, now| {
            let id = seed::insert(store, job, default_expires_in, now);
            (id, store.job(id).map(JobCreated::new))
        });
        if let Some(created) = created {
            self.shared.job_created(&created);
        }
        id
    }

    /// Seeds the jobs of a seed file, `{"jobs": [{"companyId": "…", "vendorBasedBookkeeping":
    /// false, "numberOfItems": 3, "isInteractive": true, "status": "pending", "expiresIn":
    /// 3600}]}`, where only `companyId` is required. Returns the new ids in file order;
    /// nothing is seeded if the file is invalid, and the error names the offending field.
    pub fn seed_from_json(&self, json: &str) -> Result<Vec<Uuid>, String> {
        let jobs = seed::parse(json)?;
        Ok(jobs.into_iter().map(|job| self.seed_job(job)).collect())
    }

    /// The job as `ExportJobV3` JSON, exactly as E3 would return it inside `data`.
    pub fn job(&self, id: Uuid) -> Option<Value> {
        self.shared
            .with_store(|store, _| store.job(id).map(Job::to_json))
    }

    /// Serves job `id` malformed from now on: each field of `fields` replaces
    /// the real one, and a `null` removes it (e.g. `{"status": "done"}` or
    /// `{"numberOfItems": null}`). The job's state is untouched. Returns false
    /// for an unknown job.
    pub fn corrupt_job(&self, id: Uuid, fields: serde_json::Map<String, Value>) -> bool {
        self.shared.with_store(|store, _| {
            store
                .job_mut(id)
                .map(|job| job.corruption.extend(fields))
                .is_some()
        })
    }

    /// The job's items as `ExportJobItemV3` JSON, in creation order; empty for an unknown job.
    pub fn items(&self, id: Uuid) -> Vec<Value> {
        self.shared
            .with_store(|store, _| store.job(id).map(Job::items_json).unwrap_or_default())
    }

    /// Every `POST /v3/export-job-events` that reached the handler, oldest first, whatever
    /// the answer and even when a fault lost or held it; requests refused by a fault or by
    /// authentication are not included.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.shared.events()
    }

    /// Refuses listings of `company` from now on with 403, as Pleo does
    /// once the organisation's access to a company is revoked (or a watched
    /// company id is mistyped into one the credentials do not reach).
    pub fn refuse_company(&self, company: Uuid) {
        self.shared.refuse(company);
    }

    /// Replaces the active faults; requests arriving from now on see the new ones, and the
    /// pseudo-random sequence restarts from the new seed.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Every attempt to deliver a webhook so far, in the order the attempts ended; empty
    /// without a [`PleoConfig::webhook`] target. An attempt still under way is not listed.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.webhook_deliveries()
    }

    /// Successful refreshes at `POST /oauth/token`, all organisations together.
    pub fn token_calls(&self) -> u64 {
        self.shared.token_calls()
    }

    /// Successful refreshes at `POST /oauth/token` per [`Organisation::id`]; organisations
    /// that never refreshed are not listed.
    pub fn token_calls_by_organisation(&self) -> BTreeMap<Uuid, u64> {
        self.shared.token_calls_by_organisation()
    }

    /// Calls to `POST /oauth/token` answered with an error (401 `invalid_client` or any
    /// 400), whatever the reason.
    pub fn refused_token_calls(&self) -> u64 {
        self.shared.refused_token_calls()
    }

    /// Moves the clock access tokens expire by forward by `by`, so a test can let a token
    /// expire without waiting. Only token expiry follows this clock; jobs' timestamps and
    /// expiry keep the real time.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// Every request received so far (up to the newest 10,000), rejected ones included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.log.clear();
    }

    /// Stops the emulator and waits until it has stopped; webhook deliveries still under
    /// way are abandoned.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The API routes behind the credential gate and the token endpoint outside it, with
/// Pleo-style 404/405 answers, all behind fault injection (which only ever strikes `/v3`).
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v3/export-jobs", get(jobs::list).post(jobs::create))
        .route("/v3/export-jobs/{job_id}", get(jobs::get_one))
        .route(
            "/v3/export-jobs/{job_id}/items",
            get(items::list).put(items::update),
        )
        .route("/v3/export-job-events", post(events::create))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            auth::gate,
        ))
        .route("/oauth/token", post(oauth::token))
        .fallback(responses::route_not_found)
        .method_not_allowed_fallback(responses::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            faults::inject,
        ))
        .with_state(shared)
}
