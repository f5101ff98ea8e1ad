//! The runner at scale and under faults, with the real binary:
//!
//! - a replica paused past its lease while its `started` answer is held: the
//!   other replica takes the job over and it ends with one outcome;
//! - SIGTERM with 100,000 watched companies and a slow Pleo: `serve` exits
//!   within its grace period, and the next start finishes the job in flight;
//! - a rate-limited job over three SIGKILLs: at most `retryAttempts`
//!   validations in all;
//! - a soak: two replicas on one PostgreSQL, a fifth of Pleo's answers
//!   faulted, SIGKILLs at random points, 300 jobs over 100 companies: every
//!   job ends with exactly one outcome.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use preflight_emulators::pleo::{FaultScope, Faults, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::{Scenario, XeroConfig, XeroEmulator};
use preflight_store::{Identity, JobResult, Stage, Store};

use crate::serve::{OperatorToml, Serving, ready, spawn_serve};
use crate::support;

/// Bound on hangs of the runs below (never a measure of speed).
const LONG_RUN: Duration = Duration::from_secs(300);

async fn pleo(faults: Faults) -> PleoEmulator {
    let config = PleoConfig {
        faults,
        ..PleoConfig::default()
    };
    PleoEmulator::start(config, support::loopback())
        .await
        .unwrap()
}

/// Events Pleo accepted (202) for `job` named `event`.
fn accepted(pleo: &PleoEmulator, job: uuid::Uuid, event: &str) -> usize {
    pleo.events()
        .iter()
        .filter(|e| e.job_id == job.to_string() && e.event == event && e.status == 202)
        .count()
}

fn signal(serving: &Serving, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &serving.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

fn write(path: &std::path::Path, toml: &OperatorToml) {
    std::fs::write(path, toml.to_string()).unwrap();
}

/// The `done` entries of `job`'s journal.
async fn done_entries(store: &Store, job: uuid::Uuid) -> Vec<Stage> {
    store
        .history(job)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.stage)
        .filter(|stage| matches!(stage, Stage::Done { .. }))
        .collect()
}

