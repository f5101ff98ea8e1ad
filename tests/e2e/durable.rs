//! Durable state under crashes and replicas, with the real binary:
//!
//! - `preflight serve` killed with SIGKILL at random moments (while plugins
//!   validate, after verdicts, while Pleo holds an event POST) and started
//!   again, over 100 jobs: every job ends with exactly one `started` and one
//!   `failed` in the Pleo emulator's event log and one `done` in the journal;
//! - two replicas against one PostgreSQL and one Pleo emulator, 200 jobs:
//!   none validated twice.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use preflight_emulators::pleo::{Faults, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::Scenario;
use preflight_store::{Identity, Stage, Store};

use crate::serve::{OperatorToml, spawn_serve};
use crate::support;

/// Bound on hangs of the runs below (never a measure of speed).
const LONG_RUN: Duration = Duration::from_secs(240);

/// The operator configuration of these runs: Xero companies (each pointed at
/// its URL), watched companies without configuration, at most 8 jobs at
/// once, and `store` (the `[store]` table); state in memory otherwise.
fn config(
    pleo_url: String,
    companies: &[(uuid::Uuid, String)],
    watched: &[uuid::Uuid],
    store: String,
) -> String {
    OperatorToml {
        watched: watched.to_vec(),
        max_concurrent_jobs: Some(8),
        extra: store,
        ..OperatorToml::new(pleo_url, None, companies.to_vec())
    }
    .to_string()
}

/// Waits until every one of `jobs` has its `done` journal entry.
pub(crate) async fn all_done<T>(store: &Store, jobs: &BTreeMap<uuid::Uuid, T>) {
    support::eventually_within(LONG_RUN, "every job done in the journal", async || {
        for job in jobs.keys() {
            let record = store.job(*job).await.unwrap()?;
            if !matches!(record.stage, Stage::Done { .. }) {
                return None;
            }
        }
        Some(())
    })
    .await;
}

