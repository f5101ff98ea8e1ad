//! The demonstration run behind `preflight demo`: an emulated Pleo with one
//! pending export job per seeded company, an emulated accounting system per
//! company in the scenario the company is seeded for, and the real runner with
//! the bundled plugins detecting, claiming, validating, and failing early or
//! handing over, all over loopback HTTP.
//!
//! Every company names the outcome it must reach, so the demo doubles as a
//! smoke test of a fresh build: a differing outcome is reported.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use preflight_emulators::pleo::{self, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::{self, Scenario, XeroConfig, XeroEmulator};
use serde::Serialize;

use crate::config::{Credentials, IntegrationConfig, Secret};
use crate::engine::Runtime;
use crate::metrics::Metrics;
use crate::operator::RunnerSettings;
use crate::pleo::{PleoAuth, PleoClient, RetryPolicy};
use crate::registry::Registry;
use crate::report::{FailureReason, Verdict};
use crate::runner::{Action, Handover, Journal, Runner, RunnerParts};

/// How a demo company is set up.
#[derive(Debug, Clone, Copy)]
pub enum Setup {
    /// Exports to Xero, whose emulator runs in these scenarios.
    Xero(&'static [Scenario]),
    /// Exports to Xero, but no organisation (tenant) is selected.
    XeroWithoutTenant,
    /// Configured for an accounting system no plugin validates.
    Unsupported(&'static str),
    /// Watched, but without any integration configuration.
    Unconfigured,
}

/// One seeded company of the demo.
#[derive(Debug, Clone)]
pub struct DemoCompany {
    /// Display name.
    pub name: &'static str,
    /// Its setup.
    pub setup: Setup,
    /// Whether its job uses vendor bookkeeping.
    pub vendor_based_bookkeeping: bool,
    /// The failure reason it must end with; `None` when it must proceed.
    pub expected: Option<FailureReason>,
}

const fn xero_company(
    name: &'static str,
    scenarios: &'static [Scenario],
    vendor_based_bookkeeping: bool,
    expected: Option<FailureReason>,
) -> DemoCompany {
    DemoCompany {
        name,
        setup: Setup::Xero(scenarios),
        vendor_based_bookkeeping,
        expected,
    }
}

/// The demo's companies: the happy paths and one per failure case.
pub const COMPANIES: &[DemoCompany] = &[
    xero_company("Acme ApS", &[], false, None),
    xero_company("Acme Suppliers ApS", &[], true, None),
    xero_company(
        "Expired Token A/S",
        &[Scenario::TokenExpired],
        false,
        Some(FailureReason::AccountingSystemAuthenticationFailure),
    ),
    xero_company(
        "Disconnected GmbH",
        &[Scenario::TenantNotConnected],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    xero_company(
        "Practice & Partners",
        &[Scenario::PracticeTenant],
        false,
        Some(FailureReason::InvalidConfiguration),
    ),
    xero_company(
        "No Journals Ltd",
        &[Scenario::MissingScope],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    xero_company(
        "No Suppliers AB",
        &[Scenario::MissingContactsScope],
        true,
        Some(FailureReason::MissingConfiguration),
    ),
    xero_company(
        "No Receipts Oy",
        &[Scenario::MissingAttachmentsScope],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    xero_company(
        "Busy Books BV",
        &[Scenario::RateLimited],
        false,
        Some(FailureReason::AccountingSystemRateLimit),
    ),
    xero_company(
        "Outage SARL",
        &[Scenario::Unavailable],
        false,
        Some(FailureReason::AccountingSystemUnreachable),
    ),
    xero_company(
        "Slowpoke SpA",
        &[Scenario::Slow],
        false,
        Some(FailureReason::AccountingSystemTimeout),
    ),
    xero_company(
        "Suspended Sp. z o.o.",
        &[Scenario::OrganisationInactive],
        false,
        Some(FailureReason::InvalidConfiguration),
    ),
    xero_company(
        "Missing Accounts AS",
        &[Scenario::AccountsMissing],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    DemoCompany {
        name: "Unmapped Ltd",
        setup: Setup::XeroWithoutTenant,
        vendor_based_bookkeeping: false,
        expected: Some(FailureReason::MissingConfiguration),
    },
    DemoCompany {
        name: "Sage Users plc",
        setup: Setup::Unsupported("sage"),
        vendor_based_bookkeeping: false,
        expected: Some(FailureReason::InvalidConfiguration),
    },
    DemoCompany {
        name: "Not Set Up KG",
        setup: Setup::Unconfigured,
        vendor_based_bookkeeping: false,
        expected: Some(FailureReason::MissingConfiguration),
    },
];

/// The outcome of one demo job.
#[derive(Debug, Clone, Serialize)]
pub struct DemoRow {
    /// Job id.
    pub job: uuid::Uuid,
    /// Company name.
    pub company: String,
    /// Accounting system id, or `-` when unconfigured.
    pub accounting_system: String,
    /// `proceed` or `fail`.
    pub verdict: String,
    /// The failure reason, when failing.
    pub reason: Option<FailureReason>,
    /// The user-facing message, when failing.
    pub message: Option<String>,
    /// Validations run (retries of transient trouble included).
    pub attempts: u32,
    /// Time from claim to outcome, in milliseconds.
    pub millis: f64,
    /// The job's status in Pleo afterwards.
    pub pleo_status: String,
    /// `failed` events Pleo accepted for the job.
    pub failed_events: usize,
    /// Whether the job ended as its company was seeded for: the reason, the
    /// status in Pleo, and exactly one `failed` event when failing.
    pub as_expected: bool,
}

/// The per-request timeout of the demo, and the delay of the `slow`
/// scenario that it cuts short.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(750);
const SLOW_DELAY: Duration = Duration::from_millis(1_500);

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// An emulator could not start.
    #[error("could not start an emulator: {0}")]
    Emulator(#[from] std::io::Error),
    /// A bundled plugin did not load.
    #[error(transparent)]
    Plugin(#[from] crate::bundled::PluginSourceError),
    /// The Pleo client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// Polling the emulated Pleo failed.
    #[error(transparent)]
    Pleo(#[from] crate::pleo::PleoError),
    /// Not every job reached an outcome.
    #[error("{0} job(s) reached no outcome")]
    Unfinished(usize),
}

/// Runs the demo: seeds, processes every job, and reports each outcome.
pub async fn run(runtime: &Runtime) -> Result<Vec<DemoRow>, DemoError> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let pleo = PleoEmulator::start(PleoConfig::default(), loopback).await?;
    let mut emulators = Vec::new();
    let mut configs = BTreeMap::new();
    let mut seeded = Vec::new();
    let mut polled = Vec::new();
    for (index, company) in COMPANIES.iter().enumerate() {
        let company_id = uuid::Uuid::from_u128(
            0x0000_c3d4_e567_490e_9234_abc5_6e78_fabc | (index as u128 + 1) << 112,
        );
        if let Some(config) = configure(company, &mut emulators).await? {
            configs.insert(company_id, config);
        }
        let job = pleo.seed_job(SeedJob {
            company_id,
            vendor_based_bookkeeping: company.vendor_based_bookkeeping,
            number_of_items: 3 + index as u32,
            is_interactive: true,
            status: pleo::JobStatus::Pending,
            expires_in: None,
        });
        seeded.push((job, company));
        polled.push(company_id);
    }
    let registry = Arc::new(Registry::bundled(runtime).await?);
    let runner = Runner::new(RunnerParts {
        pleo: PleoClient::new(
            url::Url::parse(&pleo.url()).expect("emulator URLs parse"),
            PleoAuth::Bearer(Secret::new(pleo::DEMO_ORG_TOKEN)),
            RetryPolicy::default(),
        )?,
        companies: configs,
        polled,
        registry,
        settings: RunnerSettings {
            retry_delay: Duration::from_millis(200),
            retry_window: Duration::from_secs(30),
            ..RunnerSettings::default()
        },
        journal: Journal::in_memory(),
        handover: Handover::Record,
        metrics: Arc::new(Metrics::default()),
    });
    // Poll until every seeded job has an outcome; a company's second job
    // would wait for its first, so a few rounds may be needed.
    for _ in 0..10 {
        runner.poll().await?;
        runner.wait_idle().await;
        if runner.outcomes().len() >= seeded.len() {
            break;
        }
    }
    let outcomes = runner.outcomes();
    let events = pleo.events();
    let mut rows = Vec::new();
    for (job, company) in &seeded {
        let Some(outcome) = outcomes.iter().find(|o| o.job_id == *job) else {
            continue;
        };
        let pleo_status = pleo
            .job(*job)
            .and_then(|j| j["status"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let failed_events = events
            .iter()
            .filter(|e| e.job_id == job.to_string() && e.event == "failed" && e.status == 202)
            .count();
        let reason = outcome.verdict.reason();
        let as_expected = reason == company.expected
            && match reason {
                Some(_) => {
                    pleo_status == "failed"
                        && failed_events == 1
                        && outcome.action == Action::FailedEarly
                }
                None => {
                    pleo_status == "in_progress"
                        && failed_events == 0
                        && outcome.action == Action::HandedOver
                }
            };
        rows.push(DemoRow {
            job: *job,
            company: company.name.to_owned(),
            accounting_system: outcome
                .accounting_system
                .clone()
                .unwrap_or_else(|| "-".to_owned()),
            verdict: if matches!(outcome.verdict, Verdict::Proceed) {
                "proceed"
            } else {
                "fail"
            }
            .to_owned(),
            reason,
            message: outcome.verdict.message().map(str::to_owned),
            attempts: outcome.attempts,
            millis: outcome.millis,
            pleo_status,
            failed_events,
            as_expected,
        });
    }
    for emulator in emulators {
        emulator.shutdown().await;
    }
    pleo.shutdown().await;
    if rows.len() < seeded.len() {
        return Err(DemoError::Unfinished(seeded.len() - rows.len()));
    }
    Ok(rows)
}

/// The integration configuration of a demo company, starting its emulator.
async fn configure(
    company: &DemoCompany,
    emulators: &mut Vec<XeroEmulator>,
) -> std::io::Result<Option<IntegrationConfig>> {
    let scenarios: &[Scenario] = match company.setup {
        Setup::Unconfigured => return Ok(None),
        Setup::Xero(scenarios) => scenarios,
        Setup::XeroWithoutTenant | Setup::Unsupported(_) => &[],
    };
    let emulator = XeroEmulator::start(
        XeroConfig {
            organisation_name: company.name.to_owned(),
            scenarios: scenarios.to_vec(),
            slow_delay: SLOW_DELAY,
            ..XeroConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let config = IntegrationConfig {
        accounting_system: match company.setup {
            Setup::Unsupported(system) => system.to_owned(),
            _ => "xero".to_owned(),
        },
        base_url: url::Url::parse(&emulator.url()).expect("emulator URLs parse"),
        tenant_id: (!matches!(company.setup, Setup::XeroWithoutTenant))
            .then(|| xero::DEMO_TENANT_ID.to_owned()),
        credentials: Credentials::Bearer(Secret::new(xero::DEMO_ACCESS_TOKEN)),
        settings: serde_json::json!({
            "organisationName": company.name,
            "accounts": { "expenses": "429", "contra": "800" },
            "taxType": "INPUT",
        }),
    };
    emulators.push(emulator);
    Ok(Some(config))
}

/// Runtime options of the demo: the request timeout that makes the `slow`
/// scenario time out quickly.
pub fn runtime_options() -> crate::RuntimeOptions {
    crate::RuntimeOptions {
        limits: crate::Limits {
            request_timeout: REQUEST_TIMEOUT,
            ..crate::Limits::default()
        },
        // The emulators are plain http on loopback.
        allow_http_loopback: true,
        ..crate::RuntimeOptions::default()
    }
}
