//! The whole pre-export step: the real runner detects, claims, validates and
//! fails or hands over jobs of the Pleo emulator, each company exporting to
//! the Xero emulator; jobs per second, and where a job's time goes.
//!
//! Every company has one pending job (a company has one job in flight at a
//! time, so one poll starts them all). Even companies are set up right and
//! their jobs are handed over; odd ones map expenses to an account the chart
//! lacks, so their jobs fail early at the last check: `failed` is posted and
//! confirmed. Both make every validation call.
//!
//! Where the time goes, per job, in milliseconds of latency (jobs overlap, so
//! these add up to the average job's time from claim to outcome, not to the
//! wall time):
//!
//! - **Pleo calls and journal**: claim to outcome less the validation
//!   (`started`, and for failing jobs `failed` and the confirming `GET`, plus
//!   the journal's writes and the decision log's row);
//! - **plugin** and **accounting system**: the validation time the runner
//!   records (`preflight_validation_seconds`), split by the share of it the
//!   plugin's HTTP exchanges take, which the runner does not keep: the same
//!   jobs are validated once more directly, as many at a time as the runner
//!   runs, and the exchanges' time divided by the validations' time.
//!
//! Detecting (listing every company's pending jobs, one call per company) is
//! its own figure: it happens once per poll, before any job starts.
//!
//! The journal and decision log live in an in-memory SQLite database for
//! those figures, so they show the runner's own work; the same rounds are run
//! once more with a SQLite file (what `serve` keeps under its `stateDir`,
//! every commit synced to disk) for what durability costs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_emulators::pleo::{self, PleoConfig, PleoEmulator, SeedJob};
use preflight_emulators::xero::{XeroConfig, XeroEmulator};

use super::fixtures::{Emulators, LOOPBACK, XERO_CALLS, xero_config, xero_settings};
use super::{BenchError, Effort, Figure, millis};
use preflight::metrics::Metrics;
use preflight::pleo::{PleoAuth, PleoClient, RetryPolicy};
use preflight::registry::Registry;
use preflight::runner::RunnerSettings;
use preflight::runner::{Action, Handover, Runner, RunnerParts};
use preflight_runtime::config::{IntegrationConfig, Secret};
use preflight_runtime::engine::Runtime;
use preflight_runtime::report::Verdict;
use preflight_store::{Identity, Store};

/// One round's measurements.
struct Round {
    jobs_per_second: f64,
    detect_ms: f64,
    pleo_ms: f64,
    plugin_ms: f64,
    accounting_ms: f64,
}

/// Where a round keeps the journal and the decision log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// An in-memory SQLite database.
    Memory,
    /// A SQLite file in the temporary directory, as `serve` keeps it.
    File,
}

/// The end-to-end figures.
pub async fn run(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("end to end");
    let emulators = Emulators::new().map_err(|e| fail(e.to_string()))?;
    let xero = emulators
        .start(XeroEmulator::start(XeroConfig::default(), LOOPBACK))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let registry = Registry::bundled(runtime)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let jobs = effort.end_to_end_jobs;
    let (mut rounds, mut durable) = (Vec::new(), Vec::new());
    // The first round warms connections and allocator, untimed.
    for round in 0..=effort.end_to_end_rounds {
        for storage in [Storage::Memory, Storage::File] {
            let measured = one_round(&emulators, &registry, &xero.url(), jobs, round, storage)
                .await
                .map_err(&fail)?;
            match storage {
                _ if round == 0 => {}
                Storage::Memory => rounds.push(measured),
                Storage::File => durable.push(measured.jobs_per_second),
            }
        }
    }
    xero.shutdown().await;
    let column = |f: fn(&Round) -> f64| rounds.iter().map(f).collect::<Vec<_>>();
    Ok(vec![
        Figure::higher_is_better(
            format!(
                "end to end: {jobs} jobs, runner + Pleo emulator (detect, claim, validate, post)"
            ),
            "jobs/s",
            column(|r| r.jobs_per_second),
            None,
        ),
        Figure::higher_is_better(
            format!("end to end: {jobs} jobs, journal and decision log in a SQLite file (synced)"),
            "jobs/s",
            durable,
            None,
        ),
        Figure::from_samples(
            format!("end to end: detect: list pending jobs of {jobs} companies"),
            "ms",
            column(|r| r.detect_ms),
            None,
        ),
        Figure::from_samples(
            "end to end: per job: Pleo calls and journal (claim; post failed and confirm)",
            "ms",
            column(|r| r.pleo_ms),
            None,
        ),
        Figure::from_samples(
            "end to end: per job: plugin (instantiate, rules, host calls)",
            "ms",
            column(|r| r.plugin_ms),
            None,
        ),
        Figure::from_samples(
            format!("end to end: per job: accounting system ({XERO_CALLS} HTTP calls)"),
            "ms",
            column(|r| r.accounting_ms),
            None,
        ),
    ])
}

