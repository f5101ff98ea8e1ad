//! Arguments, exit codes and dispatch of the `preflight` command line.

mod bench;
mod check;
mod companies;
mod demo;
mod distribute;
mod emulate;
mod new;
mod outcomes;
mod plugins;
mod replay;
mod rollout;
mod secrets;
mod serve;
mod test;
mod wit;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The job may proceed (`check`), or the command succeeded.
pub const EXIT_OK: u8 = 0;
/// The job must fail (`check`); the demo's outcomes differ from the expected ones (`demo`);
/// a signature does not verify (`plugins verify`); a reloaded version was refused (`plugins reload`);
/// the replayed verdict differs from the recorded one (`replay`); a cassette's verdict or checks
/// differ from its expectation (`test`); the stored version is not the one named (`companies`).
pub const EXIT_FAIL: u8 = 1;
/// The inputs are bad: a file, a flag, a configuration, or a plugin that cannot be loaded.
pub const EXIT_BAD_INPUT: u8 = 2;
/// The plugin faulted (trap, limit, broken contract) while describing itself,
/// checking settings or validating.
pub const EXIT_PLUGIN_FAULT: u8 = 3;
/// preflight itself failed (could not bind a port, start the runtime, …).
pub const EXIT_INTERNAL: u8 = 4;

/// The exit code of a plugin that did not load: a fault of its own code in
/// `info` is [`EXIT_PLUGIN_FAULT`], like one in `validate-settings` or
/// `validate`; a file or component that cannot be used is [`EXIT_BAD_INPUT`].
fn load_exit(error: &preflight::bundled::PluginSourceError) -> u8 {
    if error.is_plugin_fault() {
        EXIT_PLUGIN_FAULT
    } else {
        EXIT_BAD_INPUT
    }
}

/// The plugin a command runs: `--plugin`, and `--manifest` for a file.
#[derive(Debug, Args)]
pub struct PluginChoice {
    /// The plugin: a component file (`.wasm`, with `<file>.toml` beside it
    /// as its manifest when there is one) or the name of a bundled plugin
    /// (see `preflight plugins list`).
    #[arg(long, value_name = "FILE|NAME")]
    pub plugin: String,
    /// The component file's manifest, when it is not beside it (a plugin
    /// project's `preflight-plugin.toml`); it must exist.
    #[arg(long, value_name = "FILE", requires = "plugin")]
    pub manifest: Option<std::path::PathBuf>,
}

/// Loads the plugin named on the command line (a component file or a
/// bundled plugin's name), its manifest optional unless named; an error is
/// printed and mapped to its exit code ([`load_exit`]).
async fn load_plugin(
    runtime: &preflight::Runtime,
    choice: &PluginChoice,
) -> Result<preflight::Plugin, u8> {
    let loaded = match &choice.manifest {
        Some(manifest) => {
            preflight::bundled::load_with_manifest(
                runtime,
                std::path::Path::new(&choice.plugin),
                manifest,
            )
            .await
        }
        None => {
            preflight::bundled::load(
                runtime,
                &choice.plugin,
                preflight::bundled::ManifestRule::Optional,
            )
            .await
        }
    };
    loaded.map_err(|error| {
        eprintln!("error: {error}");
        load_exit(&error)
    })
}

/// Whether `dir` may be written into: absent, or an empty directory.
pub(crate) fn empty_or_absent(dir: &std::path::Path) -> Result<(), String> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err("exists and is not empty".to_owned()),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success; for `check`: the job may proceed
  1  for `check`: the job must fail early; for `demo`: an outcome differed from the expected one;
     for `plugins verify`: the signature does not verify; for `plugins reload`: a version was refused;
     for `replay`: the replayed verdict differs from the recorded one;
     for `test`: a cassette's verdict or checks differ from what it expects;
     for `companies`: the stored version is not the one named (--if-version)
  2  bad input: a file, flag, configuration or plugin that cannot be used (the message names it)
  3  the plugin faulted (trap, limit, broken contract) while describing itself, checking
     settings or validating (the message names the plugin once)
  4  preflight itself failed (port in use, runtime error)";

