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
use preflight_runtime::config::IntegrationConfig;
use preflight_runtime::engine::Runtime;
use preflight_runtime::job::ExportJob;
use preflight_runtime::manifest::Manifest;
use preflight_runtime::plugin::Plugin;
use preflight_runtime::sandbox::outbound::Exchange;
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
    let (compile_ms, plugin) = compiled(
        runtime,
        label,
        &subject.bytes,
        subject.manifest.clone(),
        compilations,
    )
    .await
    .map_err(&fail)?;
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
            let job = ExportJob::from_value(cassette.job.clone())
                .map_err(|e| fail(format!("{file}: job: {e}")))?;
            let config = IntegrationConfig::from_value(cassette.config.clone(), "config.")
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
    let (validate_us, peak_memory, requests) = replayed(&plugin, &job, &config, &exchanges, effort)
        .await
        .map_err(&fail)?;
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

    // The bundled Xero plugin, measured the same way: its offline rules.
    let xero =
        preflight::bundled::find("xero").ok_or_else(|| fail("xero is not bundled".into()))?;
    let manifest = preflight::bundled::manifest(xero).map_err(|e| fail(e.to_string()))?;
    let (xero_compile_ms, xero_plugin) = compiled(
        runtime,
        &format!("bundled:{}", xero.name),
        xero.bytes,
        Some(manifest),
        compilations,
    )
    .await
    .map_err(&fail)?;
    let (xero_validate_us, _, _) =
        replayed(&xero_plugin, &offline_job(), &offline_config(), &[], effort)
            .await
            .map_err(&fail)?;
    figures.push(Figure::from_samples(
        "bundled xero: compile + load",
        "ms",
        xero_compile_ms.clone(),
        None,
    ));
    figures.push(Figure::from_samples(
        "bundled xero: instantiate + validate offline (its offline rules)",
        "µs",
        xero_validate_us.clone(),
        None,
    ));
    let median = |samples: &[f64]| Figure::from_samples("", "", samples.to_vec(), None).median;
    let ratio = |ours: &[f64], theirs: &[f64]| {
        let theirs = median(theirs);
        ours.iter().map(|value| value / theirs).collect::<Vec<_>>()
    };
    figures.push(Figure::summarise(
        format!("{label} / bundled xero: compile + load"),
        "×",
        ratio(&compile_ms, &xero_compile_ms),
        None,
        Better::Lower,
    ));
    figures.push(Figure::summarise(
        format!("{label} / bundled xero: instantiate + validate offline"),
        "×",
        ratio(&validate_us, &xero_validate_us),
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

/// `loads` timed loads (in ms) of the component `bytes` as `name`, and the
/// plugin the last one made.
async fn compiled(
    runtime: &Runtime,
    name: &str,
    bytes: &[u8],
    manifest: Option<Manifest>,
    loads: usize,
) -> Result<(Vec<f64>, Plugin), String> {
    let mut times = Vec::with_capacity(loads);
    let mut plugin = None;
    for _ in 0..loads.max(1) {
        let started = Instant::now();
        let loaded = runtime
            .load(name, bytes, manifest.clone())
            .await
            .map_err(|e| e.to_string())?;
        times.push(millis(started.elapsed()));
        plugin = Some(loaded);
    }
    Ok((times, plugin.expect("loaded at least once")))
}

/// Offline validations of `job` by `plugin`, every request answered from
/// `exchanges`: their times in µs after the warm-up, the largest linear
/// memory of an instance, and the most requests one made.
async fn replayed(
    plugin: &Plugin,
    job: &ExportJob,
    config: &IntegrationConfig,
    exchanges: &[Exchange],
    effort: Effort,
) -> Result<(Vec<f64>, usize, usize), String> {
    let mut times = Vec::with_capacity(effort.iterations);
    let (mut peak_memory, mut requests) = (0, 0);
    for round in 0..effort.warmup + effort.iterations {
        let tape = Arc::new(Tape::new(exchanges.to_vec()));
        let started = Instant::now();
        let outcome = plugin
            .replay(job, config, tape)
            .await
            .map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        peak_memory = peak_memory.max(outcome.peak_memory);
        requests = requests.max(outcome.exchanges.len());
        if round >= effort.warmup {
            times.push(micros(elapsed));
        }
    }
    Ok((times, peak_memory, requests))
}