/// Seeds a fresh Pleo emulator with one pending job per company, runs one
/// poll and every job it starts, checks every outcome, and measures.
async fn one_round(
    emulators: &Emulators,
    registry: &Arc<Registry>,
    xero_url: &str,
    jobs: usize,
    round: usize,
    storage: Storage,
) -> Result<Round, String> {
    let pleo = emulators
        .start(PleoEmulator::start(PleoConfig::default(), LOOPBACK))
        .await
        .map_err(|e| e.to_string())?;
    let mut companies = BTreeMap::new();
    let mut expected = BTreeMap::new();
    for n in 0..jobs {
        let company = uuid::Uuid::from_u128(((round as u128) << 64) | n as u128 | 1 << 100);
        let proceeds = n % 2 == 0;
        let expenses = if proceeds { "429" } else { "9999" };
        companies.insert(company, xero_config(xero_url, xero_settings(expenses)));
        let job = pleo.seed_job(SeedJob::pending(company));
        expected.insert(job, proceeds);
    }
    let polled: Vec<uuid::Uuid> = companies.keys().copied().collect();
    let calibration: Vec<(uuid::Uuid, IntegrationConfig)> = companies
        .iter()
        .map(|(company, config)| (*company, config.clone()))
        .collect();
    let metrics = Arc::new(Metrics::default());
    let settings = RunnerSettings::default();
    let database =
        std::env::temp_dir().join(format!("preflight-bench-{}-{round}.db", std::process::id()));
    let in_flight = settings.max_concurrent_jobs;
    let store = open_store(storage, &database).await?;
    let companies =
        preflight::companies::Companies::with(store.clone(), &companies, Arc::clone(&metrics))
            .await
            .map_err(|e| e.to_string())?;
    let runner = Runner::new(RunnerParts {
        pleo: PleoClient::new(
            url::Url::parse(&pleo.url()).map_err(|e| e.to_string())?,
            PleoAuth::Bearer(Secret::new(pleo::DEMO_ORG_TOKEN)),
            RetryPolicy::default(),
        )
        .map_err(|e| e.to_string())?,
        organisations: Default::default(),
        companies,
        polled,
        poll_interval: Duration::from_secs(60),
        registry: Arc::clone(registry),
        settings,
        store,
        mask_fields: Vec::new(),
        handover: Handover::Record,
        metrics: Arc::clone(&metrics),
    });

    let started = Instant::now();
    let spawned = runner.poll().await.map_err(|e| e.to_string())?;
    let detect = started.elapsed();
    runner.wait_idle().await;
    let wall = started.elapsed();
    pleo.shutdown().await;
    if storage == Storage::File {
        runner.store().close().await;
        for suffix in ["", "-wal", "-shm"] {
            let mut path = database.clone().into_os_string();
            path.push(suffix);
            // Already gone is fine: SQLite removes the WAL on a clean close.
            let _ = std::fs::remove_file(path);
        }
    }

    let outcomes = runner.outcomes();
    if spawned != jobs || outcomes.len() != jobs {
        return Err(format!(
            "{jobs} jobs seeded, {spawned} started, {} finished",
            outcomes.len()
        ));
    }
    for outcome in &outcomes {
        let proceeds = expected.get(&outcome.job_id).copied();
        let as_expected = matches!(
            (&outcome.verdict, &outcome.action, proceeds),
            (Verdict::Proceed, Action::HandedOver, Some(true))
                | (Verdict::Fail { .. }, Action::FailedEarly, Some(false))
        );
        if !as_expected {
            return Err(format!(
                "job {} ended {:?} / {:?}",
                outcome.job_id, outcome.verdict, outcome.action
            ));
        }
    }
    let job_ms = outcomes.iter().map(|o| o.millis).sum::<f64>() / jobs as f64;
    let validation_ms = validation_seconds(&metrics.render())
        .ok_or("the runner recorded no validation time")?
        * 1000.0
        / jobs as f64;
    // Only the in-memory rounds' breakdown is reported; the file rounds give
    // their rate alone and skip validating every job a second time.
    let share = match storage {
        Storage::Memory => http_share(registry, &calibration, in_flight).await?,
        Storage::File => 0.0,
    };
    Ok(Round {
        jobs_per_second: jobs as f64 / wall.as_secs_f64(),
        detect_ms: millis(detect),
        pleo_ms: (job_ms - validation_ms).max(0.0),
        plugin_ms: validation_ms * (1.0 - share),
        accounting_ms: validation_ms * share,
    })
}

