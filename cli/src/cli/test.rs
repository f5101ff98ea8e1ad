//! `preflight test`: runs cassettes (`check --record` writes them) offline
//! against a plugin and compares each verdict and check with what the
//! cassette expects. The tape engine is `replay`'s: every request is
//! answered from the recorded exchanges, an unmatched one `unreachable`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use preflight::input::Input;
use preflight_runtime::cassette::{Cassette, Expectation};
use preflight_runtime::sandbox::record::Tape;

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK};

/// Arguments of `preflight test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    plugin: super::PluginChoice,
    /// Cassettes, or directories of them (`*.json`).
    #[arg(value_name = "CASSETTE|DIR", required = true)]
    paths: Vec<PathBuf>,
    /// Rewrite each cassette's expectation with what the plugin came to.
    #[arg(long)]
    update: bool,
    /// Also write the results as JUnit XML to FILE, for CI.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// One cassette's result.
struct Ran {
    path: PathBuf,
    differences: Vec<String>,
    unmatched: Vec<String>,
}

/// Runs `preflight test`. Exit 0: every cassette passed; 1: one did not.
pub async fn run(args: TestArgs) -> u8 {
    let files = match cassettes(&args.paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let runtime = match super::runtime(preflight::RuntimeOptions {
        max_instances: 2,
        allow_http_loopback: true,
        ..preflight::RuntimeOptions::default()
    }) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plugin = match super::load_plugin(&runtime, &args.plugin).await {
        Ok(plugin) => plugin,
        Err(code) => return code,
    };
    let mut results = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let loaded = preflight::input::read_text(&path, Input::Cassette)
            .map_err(|error| error.to_string())
            .and_then(|text| Cassette::parse(&text));
        let mut cassette = match loaded {
            Ok(cassette) => cassette,
            Err(message) => {
                eprintln!("error: {name}: {message}");
                return EXIT_BAD_INPUT;
            }
        };
        let job = match preflight::ExportJob::from_value(cassette.job.clone()) {
            Ok(job) => job,
            Err(error) => {
                eprintln!("error: {name}: job: {error}");
                return EXIT_BAD_INPUT;
            }
        };
        let config =
            match preflight::IntegrationConfig::from_value(cassette.config.clone(), "config.") {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("error: {name}: {error}");
                    return EXIT_BAD_INPUT;
                }
            };
        let tape = Arc::new(Tape::new(cassette.exchanges.clone()));
        let outcome = match plugin.replay(&job, &config, Arc::clone(&tape)).await {
            Ok(outcome) => outcome,
            Err(error) => {
                eprintln!("error: {name}: {error}");
                return super::EXIT_PLUGIN_FAULT;
            }
        };
        let actual = Expectation::of(&outcome);
        let differences = cassette.expect.differences(&actual);
        if args.update && !differences.is_empty() {
            cassette.expect = actual;
            let text = serde_json::to_string_pretty(&cassette).expect("cassettes serialise");
            if let Err(error) = std::fs::write(&path, text + "\n") {
                eprintln!("error: {name}: {error}");
                return super::EXIT_INTERNAL;
            }
            println!("updated  {name}");
            results.push(Ran {
                path,
                differences: Vec::new(),
                unmatched: tape.misses(),
            });
            continue;
        }
        let passed = differences.is_empty();
        println!("{}  {name}", if passed { "pass    " } else { "FAIL    " });
        for difference in &differences {
            println!("          {difference}");
        }
        let unmatched = tape.misses();
        for request in &unmatched {
            println!("          not on the tape (answered unreachable): {request}");
        }
        results.push(Ran {
            path,
            differences,
            unmatched,
        });
    }
    let failed = results
        .iter()
        .filter(|ran| !ran.differences.is_empty())
        .count();
    println!();
    println!(
        "{} cassette(s): {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    );
    if let Some(junit) = &args.junit
        && let Err(error) = std::fs::write(junit, junit_xml(&args.plugin.plugin, &results))
    {
        eprintln!("error: {}: {error}", junit.display());
        return super::EXIT_INTERNAL;
    }
    if failed == 0 { EXIT_OK } else { EXIT_FAIL }
}

/// The cassette files `paths` name: files as given, directories' `*.json`
/// sorted.
fn cassettes(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|error| format!("{}: {error}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|file| file.extension().is_some_and(|ext| ext == "json"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("{}: no cassette (*.json) in it", path.display()));
            }
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(files)
}

fn junit_xml(plugin: &str, results: &[Ran]) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failed = results
        .iter()
        .filter(|ran| !ran.differences.is_empty())
        .count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
        escape(plugin),
        results.len()
    );
    for ran in results {
        let name = escape(&file_name(&ran.path));
        if ran.differences.is_empty() {
            xml.push_str(&format!("  <testcase name=\"{name}\"/>\n"));
        } else {
            let mut detail = ran.differences.join("\n");
            for request in &ran.unmatched {
                detail.push_str(&format!("\nnot on the tape: {request}"));
            }
            xml.push_str(&format!(
                "  <testcase name=\"{name}\">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n",
                escape(&ran.differences[0]),
                escape(&detail)
            ));
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}
