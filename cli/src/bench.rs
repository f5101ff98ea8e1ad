//! The benchmarks of `preflight bench`: figures as a median with the 10th and
//! 90th percentiles, so runs on a noisy machine can be compared.
//!
//! # Layout
//!
//! - this file: [`Figure`] (what a benchmark reports, with its target and
//!   which direction is better), [`Effort`] (how much work a run does) and
//!   [`suite`], which runs every benchmark in order;
//! - [`overhead`]: the host's cost per validation without HTTP, how fast a
//!   runaway plugin is stopped, compile times;
//! - [`native`]: the same offline rules in the component and compiled
//!   natively, with the host's conversions;
//! - [`throughput`]: validations per second against the Xero emulator over
//!   loopback, the plugin against a native validator making the same calls;
//! - [`concurrency`]: a burst of jobs in flight against a slow accounting
//!   system, wall time and peak memory;
//! - [`end_to_end`]: the runner with the Pleo emulator, and where a job's time
//!   goes;
//! - [`registry`]: a hot swap from the watched directory, and start-up with
//!   50 plugin versions and a warm compiled cache;
//! - [`memory`]: what the host holds while 64 validations post the largest
//!   request body they may;
//! - [`detection`]: the runner's sweep over many watched companies, and how
//!   long a new job waits for its claim, polling and with Pleo's webhook;
//! - [`shadow`]: what a version in shadow costs per live validation;
//! - [`plugin`]: `bench --plugin`, an author's figures for their own
//!   component beside the bundled plugins';
//! - `fixtures`: the jobs and configurations the benchmarks share.
//!
//! Benchmarks use real parts only: emulators on 127.0.0.1 over TCP, the
//! bundled components, the runtime's own HTTP client.

pub mod concurrency;
pub mod console;
pub mod detection;
pub mod end_to_end;
mod fixtures;
pub mod memory;
pub mod native;
pub mod overhead;
pub mod plugin;
pub mod registry;
pub mod shadow;
pub mod throughput;

use std::time::Duration;

use serde::Serialize;

use preflight_runtime::engine::{Runtime, RuntimeOptions};

/// One measured figure.
///
/// In JSON: `{name, median, p10, p90, p99, unit, target, better}`; `target` is
/// `null` when the project holds the figure to none, and `better` says
/// whether the target is a ceiling (`"lower"`: the median must be at most the
/// target) or a floor (`"higher"`: at least the target).
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
    /// 99th percentile.
    pub p99: f64,
    /// Unit of the values; `×` for a ratio.
    pub unit: &'static str,
    /// The figure the project holds itself to, in the same unit, if any.
    pub target: Option<f64>,
    /// Which direction is better, and so how the target reads.
    pub better: Better,
}

/// Which direction of a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Times, memory: the target is a ceiling (≤).
    Lower,
    /// Rates, ratios of speed: the target is a floor (≥).
    Higher,
}

impl Better {
    /// `≤` or `≥`, as targets are printed.
    pub fn symbol(self) -> &'static str {
        match self {
            Better::Lower => "≤",
            Better::Higher => "≥",
        }
    }
}

impl Figure {
    /// Summarises samples (in `unit`) of a figure where lower is better.
    pub fn from_samples(
        name: impl Into<String>,
        unit: &'static str,
        samples: Vec<f64>,
        target: Option<f64>,
    ) -> Figure {
        Figure::summarise(name, unit, samples, target, Better::Lower)
    }

    /// Summarises samples of a figure where higher is better (a rate).
    pub fn higher_is_better(
        name: impl Into<String>,
        unit: &'static str,
        samples: Vec<f64>,
        target: Option<f64>,
    ) -> Figure {
        Figure::summarise(name, unit, samples, target, Better::Higher)
    }

    fn summarise(
        name: impl Into<String>,
        unit: &'static str,
        mut samples: Vec<f64>,
        target: Option<f64>,
        better: Better,
    ) -> Figure {
        assert!(!samples.is_empty(), "a figure needs samples");
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Figure {
            name: name.into(),
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            p99: at(0.99),
            unit,
            target,
            better,
        }
    }

    /// Whether the median meets the target; `None` without one.
    pub fn met(&self) -> Option<bool> {
        self.target.map(|target| match self.better {
            Better::Lower => self.median <= target,
            Better::Higher => self.median >= target,
        })
    }
}

/// How much work a run does.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Untimed iterations first (host overhead).
    pub warmup: usize,
    /// Timed iterations (host overhead).
    pub iterations: usize,
    /// Timed compilations per plugin.
    pub compilations: usize,
    /// Validations per throughput round.
    pub throughput_validations: usize,
    /// Throughput rounds (each measures the plugin and the native validator).
    pub throughput_rounds: usize,
    /// Jobs in flight at once in the concurrency benchmark.
    pub burst_jobs: usize,
    /// How long the slow accounting system takes to answer each call.
    pub burst_latency: Duration,
    /// Timed bursts.
    pub burst_rounds: usize,
    /// Jobs (one per company) through the runner per end-to-end round.
    pub end_to_end_jobs: usize,
    /// End-to-end rounds.
    pub end_to_end_rounds: usize,
    /// Companies watched in the detection benchmark.
    pub detection_companies: usize,
    /// Its poll interval.
    pub detection_interval: Duration,
    /// Jobs it seeds, spread over one interval (per path: polling, webhook).
    pub detection_jobs: usize,
    /// Decisions in the store behind the console's page loads.
    pub console_decisions: usize,
    /// Timed loads per console page.
    pub console_loads: usize,
}

