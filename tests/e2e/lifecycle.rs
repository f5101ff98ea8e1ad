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
use preflight_emulators::pleo::{
    self, FaultScope, Faults, JobStatus, PleoConfig, PleoEmulator, SeedJob,
};
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
    settings: RunnerSettings,
    handover: Handover,
    /// The plugins; the bundled ones when `None`.
    registry: Option<Arc<Registry>>,
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
            settings: RunnerSettings {
                retry_delay: Duration::from_millis(50),
                ..RunnerSettings::default()
            },
            handover: Handover::Record,
            registry: None,
        }
    }

    async fn runner(self) -> Runner {
        let registry = match self.registry {
            Some(registry) => registry,
            None => Registry::bundled(&support::runtime())
                .await
                .expect("bundled plugins load"),
        };
        let mut polled: Vec<uuid::Uuid> =
            self.companies.keys().copied().chain(self.watched).collect();
        polled.sort();
        polled.dedup();
        let store = match self.store {
            Some(store) => store,
            None => Store::in_memory(Identity::default()).await.unwrap(),
        };
        let metrics = Arc::new(Metrics::default());
        let companies = preflight::companies::Companies::with(
            store.clone(),
            &self.companies,
            Arc::clone(&metrics),
        )
        .await
        .unwrap();
        Runner::new(RunnerParts {
            pleo: PleoClient::new(
                url::Url::parse(&self.pleo.url()).unwrap(),
                PleoAuth::Bearer(preflight_runtime::config::Secret::new(pleo::DEMO_ORG_TOKEN)),
                self.retry,
            )
            .unwrap(),
            organisations: Default::default(),
            companies,
            polled,
            poll_interval: Duration::from_secs(60),
            registry,
            settings: self.settings,
            store,
            mask_fields: Vec::new(),
            handover: self.handover,
            metrics,
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

#[tokio::test]
async fn a_company_in_monitor_mode_is_handed_over_with_the_would_be_verdict_recorded() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let (monitored, enforced) = (company(1), company(2));
    let monitored_job = seed(&pleo, monitored, false);
    let enforced_job = seed(&pleo, enforced, false);
    let mut setup = Setup::new(&pleo);
    for company in [monitored, enforced] {
        setup
            .companies
            .insert(company, support::xero_config(&xero.url()));
    }
    setup.settings.monitor.companies.insert(monitored);
    let runner = setup.runner().await;
    drain(&runner, 3).await;

    let outcome = |job: uuid::Uuid| {
        runner
            .outcomes()
            .into_iter()
            .find(|o| o.job_id == job)
            .expect("the job has an outcome")
    };
    // Monitored: validated to the same failing verdict, but handed over,
    // with only `started` posted.
    let watched = outcome(monitored_job);
    assert_eq!(
        watched.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert_eq!(watched.action, Action::HandedOver);
    assert_eq!(pleo.job(monitored_job).unwrap()["status"], "in_progress");
    assert_eq!(accepted(&pleo, monitored_job, "started"), 1);
    assert_eq!(accepted(&pleo, monitored_job, "failed"), 0);
    // The other company of the same system is failed as ever.
    assert_eq!(outcome(enforced_job).action, Action::FailedEarly);
    assert_eq!(pleo.job(enforced_job).unwrap()["status"], "failed");
    // The would-be verdict is counted and in the decision log.
    assert_eq!(
        runner.metrics().counter(
            preflight::metrics::JOBS_MONITORED,
            &[("reason", "missing_configuration"), ("system", "xero")]
        ),
        1
    );
    let decisions = runner
        .store()
        .decisions(&preflight_store::DecisionFilter {
            job: Some(monitored_job),
            ..preflight_store::DecisionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].verdict, "fail", "{:?}", decisions[0]);

    // Per system: every company of it.
    let pleo = pleo_emulator(Faults::default()).await;
    let job = seed(&pleo, enforced, false);
    let mut setup = Setup::new(&pleo);
    setup
        .companies
        .insert(enforced, support::xero_config(&xero.url()));
    setup.settings.monitor.systems.insert("xero".to_owned());
    let runner = setup.runner().await;
    drain(&runner, 3).await;
    assert_eq!(pleo.job(job).unwrap()["status"], "in_progress");
    assert_eq!(accepted(&pleo, job, "failed"), 0);
}

/// A registry of the bundled plugins and the stricter Xero 0.3.0 (unsigned,
/// from a plugin directory of its own), which is active.
async fn strict_registry(name: &str) -> Arc<Registry> {
    strict_registry_on(support::runtime(), name).await
}

/// [`strict_registry`] on `runtime`.
async fn strict_registry_on(runtime: preflight::Runtime, name: &str) -> Arc<Registry> {
    let dir = support::temp_dir(name);
    support::land_xero_strict(&dir);
    Registry::start(
        runtime,
        preflight::registry::RegistryOptions {
            dir: Some(dir),
            signatures: preflight::signature::SignaturePolicy {
                trusted: Vec::new(),
                allow_unsigned: true,
            },
            ..preflight::registry::RegistryOptions::default()
        },
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap()
}

/// `runner`'s comparisons of the stricter Xero (0.3.0) in shadow, once there
/// are at least `n`.
async fn strict_comparisons(
    runner: &Runner,
    n: usize,
) -> Vec<preflight_store::shadow::ShadowResult> {
    support::eventually("the shadow comparisons", async || {
        let results = runner
            .store()
            .shadow_results("xero", "xero@0.3.0")
            .await
            .unwrap();
        (results.len() >= n).then_some(results)
    })
    .await
}

#[tokio::test]
async fn a_version_in_shadow_is_compared_on_the_live_tape_and_changes_nothing() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[]).await;
    // Xero 0.1.0 (bundled) and the stricter 0.3.0, which requires a tax
    // type, from a plugin directory.
    let registry = strict_registry("shadow-plugins").await;
    assert_eq!(registry.get("xero").unwrap().info().version, "0.3.0");
    let shadowed = registry.shadow("xero", "0.3.0").await.unwrap();
    assert_eq!(shadowed.state, preflight::registry::VersionState::Shadow);
    assert_eq!(
        registry.get("xero").unwrap().info().version,
        "0.1.0",
        "the version before it serves again"
    );

    // Four companies: two with a tax type, two without.
    let mut setup = Setup::new(&pleo);
    let mut untaxed = Vec::new();
    let mut jobs = Vec::new();
    for n in 1..=4 {
        let mut config = support::xero_config(&xero.url());
        if n % 2 == 0 {
            config.settings.as_object_mut().unwrap().remove("taxType");
        }
        setup.companies.insert(company(n), config);
        let job = seed(&pleo, company(n), false);
        if n % 2 == 0 {
            untaxed.push(job);
        }
        jobs.push(job);
    }
    setup.registry = Some(Arc::clone(&registry));
    let runner = setup.runner().await;
    drain(&runner, 3).await;
    // Live: every job proceeds on 0.1.0, handed over.
    for job in &jobs {
        assert_eq!(pleo.job(*job).unwrap()["status"], "in_progress");
        assert_eq!(accepted(&pleo, *job, "failed"), 0);
    }
    let requests = xero.requests().len();
    let results = strict_comparisons(&runner, jobs.len()).await;
    assert_eq!(
        xero.requests().len(),
        requests,
        "the shadow sent nothing: it ran on the live tape"
    );
    let summary = preflight::runner::shadow::summarise("xero", "xero@0.3.0", &results);
    assert_eq!(summary.jobs_compared, 4);
    assert_eq!(summary.same_verdict, 2);
    assert_eq!(summary.would_now_pass, 0);
    assert_eq!(
        summary.would_now_fail,
        BTreeMap::from([("missing_configuration".to_owned(), 2)])
    );
    let mut differing: Vec<uuid::Uuid> = summary.differing.iter().map(|r| r.job_id).collect();
    differing.sort();
    untaxed.sort();
    assert_eq!(differing, untaxed, "exactly the jobs whose verdict changes");
    assert!(summary.differing.iter().all(|r| r.live == "xero@0.1.0"));
    assert!(
        summary
            .rules_removed
            .contains(&"xero.accounts.expenses".to_owned()),
        "{summary:?}"
    );
    assert_eq!(
        runner.metrics().counter(
            preflight::metrics::SHADOW_VALIDATIONS,
            &[
                ("candidate", "xero@0.3.0"),
                ("result", "differs"),
                ("system", "xero")
            ]
        ),
        2
    );

    // Promoted: the next validation is 0.3.0's, and nothing is in shadow.
    let promoted = registry.promote("xero").await.unwrap();
    assert_eq!(promoted.state, preflight::registry::VersionState::Active);
    assert_eq!(registry.get("xero").unwrap().info().version, "0.3.0");
    assert!(registry.shadow_of("xero").is_none());
    assert!(
        registry.discard("xero").await.is_err(),
        "nothing left in shadow"
    );
}

/// The verdict and reason of each demo company's last validation, from
/// `demo`'s decision log.
async fn last_validations(
    demo: &preflight_cli::demo::Demo,
    rows: &[preflight_cli::demo::DemoRow],
) -> BTreeMap<String, (String, Option<FailureReason>)> {
    let mut last = BTreeMap::new();
    for row in rows {
        let decisions = demo
            .runner()
            .store()
            .decisions(&preflight_store::DecisionFilter {
                job: Some(row.job),
                limit: Some(1),
                ..preflight_store::DecisionFilter::default()
            })
            .await
            .unwrap();
        if let Some(decision) = decisions.into_iter().next() {
            last.insert(row.company.clone(), (decision.verdict, decision.reason));
        }
    }
    last
}

/// The demo's jobs, three times: on Xero 0.1.0 alone; with the stricter
/// 0.3.0 in shadow beside it; and with 0.3.0 live. The shadow must change
/// nothing (same outcomes, same requests to the Xero emulators) and its
/// diff must name exactly the Xero jobs whose last validation 0.3.0 live
/// ends differently (a retry it would fail at once counts as a change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_over_the_demo_s_xero_companies_names_exactly_the_jobs_whose_verdict_changes() {
    use preflight_cli::demo::Demo;
    let runtime = || preflight::Runtime::new(preflight_cli::demo::runtime_options()).unwrap();
    let quiet = preflight_cli::progress::Progress::default();
    let store = async || Store::in_memory(Identity::default()).await.unwrap();

    let demo = Demo::start(&runtime(), store().await, None).await.unwrap();
    let alone = demo.process(&quiet).await.unwrap();
    let alone_last = last_validations(&demo, &alone).await;
    let requests_alone = demo.requests("xero");
    demo.shutdown().await;

    let live_strict = strict_registry_on(runtime(), "demo-strict-live").await;
    assert_eq!(live_strict.get("xero").unwrap().info().version, "0.3.0");
    let demo = Demo::start(&runtime(), store().await, Some(live_strict))
        .await
        .unwrap();
    let strict = demo.process(&quiet).await.unwrap();
    let strict_last = last_validations(&demo, &strict).await;
    demo.shutdown().await;

    let shadowed = strict_registry_on(runtime(), "demo-strict-shadow").await;
    shadowed.shadow("xero", "0.3.0").await.unwrap();
    let demo = Demo::start(&runtime(), store().await, Some(shadowed))
        .await
        .unwrap();
    let beside = demo.process(&quiet).await.unwrap();
    let runner = demo.runner().clone();
    let xero_jobs: Vec<&preflight_cli::demo::DemoRow> = beside
        .iter()
        .filter(|row| row.accounting_system == "xero")
        .collect();
    assert!(xero_jobs.len() > 10, "the demo exports to Xero a lot");
    // One comparison per validation, retries included.
    let validations: u32 = xero_jobs.iter().map(|row| row.attempts).sum();
    let results = strict_comparisons(&runner, validations as usize).await;
    // Every comparison is in; any request now would be the shadow's.
    assert_eq!(
        demo.requests("xero"),
        requests_alone,
        "the Xero emulators answered as many requests with the shadow as without"
    );
    assert_eq!(
        last_validations(&demo, &beside).await,
        alone_last,
        "the shadow acted on nothing"
    );
    assert!(beside.iter().all(|row| row.as_expected));
    demo.shutdown().await;

    let summary = preflight::runner::shadow::summarise("xero", "xero@0.3.0", &results);
    assert_eq!(summary.jobs_compared, xero_jobs.len());
    let mut named: Vec<&str> = summary
        .differing
        .iter()
        .map(|result| {
            let row = xero_jobs
                .iter()
                .find(|row| row.job == result.job_id)
                .expect("a compared job is one of the demo's Xero jobs");
            row.company.as_str()
        })
        .collect();
    named.sort_unstable();
    let mut changed: Vec<&str> = xero_jobs
        .iter()
        .filter(|row| strict_last[&row.company] != alone_last[&row.company])
        .map(|row| row.company.as_str())
        .collect();
    changed.sort_unstable();
    assert!(!changed.is_empty(), "0.3.0 changes some verdicts");
    assert_eq!(named, changed, "{summary:?}");
}

#[tokio::test]
async fn a_canary_keeps_each_company_on_one_version_and_a_rollback_moves_all_back() {
    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[]).await;
    let registry = strict_registry("canary-plugins").await;
    let view = registry.canary("xero", "0.3.0", 50).await.unwrap();
    assert_eq!(view.state, preflight::registry::VersionState::Canary);
    assert!(
        registry.canary("xero", "0.3.0", 0).await.is_err(),
        "0 % is no canary"
    );
    let companies: Vec<uuid::Uuid> = (1..=100).map(company).collect();
    let mut setup = Setup::new(&pleo);
    for company in &companies {
        setup
            .companies
            .insert(*company, support::xero_config(&xero.url()));
    }
    setup.settings.max_concurrent_jobs = 16;
    setup.registry = Some(Arc::clone(&registry));
    let runner = setup.runner().await;
    // Which version decided each company's job, round by round.
    let round = async || {
        let jobs: BTreeMap<uuid::Uuid, uuid::Uuid> = companies
            .iter()
            .map(|company| (seed(&pleo, *company, false), *company))
            .collect();
        drain(&runner, 5).await;
        let mut versions = BTreeMap::new();
        for outcome in runner.outcomes() {
            if let Some(company) = jobs.get(&outcome.job_id) {
                versions.insert(*company, outcome.plugin.clone().unwrap_or_default());
            }
        }
        assert_eq!(versions.len(), companies.len(), "every job was validated");
        versions
    };
    let first = round().await;
    let second = round().await;
    assert_eq!(first, second, "each company always gets the same version");
    let canaried = first
        .values()
        .filter(|plugin| plugin.contains("0.3.0"))
        .count();
    assert!(
        (35..=65).contains(&canaried),
        "{canaried} of 100 on the canary"
    );
    for (company, plugin) in &first {
        let expected = if preflight::registry::bucket(*company) < 50 {
            "0.3.0"
        } else {
            "0.1.0"
        };
        assert!(plugin.contains(expected), "{company}: {plugin}");
    }
    // A rollback ends the canary: every company on 0.1.0 from the next job.
    let active = registry.rollback("xero").await.unwrap();
    assert_eq!(active.version, "0.1.0");
    let third = round().await;
    assert!(
        third.values().all(|plugin| plugin.contains("0.1.0")),
        "{third:?}"
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
    // Each event waits half a second before Pleo processes it, so both
    // runners have listed the job as pending before either claim lands (a
    // runner starts a job as soon as its company's listing returns).
    let pleo = pleo_emulator(Faults {
        rate: 1.0,
        slow: Some(Duration::from_millis(500)),
        scope: FaultScope::Events,
        ..Faults::default()
    })
    .await;
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
        ..Faults::default()
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

/// The journal's stages of `job`, oldest first.
async fn stages(store: &Store, job: uuid::Uuid) -> Vec<&'static str> {
    store
        .history(job)
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.stage.name())
        .collect()
}

