//! The pre-export validation step of the export lifecycle, end to end: the
//! Pleo emulator, Xero emulators, the real Xero component and the runner,
//! all over loopback TCP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use preflight::metrics::Metrics;
use preflight::pleo::{JobEvent, PleoAuth, PleoClient, RetryPolicy};
use preflight::registry::Registry;
use preflight::runner::RunnerSettings;
use preflight::runner::{Action, Handover, Runner, RunnerParts, Stage};
use preflight::{FailureReason, IntegrationConfig};
use preflight_emulators::pleo::{self, Faults, JobStatus, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::Scenario;
use preflight_store::{Acquired, Identity, Store};
use rstest::rstest;

use crate::support;

/// A Pleo emulator on a free loopback port.
async fn pleo_emulator(faults: Faults) -> PleoEmulator {
    let config = PleoConfig {
        faults,
        ..PleoConfig::default()
    };
    PleoEmulator::start(config, support::loopback())
        .await
        .expect("Pleo emulator starts")
}

fn company(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
}

fn seed(pleo: &PleoEmulator, company_id: uuid::Uuid, vendor_based_bookkeeping: bool) -> uuid::Uuid {
    pleo.seed_job(SeedJob {
        company_id,
        vendor_based_bookkeeping,
        number_of_items: 4,
        is_interactive: true,
        status: JobStatus::Pending,
        expires_in: None,
    })
}

/// How a test runner is set up.
struct Setup<'a> {
    pleo: &'a PleoEmulator,
    companies: BTreeMap<uuid::Uuid, IntegrationConfig>,
    watched: Vec<uuid::Uuid>,
    store: Option<Store>,
    retry: RetryPolicy,
}

impl<'a> Setup<'a> {
    fn new(pleo: &'a PleoEmulator) -> Self {
        Setup {
            pleo,
            companies: BTreeMap::new(),
            watched: Vec::new(),
            store: None,
            retry: RetryPolicy {
                attempts: 8,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(200),
                request_timeout: Duration::from_secs(5),
            },
        }
    }

    async fn runner(self) -> Runner {
        let runtime = support::runtime();
        let registry = Registry::bundled(&runtime)
            .await
            .expect("bundled plugins load");
        let mut polled: Vec<uuid::Uuid> =
            self.companies.keys().copied().chain(self.watched).collect();
        polled.sort();
        polled.dedup();
        Runner::new(RunnerParts {
            pleo: PleoClient::new(
                url::Url::parse(&self.pleo.url()).unwrap(),
                PleoAuth::Bearer(preflight_runtime::config::Secret::new(pleo::DEMO_ORG_TOKEN)),
                self.retry,
            )
            .unwrap(),
            companies: self.companies,
            polled,
            registry,
            settings: RunnerSettings {
                retry_delay: Duration::from_millis(50),
                ..RunnerSettings::default()
            },
            store: match self.store {
                Some(store) => store,
                None => Store::in_memory(Identity::default()).await.unwrap(),
            },
            mask_fields: Vec::new(),
            handover: Handover::Record,
            metrics: Arc::new(Metrics::default()),
        })
    }
}

/// Polls until no pending job is left (or gives up after `rounds`).
async fn drain(runner: &Runner, rounds: usize) {
    for _ in 0..rounds {
        let started = runner.poll().await.unwrap_or(0);
        runner.wait_idle().await;
        if started == 0 {
            return;
        }
    }
}

fn accepted<'a>(pleo: &'a PleoEmulator, job: uuid::Uuid, event: &'a str) -> usize {
    pleo.events()
        .iter()
        .filter(|e| e.job_id == job.to_string() && e.event == event && e.status == 202)
        .count()
}

