//! `preflight demo`: the whole pre-export validation step against emulated
//! Pleo and accounting systems, with the bundled plugins.

use clap::Args;
use preflight::demo::DemoRow;

use super::{EXIT_FAIL, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print one JSON object per job outcome instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `preflight demo`.
pub async fn run(args: DemoArgs) -> u8 {
    let runtime = match super::runtime(preflight::demo::runtime_options()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let rows = match preflight::demo::run(&runtime).await {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: demo: {error}");
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
        return EXIT_OK;
    }
    for row in unexpected {
        eprintln!(
            "unexpected outcome for {}: {} {:?}, Pleo status {}, {} failed event(s)",
            row.company, row.verdict, row.reason, row.pleo_status, row.failed_events
        );
    }
    EXIT_FAIL
}

fn print_table(rows: &[DemoRow]) {
    let width = |field: fn(&DemoRow) -> &str, header: usize| {
        rows.iter()
            .map(|row| field(row).chars().count())
            .max()
            .unwrap_or(header)
            .max(header)
    };
    let company_width = width(|row| &row.company, 7);
    let system_width = width(|row| &row.accounting_system, 6);
    println!(
        "{:<8}  {:<company_width$}  {:<system_width$}  {:<7}  {:<40}  {:>9}  {:<11}  MESSAGE",
        "JOB", "COMPANY", "SYSTEM", "VERDICT", "REASON", "TIME", "PLEO"
    );
    for row in rows {
        let tries = if row.attempts > 1 {
            format!(" ({} tries)", row.attempts)
        } else {
            String::new()
        };
        println!(
            "{:<8}  {:<company_width$}  {:<system_width$}  {:<7}  {:<40}  {:>7.0}ms  {:<11}  {}{tries}",
            &row.job.to_string()[..8],
            row.company,
            row.accounting_system,
            row.verdict,
            row.reason.map(|reason| reason.as_str()).unwrap_or("-"),
            row.millis,
            row.pleo_status,
            row.message
                .as_deref()
                .unwrap_or("handed over to item processing"),
        );
    }
    let proceeding = rows.iter().filter(|row| row.reason.is_none()).count();
    println!();
    println!(
        "{} export jobs: {proceeding} passed validation and were handed over; {} failed early with a reason posted to Pleo",
        rows.len(),
        rows.len() - proceeding
    );
}
