//! `preflight bench --plugin FILE [--manifest FILE] [--cassette FILE]`: the
//! author's figures for their own component, measured in the same run as
//! the bundled Xero plugin's so the ratios hold on any machine.
//!
//! - size, and compile + load (gate, `info`, manifest check);
//! - load from a warm compiled cache, as a restart of `serve` does;
//! - instantiate + validate, offline: every request answered from the
//!   cassette's exchanges (nothing is sent), p10 to p99;
//! - the largest linear memory an instance grew to, against the manifest's
//!   memory limit, and the requests a validation made against its request
//!   budget;
//! - each as a ratio to the bundled Xero plugin's figure (its offline rules:
//!   settings parsed and checked, the company context rule decides).
//!
//! Without a cassette, the validation runs the job the host-overhead
//! benchmark uses, with the component's own accounting system, a loopback
//! base URL and empty settings: it measures the settings rule and the host
//! around it.

use std::sync::Arc;
use std::time::Instant;

use preflight_runtime::cassette::Cassette;
use preflight_runtime::engine::Runtime;
use preflight_runtime::manifest::Manifest;
use preflight_runtime::sandbox::record::Tape;

use super::fixtures::{offline_config, offline_job};
use super::{BenchError, Better, Effort, Figure, micros, millis};

/// The component under test.
#[derive(Debug)]
pub struct Subject {
    /// How it is named in figures (its file).
    pub name: String,
    /// The component's bytes.
    pub bytes: Vec<u8>,
    /// Its manifest, when it has one.
    pub manifest: Option<Manifest>,
    /// The cassette its validations replay, with its file name.
    pub cassette: Option<(String, Cassette)>,
}

/// What one compiled component measured, for the ratios.
struct Measured {
    compile_ms: Vec<f64>,
    validate_us: Vec<f64>,
}

