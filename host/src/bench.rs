//! The benchmarks of `preflight bench`: figures as a median with the 10th and
//! 90th percentiles, so runs on a noisy machine can be compared.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{Credentials, IntegrationConfig};
use crate::engine::Runtime;
use crate::job::{ExportJob, JobStatus};

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// Median.
    pub median: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Unit of the three values.
    pub unit: &'static str,
    /// The figure the project holds itself to, in the same unit, if any.
    pub target: Option<f64>,
}

impl Figure {
    /// Summarises samples (in `unit`).
    pub fn from_samples(
        name: impl Into<String>,
        unit: &'static str,
        mut samples: Vec<f64>,
        target: Option<f64>,
    ) -> Figure {
        assert!(!samples.is_empty(), "a figure needs samples");
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Figure {
            name: name.into(),
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            unit,
            target,
        }
    }
}

/// How much work a run does.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Untimed iterations first.
    pub warmup: usize,
    /// Timed iterations.
    pub iterations: usize,
    /// Timed compilations per plugin.
    pub compilations: usize,
}

impl Effort {
    /// A full run.
    pub const FULL: Effort = Effort {
        warmup: 500,
        iterations: 5_000,
        compilations: 5,
    };
    /// A quick run that only proves the benchmarks still work.
    pub const QUICK: Effort = Effort {
        warmup: 20,
        iterations: 200,
        compilations: 1,
    };
}

/// Host overhead: a fresh store, instance and `validate` call of the bundled
/// Xero plugin on its offline path (settings parsed and checked, the company
/// context rule decides; no HTTP), torn down after every call.
pub async fn host_overhead(runtime: &Runtime, effort: Effort) -> Result<Figure, String> {
    let artifact = crate::bundled::find("xero").ok_or("the xero plugin is not bundled")?;
    let plugin = crate::bundled::load_artifact(runtime, artifact)
        .await
        .map_err(|e| e.to_string())?;
    let job = offline_job();
    let config = offline_config();
    let mut samples = Vec::with_capacity(effort.iterations);
    for round in 0..effort.warmup + effort.iterations {
        let started = Instant::now();
        let outcome = plugin
            .validate(&job, &config)
            .await
            .map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if outcome.verdict.proceeds() || !outcome.exchanges.is_empty() {
            return Err("the offline path made requests or proceeded; the benchmark measures the wrong thing".to_owned());
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
pub async fn compile_times(runtime: &Runtime, effort: Effort) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    for artifact in crate::bundled::all() {
        let mut samples = Vec::new();
        for _ in 0..effort.compilations {
            let started = Instant::now();
            crate::bundled::load_artifact(runtime, artifact)
                .await
                .map_err(|e| e.to_string())?;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
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
pub async fn runaway_stop(runtime: &Runtime, effort: Effort) -> Result<Figure, String> {
    let plugin = runtime
        .load(
            "hostile:infinite-loop",
            preflight_artifacts::hostile::INFINITE_LOOP_BYTES,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    let limit = Duration::from_millis(200);
    let limits = crate::Limits {
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
            Err(error) if matches!(error.fault, crate::plugin::Fault::Limit(_)) => {}
            other => {
                return Err(format!(
                    "the spinning plugin was not stopped by its limit: {other:?}"
                ));
            }
        }
        samples.push(elapsed.saturating_sub(limit).as_secs_f64() * 1000.0);
    }
    Ok(Figure::from_samples(
        "runaway plugin stopped after its wall-time limit (overshoot)",
        "ms",
        samples,
        Some(100.0),
    ))
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn offline_job() -> ExportJob {
    ExportJob {
        id: uuid::Uuid::from_u128(1),
        company_id: uuid::Uuid::from_u128(2),
        status: JobStatus::InProgress,
        created_at: "2026-11-25T09:00:00Z".to_owned(),
        expires_in: 3600,
        is_interactive: true,
        number_of_items: 40,
        vendor_based_bookkeeping: true,
        created_by: None,
        started_at: None,
        last_updated_at: None,
        completed_at: None,
        expired_at: None,
        failure_reason: None,
        failure_reason_type: None,
    }
}

/// A configuration without a tenant: the Xero rules decide offline.
fn offline_config() -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "xero".to_owned(),
        base_url: url::Url::parse("https://api.xero.com").expect("static URL parses"),
        tenant_id: None,
        credentials: Credentials::None,
        settings: serde_json::json!({
            "organisationName": "Acme ApS",
            "accounts": { "expenses": "429", "contra": "800" },
            "taxType": "INPUT",
        }),
    }
}
