//! `preflight serve`: the long-running runner and its operator API.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use preflight::metrics::Metrics;
use preflight::operator::OperatorConfig;
use preflight::registry::{Registry, RegistryError, RegistryOptions, StartError};
use preflight::signature::SignaturePolicy;
use preflight_runtime::cache::CompiledCache;

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
    // Installed first: a SIGTERM during start-up is a clean stop too.
    let shutdown = super::shutdown_signal();
    let mut config = match read_config(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Some(url) = args.pleo_url {
        if let Err(error) = preflight::operator::transport("--pleo-url", &url) {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
        config.pleo.base_url = url;
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let runtime = match super::runtime(runtime_options(&config)) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let metrics = Arc::new(Metrics::default());
    // Sources followed in OCI registries are pulled before the directory is
    // first read, so start-up loads them; a registry that cannot be reached
    // leaves what the directory holds, and is tried again at each interval.
    let follower =
        preflight::oci::Follower::new(&config.plugins, Arc::clone(&metrics)).map(Arc::new);
    if let Some(follower) = &follower {
        for synced in follower.sync().await {
            if let preflight::oci::Synced::Failed { source, error } = synced {
                eprintln!("warning: plugins.sources: {source}: {error}");
            }
        }
    }
    let registry = match start_registry(&args.config, &config, runtime, Arc::clone(&metrics)).await
    {
        Ok(registry) => registry,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    for path in &args.plugins {
        let change = registry.load_file(path).await;
        if let Some(error) = change.error {
            eprintln!("error: --plugin {}: {error}", path.display());
            return EXIT_BAD_INPUT;
        }
    }
    let _watch = if config.plugins.watch {
        match registry.watch() {
            Some(Ok(watch)) => Some(watch),
            Some(Err(error)) => {
                eprintln!("error: watching the plugin directory: {error}");
                return EXIT_INTERNAL;
            }
            None => None,
        }
    } else {
        None
    };
    let runner = match preflight::service::assemble(&config, registry, metrics).await {
        Ok(runner) => runner,
        Err(error) => {
            eprintln!("error: {}: {error}", args.config.display());
            return EXIT_BAD_INPUT;
        }
    };
    // Two stops: the runner's first (detection ends, `/readyz` turns 503,
    // the jobs in flight get the grace period), then the API's, once the
    // runner is done, so load balancers see the 503 while it drains.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (api_stop_tx, api_stop_rx) = tokio::sync::watch::channel(false);
    let (bound, listening) = tokio::sync::oneshot::channel();
    let mut server = {
        let mut stop = api_stop_rx;
        let runner = runner.clone();
        let listen = config.server.listen;
        let token = config.server.token.clone();
        let webhooks = config.webhooks.clone();
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
            preflight::server::serve(runner, token, webhooks, listener, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        })
    };
    let polling = {
        let mut stop = stop_rx.clone();
        let runner = runner.clone();
        tokio::spawn(async move {
            runner
                .run(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    let pruning = config.decision_log.retention.map(|retention| {
        let mut stop = stop_rx.clone();
        let store = runner.store().clone();
        tokio::spawn(async move {
            loop {
                match store.prune(std::time::SystemTime::now() - retention).await {
                    Ok(pruned) => tracing::info!(?pruned, "pruned the decision log"),
                    Err(error) => tracing::error!(%error, "pruning the decision log failed"),
                }
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    () = tokio::time::sleep(PRUNE_EVERY) => {}
                }
            }
        })
    });
    let following = follower.map(|follower| {
        let mut stop = stop_rx.clone();
        let registry = Arc::clone(runner.registry());
        let interval = config.plugins.pull_interval;
        tokio::spawn(async move {
            follower
                .run(registry, interval, async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        })
    });
    tracing::info!(pleo = %config.pleo.base_url, companies = config.companies.len(), store = runner.store().location(), "preflight serving");
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
        () = shutdown => {}
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
    tracing::info!(grace = ?config.runner.shutdown_grace, "shutting down: detection stopped; finishing the jobs in flight");
    let _ = stop_tx.send(true);
    let _ = polling.await;
    let _ = api_stop_tx.send(true);
    let _ = server.await;
    if let Some(pruning) = pruning {
        let _ = pruning.await;
    }
    if let Some(following) = following {
        let _ = following.await;
    }
    EXIT_OK
}

/// How often the decision log is pruned of entries past their retention.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Reads and checks the operator configuration; errors are printed.
pub(super) fn read_config(path: &std::path::Path) -> Result<OperatorConfig, u8> {
    let text = preflight::input::read_text(path, preflight::input::Input::OperatorFile).map_err(
        |error| {
            eprintln!("error: {}: {error}", path.display());
            EXIT_BAD_INPUT
        },
    )?;
    OperatorConfig::from_toml(&text).map_err(|error| {
        eprintln!("error: {}: {error}", path.display());
        EXIT_BAD_INPUT
    })
}

/// The runtime the operator's `[sandbox]` asks for.
pub(super) fn runtime_options(config: &OperatorConfig) -> preflight::RuntimeOptions {
    preflight::RuntimeOptions {
        limits: config.sandbox.ceiling.clone(),
        allow_http_loopback: config.sandbox.allow_http_loopback,
        record_body_bytes: config.decision_log.body_bytes,
        allowed_addresses: config.sandbox.allowed_addresses.clone(),
        ..preflight::RuntimeOptions::default()
    }
}

/// The registry the operator configured in the file at `path`: bundled
/// plugins, the plugin directory with its signature policy, the compiled
/// cache. Errors that come of the file name it and the key: the directories,
/// and a company's settings that a bundled plugin's smoke test refuses.
pub(super) async fn start_registry(
    path: &std::path::Path,
    config: &OperatorConfig,
    runtime: preflight::Runtime,
    metrics: Arc<Metrics>,
) -> Result<Arc<Registry>, String> {
    let file = path.display();
    let cache = match &config.plugins.cache_dir {
        Some(dir) => Some(Arc::new(CompiledCache::open(dir).map_err(|error| {
            format!("{file}: plugins.cacheDir: {}: {error}", dir.display())
        })?)),
        None => None,
    };
    let options = RegistryOptions {
        dir: config.plugins.dir.clone(),
        bundled: config.plugins.bundled,
        signatures: SignaturePolicy {
            trusted: config.plugins.trusted_keys.clone(),
            allow_unsigned: config.plugins.allow_unsigned,
        },
        cache,
        origins: config.sandbox.origins.clone(),
        companies: config.settings_by_system(),
        settle: config.plugins.settle,
    };
    Registry::start(runtime, options, metrics)
        .await
        .map_err(|error| match error {
            StartError::Directory { path, error } => {
                format!("{file}: plugins.dir: {path}: {error}")
            }
            StartError::Bundled { name, error } => match *error {
                RegistryError::RefusesSettings {
                    company,
                    field,
                    message,
                } => format!(
                    "{file}: {}: settings{}: {} (bundled plugin {name} refuses them)",
                    config.company_entry(company),
                    field.map_or_else(String::new, |field| format!(".{field}")),
                    message.unwrap_or_else(|| "refused".to_owned()),
                ),
                RegistryError::SmokeFault { company, error } => format!(
                    "{file}: {}: bundled plugin {name} faulted checking its settings: {error}",
                    config.company_entry(company),
                ),
                error => format!("bundled plugin {name}: {error}"),
            },
        })
}
