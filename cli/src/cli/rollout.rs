//! `preflight plugins shadow|shadow-diff|canary|promote|discard`: a
//! candidate version run in shadow beside the live one on a running server
//! and compared, or serving a share of the companies, then promoted or
//! discarded (`/v1/plugins/{system}/…`).

use clap::Args;
use preflight::registry::VersionView;
use preflight::runner::shadow::ShadowSummary;

use super::plugins::{Target, api};
use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `preflight plugins shadow`.
#[derive(Debug, Args)]
pub struct ShadowArgs {
    /// The accounting system, e.g. `xero`.
    system: String,
    /// The loaded version to put in shadow, e.g. `0.3.0`.
    version: String,
    #[command(flatten)]
    target: Target,
}

/// Arguments of `preflight plugins canary`.
#[derive(Debug, Args)]
pub struct CanaryArgs {
    /// The accounting system.
    system: String,
    /// The loaded version to serve the share, e.g. `0.3.0`.
    version: String,
    /// The share of companies it serves, 1 to 100 (a stable hash of the
    /// company id decides which); run again to move it.
    #[arg(long, value_name = "PERCENT")]
    percent: u8,
    #[command(flatten)]
    target: Target,
}

/// Arguments of `preflight plugins shadow-diff`.
#[derive(Debug, Args)]
pub struct ShadowDiffArgs {
    /// The accounting system.
    system: String,
    /// A candidate shadowed before, `name@version` [default: the one in
    /// shadow now].
    #[arg(long, value_name = "NAME@VERSION")]
    candidate: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    target: Target,
}

/// Arguments of `preflight plugins promote` and `discard`.
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// The accounting system.
    system: String,
    #[command(flatten)]
    target: Target,
}

/// The server named with `--server`, or an error naming the command.
fn server(target: &Target, command: &str) -> Result<url::Url, u8> {
    target.server.clone().ok_or_else(|| {
        eprintln!("error: {command} needs --server URL (the running preflight serve)");
        EXIT_BAD_INPUT
    })
}

/// Runs `preflight plugins shadow`.
pub async fn shadow(args: &ShadowArgs) -> u8 {
    let server = match server(&args.target, "shadow") {
        Ok(server) => server,
        Err(code) => return code,
    };
    let path = format!("v1/plugins/{}/shadow", args.system);
    let body = serde_json::json!({ "version": args.version });
    match api::<VersionView>(&server, &args.target.token_env, "POST", &path, Some(body)).await {
        Ok(view) => {
            println!(
                "{}: {} is in shadow ({}); the live version serves every job",
                view.accounting_system, view.version, view.source
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// Runs `preflight plugins canary`.
pub async fn canary(args: &CanaryArgs) -> u8 {
    let server = match server(&args.target, "canary") {
        Ok(server) => server,
        Err(code) => return code,
    };
    let path = format!("v1/plugins/{}/canary", args.system);
    let body = serde_json::json!({ "version": args.version, "percent": args.percent });
    match api::<VersionView>(&server, &args.target.token_env, "POST", &path, Some(body)).await {
        Ok(view) => {
            println!(
                "{}: {} serves {}% of the companies; `plugins rollback` ends it",
                view.accounting_system, view.version, args.percent
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// Runs `preflight plugins promote` (`action` `promote`) or `discard`.
pub async fn end(args: &SystemArgs, action: &str) -> u8 {
    let server = match server(&args.target, action) {
        Ok(server) => server,
        Err(code) => return code,
    };
    let path = format!("v1/plugins/{}/{action}", args.system);
    match api::<VersionView>(&server, &args.target.token_env, "POST", &path, None).await {
        Ok(view) => {
            let now = if action == "promote" {
                "is active"
            } else {
                "is out of shadow"
            };
            println!("{}: {} {now}", view.accounting_system, view.version);
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// Runs `preflight plugins shadow-diff`.
pub async fn shadow_diff(args: &ShadowDiffArgs) -> u8 {
    let server = match server(&args.target, "shadow-diff") {
        Ok(server) => server,
        Err(code) => return code,
    };
    let mut path = format!("v1/plugins/{}/shadow", args.system);
    if let Some(candidate) = &args.candidate {
        path.push_str(&format!("?candidate={candidate}"));
    }
    let summary =
        match api::<ShadowSummary>(&server, &args.target.token_env, "GET", &path, None).await {
            Ok(summary) => summary,
            Err(code) => return code,
        };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summaries serialise")
        );
        return EXIT_OK;
    }
    println!(
        "{}: {} in shadow",
        summary.accounting_system, summary.candidate
    );
    println!("  jobs compared         {}", summary.jobs_compared);
    println!("  same verdict          {}", summary.same_verdict);
    let failing: Vec<String> = summary
        .would_now_fail
        .iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect();
    println!(
        "  would now fail        {}",
        if failing.is_empty() {
            "0".to_owned()
        } else {
            failing.join(", ")
        }
    );
    println!("  would now pass        {}", summary.would_now_pass);
    println!("  faults                {}", summary.faults);
    println!("  rules added           {}", list(&summary.rules_added));
    println!("  rules removed         {}", list(&summary.rules_removed));
    let changed: Vec<String> = summary
        .rules_changed
        .iter()
        .map(|(id, count)| format!("{id} ({count})"))
        .collect();
    println!("  rules changed         {}", list(&changed));
    println!("  requests not on tape  {}", summary.requests_not_on_tape);
    for result in &summary.differing {
        let verdict = |verdict: &str, reason: &Option<String>| match reason {
            Some(reason) => format!("{verdict} ({reason})"),
            None => verdict.to_owned(),
        };
        println!(
            "  job {} (company {}): {} {} → {}",
            result.job_id,
            result.company_id,
            result.live,
            verdict(&result.live_verdict, &result.live_reason),
            verdict(&result.candidate_verdict, &result.candidate_reason)
        );
    }
    EXIT_OK
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}