/// Every figure of `subject`, then the bundled Xero plugin's and the ratios.
pub async fn run(
    runtime: &Runtime,
    effort: Effort,
    subject: &Subject,
) -> Result<Vec<Figure>, BenchError> {
    let fail = BenchError::of("plugin");
    let label = &subject.name;
    let mut figures = vec![Figure::from_samples(
        format!("{label}: size"),
        "KB",
        vec![subject.bytes.len() as f64 / 1024.0],
        None,
    )];
    let compilations = effort.compilations.max(3);
    let mut compile_ms = Vec::new();
    let mut plugin = None;
    for _ in 0..compilations {
        let started = Instant::now();
        let loaded = runtime
            .load(label, &subject.bytes, subject.manifest.clone())
            .await
            .map_err(|e| fail(e.to_string()))?;
        compile_ms.push(millis(started.elapsed()));
        plugin = Some(loaded);
    }
    let plugin = plugin.expect("compiled at least once");
    figures.push(Figure::from_samples(
        format!("{label}: compile + load"),
        "ms",
        compile_ms.clone(),
        None,
    ));
    let cached = super::registry::cache_load(
        runtime,
        label,
        &subject.bytes,
        subject.manifest.clone(),
        compilations * 2,
    )
    .await
    .map_err(&fail)?;
    figures.push(Figure::from_samples(
        format!("{label}: cache load"),
        "ms",
        cached,
        None,
    ));

    let (job, mut config, exchanges, what) = match &subject.cassette {
        Some((file, cassette)) => {
            let job = preflight_runtime::job::ExportJob::from_value(cassette.job.clone())
                .map_err(|e| fail(format!("{file}: job: {e}")))?;
            let config = preflight_runtime::config::IntegrationConfig::from_value(
                cassette.config.clone(),
                "config.",
            )
            .map_err(|e| fail(format!("{file}: {e}")))?;
            (
                job,
                config,
                cassette.exchanges.clone(),
                format!("cassette {file}"),
            )
        }
        None => (
            offline_job(),
            offline_config(),
            Vec::new(),
            "no cassette: settings rule only".to_owned(),
        ),
    };
    if subject.cassette.is_none() {
        config.accounting_system = plugin.info().accounting_system.clone();
        config.settings = serde_json::json!({});
        // A loopback base URL, which any manifest's plugin may be configured
        // with here (the benchmarks allow plain http to loopback); nothing
        // is sent: the tape is empty.
        config.base_url = url::Url::parse("http://127.0.0.1:9").expect("a static URL");
    }
    let mut validate_us = Vec::with_capacity(effort.iterations);
    let mut peak_memory = 0usize;
    let mut requests = 0usize;
    for round in 0..effort.warmup + effort.iterations {
        let tape = Arc::new(Tape::new(exchanges.clone()));
        let started = Instant::now();
        let outcome = plugin
            .replay(&job, &config, tape)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let elapsed = started.elapsed();
        peak_memory = peak_memory.max(outcome.peak_memory);
        requests = requests.max(outcome.exchanges.len());
        if round >= effort.warmup {
            validate_us.push(micros(elapsed));
        }
    }
    figures.push(Figure::from_samples(
        format!("{label}: instantiate + validate offline ({what})"),
        "µs",
        validate_us.clone(),
        None,
    ));
    let limits = plugin.limits();
    figures.push(Figure::from_samples(
        format!("{label}: largest linear memory of an instance (target: its memory limit)"),
        "MiB",
        vec![peak_memory as f64 / f64::from(1 << 20)],
        Some(limits.memory_bytes as f64 / f64::from(1 << 20)),
    ));
    figures.push(Figure::from_samples(
        format!("{label}: requests per validation (target: its request budget)"),
        "req",
        vec![requests as f64],
        Some(limits.requests as f64),
    ));

    let bundled = bundled_xero(runtime, effort, compilations)
        .await
        .map_err(&fail)?;
    figures.push(Figure::from_samples(
        "bundled xero: compile + load",
        "ms",
        bundled.compile_ms.clone(),
        None,
    ));
    figures.push(Figure::from_samples(
        "bundled xero: instantiate + validate offline (its offline rules)",
        "µs",
        bundled.validate_us.clone(),
        None,
    ));
    let median = |samples: &[f64]| {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let ratio = |ours: &[f64], theirs: &[f64]| {
        let theirs = median(theirs);
        ours.iter().map(|value| value / theirs).collect::<Vec<_>>()
    };
    figures.push(Figure::summarise(
        format!("{label} / bundled xero: compile + load"),
        "×",
        ratio(&compile_ms, &bundled.compile_ms),
        None,
        Better::Lower,
    ));
    figures.push(Figure::summarise(
        format!("{label} / bundled xero: instantiate + validate offline"),
        "×",
        ratio(&validate_us, &bundled.validate_us),
        None,
        Better::Lower,
    ));
    let sizes: Vec<f64> = preflight::bundled::all()
        .iter()
        .map(|artifact| subject.bytes.len() as f64 / artifact.bytes.len() as f64)
        .collect();
    figures.push(Figure::summarise(
        format!("{label} / each bundled plugin: size"),
        "×",
        sizes,
        None,
        Better::Lower,
    ));
    Ok(figures)
}

/// The bundled Xero plugin's compile and offline validation times, as the
/// host-overhead benchmark measures them.
async fn bundled_xero(
    runtime: &Runtime,
    effort: Effort,
    compilations: usize,
) -> Result<Measured, String> {
    let artifact = preflight::bundled::find("xero").ok_or("xero is not bundled")?;
    let mut compile_ms = Vec::new();
    let mut plugin = None;
    for _ in 0..compilations {
        let started = Instant::now();
        let loaded = preflight::bundled::load_artifact(runtime, artifact)
            .await
            .map_err(|e| e.to_string())?;
        compile_ms.push(millis(started.elapsed()));
        plugin = Some(loaded);
    }
    let plugin = plugin.expect("compiled at least once");
    let (job, config) = (offline_job(), offline_config());
    let mut validate_us = Vec::with_capacity(effort.iterations);
    for round in 0..effort.warmup + effort.iterations {
        let tape = Arc::new(Tape::new(Vec::new()));
        let started = Instant::now();
        plugin
            .replay(&job, &config, tape)
            .await
            .map_err(|e| e.to_string())?;
        if round >= effort.warmup {
            validate_us.push(micros(started.elapsed()));
        }
    }
    Ok(Measured {
        compile_ms,
        validate_us,
    })
}
