//! `preflight bench`: run the benchmarks and print every figure.

use std::io::Write as _;

use clap::Args;
use preflight_cli::bench::{self, Effort, Figure};

use super::{EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Few iterations and small loads: proves the benchmarks run, figures are
    /// rough.
    #[arg(long)]
    quick: bool,
    /// Print one JSON array of {name, median, p10, p90, unit, target, better}.
    #[arg(long)]
    json: bool,
    /// Run only the groups whose name contains this (overhead,
    /// wasm-vs-native, compile, throughput, concurrency, memory, registry,
    /// end-to-end, detection).
    #[arg(long, value_name = "GROUP", default_value = "")]
    only: String,
    /// Write /tmp/perf-<pid>.map so that a perf profile names the plugins'
    /// compiled functions (scripts/profile passes it).
    #[arg(long)]
    perf_map: bool,
}

/// Runs `preflight bench`.
pub async fn run(args: BenchArgs) -> u8 {
    let effort = if args.quick {
        Effort::QUICK
    } else {
        Effort::FULL
    };
    if !bench::GROUPS.iter().any(|group| group.contains(&args.only)) {
        eprintln!(
            "error: --only {}: no such group (groups: {})",
            args.only,
            bench::GROUPS.join(", ")
        );
        return super::EXIT_BAD_INPUT;
    }
    let options = preflight::RuntimeOptions {
        perf_map: args.perf_map,
        ..bench::runtime_options()
    };
    let runtime = match super::runtime(options) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    if !args.json {
        println!(
            "{} {} on {} cores{}",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            if args.quick {
                " (quick: small loads, rough figures)"
            } else {
                ""
            }
        );
        println!(
            "{:<80} {:>10} {:>10} {:>10}  {:<10} MET",
            "FIGURE", "MEDIAN", "P10", "P90", "TARGET"
        );
    }
    let groups = bench::GROUPS
        .iter()
        .filter(|group| group.contains(&args.only))
        .count();
    let progress = preflight_cli::progress::Progress::new(groups, "bench", args.json);
    // The table is printed figure by figure, as each is measured.
    let mut print = |figure: &Figure| {
        if !args.json {
            progress.suspend(|| {
                println!("{}", row(figure));
                let _ = std::io::stdout().flush();
            });
        }
    };
    let figures = bench::suite(&runtime, effort, &args.only, &mut print, &progress).await;
    progress.finish();
    let figures = match figures {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_INTERNAL;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&figures).expect("figures serialise")
        );
    } else {
        let missed: Vec<&str> = figures
            .iter()
            .filter(|figure| figure.met() == Some(false))
            .map(|figure| figure.name.as_str())
            .collect();
        println!(
            "{} figures, {} with a target, {} missed",
            figures.len(),
            figures.iter().filter(|f| f.target.is_some()).count(),
            missed.len()
        );
    }
    EXIT_OK
}

/// One line of the table: the values with their unit, the target with its
/// direction (`≤` a ceiling, `≥` a floor), and whether the median meets it.
fn row(figure: &Figure) -> String {
    let value = |v: f64| format!("{} {}", number(v), figure.unit);
    let target = figure
        .target
        .map(|t| {
            let t = if t.fract() == 0.0 {
                format!("{t:.0}")
            } else {
                number(t)
            };
            format!("{} {t}", figure.better.symbol())
        })
        .unwrap_or_default();
    let met = match figure.met() {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "",
    };
    format!(
        "{:<80} {:>10} {:>10} {:>10}  {:<10} {met}",
        figure.name,
        value(figure.median),
        value(figure.p10),
        value(figure.p90),
        target
    )
}

/// About three significant digits: `25.53`, `117.2`, `3412`, `0.820`.
fn number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}
