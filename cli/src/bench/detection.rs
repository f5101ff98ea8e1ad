//! Detection at scale: the real runner sweeping many watched companies of the
//! Pleo emulator, and how long a new job waits to be claimed.
//!
//! - **Polling**: the runner runs as `serve` runs it, a sweep every poll
//!   interval over every company; jobs appear one by one, spread over one
//!   interval, each in another company. Figures: how long each complete sweep
//!   took (it must fit in the interval), and the time from a job's creation
//!   to its claim (`started` applied in Pleo), whose p99 must be at most the
//!   interval.
//! - **Webhook**: the same, with the emulator sending Pleo's signed
//!   `v1.export-job.created` to the operator API's `POST /webhooks/pleo`,
//!   which lists the job's company at once; jobs appear after the first
//!   sweep, so only the webhook (or a sweep an interval later) claims them.
//!   The p99 from creation to claim must be at most 1 s.
//!
//! The companies have no configuration, so every job fails early with
//! `missing_configuration`: claim, verdict, `failed`, confirmation, the whole
//! lifecycle without an accounting system. The store is in memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_emulators::pleo::{self, PleoConfig, PleoEmulator, SeedJob, WebhookTarget};

use super::fixtures::{Emulators, LOOPBACK};
use super::{BenchError, Effort, Figure};
use preflight::metrics::Metrics;
use preflight::pleo::{PleoAuth, PleoClient, RetryPolicy};
use preflight::registry::Registry;
use preflight::runner::{Handover, Runner, RunnerParts, RunnerSettings};
use preflight::webhook::{SigningKey, WebhookSettings};
use preflight_runtime::config::Secret;
use preflight_runtime::engine::Runtime;
use preflight_store::{Identity, Store};

/// The webhook subscription's secret, shared by the emulator and the API.
const WEBHOOK_SECRET: &str = "whsec_ZGV0ZWN0aW9uLWJlbmNobWFyay1zZWNyZXQ=";

/// How often the benchmark looks for claims (its resolution).
const WATCH_EVERY: Duration = Duration::from_millis(10);

/// The detection figures.
pub async fn run(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("detection");
    let emulators = Emulators::new().map_err(|e| fail(e.to_string()))?;
    let registry = Registry::bundled(runtime)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let (companies, interval) = (effort.detection_companies, effort.detection_interval);
    let polling = measure(&emulators, &registry, effort, false)
        .await
        .map_err(&fail)?;
    let webhook = measure(&emulators, &registry, effort, true)
        .await
        .map_err(&fail)?;
    let seconds = interval.as_secs_f64();
    Ok(vec![
        Figure::from_samples(
            format!(
                "detection: one sweep over {companies} companies, {} listings at once",
                RunnerSettings::default().detection_concurrency
            ),
            "s",
            polling.sweeps,
            Some(seconds),
        ),
        Figure::from_samples(
            format!("detection: job creation to claim, polling every {seconds} s"),
            "s",
            polling.waits.clone(),
            None,
        ),
        Figure::from_samples(
            format!("detection: job creation to claim, polling every {seconds} s: p99"),
            "s",
            vec![p99(polling.waits)],
            Some(seconds),
        ),
        Figure::from_samples(
            "detection: job creation to claim, Pleo's webhook",
            "s",
            webhook.waits.clone(),
            None,
        ),
        Figure::from_samples(
            "detection: job creation to claim, Pleo's webhook: p99",
            "s",
            vec![p99(webhook.waits)],
            Some(1.0),
        ),
    ])
}