#[tokio::test]
async fn a_claim_whose_every_answer_is_lost_is_validated_and_ends_once() {
    // Pleo applies every event but no answer comes back, retries included.
    let pleo = pleo_emulator(Faults {
        rate: 1.0,
        lost_answers: true,
        scope: FaultScope::Events,
        ..Faults::default()
    })
    .await;
    let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let job = seed(&pleo, company(600), false);
    let state = support::temp_dir("lost-claim");
    let url = format!("sqlite://{}", state.join("p.db").display());
    let store = Store::open(&url, Identity::default()).await.unwrap();
    let mut setup = Setup::new(&pleo);
    setup.retry.attempts = 3;
    setup.store = Some(store.clone());
    setup
        .companies
        .insert(company(600), support::xero_config(&xero.url()));
    let runner = setup.runner().await;
    drain(&runner, 1).await;

    // The claim landed although its answers were lost: the job was looked
    // up, validated as ours, and its verdict posted (answer lost too).
    assert_eq!(pleo.job(job).unwrap()["status"], "failed");
    assert_eq!(accepted(&pleo, job, "started"), 1);
    assert_eq!(store.decisions_of(job).await.unwrap().len(), 1);
    let history = stages(&store, job).await;
    assert!(!history.contains(&"released"), "{history:?}");
    assert_eq!(history.last(), Some(&"failing"), "{history:?}");

    // Answers come back; the next resume sees the verdict in Pleo and closes
    // the job without posting or validating again.
    pleo.set_faults(Faults::default());
    runner.resume().await.unwrap();
    runner.wait_idle().await;
    assert_eq!(
        store.job(job).await.unwrap().unwrap().stage,
        Stage::Done {
            outcome: preflight_store::JobResult::Failed
        }
    );
    assert_eq!(accepted(&pleo, job, "started"), 1);
    assert_eq!(accepted(&pleo, job, "failed"), 1);
    assert_eq!(store.decisions_of(job).await.unwrap().len(), 1);
    assert_eq!(
        pleo.job(job).unwrap()["failureReasonType"],
        "missing_configuration"
    );
}