#[tokio::test]
async fn a_good_job_is_handed_over_with_only_a_started_event() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[]).await;
    let job = seed(&pleo, company(1), true);
    let mut setup = Setup::new(&pleo);
    setup
        .companies
        .insert(company(1), support::xero_config(&xero.url()));
    let runner = setup.runner().await;
    drain(&runner, 3).await;

    let outcome = runner
        .outcomes()
        .into_iter()
        .find(|o| o.job_id == job)
        .expect("the job has an outcome");
    assert!(outcome.verdict.proceeds(), "{outcome:?}");
    assert_eq!(outcome.action, Action::HandedOver);
    assert_eq!(pleo.job(job).unwrap()["status"], "in_progress");
    let events: Vec<_> = pleo
        .events()
        .into_iter()
        .filter(|e| e.job_id == job.to_string())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].event.as_str(), events[0].status),
        ("started", 202)
    );
    assert!(
        pleo.items(job)
            .iter()
            .all(|item| item["status"] == "pending"),
        "items are never touched"
    );
}

#[derive(Debug, Clone, Copy)]
enum Case {
    Xero(&'static [Scenario], bool),
    Unconfigured,
    Unsupported,
}

#[rstest]
#[case::token_expired(Case::Xero(&[Scenario::TokenExpired], false), FailureReason::AccountingSystemAuthenticationFailure, "Reconnect Xero", 1)]
#[case::tenant_not_connected(Case::Xero(&[Scenario::TenantNotConnected], false), FailureReason::MissingConfiguration, "is not connected", 1)]
#[case::vendor_bookkeeping_without_contacts(Case::Xero(&[Scenario::MissingContactsScope], true), FailureReason::MissingConfiguration, "contacts (suppliers)", 1)]
#[case::accounts_missing(Case::Xero(&[Scenario::AccountsMissing], false), FailureReason::MissingConfiguration, "Xero account 429", 1)]
#[case::rate_limited_after_retries(Case::Xero(&[Scenario::RateLimited], false), FailureReason::AccountingSystemRateLimit, "Try the export again", 3)]
#[case::outage_after_retries(Case::Xero(&[Scenario::Unavailable], false), FailureReason::AccountingSystemUnreachable, "unavailable", 3)]
#[case::no_configuration(
    Case::Unconfigured,
    FailureReason::MissingConfiguration,
    "no configuration for this company",
    0
)]
#[case::unsupported_system(
    Case::Unsupported,
    FailureReason::InvalidConfiguration,
    "'sage', which Pleo's integration does not support",
    0
)]
#[tokio::test]
async fn a_failing_job_fails_early_with_one_event(
    #[case] case: Case,
    #[case] reason: FailureReason,
    #[case] message: &str,
    #[case] attempts: u32,
) {
    let pleo = pleo_emulator(Faults::default()).await;
    let scenarios = match case {
        Case::Xero(scenarios, _) => scenarios,
        _ => &[],
    };
    let xero = support::xero_emulator(scenarios).await;
    let job = seed(&pleo, company(2), matches!(case, Case::Xero(_, true)));
    let mut setup = Setup::new(&pleo);
    match case {
        Case::Xero(..) => {
            setup
                .companies
                .insert(company(2), support::xero_config(&xero.url()));
        }
        Case::Unconfigured => setup.watched.push(company(2)),
        Case::Unsupported => {
            let mut config = support::xero_config(&xero.url());
            config.accounting_system = "sage".to_owned();
            setup.companies.insert(company(2), config);
        }
    }
    let runner = setup.runner().await;
    drain(&runner, 3).await;

    let outcome = runner
        .outcomes()
        .into_iter()
        .find(|o| o.job_id == job)
        .expect("the job has an outcome");
    assert_eq!(outcome.verdict.reason(), Some(reason), "{outcome:?}");
    assert_eq!(outcome.action, Action::FailedEarly);
    assert_eq!(outcome.attempts, attempts, "validations run");
    let stored = pleo.job(job).unwrap();
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["failureReasonType"], reason.as_str());
    let text = stored["failureReason"].as_str().unwrap();
    assert!(
        text.contains(message),
        "failureReason {text:?} lacks {message:?}"
    );
    assert_eq!(accepted(&pleo, job, "started"), 1);
    assert_eq!(accepted(&pleo, job, "failed"), 1);
    assert!(
        pleo.items(job)
            .iter()
            .all(|item| item["status"] == "abandoned"),
        "{:?}",
        pleo.items(job)
    );
}