/// The 99th percentile of `samples` (nearest rank).
fn p99(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((samples.len() as f64) * 0.99).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// One run's measurements, in seconds.
struct Measured {
    sweeps: Vec<f64>,
    waits: Vec<f64>,
}

/// Runs a runner over a fresh emulator's companies, seeds jobs one by one,
/// and measures until every job is claimed.
async fn measure(
    emulators: &Emulators,
    registry: &Arc<Registry>,
    effort: Effort,
    webhook: bool,
) -> Result<Measured, String> {
    let interval = effort.detection_interval;
    let companies: Vec<uuid::Uuid> = (0..effort.detection_companies)
        .map(|n| uuid::Uuid::from_u128(0xde7e_c700_0000_4000_8000_0000_0000_0000 | n as u128))
        .collect();
    let listener = tokio::net::TcpListener::bind(LOOPBACK)
        .await
        .map_err(|e| e.to_string())?;
    let api = listener.local_addr().map_err(|e| e.to_string())?;
    let config = PleoConfig {
        webhook: webhook.then(|| WebhookTarget {
            url: format!("http://{api}/webhooks/pleo"),
            secret: WEBHOOK_SECRET.to_owned(),
        }),
        ..PleoConfig::default()
    };
    let pleo = emulators
        .start(PleoEmulator::start(config, LOOPBACK))
        .await
        .map_err(|e| e.to_string())?;
    let store = Store::in_memory(Identity::default())
        .await
        .map_err(|e| e.to_string())?;
    let metrics = Arc::new(Metrics::default());
    let configured = preflight::companies::Companies::with(
        store.clone(),
        &std::collections::BTreeMap::new(),
        Arc::clone(&metrics),
    )
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
        companies: configured,
        polled: companies.clone(),
        poll_interval: interval,
        registry: Arc::clone(registry),
        settings: RunnerSettings {
            shutdown_grace: Duration::from_secs(5),
            ..RunnerSettings::default()
        },
        store,
        mask_fields: Vec::new(),
        handover: Handover::Record,
        metrics,
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let webhooks = WebhookSettings {
        key: SigningKey::from_secret(WEBHOOK_SECRET)?,
        tolerance: Duration::from_secs(300),
    };
    let server = tokio::spawn(preflight::server::serve(
        runner.clone(),
        None,
        Some(webhooks),
        listener,
        signal(stopped.clone()),
    ));
    let running = {
        let runner = runner.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move { runner.run(signal(stopped)).await })
    };
    let sweeps_done = || runner.detection().last_sweep.map(|s| s.started_at);
    if webhook {
        // Only the webhook (or the next sweep, an interval later) finds the
        // jobs seeded from here on.
        let deadline = Instant::now() + interval * 3;
        while sweeps_done().is_none() {
            if Instant::now() > deadline {
                return Err("the first sweep did not finish".to_owned());
            }
            tokio::time::sleep(WATCH_EVERY).await;
        }
    }

    // Jobs appear one by one over one interval, each in another company.
    let count = effort.detection_jobs;
    let spacing = interval / u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    let stride = (companies.len() / count.max(1)).max(1);
    let mut open: Vec<(uuid::Uuid, Instant)> = Vec::new();
    let mut waits = Vec::new();
    let mut sweeps = Vec::new();
    let mut last_sweep = sweeps_done();
    let mut next_seed = Instant::now();
    let mut seeded = 0;
    let deadline = Instant::now() + interval * 4 + Duration::from_secs(30);
    while seeded < count || !open.is_empty() {
        if Instant::now() > deadline {
            return Err(format!("{} job(s) never claimed", open.len()));
        }
        if seeded < count && Instant::now() >= next_seed {
            let company = companies[(seeded * stride) % companies.len()];
            open.push((pleo.seed_job(SeedJob::pending(company)), Instant::now()));
            seeded += 1;
            next_seed += spacing;
        }
        open.retain(|(job, at)| {
            let claimed = pleo.job(*job).is_some_and(|j| j["status"] != "pending");
            if claimed {
                waits.push(at.elapsed().as_secs_f64());
            }
            !claimed
        });
        let report = runner.detection().last_sweep;
        if let Some(report) = report
            && Some(report.started_at) != last_sweep
        {
            last_sweep = Some(report.started_at);
            sweeps.push(report.seconds);
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
    let _ = stop.send(true);
    let _ = running.await;
    let _ = server.await;
    pleo.shutdown().await;
    if sweeps.is_empty() {
        // Every job was claimed within the first sweep: it is the one.
        if let Some(report) = runner.detection().last_sweep {
            sweeps.push(report.seconds);
        }
    }
    if sweeps.is_empty() {
        return Err("no sweep finished".to_owned());
    }
    Ok(Measured { sweeps, waits })
}