#[tokio::test]
async fn the_lease_is_renewed_while_a_pleo_call_is_in_flight() {
    // Every event's answer is held for 3 s after Pleo applied it; the lease
    // is 1 s, so only renewals keep another replica off the job.
    let pleo = pleo_emulator(Faults {
        rate: 1.0,
        held_answers: Some(Duration::from_secs(3)),
        scope: FaultScope::Events,
        ..Faults::default()
    })
    .await;
    let xero = support::xero_emulator(&[]).await;
    let job = seed(&pleo, company(610), false);
    let state = support::temp_dir("renew");
    let url = format!("sqlite://{}", state.join("p.db").display());
    let lease = Duration::from_secs(1);
    let identity = |replica: &str| Identity {
        replica: replica.to_owned(),
        lease,
    };
    let ours = Store::open(&url, identity("first")).await.unwrap();
    let other = Store::open(&url, identity("second")).await.unwrap();
    let mut setup = Setup::new(&pleo);
    setup.store = Some(ours.clone());
    setup
        .companies
        .insert(company(610), support::xero_config(&xero.url()));
    let runner = setup.runner().await;
    assert_eq!(runner.poll().await.unwrap(), 1);
    support::eventually("the started event applied", async || {
        (accepted(&pleo, job, "started") == 1).then_some(())
    })
    .await;
    // Past the lease, the answer still held: the job stays ours.
    tokio::time::sleep(lease * 2).await;
    assert!(
        matches!(
            other.acquire(job, company(610)).await.unwrap(),
            Acquired::HeldBy { ref owner, .. } if owner == "first"
        ),
        "the other replica took over a job whose claim was in flight"
    );
    runner.wait_idle().await;
    let outcome = runner.outcomes().into_iter().find(|o| o.job_id == job);
    assert_eq!(outcome.map(|o| o.action), Some(Action::HandedOver));
}

