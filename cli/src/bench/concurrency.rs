//! A burst of jobs in flight at once against an accounting system that takes
//! its time: how long until every verdict is in, how long each validation
//! took within the burst, and the process's peak memory.

use std::sync::Arc;
use std::time::Instant;

use preflight_emulators::xero::{Scenario, XeroConfig, XeroEmulator};

use super::fixtures::{Emulators, LOOPBACK, XERO_CALLS, job, xero_config, xero_settings};
use super::{BenchError, Effort, Figure, millis};
use preflight_runtime::engine::Runtime;

/// The burst figures: wall time of all verdicts per burst, validation
/// latency within the bursts, and peak resident memory.
pub async fn run(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("concurrency");
    let latency = effort.burst_latency;
    // The `slow` scenario delays every answer by `slow_delay`.
    let emulators = Emulators::new().map_err(|e| fail(e.to_string()))?;
    let emulator = emulators
        .start(XeroEmulator::start(
            XeroConfig {
                scenarios: vec![Scenario::Slow],
                slow_delay: latency,
                ..XeroConfig::default()
            },
            LOOPBACK,
        ))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let plugin = Arc::new(super::throughput::load_xero(runtime).await.map_err(&fail)?);
    let config = Arc::new(xero_config(&emulator.url(), xero_settings("429")));
    let jobs = effort.burst_jobs;
    // An untimed burst first: the connections a burst needs are opened once,
    // as they stay open in a running service.
    burst(&plugin, &config, jobs).await.map_err(&fail)?;
    let peak_reset = memory::reset_peak();
    let (mut walls, mut latencies) = (Vec::new(), Vec::new());
    for _ in 0..effort.burst_rounds {
        let started = Instant::now();
        let elapsed = burst(&plugin, &config, jobs).await.map_err(&fail)?;
        walls.push(started.elapsed().as_secs_f64());
        latencies.extend(elapsed);
    }
    let (peak, after) = (memory::peak_mib(), memory::resident_mib());
    emulator.shutdown().await;
    let what = format!(
        "{jobs} jobs in flight, {XERO_CALLS} calls answered in {} ms each",
        latency.as_millis()
    );
    let mut figures = vec![
        Figure::from_samples(
            format!("concurrency: {what}: all verdicts in"),
            "s",
            walls,
            Some(2.0),
        ),
        Figure::from_samples(
            format!("concurrency: {what}: one validation"),
            "ms",
            latencies,
            None,
        ),
    ];
    match peak {
        Some(peak) => figures.push(Figure::from_samples(
            format!(
                "concurrency: peak RSS of the process{}",
                if peak_reset {
                    " during the bursts (emulator included)"
                } else {
                    " (since start, emulator included)"
                }
            ),
            "MiB",
            vec![peak],
            Some(512.0),
        )),
        None => eprintln!("note: peak RSS is not available on this system; not reported"),
    }
    // What stays resident once every instance of the bursts is dropped: the
    // pool's reset policy shows here.
    if let Some(after) = after {
        figures.push(Figure::from_samples(
            "concurrency: RSS of the process after the bursts (emulator included)",
            "MiB",
            vec![after],
            None,
        ));
    }
    Ok(figures)
}

/// Validates `jobs` distinct jobs at once; every verdict must be a proceed.
/// Returns each validation's own time, in milliseconds.
async fn burst(
    plugin: &Arc<preflight_runtime::plugin::Plugin>,
    config: &Arc<preflight_runtime::config::IntegrationConfig>,
    jobs: usize,
) -> Result<Vec<f64>, String> {
    at_once(plugin, config, jobs, |outcome| {
        if outcome.verdict.proceeds() {
            Ok(())
        } else {
            Err(format!("a job did not proceed: {:?}", outcome.verdict))
        }
    })
    .await
}

/// Validates `jobs` distinct jobs at once, each outcome held to `accept`.
/// Returns each validation's own time, in milliseconds.
pub(super) async fn at_once(
    plugin: &Arc<preflight_runtime::plugin::Plugin>,
    config: &Arc<preflight_runtime::config::IntegrationConfig>,
    jobs: usize,
    accept: fn(&preflight_runtime::plugin::Outcome) -> Result<(), String>,
) -> Result<Vec<f64>, String> {
    let mut tasks = tokio::task::JoinSet::<Result<f64, String>>::new();
    for n in 0..jobs {
        let (plugin, config) = (Arc::clone(plugin), Arc::clone(config));
        tasks.spawn(async move {
            let job = job(n as u128, uuid::Uuid::from_u128(n as u128));
            let outcome = plugin
                .validate(&job, &config)
                .await
                .map_err(|e| e.to_string())?;
            accept(&outcome)?;
            Ok(millis(outcome.elapsed))
        });
    }
    let mut elapsed = Vec::with_capacity(jobs);
    while let Some(done) = tasks.join_next().await {
        elapsed.push(done.map_err(|e| e.to_string())??);
    }
    Ok(elapsed)
}

/// The process's resident memory, from Linux's `/proc/self`.
pub(super) mod memory {
    /// Resets the peak resident set size (`VmHWM`) to the current one
    /// (`clear_refs` value 5, Linux 4.0+); false when that is not possible.
    pub(in crate::bench) fn reset_peak() -> bool {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }

    /// The peak resident set size in MiB.
    pub(in crate::bench) fn peak_mib() -> Option<f64> {
        status_mib("VmHWM:")
    }

    /// The resident set size now, in MiB.
    pub(in crate::bench) fn resident_mib() -> Option<f64> {
        status_mib("VmRSS:")
    }

    /// A `kB` line of `/proc/self/status`, in MiB.
    fn status_mib(field: &str) -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        let kib: f64 = line
            .trim_start_matches(field)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }
}
