//! `preflight demo`: the bundled plugins against emulated accounting systems.

use std::sync::Arc;

use clap::Args;
use preflight::demo::DemoRow;

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print one JSON object per job outcome instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `preflight demo`.
pub async fn run(args: DemoArgs) -> u8 {
    let runtime = match super::runtime(preflight::RuntimeOptions::default()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plugin = match preflight::bundled::load(&runtime, "xero").await {
        Ok(plugin) => Arc::new(plugin),
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let rows = match preflight::demo::run_xero(plugin).await {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: could not start an emulator: {error}");
            return EXIT_INTERNAL;
        }
    };
    if args.json {
        for row in &rows {
            println!("{}", serde_json::to_string(row).expect("rows serialise"));
        }
    } else {
        print_table(&rows);
    }
    let unexpected: Vec<&DemoRow> = rows.iter().filter(|row| !row.as_expected).collect();
    if unexpected.is_empty() {
        EXIT_OK
    } else {
        for row in unexpected {
            eprintln!(
                "unexpected outcome for {}: {} {:?}",
                row.company, row.verdict, row.reason
            );
        }
        EXIT_FAIL
    }
}

fn print_table(rows: &[DemoRow]) {
    let company_width = rows
        .iter()
        .map(|row| row.company.len())
        .max()
        .unwrap_or(7)
        .max(7);
    println!(
        "{:<8}  {:<company_width$}  {:<6}  {:<16}  {:<40}  {:>8}  MESSAGE",
        "JOB", "COMPANY", "SYSTEM", "VERDICT", "REASON", "TIME"
    );
    for row in rows {
        println!(
            "{:<8}  {:<company_width$}  {:<6}  {:<16}  {:<40}  {:>6.1}ms  {}",
            &row.job[..8],
            row.company,
            row.accounting_system,
            row.verdict,
            row.reason.map(|reason| reason.as_str()).unwrap_or("-"),
            row.millis,
            row.message.as_deref().unwrap_or("")
        );
    }
    let proceeding = rows.iter().filter(|row| row.reason.is_none()).count();
    println!();
    println!(
        "{} jobs: {proceeding} may proceed, {} fail early",
        rows.len(),
        rows.len() - proceeding
    );
}