#[tokio::test]
async fn one_refused_company_never_blocks_the_healthy_ones() {
    let pleo = pleo_emulator(Faults::default()).await;
    let refused = company(799);
    pleo.refuse_company(refused);
    let healthy: Vec<uuid::Uuid> = (700..799).map(company).collect();
    let jobs: Vec<uuid::Uuid> = healthy.iter().map(|c| seed(&pleo, *c, false)).collect();
    let refused_job = seed(&pleo, refused, false);
    let mut setup = Setup::new(&pleo);
    setup.watched = healthy.iter().copied().chain([refused]).collect();
    let runner = setup.runner().await;
    // One sweep claims every healthy company's job, the refusal
    // notwithstanding.
    assert_eq!(runner.poll().await.unwrap(), 99);
    runner.wait_idle().await;
    for job in &jobs {
        assert_eq!(accepted(&pleo, *job, "started"), 1, "job {job}");
    }
    assert_eq!(pleo.job(refused_job).unwrap()["status"], "pending");

    // The refused company is shown to operators, over the API…
    let listener = tokio::net::TcpListener::bind(support::loopback())
        .await
        .unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(preflight::server::serve(
        runner.clone(),
        None,
        None,
        listener,
        std::future::pending(),
    ));
    let http = reqwest::Client::new();
    let detection: serde_json::Value = http
        .get(format!("{api}/v1/detection"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detection["companies"], 100);
    let failing = detection["failing"].as_array().unwrap();
    assert_eq!(failing.len(), 1, "{detection}");
    assert_eq!(failing[0]["companyId"], refused.to_string());
    assert_eq!(failing[0]["failures"], 1);
    assert!(
        failing[0]["lastError"].as_str().unwrap().contains("403"),
        "{detection}"
    );
    assert_eq!(detection["lastSweep"]["listed"], 99);
    assert_eq!(detection["lastSweep"]["failed"], 1);
    // …and in the metrics.
    let metrics = support::text(&http, &format!("{api}/metrics")).await;
    assert!(
        metrics.contains(&format!(
            "preflight_listing_errors_total{{company=\"{refused}\",kind=\"forbidden\"}} 1"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("\npreflight_listing_failing_companies 1\n"));
    let ready = http.get(format!("{api}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "one refused company keeps serve ready");

    // The next sweep leaves it alone while it is backed off.
    let listings_of = |company: uuid::Uuid| {
        pleo.requests()
            .iter()
            .filter(|r| {
                r.method == "GET"
                    && r.query
                        .as_deref()
                        .is_some_and(|q| q.contains(&format!("company_id={company}")))
            })
            .count()
    };
    runner.poll().await.unwrap();
    assert_eq!(listings_of(refused), 1);
    assert_eq!(listings_of(healthy[0]), 2);
    server.abort();
}

#[tokio::test]
async fn a_new_runner_goes_on_sweeping_where_the_last_one_stood() {
    // Every listing takes 100 ms and one company is listed at a time: a
    // sweep over 40 companies takes 4 s.
    let pleo = pleo_emulator(Faults {
        rate: 1.0,
        slow: Some(Duration::from_millis(100)),
        scope: FaultScope::Listings,
        ..Faults::default()
    })
    .await;
    let state = support::temp_dir("cursor");
    let url = format!("sqlite://{}", state.join("p.db").display());
    let watched: Vec<uuid::Uuid> = (800..840).map(company).collect();
    let build = async || {
        let mut setup = Setup::new(&pleo);
        setup.watched.clone_from(&watched);
        setup.settings.detection_concurrency = 1;
        setup.store = Some(Store::open(&url, Identity::default()).await.unwrap());
        setup.runner().await
    };
    let first = build().await;
    // Stopped mid-sweep, as a restart would.
    let _ = tokio::time::timeout(Duration::from_millis(2_500), first.poll()).await;
    // The listing cut off by the stop may still reach the emulator's log:
    // let it land before the log is read and cleared.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listed_before = pleo.requests();
    assert!(
        (3..40).contains(&listed_before.len()),
        "{} listings before the stop",
        listed_before.len()
    );
    pleo.clear_requests();
    let second = build().await;
    second.poll().await.unwrap();
    let position = |query: &str| {
        watched
            .iter()
            .position(|c| query.contains(&format!("company_id={c}")))
            .unwrap()
    };
    let order: Vec<usize> = pleo
        .requests()
        .iter()
        .map(|r| position(r.query.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(order.len(), 40, "the whole sweep, once each");
    // It began at the first company the stopped sweep had not finished, and
    // wrapped around.
    let resumed_at = order[0];
    assert!(
        resumed_at >= 1 && resumed_at <= listed_before.len(),
        "began at {resumed_at} after {} listings",
        listed_before.len()
    );
    let expected: Vec<usize> = (0..40).map(|k| (resumed_at + k) % 40).collect();
    assert_eq!(order, expected);
}

#[tokio::test]
async fn a_signed_handover_carries_the_job_id_as_its_idempotency_key() {
    type Received = Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;
    let received: Received = Arc::default();
    let downstream = {
        let received = Arc::clone(&received);
        axum::Router::new().route(
            "/exports",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    received.lock().unwrap().push((headers, body.to_vec()));
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        )
    };
    let listener = tokio::net::TcpListener::bind(support::loopback())
        .await
        .unwrap();
    let url = format!("http://{}/exports", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, downstream).await });
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let key = preflight::webhook::SigningKey::from_secret(secret).unwrap();

    let pleo = pleo_emulator(Faults::default()).await;
    let xero = support::xero_emulator(&[]).await;
    let job = seed(&pleo, company(900), false);
    let mut setup = Setup::new(&pleo);
    setup.handover = Handover::url(url::Url::parse(&url).unwrap(), Some(key.clone())).unwrap();
    setup
        .companies
        .insert(company(900), support::xero_config(&xero.url()));
    let runner = setup.runner().await;
    drain(&runner, 2).await;

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one handover");
    let (headers, body) = &received[0];
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(header("idempotency-key"), Some(job.to_string().as_str()));
    // The downstream checks the signature the way Pleo's webhooks are
    // checked: it came from this runner, unaltered, just now.
    let verified = preflight::webhook::verify(
        header,
        body,
        key.bytes(),
        Duration::from_secs(300),
        std::time::SystemTime::now(),
    )
    .expect("the handover's signature verifies");
    assert_eq!(verified.id, job.to_string());
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["jobId"], job.to_string());
    assert_eq!(payload["companyId"], company(900).to_string());
    // Another key does not verify it.
    let other = preflight::webhook::SigningKey::from_secret(
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    )
    .unwrap();
    assert!(
        preflight::webhook::verify(
            header,
            body,
            other.bytes(),
            Duration::from_secs(300),
            std::time::SystemTime::now(),
        )
        .is_err()
    );
    server.abort();
}