/// Accepted (202) events per job and event name.
pub(crate) fn accepted(pleo: &PleoEmulator) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for event in pleo.events() {
        *counts
            .entry((event.job_id.clone(), event.event.clone()))
            .or_insert(0) += 1;
        assert_eq!(
            event.status, 202,
            "an event Pleo refused: {} {} answered {}",
            event.event, event.job_id, event.status
        );
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_never_loses_or_duplicates_an_outcome() {
    // Some requests are held for a while before Pleo processes them, so
    // kills also land while an event POST is in flight.
    let pleo = PleoEmulator::start(
        PleoConfig {
            faults: Faults {
                rate: 0.25,
                slow: Some(Duration::from_millis(150)),
                seed: 11,
                ..Faults::default()
            },
            ..PleoConfig::default()
        },
        support::loopback(),
    )
    .await
    .unwrap();
    let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let configured: Vec<(uuid::Uuid, String)> = (0..20)
        .map(|_| (uuid::Uuid::new_v4(), xero.url()))
        .collect();
    let unconfigured: Vec<uuid::Uuid> = (0..5).map(|_| uuid::Uuid::new_v4()).collect();
    let mut jobs = BTreeMap::new();
    for _ in 0..4 {
        for (company, _) in &configured {
            jobs.insert(
                pleo.seed_job(SeedJob::pending(*company)),
                "missing_configuration",
            );
        }
        for company in &unconfigured {
            jobs.insert(
                pleo.seed_job(SeedJob::pending(*company)),
                "missing_configuration",
            );
        }
    }
    assert_eq!(jobs.len(), 100);
    let state = support::temp_dir("crash");
    let path = state.join("preflight.toml");
    std::fs::write(
        &path,
        config(
            pleo.url(),
            &configured,
            &unconfigured,
            format!(
                "[store]\nurl = \"sqlite://{}\"\nreplicaId = \"crash-test\"\n",
                state.join("preflight.db").display()
            ),
        ),
    )
    .unwrap();

    let all_failed = |pleo: &PleoEmulator| {
        jobs.keys()
            .all(|job| pleo.job(*job).is_some_and(|j| j["status"] == "failed"))
    };
    let mut rng = fastrand::Rng::with_seed(7);
    let mut kills = 0;
    for _ in 0..20 {
        if all_failed(&pleo) {
            break;
        }
        let (mut serving, _) = spawn_serve(&path);
        tokio::time::sleep(Duration::from_millis(rng.u64(300..1200))).await;
        // SIGKILL: no chance to finish anything.
        serving.child.kill().unwrap();
        serving.child.wait().unwrap();
        kills += 1;
    }
    assert!(kills >= 5, "only {kills} kills before every job was done");
    // A last run, left to finish everything.
    let (mut serving, _) = spawn_serve(&path);
    support::eventually_within(LONG_RUN, "every job failed in Pleo", async || {
        all_failed(&pleo).then_some(())
    })
    .await;
    let store = Store::open(
        &format!("sqlite://{}", state.join("preflight.db").display()),
        Identity::default(),
    )
    .await
    .unwrap();
    all_done(&store, &jobs).await;
    assert_eq!(serving.stop(), Some(0));

    let events = accepted(&pleo);
    for (job, reason) in &jobs {
        let id = job.to_string();
        assert_eq!(
            events.get(&(id.clone(), "started".into())),
            Some(&1),
            "job {job}: exactly one started"
        );
        assert_eq!(
            events.get(&(id.clone(), "failed".into())),
            Some(&1),
            "job {job}: exactly one failed"
        );
        assert_eq!(pleo.job(*job).unwrap()["failureReasonType"], *reason);
        let done: Vec<_> = store
            .history(*job)
            .await
            .unwrap()
            .into_iter()
            .filter(|entry| matches!(entry.stage, Stage::Done { .. }))
            .collect();
        assert_eq!(done.len(), 1, "job {job}: one terminal journal entry");
        assert_eq!(
            done[0].stage,
            Stage::Done {
                outcome: preflight_store::JobResult::Failed
            }
        );
    }
    assert_eq!(
        events.len(),
        200,
        "no events beyond one started and one failed per job"
    );
    // How the kills fell: jobs whose journal shows a stage written twice
    // were taken up again after a crash.
    let resumed = {
        let mut resumed = 0;
        for job in jobs.keys() {
            let history = store.history(*job).await.unwrap();
            let names: Vec<&str> = history.iter().map(|e| e.stage.name()).collect();
            if names.len() > 4 {
                resumed += 1;
            }
        }
        resumed
    };
    eprintln!("{kills} SIGKILLs; {resumed} job(s) resumed after a crash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgresql_never_validate_a_job_twice() {
    let Some(server) = support::postgres_url() else {
        return;
    };
    // A database of its own: other tests' unfinished jobs in the shared one
    // would be taken up by these replicas too.
    let postgres = fresh_database(&server).await;
    let pleo = PleoEmulator::start(PleoConfig::default(), support::loopback())
        .await
        .unwrap();
    let good = support::xero_emulator(&[]).await;
    let bad = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let companies: Vec<(uuid::Uuid, String)> = (0..40)
        .map(|n| {
            let url = if n % 2 == 0 { good.url() } else { bad.url() };
            (uuid::Uuid::new_v4(), url)
        })
        .collect();
    let mut replicas = Vec::new();
    let mut apis = Vec::new();
    let secrets = support::secrets_table();
    for name in ["replica-a", "replica-b"] {
        let dir = support::temp_dir(name);
        let path = dir.join("preflight.toml");
        std::fs::write(
            &path,
            config(
                pleo.url(),
                &companies,
                &[],
                format!("[store]\nurl = \"{postgres}\"\nreplicaId = \"{name}\"\n{secrets}"),
            ),
        )
        .unwrap();
        let (serving, api) = spawn_serve(&path);
        replicas.push(serving);
        apis.push(api);
    }
    // Both replicas are up (their first poll done) before the jobs appear,
    // so neither gets a head start of its start-up time.
    let http = reqwest::Client::new();
    for api in &apis {
        crate::serve::ready(&http, api).await;
    }
    let mut jobs = BTreeMap::new();
    for _ in 0..5 {
        for (company, url) in &companies {
            jobs.insert(pleo.seed_job(SeedJob::pending(*company)), *url == bad.url());
        }
    }
    assert_eq!(jobs.len(), 200);
    let store = Store::open(&postgres, Identity::default()).await.unwrap();
    all_done(&store, &jobs).await;
    for replica in &mut replicas {
        assert_eq!(replica.stop(), Some(0));
    }

    let events = accepted(&pleo);
    let mut by_replica: HashMap<String, usize> = HashMap::new();
    for (job, failing) in &jobs {
        let decisions = store.decisions_of(*job).await.unwrap();
        assert_eq!(
            decisions.len(),
            1,
            "job {job} validated {} times",
            decisions.len()
        );
        *by_replica.entry(decisions[0].replica.clone()).or_insert(0) += 1;
        let id = job.to_string();
        assert_eq!(events.get(&(id.clone(), "started".into())), Some(&1));
        let failed = events.get(&(id, "failed".into())).copied().unwrap_or(0);
        assert_eq!(failed, usize::from(*failing), "job {job}");
        let expected = if *failing {
            preflight_store::JobResult::Failed
        } else {
            preflight_store::JobResult::HandedOver
        };
        assert_eq!(
            store.job(*job).await.unwrap().unwrap().stage,
            Stage::Done { outcome: expected }
        );
    }
    assert!(
        by_replica.len() == 2,
        "both replicas validated jobs: {by_replica:?}"
    );
}

/// Creates an empty database on the server of `url` and returns its URL.
pub(crate) async fn fresh_database(url: &str) -> String {
    use sqlx::Connection as _;
    let name = format!("preflight_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_path(&name);
    parsed.to_string()
}
