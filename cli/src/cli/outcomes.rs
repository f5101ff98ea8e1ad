//! `preflight outcomes`: the decision log. Lists validations with filters;
//! `outcomes show <JOB>` prints one job in full (its journal and every
//! validation with its exchanges); `outcomes prune` deletes old entries.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use preflight::operator::OperatorConfig;
use preflight_runtime::report::CheckStatus;
use preflight_store::{Decision, DecisionQuery, Store};

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// Where the store is: the operator configuration's, or a URL.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The operator configuration whose store to read (`[store]`, else
    /// `<stateDir>/preflight.db`).
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    config: Option<PathBuf>,
    /// The store's URL: `sqlite://PATH`, a file path, or `postgres://…`
    /// [env: PREFLIGHT_STORE_URL].
    #[arg(long, value_name = "URL", env = "PREFLIGHT_STORE_URL")]
    store: Option<String>,
}

/// The operator configuration at `path` and its store's URL; an error is
/// printed when it names no store.
pub(super) fn configured_store(path: &std::path::Path) -> Result<(String, OperatorConfig), u8> {
    let config = super::serve::read_config(path)?;
    let Some(url) = config.store.url.clone() else {
        eprintln!(
            "error: {}: no store: set [store] url or [runner] stateDir",
            path.display()
        );
        return Err(EXIT_BAD_INPUT);
    };
    Ok((url, config))
}

impl StoreArgs {
    /// Opens the store; errors are printed. Returns the configuration too
    /// when one was named.
    pub(super) async fn open(&self) -> Result<(Store, Option<OperatorConfig>), u8> {
        let (url, config) = match (&self.store, &self.config) {
            (Some(url), _) => (url.clone(), None),
            (None, Some(path)) => {
                let (url, config) = configured_store(path)?;
                (url, Some(config))
            }
            (None, None) => {
                eprintln!("error: name the store with --store URL or --config FILE");
                return Err(EXIT_BAD_INPUT);
            }
        };
        if !url.contains("://") && !std::path::Path::new(&url).exists() {
            eprintln!("error: store {url}: no such file");
            return Err(EXIT_BAD_INPUT);
        }
        let identity = config
            .as_ref()
            .map(|c| c.store.identity.clone())
            .unwrap_or_default();
        match Store::open(&url, identity).await {
            Ok(store) => Ok((store, config)),
            Err(error) => {
                eprintln!("error: {error}");
                Err(EXIT_BAD_INPUT)
            }
        }
    }
}

/// Arguments of `preflight outcomes`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct OutcomesArgs {
    #[command(subcommand)]
    command: Option<OutcomesCommand>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, Subcommand)]
enum OutcomesCommand {
    /// One job in full: its journal and every validation, with the plugin,
    /// the checks and each outbound exchange.
    Show(ShowArgs),
    /// Delete decision-log entries (and finished jobs' journals) older than
    /// an age; `serve` does this itself with `[decisionLog] retentionDays`.
    Prune(PruneArgs),
}

/// `preflight outcomes [filters]`.
#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only this company's.
    #[arg(long, value_name = "UUID")]
    company: Option<String>,
    /// Only this job's.
    #[arg(long, value_name = "UUID")]
    job: Option<String>,
    /// Only this plugin's: NAME or NAME@VERSION.
    #[arg(long, value_name = "NAME[@VERSION]")]
    plugin: Option<String>,
    /// Only failures with this reason, e.g. invalid_configuration.
    #[arg(long, value_name = "REASON")]
    reason: Option<String>,
    /// Only this verdict: proceed, fail or retry.
    #[arg(long, value_name = "VERDICT", value_parser = ["proceed", "fail", "retry"])]
    verdict: Option<String>,
    /// From this time on: RFC 3339 (2026-11-25T10:00:00Z) or an age (2h, 7d).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Before this time: RFC 3339 or an age.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only those listed after the decision with this id (the `id` of
    /// `--json`): the next page after a list that ended at that decision.
    #[arg(long, value_name = "ID")]
    before: Option<String>,
    /// At most this many, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: u32,
    /// One JSON object per line instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The job.
    job: uuid::Uuid,
    #[command(flatten)]
    store: StoreArgs,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct PruneArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Delete what is older than this age (e.g. 30d, 12h).
    #[arg(long, value_name = "AGE")]
    older_than: String,
}

/// Runs `preflight outcomes`.
pub async fn run(args: OutcomesArgs) -> u8 {
    match args.command {
        Some(OutcomesCommand::Show(show)) => show_job(show).await,
        Some(OutcomesCommand::Prune(prune)) => prune_log(prune).await,
        None => list(args.list).await,
    }
}

