//! `preflight check`: validate one job with one plugin and print the report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use preflight::input::Input;
use preflight::{ExportJob, IntegrationConfig, Limits, Outcome, RuntimeOptions, Verdict};
use preflight_runtime::report::CheckStatus;

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK, EXIT_PLUGIN_FAULT};

/// Arguments of `preflight check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plugin: a component file (`.wasm`) or the name of a bundled plugin
    /// (see `preflight plugins list`).
    #[arg(long, value_name = "FILE|NAME")]
    plugin: String,
    /// The export job: Pleo's ExportJobV3 JSON, bare or wrapped in {"data": …}.
    #[arg(long, value_name = "FILE")]
    job: PathBuf,
    /// The company's integration configuration (JSON; see the README).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Print the outcome as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Wall-time limit of the validation, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    wall_time_ms: u64,
    /// Timeout of each outbound request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    request_timeout_ms: u64,
}

/// Runs `preflight check`.
pub async fn run(args: CheckArgs) -> u8 {
    let inputs = match read_inputs(&args) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let (job, config) = inputs;
    let options = RuntimeOptions {
        limits: Limits {
            wall_time: Duration::from_millis(args.wall_time_ms),
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            ..Limits::default()
        },
        max_instances: 4,
        // The author's harness runs against local emulators.
        allow_http_loopback: true,
        ..RuntimeOptions::default()
    };
    let runtime = match super::runtime(options) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plugin = match preflight::bundled::load(
        &runtime,
        &args.plugin,
        preflight::bundled::ManifestRule::Optional,
    )
    .await
    {
        Ok(plugin) => plugin,
        Err(error) => {
            eprintln!("error: {error}");
            return super::load_exit(&error);
        }
    };
    if plugin.info().accounting_system != config.accounting_system {
        eprintln!(
            "error: {}: accountingSystem is '{}', but plugin {} validates '{}'",
            args.config.display(),
            config.accounting_system,
            plugin.label(),
            plugin.info().accounting_system
        );
        return EXIT_BAD_INPUT;
    }
    match plugin.validate_settings(&config.settings).await {
        Ok(Ok(())) => {}
        Ok(Err(errors)) => {
            for error in errors {
                let field = if error.field.is_empty() {
                    String::new()
                } else {
                    format!(".{}", error.field)
                };
                eprintln!(
                    "error: {}: settings{field}: {}",
                    args.config.display(),
                    error.message
                );
            }
            return EXIT_BAD_INPUT;
        }
        Err(error) => {
            eprintln!(
                "error: plugin {}: faulted in validate-settings: {}",
                error.plugin, error.fault
            );
            return EXIT_PLUGIN_FAULT;
        }
    }
    match plugin.validate(&job, &config).await {
        Ok(outcome) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome).expect("outcomes serialise")
                );
            } else {
                print_table(&outcome);
            }
            if outcome.verdict.proceeds() {
                EXIT_OK
            } else {
                EXIT_FAIL
            }
        }
        Err(error) => {
            if args.json {
                let fault =
                    serde_json::json!({ "plugin": error.plugin, "fault": error.fault.to_string() });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&fault).expect("faults serialise")
                );
            }
            eprintln!("error: {error}");
            EXIT_PLUGIN_FAULT
        }
    }
}

fn read_inputs(args: &CheckArgs) -> Result<(ExportJob, IntegrationConfig), String> {
    let job = read(&args.job, Input::JobFile)?;
    let job =
        ExportJob::from_json(&job).map_err(|error| format!("{}: {error}", args.job.display()))?;
    let config = read(&args.config, Input::ConfigFile)?;
    let config = IntegrationConfig::from_json(&config).map_err(|error| {
        let field = if error.field.is_empty() {
            "the configuration".to_owned()
        } else {
            error.field
        };
        format!("{}: {field}: {}", args.config.display(), error.message)
    })?;
    Ok((job, config))
}

fn read(path: &Path, input: Input) -> Result<String, String> {
    preflight::input::read_text(path, input).map_err(|error| format!("{}: {error}", path.display()))
}

/// Prints the checks, then the verdict.
fn print_table(outcome: &Outcome) {
    let id_width = outcome
        .report
        .checks
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "plugin {} · {:.1} ms · {} request(s)",
        outcome.plugin,
        outcome.elapsed.as_secs_f64() * 1000.0,
        outcome.exchanges.len()
    );
    println!();
    println!(
        "{:<id_width$}  {:<10}  {:<40}  MESSAGE",
        "CHECK", "STATUS", "REASON"
    );
    for check in &outcome.report.checks {
        let status = match check.status {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "FAILED",
            CheckStatus::Skipped => "skipped",
            CheckStatus::Unverified => "UNVERIFIED",
        };
        let reason = check.reason.map(|r| r.as_str()).unwrap_or("");
        println!(
            "{:<id_width$}  {status:<10}  {reason:<40}  {}",
            check.id, check.message
        );
        if let Some(hint) = &check.hint {
            println!("{:<id_width$}  {:<10}  {:<40}  hint: {hint}", "", "", "");
        }
    }
    println!();
    match &outcome.verdict {
        Verdict::Proceed => println!("verdict: proceed (the job may go on to item processing)"),
        Verdict::Fail {
            reason,
            message,
            check,
        } => {
            println!("verdict: fail ({check})");
            println!("failureReasonType: {reason}");
            println!("failureReason: {message}");
        }
        Verdict::Retry {
            reason,
            message,
            check,
            retry_after,
        } => {
            let after = retry_after
                .map(|s| format!(", retry after {s} s"))
                .unwrap_or_default();
            println!("verdict: fail unless a retry succeeds ({check}: transient{after})");
            println!("failureReasonType: {reason}");
            println!("failureReason: {message}");
        }
    }
}
