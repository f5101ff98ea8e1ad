//! `preflight serve`: the long-running runner and its operator API.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use preflight::metrics::Metrics;
use preflight::operator::OperatorConfig;
use preflight::registry::Registry;

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The operator configuration (TOML; see the README).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Pleo's API base URL, overriding `pleo.baseUrl` [default: https://external.pleo.io].
    #[arg(long, value_name = "URL")]
    pleo_url: Option<url::Url>,
    /// Address of the operator API, overriding `server.listen` [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// A plugin component to use instead of the bundled one for its
    /// accounting system (repeatable).
    #[arg(long = "plugin", value_name = "FILE")]
    plugins: Vec<PathBuf>,
}

/// Runs `preflight serve` until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> u8 {
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: {}: {error}", args.config.display());
            return EXIT_BAD_INPUT;
        }
    };
    let mut config = match OperatorConfig::from_toml(&text) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {}: {error}", args.config.display());
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(url) = args.pleo_url {
        config.pleo.base_url = url;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let options = preflight::RuntimeOptions {
        limits: config.sandbox.ceiling.clone(),
        allow_http_loopback: config.sandbox.allow_http_loopback,
        ..preflight::RuntimeOptions::default()
    };
    let runtime = match super::runtime(options) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let registry = match Registry::bundled_with(&runtime, &config.sandbox.origins).await {
        Ok(registry) => registry,
        Err(error) => {
            eprintln!("error: bundled plugins: {error}");
            return EXIT_INTERNAL;
        }
    };
    for path in &args.plugins {
        match preflight::bundled::load(
            &runtime,
            &path.to_string_lossy(),
            preflight::bundled::ManifestRule::Required,
        )
        .await
        {
            Ok(mut plugin) => {
                if let Some(allowed) = config.sandbox.origins.get(&plugin.info().accounting_system)
                {
                    plugin.restrict_origins(allowed.clone());
                }
                registry.insert(plugin);
            }
            Err(error) => {
                eprintln!("error: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let metrics = Arc::new(Metrics::default());
    let runner = match preflight::service::assemble(&config, Arc::new(registry), metrics).await {
        Ok(runner) => runner,
        Err(error) => {
            eprintln!("error: {}: {error}", args.config.display());
            return EXIT_BAD_INPUT;
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (bound, listening) = tokio::sync::oneshot::channel();
    let mut server = {
        let mut stop = stop_rx.clone();
        let runner = runner.clone();
        let listen = config.server.listen;
        tokio::spawn(async move {
            let listener = match tokio::net::TcpListener::bind(listen)
                .await
                .and_then(|l| l.local_addr().map(|a| (l, a)))
            {
                Ok((listener, address)) => {
                    let _ = bound.send(Ok(address));
                    listener
                }
                Err(error) => {
                    let _ = bound.send(Err(error));
                    return Ok(());
                }
            };
            preflight::server::serve(runner, listener, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        })
    };
    let polling = {
        let mut stop = stop_rx.clone();
        let runner = runner.clone();
        let interval = config.pleo.poll_interval;
        tokio::spawn(async move {
            runner
                .run(interval, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    tracing::info!(pleo = %config.pleo.base_url, companies = config.companies.len(), "preflight serving");
    // The bound address, first on stdout, so scripts and tests started with
    // port 0 learn where the API is.
    match listening.await {
        Ok(Ok(address)) => {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "listening on http://{address}").and_then(|()| stdout.flush());
        }
        Ok(Err(error)) => {
            eprintln!("error: operator API on {}: {error}", config.server.listen);
            let _ = stop_tx.send(true);
            let _ = polling.await;
            return EXIT_INTERNAL;
        }
        Err(_) => {}
    }
    tokio::select! {
        () = super::wait_for_shutdown() => {}
        result = &mut server => {
            match result {
                Ok(Err(error)) => eprintln!("error: operator API on {}: {error}", config.server.listen),
                Ok(Ok(())) => {}
                Err(error) => eprintln!("error: operator API task: {error}"),
            }
            let _ = stop_tx.send(true);
            let _ = polling.await;
            return EXIT_INTERNAL;
        }
    }
    tracing::info!("shutting down: finishing the jobs in flight");
    let _ = stop_tx.send(true);
    let _ = polling.await;
    EXIT_OK
}
