//! `preflight bench`: run the benchmarks and print every figure.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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
    /// Print one JSON array of {name, median, p10, p90, p99, unit, target,
    /// better}.
    #[arg(long)]
    json: bool,
    /// Run only the groups whose name contains this (overhead,
    /// wasm-vs-native, compile, throughput, concurrency, memory, registry,
    /// end-to-end, detection, shadow, console).
    #[arg(long, value_name = "GROUP", default_value = "")]
    only: String,
    /// Write /tmp/perf-<pid>.map so that a perf profile names the plugins'
    /// compiled functions (scripts/profile passes it).
    #[arg(long)]
    perf_map: bool,
    /// Measure this component instead of the groups: size, compile, cache
    /// load, instantiate + validate offline, memory and requests against
    /// its limits, each beside the bundled Xero plugin's.
    #[arg(long, value_name = "FILE")]
    plugin: Option<PathBuf>,
    /// The component's manifest (default: `<FILE>.toml` beside it, if there).
    #[arg(long, value_name = "FILE", requires = "plugin")]
    manifest: Option<PathBuf>,
    /// A cassette whose recorded exchanges answer the validations (default:
    /// none, so the settings rule alone runs).
    #[arg(long, value_name = "FILE", requires = "plugin")]
    cassette: Option<PathBuf>,
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
            "{:<80} {:>10} {:>10} {:>10} {:>10}  {:<10} MET",
            "FIGURE", "MEDIAN", "P10", "P90", "P99", "TARGET"
        );
    }
    let subject = match &args.plugin {
        Some(path) => match subject(path, args.manifest.as_deref(), args.cassette.as_deref()) {
            Ok(subject) => Some(subject),
            Err(message) => {
                eprintln!("error: {message}");
                return super::EXIT_BAD_INPUT;
            }
        },
        None => None,
    };
    let groups = match subject {
        Some(_) => 1,
        None => bench::GROUPS
            .iter()
            .filter(|group| group.contains(&args.only))
            .count(),
    };
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
    let figures = match &subject {
        Some(subject) => {
            progress.step(&subject.name);
            bench::plugin::run(&runtime, effort, subject)
                .await
                .inspect(|figures| figures.iter().for_each(&mut print))
        }
        None => bench::suite(&runtime, effort, &args.only, &mut print, &progress).await,
    };
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

/// The component of `--plugin`, its manifest (named, or beside it) and the
/// cassette; an error names the file and what is wrong with it.
fn subject(
    path: &Path,
    manifest: Option<&Path>,
    cassette: Option<&Path>,
) -> Result<bench::plugin::Subject, String> {
    use preflight::input::{Input, read, read_text};
    let named = |path: &Path, error: &dyn std::fmt::Display| format!("{}: {error}", path.display());
    let bytes = read(path, Input::Component).map_err(|e| named(path, &e))?;
    let beside = path.with_extension("toml");
    let manifest = match manifest {
        Some(file) => Some(file.to_path_buf()),
        None => beside.is_file().then_some(beside),
    };
    let manifest = manifest
        .map(|file| {
            read_text(&file, Input::Manifest)
                .map_err(|e| named(&file, &e))
                .and_then(|text| {
                    preflight_runtime::manifest::Manifest::from_toml(&text)
                        .map_err(|e| named(&file, &e))
                })
        })
        .transpose()?;
    let cassette = cassette
        .map(|file| {
            read_text(file, Input::Cassette)
                .map_err(|e| named(file, &e))
                .and_then(|text| {
                    preflight_runtime::cassette::Cassette::parse(&text).map_err(|e| named(file, &e))
                })
                .map(|cassette| (file.display().to_string(), cassette))
        })
        .transpose()?;
    Ok(bench::plugin::Subject {
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        ),
        bytes,
        manifest,
        cassette,
    })
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
        "{:<80} {:>10} {:>10} {:>10} {:>10}  {:<10} {met}",
        figure.name,
        value(figure.median),
        value(figure.p10),
        value(figure.p90),
        value(figure.p99),
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