#[tokio::test]
async fn a_second_runner_racing_for_the_job_gets_422_and_leaves_it() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[]).await;
    let job = seed(&pleo, company(3), false);
    let mut first = Setup::new(&pleo);
    first
        .companies
        .insert(company(3), support::xero_config(&xero.url()));
    let mut second = Setup::new(&pleo);
    second
        .companies
        .insert(company(3), support::xero_config(&xero.url()));
    let (first, second) = (first.runner().await, second.runner().await);
    let (a, b) = tokio::join!(first.poll(), second.poll());
    assert_eq!(a.unwrap() + b.unwrap(), 2, "both saw the pending job");
    tokio::join!(first.wait_idle(), second.wait_idle());

    let outcomes: Vec<_> = first
        .outcomes()
        .into_iter()
        .chain(second.outcomes())
        .filter(|o| o.job_id == job)
        .collect();
    let lost = outcomes
        .iter()
        .filter(|o| o.action == Action::LostRace)
        .count();
    let won = outcomes
        .iter()
        .filter(|o| o.action == Action::HandedOver)
        .count();
    assert_eq!((won, lost), (1, 1), "{outcomes:?}");
    let started: Vec<u16> = pleo
        .events()
        .iter()
        .filter(|e| e.event == "started")
        .map(|e| e.status)
        .collect();
    assert_eq!(started.iter().filter(|s| **s == 202).count(), 1);
    assert_eq!(started.iter().filter(|s| **s == 422).count(), 1);
}

#[tokio::test]
async fn a_restarted_runner_resumes_its_claim_without_a_second_started() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let ours = seed(&pleo, company(4), false);
    let theirs = seed(&pleo, company(5), false);
    let state = support::temp_dir("resume");

    // Before the "crash": the claim was recorded and posted, nothing else.
    let client = PleoClient::new(
        url::Url::parse(&pleo.url()).unwrap(),
        PleoAuth::ApiKey(preflight_runtime::config::Secret::new(pleo::DEMO_API_KEY)),
        RetryPolicy::default(),
    )
    .unwrap();
    let url = format!("sqlite://{}", state.join("preflight.db").display());
    {
        let store = Store::open(&url, Identity::default()).await.unwrap();
        assert_eq!(
            store.acquire(ours, company(4)).await.unwrap(),
            Acquired::New
        );
        client.post_event(&JobEvent::started(ours)).await.unwrap();
        store.record(ours, &Stage::Claimed).await.unwrap();
    }
    // Another integration's job, in progress but never claimed by us.
    client.post_event(&JobEvent::started(theirs)).await.unwrap();

    let mut setup = Setup::new(&pleo);
    setup
        .companies
        .insert(company(4), support::xero_config(&xero.url()));
    setup
        .companies
        .insert(company(5), support::xero_config(&xero.url()));
    setup.store = Some(Store::open(&url, Identity::default()).await.unwrap());
    let runner = setup.runner().await;
    assert_eq!(
        runner.resume().await.unwrap(),
        1,
        "only our own claim is resumed"
    );
    runner.wait_idle().await;

    assert_eq!(accepted(&pleo, ours, "started"), 1, "no second started");
    assert_eq!(
        pleo.events()
            .iter()
            .filter(|e| e.event == "started")
            .count(),
        2
    );
    assert_eq!(pleo.job(ours).unwrap()["status"], "failed");
    assert_eq!(
        pleo.job(ours).unwrap()["failureReasonType"],
        "missing_configuration"
    );
    assert_eq!(
        pleo.job(theirs).unwrap()["status"],
        "in_progress",
        "a job we did not claim is left alone"
    );
    let store = Store::open(&url, Identity::default()).await.unwrap();
    assert_eq!(
        store.job(ours).await.unwrap().map(|record| record.stage),
        Some(Stage::Done {
            outcome: preflight_store::JobResult::Failed
        })
    );
    assert_eq!(store.job(theirs).await.unwrap(), None);
    let _ = std::fs::remove_dir_all(&state);
}