/// A company id that sorts before every random (v4) one.
fn early(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_taken_over_from_a_paused_replica_ends_with_one_outcome() {
    let Some(server) = support::postgres_url() else {
        return;
    };
    let postgres = crate::durable::fresh_database(&server).await;
    // Pleo applies each event, then holds its answer for 40 s.
    let pleo = pleo(Faults {
        rate: 1.0,
        held_answers: Some(Duration::from_secs(40)),
        scope: FaultScope::Events,
        ..Faults::default()
    })
    .await;
    let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let company = early(1);
    let secrets = support::secrets_table();
    let config = |name: &str| {
        let dir = support::temp_dir(name);
        let path = dir.join("preflight.toml");
        write(
            &path,
            &OperatorToml {
                extra: format!(
                    "[store]\nurl = \"{postgres}\"\nreplicaId = \"{name}\"\nleaseSecs = 10\n{secrets}"
                ),
                ..OperatorToml::new(pleo.url(), None, vec![(company, xero.url())])
            },
        );
        path
    };
    let http = reqwest::Client::new();
    let (mut first, first_api) = spawn_serve(&config("replica-a"));
    ready(&http, &first_api).await;
    let job = pleo.seed_job(SeedJob::pending(company));
    support::eventually("the first replica's claim applied", async || {
        (accepted(&pleo, job, "started") == 1).then_some(())
    })
    .await;
    // Its answer is held; the replica freezes (as in a VM pause) past its
    // lease.
    signal(&first, "STOP");
    pleo.set_faults(Faults::default());
    let (mut second, second_api) = spawn_serve(&config("replica-b"));
    ready(&http, &second_api).await;
    let store = Store::open(&postgres, Identity::default()).await.unwrap();
    support::eventually_within(LONG_RUN, "the job done in the journal", async || {
        let record = store.job(job).await.unwrap()?;
        matches!(record.stage, Stage::Done { .. }).then_some(())
    })
    .await;
    // The first replica wakes up to a job that is no longer its own.
    signal(&first, "CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(first.stop(), Some(0), "{}", first.logs());
    assert_eq!(second.stop(), Some(0), "{}", second.logs());

    assert_eq!(accepted(&pleo, job, "started"), 1);
    assert_eq!(accepted(&pleo, job, "failed"), 1);
    assert_eq!(pleo.job(job).unwrap()["status"], "failed");
    assert_eq!(
        done_entries(&store, job).await,
        [Stage::Done {
            outcome: JobResult::Failed
        }]
    );
    let decisions = store.decisions_of(job).await.unwrap();
    assert_eq!(decisions.len(), 1, "validated once");
    assert_eq!(decisions[0].replica, "replica-b");
    let history = store.history(job).await.unwrap();
    assert!(
        history.iter().all(|entry| entry.stage != Stage::Released),
        "never released: {history:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_100000_watched_companies_exits_within_the_grace_period() {
    // Every listing takes 300 ms: a sweep over 100,000 companies would take
    // far longer than any orchestrator waits.
    let pleo = pleo(Faults {
        rate: 1.0,
        slow: Some(Duration::from_millis(300)),
        scope: FaultScope::Listings,
        ..Faults::default()
    })
    .await;
    // The accounting system never answers in time: the job stays in flight.
    let stuck = XeroEmulator::start(
        XeroConfig {
            scenarios: vec![Scenario::Slow],
            slow_delay: Duration::from_secs(120),
            ..XeroConfig::default()
        },
        support::loopback(),
    )
    .await
    .unwrap();
    let company = early(2);
    let watched: Vec<uuid::Uuid> = (0..100_000).map(|_| uuid::Uuid::new_v4()).collect();
    let state = support::temp_dir("grace");
    let path = state.join("preflight.toml");
    let toml = |xero: String| OperatorToml {
        watched: watched.clone(),
        runner_extra: "shutdownGraceSecs = 3\n".to_owned(),
        extra: format!(
            "[store]\nurl = \"sqlite://{}\"\nreplicaId = \"grace\"\n",
            state.join("preflight.db").display()
        ),
        ..OperatorToml::new(pleo.url(), None, vec![(company, xero)])
    };
    write(&path, &toml(stuck.url()));
    let job = pleo.seed_job(SeedJob::pending(company));
    let (mut serving, api) = spawn_serve(&path);
    support::eventually_within(LONG_RUN, "the job claimed", async || {
        (accepted(&pleo, job, "started") == 1).then_some(())
    })
    .await;
    let asked = Instant::now();
    signal(&serving, "TERM");
    // Load balancers are told first, while the job in flight finishes.
    let http = reqwest::Client::new();
    let why = support::eventually("readyz 503 at shutdown", async || {
        let ready = http.get(format!("{api}/readyz")).send().await.ok()?;
        if ready.status() != 503 {
            return None;
        }
        ready.text().await.ok()
    })
    .await;
    assert_eq!(why, "shutting down\n");
    let code = serving.child.wait().unwrap().code();
    let took = asked.elapsed();
    assert_eq!(code, Some(0), "{}", serving.logs());
    // The grace period, and a margin for the process to end (a bound on a
    // hang, not a measure of speed).
    assert!(
        took < Duration::from_secs(3 + 5),
        "exit {took:?} after SIGTERM"
    );
    assert!(
        serving
            .logs()
            .contains("the grace period ended with jobs in flight"),
        "{}",
        serving.logs()
    );

    // The next start finishes what was in flight, with a reachable system.
    pleo.set_faults(Faults::default());
    let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    write(&path, &toml(xero.url()));
    let (mut serving, _) = spawn_serve(&path);
    support::eventually_within(LONG_RUN, "the job failed in Pleo", async || {
        (pleo.job(job)?["status"] == "failed").then_some(())
    })
    .await;
    assert_eq!(serving.stop(), Some(0));
    assert_eq!(accepted(&pleo, job, "started"), 1);
    assert_eq!(accepted(&pleo, job, "failed"), 1);
    assert_eq!(
        pleo.job(job).unwrap()["failureReasonType"],
        "missing_configuration"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_job_over_three_sigkills_is_validated_at_most_retry_attempts_times() {
    let pleo = pleo(Faults::default()).await;
    let xero = support::xero_emulator(&[Scenario::RateLimited]).await;
    let company = early(3);
    let state = support::temp_dir("budget");
    let path = state.join("preflight.toml");
    let url = format!("sqlite://{}", state.join("preflight.db").display());
    write(
        &path,
        &OperatorToml {
            runner_extra: "retryAttempts = 3\nretryWindowSecs = 120\n".to_owned(),
            extra: format!("[store]\nurl = \"{url}\"\nreplicaId = \"budget\"\n"),
            ..OperatorToml::new(pleo.url(), None, vec![(company, xero.url())])
        },
    );
    let job = pleo.seed_job(SeedJob::pending(company));
    let (mut serving, _) = spawn_serve(&path);
    let store = Store::open(&url, Identity::default()).await.unwrap();
    // Killed right after each validation is logged, then started again.
    for kill in 1..=3 {
        support::eventually_within(LONG_RUN, "another validation", async || {
            (store.decisions_of(job).await.ok()?.len() >= kill).then_some(())
        })
        .await;
        serving.child.kill().unwrap();
        serving.child.wait().unwrap();
        serving = spawn_serve(&path).0;
    }
    support::eventually_within(LONG_RUN, "the job failed in Pleo", async || {
        (pleo.job(job)?["status"] == "failed").then_some(())
    })
    .await;
    assert_eq!(serving.stop(), Some(0));
    assert_eq!(store.decisions_of(job).await.unwrap().len(), 3);
    assert_eq!(store.job(job).await.unwrap().unwrap().attempts, 3);
    assert_eq!(
        pleo.job(job).unwrap()["failureReasonType"],
        "accounting_system_rate_limit"
    );
    assert_eq!(accepted(&pleo, job, "started"), 1);
    assert_eq!(accepted(&pleo, job, "failed"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_two_replicas_under_faults_and_sigkills_end_every_job_once() {
    let Some(server) = support::postgres_url() else {
        return;
    };
    let postgres = crate::durable::fresh_database(&server).await;
    // A fifth of Pleo's answers faulted: 5xx, 429, slow past the client's
    // one-second timeout, dropped connections.
    let pleo = pleo(Faults {
        rate: 0.2,
        server_errors: true,
        rate_limits: true,
        slow: Some(Duration::from_millis(1_500)),
        drops: true,
        seed: 20,
        ..Faults::default()
    })
    .await;
    let good = support::xero_emulator(&[]).await;
    let bad = support::xero_emulator(&[Scenario::AccountsMissing]).await;
    let companies: Vec<(uuid::Uuid, String)> = (0..100)
        .map(|n| {
            let url = if n % 2 == 0 { good.url() } else { bad.url() };
            (uuid::Uuid::new_v4(), url)
        })
        .collect();
    let secrets = support::secrets_table();
    let paths: Vec<std::path::PathBuf> = ["soak-a", "soak-b"]
        .iter()
        .map(|name| {
            let path = support::temp_dir(name).join("preflight.toml");
            write(
                &path,
                &OperatorToml {
                    pleo_extra: "requestTimeoutMs = 1000\n".to_owned(),
                    extra: format!(
                        "[store]\nurl = \"{postgres}\"\nreplicaId = \"{name}\"\nleaseSecs = 5\n{secrets}"
                    ),
                    ..OperatorToml::new(pleo.url(), None, companies.clone())
                },
            );
            path
        })
        .collect();
    let mut jobs = BTreeMap::new();
    for _ in 0..3 {
        for (company, url) in &companies {
            jobs.insert(pleo.seed_job(SeedJob::pending(*company)), *url == bad.url());
        }
    }
    let mut replicas: Vec<Serving> = paths.iter().map(|p| spawn_serve(p).0).collect();
    let store = Store::open(&postgres, Identity::default()).await.unwrap();
    let all_done = async || {
        for job in jobs.keys() {
            let record = store.job(*job).await.ok()??;
            if !matches!(record.stage, Stage::Done { .. }) {
                return None;
            }
        }
        Some(())
    };
    let mut rng = fastrand::Rng::with_seed(20);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(rng.u64(1_000..4_000))).await;
        let victim = rng.usize(..2);
        replicas[victim].child.kill().unwrap();
        replicas[victim].child.wait().unwrap();
        replicas[victim] = spawn_serve(&paths[victim]).0;
    }
    support::eventually_within(LONG_RUN, "every job done", all_done).await;
    for replica in &mut replicas {
        assert_eq!(replica.stop(), Some(0));
    }

    for (job, failing) in &jobs {
        assert_eq!(accepted(&pleo, *job, "started"), 1, "job {job}: one claim");
        let failed = accepted(&pleo, *job, "failed");
        assert_eq!(failed, usize::from(*failing), "job {job}: failed events");
        let expected = if *failing {
            JobResult::Failed
        } else {
            JobResult::HandedOver
        };
        assert_eq!(
            done_entries(&store, *job).await,
            [Stage::Done { outcome: expected }],
            "job {job}: one outcome"
        );
        let status = pleo.job(*job).unwrap()["status"].clone();
        let expected = if *failing { "failed" } else { "in_progress" };
        assert_eq!(status, expected, "job {job}");
    }
    assert!(
        pleo.events()
            .iter()
            .all(|e| e.event == "started" || e.event == "failed"),
        "only claims and early failures were posted"
    );
}