impl Effort {
    /// A full run: the loads the targets are set for.
    pub const FULL: Effort = Effort {
        warmup: 500,
        iterations: 5_000,
        compilations: 5,
        throughput_validations: 4_000,
        throughput_rounds: 7,
        burst_jobs: 1_000,
        burst_latency: Duration::from_millis(200),
        burst_rounds: 5,
        end_to_end_jobs: 1_000,
        end_to_end_rounds: 5,
        detection_companies: 10_000,
        detection_interval: Duration::from_secs(60),
        detection_jobs: 100,
        console_decisions: 100_000,
        console_loads: 20,
    };
    /// A quick run that only proves the benchmarks still work: small loads,
    /// rough figures.
    pub const QUICK: Effort = Effort {
        warmup: 20,
        iterations: 200,
        compilations: 1,
        throughput_validations: 60,
        throughput_rounds: 2,
        burst_jobs: 50,
        burst_latency: Duration::from_millis(50),
        burst_rounds: 1,
        end_to_end_jobs: 20,
        end_to_end_rounds: 1,
        detection_companies: 300,
        detection_interval: Duration::from_secs(2),
        detection_jobs: 10,
        console_decisions: 500,
        console_loads: 2,
    };
}

/// A benchmark that could not run.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{bench} benchmark: {message}")]
pub struct BenchError {
    /// Which benchmark.
    pub bench: &'static str,
    /// What went wrong.
    pub message: String,
}

impl BenchError {
    /// Wraps an error of benchmark `bench`.
    pub fn of(bench: &'static str) -> impl Fn(String) -> BenchError {
        move |message| BenchError { bench, message }
    }
}

/// The runtime the benchmarks run on: the defaults, with plain `http` to
/// loopback allowed for the emulators.
pub fn runtime_options() -> RuntimeOptions {
    RuntimeOptions {
        allow_http_loopback: true,
        ..RuntimeOptions::default()
    }
}

/// The benchmark groups, in the order [`suite`] runs them.
pub const GROUPS: &[&str] = &[
    "overhead",
    "wasm-vs-native",
    "compile",
    "throughput",
    "concurrency",
    "memory",
    "registry",
    "end-to-end",
    "detection",
    "shadow",
    "console",
];

/// Runs the benchmark groups whose names contain `filter` (all when empty),
/// handing each figure to `report` as soon as it is measured.
pub async fn suite(
    runtime: &Runtime,
    effort: Effort,
    filter: &str,
    report: &mut dyn FnMut(&Figure),
    progress: &crate::progress::Progress,
) -> Result<Vec<Figure>, BenchError> {
    let mut figures = Vec::new();
    let mut keep = |more: Vec<Figure>| {
        for figure in &more {
            report(figure);
        }
        figures.extend(more);
    };
    // Each wanted group names itself on the progress bar as it starts and
    // counts as done once the next one starts (or the suite ends).
    let mut started = 0;
    let mut wanted = |group: &str| {
        let wanted = group.contains(filter);
        if wanted {
            if started > 0 {
                progress.advance();
            }
            started += 1;
            progress.step(group);
        }
        wanted
    };
    if wanted("overhead") {
        keep(vec![overhead::host_overhead(runtime, effort).await?]);
        keep(vec![overhead::runaway_stop(runtime, effort).await?]);
    }
    if wanted("wasm-vs-native") {
        keep(native::wasm_vs_native(runtime, effort).await?);
    }
    if wanted("compile") {
        keep(overhead::compile_times(runtime, effort).await?);
        keep(registry::cache_loads(runtime, effort.compilations.max(1) * 2).await?);
    }
    if wanted("throughput") {
        keep(throughput::run(runtime, effort).await?);
    }
    if wanted("concurrency") {
        keep(concurrency::run(runtime, effort).await?);
    }
    if wanted("memory") {
        keep(memory::run(runtime, effort).await?);
    }
    if wanted("registry") {
        let rounds = effort.compilations.max(1);
        keep(vec![registry::hot_swap(runtime, rounds * 2).await?]);
        keep(vec![registry::startup(runtime, rounds).await?]);
    }
    if wanted("end-to-end") {
        keep(end_to_end::run(runtime, effort).await?);
    }
    if wanted("detection") {
        keep(detection::run(runtime, effort).await?);
    }
    if wanted("shadow") {
        keep(shadow::run(runtime, effort).await?);
    }
    if wanted("console") {
        keep(console::run(effort).await?);
    }
    progress.advance();
    Ok(figures)
}

/// Microseconds in `duration`.
fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Milliseconds in `duration`.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
