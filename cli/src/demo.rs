//! The demonstration run behind `preflight demo`: an emulated Pleo with one
//! pending export job per seeded company, an emulated accounting system per
//! company in the scenario the company is seeded for, and the real runner with
//! the bundled plugins detecting, claiming, validating, and failing early or
//! handing over, all over loopback HTTP.
//!
//! Every company names the outcome it must reach, so the demo doubles as a
//! smoke test of a fresh build: a differing outcome is reported.
//!
//! Over 500 lines: most of it is the table of demonstration companies, one per
//! failure case of every accounting system.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use preflight_emulators::business_central::{
    self as bc, BusinessCentralConfig, BusinessCentralEmulator,
};
use preflight_emulators::fortnox::{self, FortnoxConfig, FortnoxEmulator};
use preflight_emulators::pleo::{self, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::quickbooks::{self as qbo, QuickBooksConfig, QuickBooksEmulator};
use preflight_emulators::xero::{self, Scenario, XeroConfig, XeroEmulator};
use serde::Serialize;

use preflight::metrics::Metrics;
use preflight::pleo::{PleoAuth, PleoClient, RetryPolicy};
use preflight::registry::Registry;
use preflight::runner::RunnerSettings;
use preflight::runner::{Action, Handover, Runner, RunnerParts};
use preflight_runtime::config::{Credentials, IntegrationConfig, Secret};
use preflight_runtime::engine::Runtime;
use preflight_runtime::report::{FailureReason, Verdict};

/// How a demo company is set up.
#[derive(Debug, Clone, Copy)]
pub enum Setup {
    /// Exports to Xero, whose emulator runs in these scenarios.
    Xero(&'static [Scenario]),
    /// Exports to QuickBooks Online, in these scenarios.
    QuickBooks(&'static [qbo::Scenario]),
    /// Exports to Fortnox, in these scenarios.
    Fortnox(&'static [fortnox::Scenario]),
    /// Exports to Business Central, in these scenarios.
    BusinessCentral(&'static [bc::Scenario]),
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

const fn company(
    name: &'static str,
    setup: Setup,
    vendor_based_bookkeeping: bool,
    expected: Option<FailureReason>,
) -> DemoCompany {
    DemoCompany {
        name,
        setup,
        vendor_based_bookkeeping,
        expected,
    }
}

/// A Xero company of the demo.
const fn xero_company(
    name: &'static str,
    scenarios: &'static [Scenario],
    vendor_based_bookkeeping: bool,
    expected: Option<FailureReason>,
) -> DemoCompany {
    company(
        name,
        Setup::Xero(scenarios),
        vendor_based_bookkeeping,
        expected,
    )
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
    company("Boulangerie Dupont SAS", Setup::QuickBooks(&[]), true, None),
    company(
        "Jeton Expiré SARL",
        Setup::QuickBooks(&[qbo::Scenario::TokenExpired]),
        false,
        Some(FailureReason::AccountingSystemAuthenticationFailure),
    ),
    company(
        "Sans Portée SA",
        Setup::QuickBooks(&[qbo::Scenario::MissingScope]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Écritures Interdites SAS",
        Setup::QuickBooks(&[qbo::Scenario::JournalEntriesForbidden]),
        false,
        Some(FailureReason::AuthorizationFailure),
    ),
    company(
        "Mauvaise Société SARL",
        Setup::QuickBooks(&[qbo::Scenario::WrongCompany]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Simple Start SAS",
        Setup::QuickBooks(&[qbo::Scenario::PlanWithoutBills]),
        true,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "Trop Pressé SA",
        Setup::QuickBooks(&[qbo::Scenario::RateLimited]),
        false,
        Some(FailureReason::AccountingSystemRateLimit),
    ),
    company(
        "En Panne SARL",
        Setup::QuickBooks(&[qbo::Scenario::Unavailable]),
        false,
        Some(FailureReason::AccountingSystemUnreachable),
    ),
    company(
        "Lentement SAS",
        Setup::QuickBooks(&[qbo::Scenario::Slow]),
        false,
        Some(FailureReason::AccountingSystemTimeout),
    ),
    company(
        "Comptes Manquants SA",
        Setup::QuickBooks(&[qbo::Scenario::AccountsMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Sans TVA SARL",
        Setup::QuickBooks(&[qbo::Scenario::TaxCodeMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Sans Journal SAS",
        Setup::QuickBooks(&[qbo::Scenario::JournalCodeMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company("Nordisk Demo AB", Setup::Fortnox(&[]), true, None),
    company(
        "Utgången Token AB",
        Setup::Fortnox(&[fortnox::Scenario::TokenExpired]),
        false,
        Some(FailureReason::AccountingSystemAuthenticationFailure),
    ),
    company(
        "Utan Bokföring AB",
        Setup::Fortnox(&[fortnox::Scenario::MissingScope]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Utan Leverantörer AB",
        Setup::Fortnox(&[fortnox::Scenario::MissingSupplierScope]),
        true,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Utan Inkorg AB",
        Setup::Fortnox(&[fortnox::Scenario::MissingInboxScope]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Fel Företag AB",
        Setup::Fortnox(&[fortnox::Scenario::WrongCompany]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Ingen Licens AB",
        Setup::Fortnox(&[fortnox::Scenario::NoSupplierInvoiceLicence]),
        true,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "Ingen API AB",
        Setup::Fortnox(&[fortnox::Scenario::NoApiLicence]),
        false,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "Fullt Upptagen AB",
        Setup::Fortnox(&[fortnox::Scenario::RateLimited]),
        false,
        Some(FailureReason::AccountingSystemRateLimit),
    ),
    company(
        "Driftstopp AB",
        Setup::Fortnox(&[fortnox::Scenario::Unavailable]),
        false,
        Some(FailureReason::AccountingSystemUnreachable),
    ),
    company(
        "Långsam AB",
        Setup::Fortnox(&[fortnox::Scenario::Slow]),
        false,
        Some(FailureReason::AccountingSystemTimeout),
    ),
    company(
        "Saknade Konton AB",
        Setup::Fortnox(&[fortnox::Scenario::AccountsMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Saknad Momskod AB",
        Setup::Fortnox(&[fortnox::Scenario::VatCodeMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Saknad Serie AB",
        Setup::Fortnox(&[fortnox::Scenario::VoucherSeriesMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Inget Räkenskapsår AB",
        Setup::Fortnox(&[fortnox::Scenario::FinancialYearMissing]),
        false,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "CRONUS Danmark A/S",
        Setup::BusinessCentral(&[]),
        true,
        None,
    ),
    company(
        "Udløbet Token A/S",
        Setup::BusinessCentral(&[bc::Scenario::TokenExpired]),
        false,
        Some(FailureReason::AccountingSystemAuthenticationFailure),
    ),
    company(
        "Uregistreret App ApS",
        Setup::BusinessCentral(&[bc::Scenario::AppNotRegistered]),
        false,
        Some(FailureReason::AccountingSystemAuthenticationFailure),
    ),
    company(
        "Ukendt Miljø A/S",
        Setup::BusinessCentral(&[bc::Scenario::UnknownEnvironment]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Forkert Firma ApS",
        Setup::BusinessCentral(&[bc::Scenario::WrongCompany]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Manglende Rettigheder A/S",
        Setup::BusinessCentral(&[bc::Scenario::MissingPermission]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Ingen Bilag ApS",
        Setup::BusinessCentral(&[bc::Scenario::MissingAttachmentsPermission]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Ingen Indkøb A/S",
        Setup::BusinessCentral(&[bc::Scenario::PurchasingNotLicensed]),
        true,
        Some(FailureReason::InvalidConfiguration),
    ),
    company(
        "Travlt Bogholderi ApS",
        Setup::BusinessCentral(&[bc::Scenario::RateLimited]),
        false,
        Some(FailureReason::AccountingSystemRateLimit),
    ),
    company(
        "Vedligehold A/S",
        Setup::BusinessCentral(&[bc::Scenario::Maintenance]),
        false,
        Some(FailureReason::AccountingSystemUnreachable),
    ),
    company(
        "Nedbrud ApS",
        Setup::BusinessCentral(&[bc::Scenario::Outage]),
        false,
        Some(FailureReason::AccountingSystemUnreachable),
    ),
    company(
        "Langsom A/S",
        Setup::BusinessCentral(&[bc::Scenario::Slow]),
        false,
        Some(FailureReason::AccountingSystemTimeout),
    ),
    company(
        "Manglende Konti ApS",
        Setup::BusinessCentral(&[bc::Scenario::AccountsMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Ingen Momsgruppe A/S",
        Setup::BusinessCentral(&[bc::Scenario::TaxGroupMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
    company(
        "Ingen Kladde ApS",
        Setup::BusinessCentral(&[bc::Scenario::JournalMissing]),
        false,
        Some(FailureReason::MissingConfiguration),
    ),
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
    Plugin(#[from] preflight::registry::StartError),
    /// The Pleo client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    /// Polling the emulated Pleo failed.
    #[error(transparent)]
    Pleo(#[from] preflight::pleo::PleoError),
    /// The companies could not be stored.
    #[error(transparent)]
    Companies(#[from] preflight::companies::CompanyError),
    /// Not every job reached an outcome.
    #[error("{0} job(s) reached no outcome")]
    Unfinished(usize),
}

/// A demo under way: Pleo and every company's accounting system emulated,
/// a pending export job seeded per company, and the runner that processes
/// them. [`Demo::runner`] is what `serve`'s API and console are built on, so
/// the demo can be watched and operated while it runs.
pub struct Demo {
    runner: Runner,
    pleo: PleoEmulator,
    emulators: Vec<Emulator>,
    seeded: Vec<(uuid::Uuid, &'static DemoCompany)>,
}

impl Demo {
    /// Starts the emulators, seeds the jobs and builds the runner over
    /// `store`, with `registry` (the bundled plugins when `None`). Nothing
    /// is polled until [`Demo::process`].
    pub async fn start(
        runtime: &Runtime,
        store: preflight_store::Store,
        registry: Option<Arc<Registry>>,
    ) -> Result<Demo, DemoError> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        // Two Pleo organisations, each with its own OAuth grant whose access
        // tokens live two seconds: the demo's companies alternate between
        // them, and their tokens are refreshed while the jobs run.
        let organisations: Vec<pleo::Organisation> = (0..2u128)
            .map(|n| pleo::Organisation {
                id: uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0a00 | (n + 1)),
                companies: (0..COMPANIES.len())
                    .filter(|index| *index as u128 % 2 == n)
                    .map(company_id)
                    .collect(),
                refresh_token: format!("pleo-demo-organisation-{}-refresh-token", n + 1),
            })
            .collect();
        let pleo = PleoEmulator::start(
            PleoConfig {
                organisations: organisations.clone(),
                access_token_lifetime: Duration::from_secs(2),
                ..PleoConfig::default()
            },
            loopback,
        )
        .await?;
        let mut emulators = Vec::new();
        let mut configs = BTreeMap::new();
        let mut seeded = Vec::new();
        let mut polled = Vec::new();
        for (index, company) in COMPANIES.iter().enumerate() {
            let company_id = company_id(index);
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
        let registry = match registry {
            Some(registry) => registry,
            None => Registry::bundled(runtime).await?,
        };
        let metrics = Arc::new(Metrics::default());
        let companies =
            preflight::companies::Companies::with(store.clone(), &configs, Arc::clone(&metrics))
                .await?;
        companies.set_known_organisations(organisations.iter().map(|o| o.id).collect());
        let base = url::Url::parse(&pleo.url()).expect("emulator URLs parse");
        let mut clients = BTreeMap::new();
        for organisation in &organisations {
            let oauth = preflight_runtime::config::OAuth::new(
                base.join("oauth/token").expect("a path joins"),
                pleo::DEMO_CLIENT_ID.to_owned(),
                Secret::new(pleo::DEMO_CLIENT_SECRET),
                Secret::new(String::new()),
                Secret::new(organisation.refresh_token.clone()),
            );
            // No access token yet: the first call refreshes.
            let mut tokens = oauth.tokens();
            tokens.expires_at = Some(std::time::UNIX_EPOCH);
            oauth.adopt(tokens);
            companies.keep_organisation(organisation.id, &oauth).await?;
            clients.insert(
                organisation.id,
                PleoClient::new(
                    base.clone(),
                    PleoAuth::OAuth2(Arc::new(oauth)),
                    RetryPolicy::default(),
                )?,
            );
            for company in &organisation.companies {
                if configs.contains_key(company) {
                    let patch =
                        serde_json::json!({ "organisationId": organisation.id.to_string() });
                    companies
                        .write(
                            *company,
                            preflight::companies::Change::Merge(patch),
                            None,
                            preflight::companies::Via::File,
                            None,
                        )
                        .await?;
                }
            }
        }
        let runner = Runner::new(RunnerParts {
            pleo: PleoClient::new(
                base,
                PleoAuth::Bearer(Secret::new(pleo::DEMO_ORG_TOKEN)),
                RetryPolicy::default(),
            )?,
            organisations: clients,
            companies,
            polled,
            poll_interval: Duration::from_secs(1),
            registry,
            settings: RunnerSettings {
                retry_delay: Duration::from_millis(200),
                retry_window: Duration::from_secs(30),
                ..RunnerSettings::default()
            },
            store,
            mask_fields: Vec::new(),
            handover: Handover::Record,
            metrics,
        });
        Ok(Demo {
            runner,
            pleo,
            emulators,
            seeded,
        })
    }

    /// The runner processing the demo's jobs.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The requests the emulators of `accounting_system` have answered so
    /// far, over every company that exports to it.
    pub fn requests(&self, accounting_system: &str) -> usize {
        self.emulators
            .iter()
            .filter(|emulator| emulator.accounting_system == accounting_system)
            .map(|emulator| (emulator.requests)())
            .sum()
    }

    /// Polls until every seeded job has an outcome and reports each one, in
    /// the order of [`COMPANIES`].
    pub async fn process(
        &self,
        progress: &crate::progress::Progress,
    ) -> Result<Vec<DemoRow>, DemoError> {
        let (runner, pleo, seeded) = (&self.runner, &self.pleo, &self.seeded);
        let ticker = {
            let (runner, progress) = (runner.clone(), progress.clone());
            tokio::spawn(async move {
                loop {
                    progress.set(runner.outcomes().len());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        // Poll until every seeded job has an outcome; a company's second job
        // would wait for its first, so a few rounds may be needed.
        let mut swept = Ok(());
        for _ in 0..10 {
            swept = runner.poll().await.map(drop);
            if swept.is_err() {
                break;
            }
            runner.wait_idle().await;
            if runner.outcomes().len() >= seeded.len() {
                break;
            }
        }
        ticker.abort();
        swept?;
        let outcomes = runner.outcomes();
        progress.set(outcomes.len());
        let events = pleo.events();
        let mut rows = Vec::new();
        for (job, company) in seeded {
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
        if rows.len() < seeded.len() {
            return Err(DemoError::Unfinished(seeded.len() - rows.len()));
        }
        Ok(rows)
    }

    /// Stops the emulators; what the runner kept stays in its store.
    pub async fn shutdown(self) {
        drop(self.emulators);
        self.pleo.shutdown().await;
    }
}

/// The id of the demo's `index`th company.
fn company_id(index: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0000_c3d4_e567_490e_9234_abc5_6e78_fabc | (index as u128 + 1) << 112)
}

/// A demo company's running emulator, stopped when dropped, and what it has
/// answered.
struct Emulator {
    accounting_system: &'static str,
    requests: Box<dyn Fn() -> usize + Send + Sync>,
}

impl Emulator {
    fn new<E: Send + Sync + 'static>(
        accounting_system: &'static str,
        emulator: E,
        requests: fn(&E) -> usize,
    ) -> Emulator {
        Emulator {
            accounting_system,
            requests: Box::new(move || requests(&emulator)),
        }
    }
}

/// The integration configuration of a demo company, starting its emulator.
async fn configure(
    company: &DemoCompany,
    emulators: &mut Vec<Emulator>,
) -> std::io::Result<Option<IntegrationConfig>> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let name = company.name;
    let (system, base_url, tenant, token, settings, server): (
        &str,
        String,
        Option<String>,
        &str,
        serde_json::Value,
        Emulator,
    ) = match company.setup {
        Setup::Unconfigured => return Ok(None),
        Setup::Xero(_) | Setup::XeroWithoutTenant | Setup::Unsupported(_) => {
            let scenarios = if let Setup::Xero(scenarios) = company.setup {
                scenarios
            } else {
                &[]
            };
            let config = XeroConfig {
                organisation_name: name.to_owned(),
                scenarios: scenarios.to_vec(),
                slow_delay: SLOW_DELAY,
                ..XeroConfig::default()
            };
            let emulator = XeroEmulator::start(config, loopback).await?;
            let system = if let Setup::Unsupported(system) = company.setup {
                system
            } else {
                "xero"
            };
            let tenant = (!matches!(company.setup, Setup::XeroWithoutTenant))
                .then(|| xero::DEMO_TENANT_ID.to_owned());
            let settings = serde_json::json!({ "organisationName": name, "accounts": { "expenses": "429", "contra": "800" }, "taxType": "INPUT" });
            (
                system,
                emulator.url(),
                tenant,
                xero::DEMO_ACCESS_TOKEN,
                settings,
                Emulator::new(system, emulator, |e| e.requests().len()),
            )
        }
        Setup::QuickBooks(scenarios) => {
            let config = QuickBooksConfig {
                company_name: name.to_owned(),
                scenarios: scenarios.to_vec(),
                slow_delay: SLOW_DELAY,
                ..QuickBooksConfig::default()
            };
            let emulator = QuickBooksEmulator::start(config, loopback).await?;
            let settings = serde_json::json!({
                "companyName": name,
                "accounts": { "expenses": "625100", "contra": "512100" },
                "taxCode": "TVA 20 %",
                "journalCode": "ACH",
            });
            (
                "quickbooks",
                emulator.url(),
                Some(qbo::DEMO_REALM_ID.to_owned()),
                qbo::DEMO_ACCESS_TOKEN,
                settings,
                Emulator::new("quickbooks", emulator, |e| e.requests().len()),
            )
        }
        Setup::Fortnox(scenarios) => {
            let config = FortnoxConfig {
                company_name: name.to_owned(),
                scenarios: scenarios.to_vec(),
                slow_delay: SLOW_DELAY,
                ..FortnoxConfig::default()
            };
            let emulator = FortnoxEmulator::start(config, loopback).await?;
            let settings = serde_json::json!({
                "companyName": name,
                "organizationNumber": fortnox::DEMO_ORGANIZATION_NUMBER,
                "voucherSeries": "P",
                "accounts": { "expenses": "6991", "contra": "1930" },
                "vatCode": "MP1",
            });
            let tenant = Some(fortnox::DEMO_DATABASE_NUMBER.to_string());
            (
                "fortnox",
                emulator.url(),
                tenant,
                fortnox::DEMO_ACCESS_TOKEN,
                settings,
                Emulator::new("fortnox", emulator, |e| e.requests().len()),
            )
        }
        Setup::BusinessCentral(scenarios) => {
            let config = BusinessCentralConfig {
                company_name: name.to_owned(),
                scenarios: scenarios.to_vec(),
                slow_delay: SLOW_DELAY,
                ..BusinessCentralConfig::default()
            };
            let emulator = BusinessCentralEmulator::start(config, loopback).await?;
            let settings = serde_json::json!({
                "companyName": name,
                "journal": "PLEO",
                "accounts": { "expenses": "6130", "contra": "2320" },
                "taxGroup": "VAT25",
            });
            let tenant = Some(bc::DEMO_COMPANY_ID.to_owned());
            (
                "business-central",
                emulator.environment_url(),
                tenant,
                bc::DEMO_ACCESS_TOKEN,
                settings,
                Emulator::new("business-central", emulator, |e| e.requests().len()),
            )
        }
    };
    emulators.push(server);
    Ok(Some(IntegrationConfig {
        accounting_system: system.to_owned(),
        base_url: url::Url::parse(&base_url).expect("emulator URLs parse"),
        tenant_id: tenant,
        credentials: Credentials::Bearer(Secret::new(token)),
        settings,
    }))
}

/// Runtime options of the demo: the request timeout that makes the `slow`
/// scenario time out quickly.
pub fn runtime_options() -> preflight_runtime::RuntimeOptions {
    preflight_runtime::RuntimeOptions {
        limits: preflight_runtime::Limits {
            request_timeout: REQUEST_TIMEOUT,
            ..preflight_runtime::Limits::default()
        },
        // The emulators are plain http on loopback.
        allow_http_loopback: true,
        ..preflight_runtime::RuntimeOptions::default()
    }
}