/// Pre-export validation for Pleo export jobs, with per-accounting-system
/// rules as sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Logging flags shared by every subcommand.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter in `tracing` syntax (e.g. `info`, `preflight=debug`);
    /// defaults to $RUST_LOG, else `warn` (`error` for `demo`).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log line format, written to stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the bundled plugins against emulated accounting systems, one
    /// company per scenario, and print every outcome.
    Demo(demo::DemoArgs),
    /// Validate one job with one plugin and print the report: the plugin
    /// author's harness.
    Check(check::CheckArgs),
    /// Run an accounting-system emulator as a standalone server.
    Emulate(emulate::EmulateArgs),
    /// Run the pre-export validation step against Pleo: detect, claim,
    /// validate, fail early or hand over; with an operator HTTP API.
    Serve(serve::ServeArgs),
    /// List plugins and their versions; reload, roll back, sign and verify.
    Plugins(plugins::PluginsArgs),
    /// Run the benchmarks and print figures with their spread.
    Bench(bench::BenchArgs),
    /// The decision log: list validations (filter by company, job, plugin,
    /// reason, time), show one job in full, prune old entries.
    Outcomes(outcomes::OutcomesArgs),
    /// Run a recorded validation again, offline, against its recorded HTTP
    /// exchanges, with the same or another plugin version; show the
    /// difference in verdicts.
    Replay(replay::ReplayArgs),
    /// Companies' integration configurations, managed at runtime against a
    /// server (--server) or a store (--config, --store): list, show, set,
    /// remove, import, export. No output holds a secret value.
    Companies(companies::CompaniesArgs),
    /// The key that seals credentials at rest: keygen, rotate-key.
    Secrets(secrets::SecretsArgs),
    /// Run cassettes (`check --record` writes them) offline against a
    /// plugin and compare each verdict and check with the cassette's.
    Test(test::TestArgs),
    /// Print the WIT of the plugin contract this binary runs (the latest
    /// version, or --contract VERSION), for plugin authors and their
    /// toolchains.
    Wit(wit::WitArgs),
    /// Create a plugin project (outside this repository) that builds, tests
    /// and passes its cassettes as it is: rules, manifest, settings schema,
    /// cassettes, native tests, the SDK and a README.
    New(new::NewArgs),
    /// The SDK this binary speaks: `sdk unpack DIR` writes it as a crate.
    Sdk(new::SdkArgs),
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Emulate(args) => emulate::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Plugins(args) => plugins::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Outcomes(args) => outcomes::run(args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Companies(args) => companies::run(args).await,
        Command::Secrets(args) => secrets::run(args).await,
        Command::Test(args) => test::run(args).await,
        Command::Wit(args) => wit::run(&args),
        Command::New(args) => new::run_new(&args),
        Command::Sdk(args) => new::run_sdk(&args),
    };
    ExitCode::from(code)
}

impl Cli {
    /// The log filter when neither `--log-level` nor `RUST_LOG` sets one: the
    /// demo's expected failures would otherwise log warnings over its table.
    pub fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Demo(_) => "error",
            _ => "warn",
        }
    }
}

/// Installs the tracing subscriber on stderr.
pub fn init_tracing(args: &LogArgs, default_level: &str) {
    let filter = args
        .log_level
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| default_level.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|error| {
        eprintln!("warning: ignoring log filter '{filter}': {error}");
        tracing_subscriber::EnvFilter::new("warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Starts the plugin runtime, or explains why it could not start.
fn runtime(options: preflight::RuntimeOptions) -> Result<preflight::Runtime, u8> {
    preflight::Runtime::new(options).map_err(|error| {
        eprintln!("error: {error}");
        EXIT_INTERNAL
    })
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown() {
    shutdown_signal().await;
}

/// Ctrl-C or SIGTERM, with the handlers installed now (not at the first
/// poll), so a signal arriving before the caller waits is not lost to the
/// default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
