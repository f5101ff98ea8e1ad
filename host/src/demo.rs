//! The demonstration run behind `preflight demo`: seeded companies, each with
//! its own emulated accounting system in one scenario, validated by the bundled
//! plugins over real loopback HTTP.
//!
//! Every company names the outcome it must reach, so the demo doubles as a
//! smoke test of a fresh build: a differing outcome is reported.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_emulators::xero::{self, Scenario, XeroConfig, XeroEmulator};
use serde::Serialize;

use crate::config::{Credentials, IntegrationConfig, Secret};
use crate::job::{ExportJob, JobStatus};
use crate::plugin::Plugin;
use crate::report::{FailureReason, Verdict};

/// One seeded company of the demo.
#[derive(Debug, Clone)]
pub struct DemoCompany {
    /// Display name.
    pub name: &'static str,
    /// The emulator scenarios its accounting system runs in.
    pub scenarios: &'static [Scenario],
    /// Whether its job uses vendor bookkeeping.
    pub vendor_based_bookkeeping: bool,
    /// Whether its configuration selects a tenant.
    pub tenant_configured: bool,
    /// The failure reason it must end with; `None` when it must proceed.
    pub expected: Option<FailureReason>,
}

/// The demo's companies: the happy paths and one per failure the Xero plugin
/// knows.
pub const XERO_COMPANIES: &[DemoCompany] = &[
    company("Acme ApS", &[], false, None),
    company("Acme ApS (vendor bookkeeping)", &[], true, None),
    company(
        "Expired Token A/S",
        &[Scenario::TokenExpired],
        false,
        Some(FailureReason::AccountingSystemAuthenticationFailure),
    ),
    company(
        "Disconnected GmbH",
        &[Scenario::TenantNotConnected],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Practice & Partners",
        &[Scenario::PracticeTenant],
        false,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "No Journals Ltd",
        &[Scenario::MissingScope],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "No Suppliers AB",
        &[Scenario::MissingContactsScope],
        true,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "No Receipts Oy",
        &[Scenario::MissingAttachmentsScope],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Busy Books BV",
        &[Scenario::RateLimited],
        false,
        Some(FailureReason::AccountingSystemRateLimit),
    ),
    company(
        "Outage SARL",
        &[Scenario::Unavailable],
        false,
        Some(FailureReason::AccountingSystemUnreachable),
    ),
    company(
        "Slowpoke SpA",
        &[Scenario::Slow],
        false,
        Some(FailureReason::AccountingSystemTimeout),
    ),
    company(
        "Suspended Sp. z o.o.",
        &[Scenario::OrganisationInactive],
        false,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "Missing Accounts AS",
        &[Scenario::AccountsMissing],
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    DemoCompany {
        name: "Unmapped Ltd",
        scenarios: &[],
        vendor_based_bookkeeping: false,
        tenant_configured: false,
        expected: Some(FailureReason::MissingConfiguration),
    },
];

const fn company(
    name: &'static str,
    scenarios: &'static [Scenario],
    vendor_based_bookkeeping: bool,
    expected: Option<FailureReason>,
) -> DemoCompany {
    DemoCompany {
        name,
        scenarios,
        vendor_based_bookkeeping,
        tenant_configured: true,
        expected,
    }
}

/// The outcome of one demo job.
#[derive(Debug, Clone, Serialize)]
pub struct DemoRow {
    /// Job id.
    pub job: String,
    /// Company name.
    pub company: String,
    /// Accounting system id.
    pub accounting_system: String,
    /// `proceed`, `fail`, or `fail (transient)`; `fault` when the plugin broke.
    pub verdict: String,
    /// The failure reason, when failing.
    pub reason: Option<FailureReason>,
    /// The user-facing message, when failing.
    pub message: Option<String>,
    /// Validation time in milliseconds.
    pub millis: f64,
    /// Whether the outcome is the one the company was seeded for.
    pub as_expected: bool,
}

/// How long the `slow` scenario answers after, and the request timeout that
/// cuts it short.
const SLOW_DELAY: Duration = Duration::from_millis(1_500);
/// The per-request timeout the demo validates with.
pub const DEMO_REQUEST_TIMEOUT: Duration = Duration::from_millis(750);

/// Validates one job per company, all at once, each against its own Xero
/// emulator on loopback.
pub async fn run_xero(plugin: Arc<Plugin>) -> std::io::Result<Vec<DemoRow>> {
    let limits = crate::limits::Limits {
        request_timeout: DEMO_REQUEST_TIMEOUT,
        ..crate::limits::Limits::default()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (index, company) in XERO_COMPANIES.iter().enumerate() {
        let config = XeroConfig {
            organisation_name: company.name.to_owned(),
            scenarios: company.scenarios.to_vec(),
            slow_delay: SLOW_DELAY,
            ..XeroConfig::default()
        };
        let emulator = XeroEmulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let plugin = Arc::clone(&plugin);
        let limits = limits.clone();
        tasks.spawn(async move {
            let job = demo_job(index, company);
            let config = demo_config(&emulator.url(), company);
            let started = Instant::now();
            let result = plugin.validate_with(&job, &config, &limits).await;
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            emulator.shutdown().await;
            let verdict = match result {
                Ok(outcome) => outcome.verdict,
                Err(error) => {
                    tracing::error!(%error, "plugin fault in the demo");
                    error.verdict("Xero")
                }
            };
            (index, row(&job, company, &verdict, millis))
        });
    }
    let mut rows: Vec<(usize, DemoRow)> = tasks.join_all().await;
    rows.sort_by_key(|(index, _)| *index);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

fn row(job: &ExportJob, company: &DemoCompany, verdict: &Verdict, millis: f64) -> DemoRow {
    let label = match verdict {
        Verdict::Proceed => "proceed",
        Verdict::Fail { check, .. } if check == "preflight.plugin" => "fault",
        Verdict::Fail { .. } => "fail",
        Verdict::Retry { .. } => "fail (transient)",
    };
    DemoRow {
        job: job.id.to_string(),
        company: company.name.to_owned(),
        accounting_system: "xero".to_owned(),
        verdict: label.to_owned(),
        reason: verdict.reason(),
        message: verdict.message().map(str::to_owned),
        millis,
        as_expected: verdict.reason() == company.expected,
    }
}

/// A pending-then-claimed job of the company at `index`.
fn demo_job(index: usize, company: &DemoCompany) -> ExportJob {
    ExportJob {
        id: uuid::Uuid::from_u128(
            0x0000_48ab_464b_42a0_ba17_eda7_0365_7e33 | (index as u128 + 1) << 112,
        ),
        company_id: uuid::Uuid::from_u128(
            0x0000_c3d4_e567_490e_9234_abc5_6e78_fabc | (index as u128 + 1) << 112,
        ),
        status: JobStatus::InProgress,
        created_at: "2026-11-25T09:00:00Z".to_owned(),
        expires_in: 3600,
        is_interactive: true,
        number_of_items: 12 + index as u32,
        vendor_based_bookkeeping: company.vendor_based_bookkeeping,
        created_by: None,
        started_at: None,
        last_updated_at: None,
        completed_at: None,
        expired_at: None,
        failure_reason: None,
        failure_reason_type: None,
    }
}

fn demo_config(base_url: &str, company: &DemoCompany) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "xero".to_owned(),
        base_url: url::Url::parse(base_url).expect("emulator URLs parse"),
        tenant_id: company
            .tenant_configured
            .then(|| xero::DEMO_TENANT_ID.to_owned()),
        credentials: Credentials::Bearer(Secret::new(xero::DEMO_ACCESS_TOKEN)),
        settings: serde_json::json!({
            "organisationName": company.name,
            "accounts": { "expenses": "429", "contra": "800" },
            "taxType": "INPUT",
        }),
    }
}