#[tokio::test]
async fn with_injected_faults_every_job_reaches_one_terminal_state() {
    let pleo = pleo_emulator(Faults::default()).await;
    let good = support::xero_emulator(&[]).await;
    let bad = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let mut setup = Setup::new(&pleo);
    let mut jobs = Vec::new();
    for n in 0..50u128 {
        let failing = n % 2 == 1;
        let base = if failing { bad.url() } else { good.url() };
        setup
            .companies
            .insert(company(100 + n), support::xero_config(&base));
        jobs.push((seed(&pleo, company(100 + n), false), failing));
    }
    pleo.set_faults(Faults {
        rate: 0.2,
        server_errors: true,
        rate_limits: true,
        drops: true,
        slow: None,
        seed: 7,
    });
    let runner = setup.runner().await;
    for _ in 0..20 {
        let _ = runner.resume().await;
        drain(&runner, 5).await;
        let done = jobs.iter().all(|(job, failing)| {
            let status = pleo.job(*job).map(|j| j["status"].clone());
            let handed_over = runner
                .outcomes()
                .iter()
                .any(|o| o.job_id == *job && o.action == Action::HandedOver);
            if *failing {
                status == Some("failed".into())
            } else {
                handed_over
            }
        });
        if done {
            break;
        }
    }
    pleo.set_faults(Faults::default());
    assert!(pleo.requests().len() > 150, "the faults were exercised");
    for (job, failing) in &jobs {
        let status = pleo.job(*job).unwrap()["status"].clone();
        assert_eq!(accepted(&pleo, *job, "started"), 1, "job {job}");
        if *failing {
            assert_eq!(status, "failed", "job {job}");
            assert_eq!(
                accepted(&pleo, *job, "failed"),
                1,
                "exactly one failed event for {job}"
            );
            assert_eq!(
                pleo.job(*job).unwrap()["failureReasonType"],
                "missing_configuration"
            );
        } else {
            assert_eq!(status, "in_progress", "job {job}");
            assert_eq!(accepted(&pleo, *job, "failed"), 0, "job {job}");
        }
    }
}

#[tokio::test]
async fn malformed_jobs_from_pleo_are_skipped_and_the_rest_proceed() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[]).await;
    let unknown_status = seed(&pleo, company(6), false);
    let missing_field = seed(&pleo, company(7), false);
    let good = seed(&pleo, company(8), false);
    let corrupt = |fields: serde_json::Value| fields.as_object().unwrap().clone();
    assert!(pleo.corrupt_job(
        unknown_status,
        corrupt(serde_json::json!({"status": "done"}))
    ));
    assert!(pleo.corrupt_job(
        missing_field,
        corrupt(serde_json::json!({"numberOfItems": null}))
    ));
    let mut setup = Setup::new(&pleo);
    for n in 6..=8 {
        setup
            .companies
            .insert(company(n), support::xero_config(&xero.url()));
    }
    let runner = setup.runner().await;
    drain(&runner, 2).await;

    assert_eq!(
        runner
            .metrics()
            .counter(preflight::metrics::JOBS_MALFORMED, &[]),
        4,
        "two malformed jobs, seen by two polls"
    );
    let outcomes = runner.outcomes();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(
        (outcomes[0].job_id, &outcomes[0].action),
        (good, &Action::HandedOver)
    );
    for job in [unknown_status, missing_field] {
        assert!(
            pleo.events().iter().all(|e| e.job_id != job.to_string()),
            "a malformed job is not claimed"
        );
    }
}