/// A fresh store for one round.
async fn open_store(storage: Storage, file: &std::path::Path) -> Result<Store, String> {
    let store = match storage {
        Storage::Memory => Store::in_memory(Identity::default()).await,
        Storage::File => Store::open(&file.display().to_string(), Identity::default()).await,
    };
    store.map_err(|e| e.to_string())
}

/// The sum of `preflight_validation_seconds` over every plugin, from the
/// Prometheus text the runner's metrics render.
fn validation_seconds(rendered: &str) -> Option<f64> {
    let sums: Vec<f64> = rendered
        .lines()
        .filter(|line| line.starts_with("preflight_validation_seconds_sum"))
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    (!sums.is_empty()).then(|| sums.iter().sum())
}

/// The share of validation time spent in HTTP exchanges: the jobs of
/// `companies` validated directly, `in_flight` at a time.
async fn http_share(
    registry: &Arc<Registry>,
    companies: &[(uuid::Uuid, IntegrationConfig)],
    in_flight: usize,
) -> Result<f64, String> {
    let plugin = registry.get("xero").ok_or("no xero plugin")?;
    let configs: Arc<[(uuid::Uuid, IntegrationConfig)]> = companies.into();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight.min(configs.len()).max(1) {
        let (plugin, configs, next) =
            (Arc::clone(&plugin), Arc::clone(&configs), Arc::clone(&next));
        workers.spawn(async move {
            let (mut http, mut total) = (Duration::ZERO, Duration::ZERO);
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((company, config)) = configs.get(n) else {
                    return Ok::<_, String>((http, total));
                };
                let job = super::fixtures::job(n as u128, *company);
                let outcome = plugin
                    .validate(&job, config)
                    .await
                    .map_err(|e| e.to_string())?;
                http += outcome
                    .exchanges
                    .iter()
                    .map(|e| e.elapsed)
                    .sum::<Duration>();
                total += outcome.elapsed;
            }
        });
    }
    let (mut http, mut total) = (Duration::ZERO, Duration::ZERO);
    while let Some(done) = workers.join_next().await {
        let (h, t) = done.map_err(|e| e.to_string())??;
        http += h;
        total += t;
    }
    Ok(http.as_secs_f64() / total.as_secs_f64().max(f64::MIN_POSITIVE))
}
