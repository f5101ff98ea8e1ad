//! `preflight demo`: the whole pre-export validation step against emulated
//! Pleo and accounting systems, with the bundled plugins.

use clap::Args;
use preflight_cli::demo::DemoRow;

use super::{EXIT_FAIL, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print one JSON object per job outcome instead of the table.
    #[arg(long)]
    json: bool,
    /// Keep the journal and decision log in this store (`sqlite://PATH`, a
    /// file path, or `postgres://…`) instead of in memory, for
    /// `preflight outcomes` and `preflight replay` afterwards.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
}

/// Runs `preflight demo`.
pub async fn run(args: DemoArgs) -> u8 {
    let runtime = match super::runtime(preflight_cli::demo::runtime_options()) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let store = match &args.store {
        Some(url) => preflight_store::Store::open(url, Default::default()).await,
        None => preflight_store::Store::in_memory(Default::default()).await,
    };
    let store = match store {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: --store: {error}");
            return super::EXIT_BAD_INPUT;
        }
    };
    let progress = preflight_cli::progress::Progress::new(
        preflight_cli::demo::COMPANIES.len(),
        "demo: jobs with an outcome",
        args.json,
    );
    let rows = preflight_cli::demo::run(&runtime, store.clone(), &progress).await;
    progress.finish();
    let rows = match rows {
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
        if let Some(url) = &args.store {
            println!("Every validation is in the decision log: preflight outcomes --store {url}");
        }
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