async fn list(args: ListArgs) -> u8 {
    let query = DecisionQuery {
        company: args.company,
        job: args.job,
        plugin: args.plugin,
        reason: args.reason,
        verdict: args.verdict,
        since: args.since,
        until: args.until,
        before: args.before,
        limit: Some(args.limit),
    };
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(bad) => {
            eprintln!("error: --{}: {}", bad.field, bad.message);
            return EXIT_BAD_INPUT;
        }
    };
    let (store, _) = match args.store.open().await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let rows = match store.decisions(&filter).await {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_INTERNAL;
        }
    };
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row).expect("rows serialise"));
        }
        return EXIT_OK;
    }
    println!(
        "{:<24}  {:<36}  {:<18}  {:<8}  {:<38}  {:>8}  OUTCOME",
        "TIME", "JOB", "PLUGIN", "VERDICT", "REASON", "TIME(ms)"
    );
    for row in &rows {
        println!(
            "{:<24}  {:<36}  {:<18}  {:<8}  {:<38}  {:>8.1}  {}",
            format_time(row.at),
            row.job_id,
            row.plugin.as_deref().unwrap_or("-"),
            row.verdict,
            row.reason
                .map_or("-", preflight_runtime::FailureReason::as_str),
            row.elapsed_ms,
            row.outcome.map_or("-", preflight_store::JobResult::as_str),
        );
    }
    if rows.is_empty() {
        eprintln!("no decisions match");
    }
    EXIT_OK
}

async fn show_job(args: ShowArgs) -> u8 {
    let (store, _) = match args.store.open().await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let report = match store.report(args.job).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            eprintln!(
                "error: job {} is not in the store {}",
                args.job,
                store.location()
            );
            return EXIT_BAD_INPUT;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_INTERNAL;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialise")
        );
        return EXIT_OK;
    }
    println!("job {}", args.job);
    if let Some(record) = &report.job {
        println!(
            "  company {}, {} (held by {})",
            record.company_id,
            describe_stage(&record.stage),
            record.owner
        );
    }
    println!("journal");
    for entry in &report.journal {
        println!(
            "  {}  {:<24}  {}",
            format_time(entry.at),
            describe_stage(&entry.stage),
            entry.replica
        );
    }
    for decision in &report.decisions {
        print_decision(decision);
    }
    EXIT_OK
}

async fn prune_log(args: PruneArgs) -> u8 {
    let age = match humantime::parse_duration(&args.older_than) {
        Ok(age) => age,
        Err(error) => {
            eprintln!("error: --older-than '{}': {error}", args.older_than);
            return EXIT_BAD_INPUT;
        }
    };
    let (store, _) = match args.store.open().await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    match store.prune(SystemTime::now() - age).await {
        Ok(pruned) => {
            println!(
                "pruned {} decision(s), {} finished job(s), {} webhook id(s)",
                pruned.decisions, pruned.jobs, pruned.webhooks
            );
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_INTERNAL
        }
    }
}

fn describe_stage(stage: &preflight_store::Stage) -> String {
    use preflight_store::Stage;
    match stage {
        Stage::Failing { reason, .. } => format!("failing ({})", reason.as_str()),
        Stage::Done { outcome } => format!("done ({outcome})"),
        other => other.name().to_owned(),
    }
}

/// Prints one validation in full.
pub(super) fn print_decision(decision: &Decision) {
    println!();
    println!(
        "validation #{} (attempt {}) at {}, {:.1} ms, by {}",
        decision.id,
        decision.attempt,
        format_time(decision.at),
        decision.elapsed_ms,
        decision.replica
    );
    match &decision.plugin {
        Some(plugin) => println!(
            "  plugin   {} {}  sha256:{}  {}",
            plugin.name, plugin.version, plugin.digest, plugin.wit
        ),
        None => println!("  plugin   none (decided by the host)"),
    }
    print_verdict("  verdict  ", &decision.verdict);
    if let Some(fault) = &decision.fault {
        println!("  fault    {fault}");
    }
    if !decision.checks.is_empty() {
        println!("  checks");
        for check in &decision.checks {
            let status = match check.status {
                CheckStatus::Passed => "passed",
                CheckStatus::Failed => "FAILED",
                CheckStatus::Skipped => "skipped",
                CheckStatus::Unverified => "unverified",
            };
            println!("    {status:<10}  {:<36}  {}", check.id, check.message);
        }
    }
    if !decision.exchanges.is_empty() {
        println!("  exchanges");
        for exchange in &decision.exchanges {
            let answer = exchange.status.map_or_else(
                || {
                    exchange
                        .failure
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                },
                |s| s.to_string(),
            );
            let note = if exchange.superseded {
                "  (token refreshed; sent again)"
            } else {
                ""
            };
            println!(
                "    {} {} → {answer}  {:.1} ms{note}",
                exchange.method,
                exchange.url,
                exchange.elapsed.as_secs_f64() * 1000.0
            );
            if let Some(body) = &exchange.response_body {
                let text = body.text.as_deref().unwrap_or("(binary)");
                let shown: String = text.chars().take(160).collect();
                let more = if text.chars().count() > 160 || body.truncated {
                    format!(" … ({} bytes)", body.size)
                } else {
                    String::new()
                };
                println!("        {}{more}", shown.replace('\n', " "));
            }
        }
    }
}

/// Prints a verdict on one or two lines after `prefix`.
pub(super) fn print_verdict(prefix: &str, verdict: &preflight::Verdict) {
    match verdict {
        preflight::Verdict::Proceed => println!("{prefix}proceed"),
        preflight::Verdict::Fail {
            reason,
            message,
            check,
        }
        | preflight::Verdict::Retry {
            reason,
            message,
            check,
            ..
        } => {
            let label = preflight_store::decisions::verdict_label(verdict);
            println!("{prefix}{label} {} (check {check})", reason.as_str());
            println!("{}{message}", " ".repeat(prefix.len()));
        }
    }
}

/// Milliseconds since the epoch as RFC 3339.
fn format_time(millis: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}
