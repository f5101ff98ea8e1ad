//! What the host itself costs: a validation that makes no HTTP call, a plugin
//! that never returns, and compiling the bundled plugins.

use std::time::{Duration, Instant};

use super::fixtures::{offline_config, offline_job};
use super::{BenchError, Effort, Figure, micros};
use preflight_runtime::engine::Runtime;

/// Host overhead: a fresh store, instance and `validate` call of the bundled
/// Xero plugin on its offline path (settings parsed and checked, the company
/// context rule decides; no HTTP), torn down after every call.
pub async fn host_overhead(runtime: &Runtime, effort: Effort) -> Result<Figure, BenchError> {
    let fail = BenchError::of("host overhead");
    let artifact =
        preflight::bundled::find("xero").ok_or_else(|| fail("xero is not bundled".into()))?;
    let plugin = preflight::bundled::load_artifact(runtime, artifact)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let job = offline_job();
    let config = offline_config();
    let mut samples = Vec::with_capacity(effort.iterations);
    for round in 0..effort.warmup + effort.iterations {
        let started = Instant::now();
        let outcome = plugin
            .validate(&job, &config)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let elapsed = started.elapsed();
        if outcome.verdict.proceeds() || !outcome.exchanges.is_empty() {
            return Err(fail(
                "the offline path made requests or proceeded; the benchmark measures the wrong thing"
                    .to_owned(),
            ));
        }
        if round >= effort.warmup {
            samples.push(micros(elapsed));
        }
    }
    Ok(Figure::from_samples(
        "host overhead: instantiate + validate (offline rules)",
        "µs",
        samples,
        Some(30.0),
    ))
}

/// Compile time (component bytes to a loaded, smoke-tested plugin) of every
/// bundled plugin.
pub async fn compile_times(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("compile");
    let mut figures = Vec::new();
    for artifact in preflight::bundled::all() {
        let mut samples = Vec::new();
        for _ in 0..effort.compilations {
            let started = Instant::now();
            preflight::bundled::load_artifact(runtime, artifact)
                .await
                .map_err(|e| fail(e.to_string()))?;
            samples.push(super::millis(started.elapsed()));
        }
        figures.push(Figure::from_samples(
            format!(
                "compile + load: {} ({} KB)",
                artifact.name,
                artifact.bytes.len() / 1024
            ),
            "ms",
            samples,
            None,
        ));
    }
    Ok(figures)
}

/// How far past its wall-time limit a plugin that never returns is stopped:
/// the epoch ticker interrupts it within a tick or two (target: 100 ms).
pub async fn runaway_stop(runtime: &Runtime, effort: Effort) -> Result<Figure, BenchError> {
    let fail = BenchError::of("runaway plugin");
    let plugin = runtime
        .load(
            "hostile:infinite-loop",
            preflight_artifacts::hostile::INFINITE_LOOP_BYTES,
            None,
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let limit = Duration::from_millis(200);
    let limits = preflight_runtime::Limits {
        wall_time: limit,
        ..runtime.options().limits.clone()
    };
    let (job, config) = (offline_job(), offline_config());
    let mut samples = Vec::new();
    for _ in 0..effort.compilations.max(2) * 2 {
        let started = Instant::now();
        let outcome = plugin.validate_with(&job, &config, &limits).await;
        let elapsed = started.elapsed();
        match outcome {
            Err(error) if matches!(error.fault, preflight_runtime::plugin::Fault::Limit { .. }) => {
            }
            other => {
                return Err(fail(format!(
                    "the spinning plugin was not stopped by its limit: {other:?}"
                )));
            }
        }
        samples.push(super::millis(elapsed.saturating_sub(limit)));
    }
    Ok(Figure::from_samples(
        "runaway plugin stopped after its wall-time limit (overshoot)",
        "ms",
        samples,
        Some(100.0),
    ))
}
