//! `preflight bench`: run the benchmarks and print every figure.

use clap::Args;
use preflight::bench::{self, Effort, Figure};

use super::{EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Few iterations: proves the benchmarks run, figures are rough.
    #[arg(long)]
    quick: bool,
    /// Print one JSON array of {name, median, p10, p90, unit, target}.
    #[arg(long)]
    json: bool,
}

/// Runs `preflight bench`.
pub async fn run(args: BenchArgs) -> u8 {
    let effort = if args.quick {
        Effort::QUICK
    } else {
        Effort::FULL
    };
    let runtime = match super::runtime(preflight::RuntimeOptions::default()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let mut figures: Vec<Figure> = Vec::new();
    match bench::host_overhead(&runtime, effort).await {
        Ok(figure) => figures.push(figure),
        Err(error) => {
            eprintln!("error: host overhead benchmark: {error}");
            return EXIT_INTERNAL;
        }
    }
    match bench::runaway_stop(&runtime, effort).await {
        Ok(figure) => figures.push(figure),
        Err(error) => {
            eprintln!("error: runaway-plugin benchmark: {error}");
            return EXIT_INTERNAL;
        }
    }
    match bench::compile_times(&runtime, effort).await {
        Ok(mut more) => figures.append(&mut more),
        Err(error) => {
            eprintln!("error: compile benchmark: {error}");
            return EXIT_INTERNAL;
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&figures).expect("figures serialise")
        );
        return EXIT_OK;
    }
    println!(
        "{} on {} cores{}",
        env!("CARGO_PKG_NAME"),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if args.quick {
            " (quick: rough figures)"
        } else {
            ""
        }
    );
    println!(
        "{:<58} {:>10} {:>10} {:>10} {:>8}",
        "FIGURE", "MEDIAN", "P10", "P90", "TARGET"
    );
    for figure in &figures {
        let target = figure.target.map(|t| format!("≤{t}")).unwrap_or_default();
        println!(
            "{:<58} {:>8.1}{:<2} {:>8.1}{:<2} {:>8.1}{:<2} {:>8}",
            figure.name,
            figure.median,
            figure.unit,
            figure.p10,
            figure.unit,
            figure.p90,
            figure.unit,
            target
        );
    }
    EXIT_OK
}
