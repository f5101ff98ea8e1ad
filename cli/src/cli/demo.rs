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
    /// Serve the operator API and console on this address while the demo
    /// runs, and keep serving after its jobs end until interrupted
    /// (Ctrl-C), for looking around: `--listen 127.0.0.1:8080`, then open
    /// `http://127.0.0.1:8080/console`. The address is printed on stderr.
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// With `--listen`: the environment variable holding the operator token
    /// the API and console's sign-in require. Without it the console is
    /// read-only, as `serve`'s is without `server.token`.
    #[arg(long, value_name = "NAME", requires = "listen")]
    operator_token_env: Option<String>,
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
    let token = match &args.operator_token_env {
        Some(name) => match std::env::var(name) {
            Ok(token) if !token.is_empty() => Some(preflight_runtime::config::Secret::new(token)),
            _ => {
                eprintln!("error: --operator-token-env: environment variable {name} is not set");
                return super::EXIT_BAD_INPUT;
            }
        },
        None => None,
    };
    let listener = match args.listen {
        Some(address) => match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => Some(listener),
            Err(error) => {
                eprintln!("error: --listen {address}: {error}");
                return super::EXIT_BAD_INPUT;
            }
        },
        None => None,
    };
    let demo = match preflight_cli::demo::Demo::start(&runtime, store, None).await {
        Ok(demo) => demo,
        Err(error) => {
            eprintln!("error: demo: {error}");
            return EXIT_INTERNAL;
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = match listener {
        Some(listener) => {
            let address = listener.local_addr().ok();
            if let Some(address) = address {
                eprintln!(
                    "The console is at http://{address}/console ({}); the API at http://{address}/v1",
                    if token.is_some() {
                        "sign in with the operator token"
                    } else {
                        "read-only: no operator token"
                    }
                );
            }
            let mut stopped = stopped;
            Some(tokio::spawn(preflight::server::serve(
                demo.runner().clone(),
                token,
                None,
                listener,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            )))
        }
        None => None,
    };
    let progress = preflight_cli::progress::Progress::new(
        preflight_cli::demo::COMPANIES.len(),
        "demo: jobs with an outcome",
        args.json,
    );
    let rows = demo.process(&progress).await;
    progress.finish();
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("error: demo: {error}");
            demo.shutdown().await;
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
    if let Some(server) = server {
        // The jobs are done; the console stays up (and the emulators, for
        // its replay button) until the operator stops it.
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        eprintln!("Every job has its outcome; the console keeps serving until Ctrl-C.");
        super::shutdown_signal().await;
        let _ = stop.send(true);
        if let Ok(Err(error)) = server.await {
            eprintln!("error: --listen: {error}");
        }
    }
    demo.shutdown().await;
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
