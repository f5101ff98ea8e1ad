//! `preflight plugins`: list plugins (bundled, files, an operator
//! configuration's registry, or a running server's), reload and roll back a
//! running server's registry, make and check signatures, and package, push
//! and pull OCI artifacts (`distribute`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use preflight::input::{self, Input};
use preflight::registry::{Change, VersionView};
use preflight::signature::{self, PublicKey, SecretKey};
use serde::Serialize;

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    command: PluginsCommand,
}

/// Where a registry is read from.
#[derive(Debug, Args)]
pub(super) struct Target {
    /// Ask a running `preflight serve` at this URL (its operator API).
    #[arg(long, value_name = "URL")]
    pub(super) server: Option<url::Url>,
    /// Environment variable holding the operator token for --server.
    #[arg(long, value_name = "NAME", default_value = "PREFLIGHT_OPERATOR_TOKEN")]
    pub(super) token_env: String,
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// List plugins: the bundled ones (or the given files) with version,
    /// accounting system, capabilities, size and digest; with --config or
    /// --server, every version of a registry with its state (active,
    /// previous, standby, rolled-back, failed and why).
    List {
        /// Component files or bundled names to describe instead of every
        /// bundled plugin.
        #[arg(value_name = "FILE|NAME", conflicts_with_all = ["config", "server"])]
        plugins: Vec<String>,
        /// Load the registry an operator configuration describes
        /// (`[plugins]`: directory, signatures, cache), as `serve` would.
        #[arg(long, value_name = "FILE", conflicts_with = "server")]
        config: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make a running server read its plugin directory again; prints what
    /// each changed version came to. Exit 1 if any was refused.
    Reload {
        #[command(flatten)]
        target: Target,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Return a running server's accounting system to the version that was
    /// active before the current one.
    Rollback {
        /// The accounting system, e.g. `xero`.
        system: String,
        #[command(flatten)]
        target: Target,
    },
    /// Generate an ed25519 signing key; prints the public key to trust
    /// (`plugins.trustedKeys`).
    Keygen {
        /// Where to write the secret key (created; never overwritten).
        #[arg(long, value_name = "FILE")]
        secret_key: PathBuf,
    },
    /// Sign a component and its manifest (`<stem>.toml` beside it); writes
    /// `<stem>.sig` beside them.
    Sign {
        /// The secret key file from `plugins keygen`.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The component.
        #[arg(value_name = "COMPONENT")]
        component: PathBuf,
    },
    /// Put a loaded version of a running server's accounting system in
    /// shadow: it runs offline beside the active one on every live
    /// validation's recorded exchanges, never acted on (when it is the
    /// active one, the version before it serves again).
    Shadow(super::rollout::ShadowArgs),
    /// Sum up how the version in shadow compares with the live one: jobs
    /// compared, same verdict, would now fail (by reason), would now pass,
    /// rules added, removed and changed, requests not on the tape, and the
    /// jobs that differ.
    ShadowDiff(super::rollout::ShadowDiffArgs),
    /// Let a loaded version serve a share of a running server's companies
    /// (a stable hash of the company id), the active one the rest; run
    /// again to move the share, `rollback` to end it.
    Canary(super::rollout::CanaryArgs),
    /// Make the version in shadow (or the canary) active (a hot swap).
    Promote(super::rollout::SystemArgs),
    /// Take the version in shadow out of it; the active one stays.
    Discard(super::rollout::SystemArgs),
    /// Put a component, its manifest and its signature in one OCI artifact
    /// (an OCI image layout directory), signing it with --key.
    Package(super::distribute::PackageArgs),
    /// Push an artifact `plugins package` wrote to an OCI registry
    /// (`oci://REGISTRY/REPOSITORY:TAG`); prints its digest. Exit 1 if the
    /// registry refused it.
    Push(super::distribute::PushArgs),
    /// Pull an artifact from an OCI registry, check its signature against
    /// the trusted keys, and install it in a plugin directory. Exit 1 if the
    /// registry failed or the signature does not verify.
    Pull(super::distribute::PullArgs),
    /// Check a component's signature (`<stem>.sig`) over it and its manifest
    /// against trusted keys. Exit 0 if it verifies, 1 if it does not.
    Verify {
        /// A trusted public key, `ed25519:…` (repeatable).
        #[arg(long = "trusted-key", value_name = "KEY", required = true)]
        trusted: Vec<String>,
        /// The component.
        #[arg(value_name = "COMPONENT")]
        component: PathBuf,
    },
}

#[derive(Serialize)]
struct Row {
    source: String,
    name: String,
    version: String,
    accounting_system: String,
    display_name: Option<String>,
    contract: String,
    capabilities: Vec<String>,
    size: usize,
    sha256: String,
}

/// Runs `preflight plugins`.
pub async fn run(args: PluginsArgs) -> u8 {
    match args.command {
        PluginsCommand::List {
            plugins,
            config: Some(config),
            json,
            ..
        } => {
            debug_assert!(plugins.is_empty());
            list_configured(&config, json).await
        }
        PluginsCommand::List {
            target:
                Target {
                    server: Some(server),
                    token_env,
                },
            json,
            ..
        } => match api::<Vec<VersionView>>(&server, &token_env, "GET", "v1/plugins", None).await {
            Ok(versions) => print_versions(&versions, json),
            Err(code) => code,
        },
        PluginsCommand::List { plugins, json, .. } => list_components(plugins, json).await,
        PluginsCommand::Reload { target, json } => {
            let Some(server) = target.server else {
                eprintln!("error: reload needs --server URL (the running preflight serve)");
                return EXIT_BAD_INPUT;
            };
            match api::<Vec<Change>>(
                &server,
                &target.token_env,
                "POST",
                "v1/plugins/reload",
                None,
            )
            .await
            {
                Ok(changes) => print_changes(&changes, json),
                Err(code) => code,
            }
        }
        PluginsCommand::Rollback { system, target } => {
            let Some(server) = target.server else {
                eprintln!("error: rollback needs --server URL (the running preflight serve)");
                return EXIT_BAD_INPUT;
            };
            let path = format!("v1/plugins/{system}/rollback");
            match api::<VersionView>(&server, &target.token_env, "POST", &path, None).await {
                Ok(view) => {
                    println!(
                        "{}: {} is active again ({})",
                        view.accounting_system, view.version, view.source
                    );
                    EXIT_OK
                }
                Err(code) => code,
            }
        }
        PluginsCommand::Keygen { secret_key } => keygen(&secret_key),
        PluginsCommand::Sign { key, component } => sign(&key, &component),
        PluginsCommand::Verify { trusted, component } => verify(&trusted, &component),
        PluginsCommand::Shadow(args) => super::rollout::shadow(&args).await,
        PluginsCommand::ShadowDiff(args) => super::rollout::shadow_diff(&args).await,
        PluginsCommand::Canary(args) => super::rollout::canary(&args).await,
        PluginsCommand::Promote(args) => super::rollout::end(&args, "promote").await,
        PluginsCommand::Discard(args) => super::rollout::end(&args, "discard").await,
        PluginsCommand::Package(args) => super::distribute::package(&args),
        PluginsCommand::Push(args) => super::distribute::push(&args).await,
        PluginsCommand::Pull(args) => super::distribute::pull(&args).await,
    }
}

/// The registry an operator configuration describes.
async fn list_configured(path: &Path, json: bool) -> u8 {
    let config = match super::serve::read_config(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match super::runtime(super::serve::runtime_options(&config)) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let metrics = std::sync::Arc::new(preflight::metrics::Metrics::default());
    match super::serve::start_registry(path, &config, runtime, metrics).await {
        Ok(registry) => print_versions(&registry.list(), json),
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_BAD_INPUT
        }
    }
}

/// Bundled plugins or component files, loaded one by one.
async fn list_components(plugins: Vec<String>, json: bool) -> u8 {
    let options = preflight::RuntimeOptions {
        max_instances: 4,
        ..preflight::RuntimeOptions::default()
    };
    let runtime = match super::runtime(options) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let names: Vec<String> = if plugins.is_empty() {
        preflight::bundled::all()
            .iter()
            .map(|artifact| artifact.name.to_owned())
            .collect()
    } else {
        plugins
    };
    let mut rows = Vec::new();
    for name in names {
        match preflight::bundled::load(&runtime, &name, preflight::bundled::ManifestRule::Optional)
            .await
        {
            Ok(plugin) => rows.push(Row {
                source: name,
                name: plugin.info().name.clone(),
                version: plugin.info().version.clone(),
                accounting_system: plugin.info().accounting_system.clone(),
                display_name: plugin.info().display_name.clone(),
                contract: plugin.info().contract.clone(),
                capabilities: plugin.info().capabilities.clone(),
                size: plugin.size(),
                sha256: plugin.digest().to_owned(),
            }),
            Err(error) => {
                eprintln!("error: {error}");
                return super::load_exit(&error);
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("rows serialise")
        );
        return EXIT_OK;
    }
    println!(
        "{:<12} {:<9} {:<18} {:<8} {:>9}  {:<16}  CAPABILITIES",
        "NAME", "VERSION", "ACCOUNTING SYSTEM", "CONTRACT", "SIZE", "SHA256"
    );
    for row in rows {
        println!(
            "{:<12} {:<9} {:<18} {:<8} {:>7}KB  {:<16}  {}",
            row.name,
            row.version,
            row.accounting_system,
            row.contract,
            row.size / 1024,
            &row.sha256[..16],
            row.capabilities.join(", ")
        );
    }
    EXIT_OK
}

fn print_versions(versions: &[VersionView], json: bool) -> u8 {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(versions).expect("versions serialise")
        );
        return EXIT_OK;
    }
    println!(
        "{:<18} {:<12} {:<12} {:<8} {:<16} {:<18} {:>8}  {:<8}  SOURCE",
        "ACCOUNTING SYSTEM", "VERSION", "STATE", "CONTRACT", "SHA256", "SIGNED BY", "LOAD", "CACHE"
    );
    for view in versions {
        println!(
            "{:<18} {:<12} {:<12} {:<8} {:<16} {:<18} {:>6.1}ms  {:<8}  {}",
            view.accounting_system,
            view.version,
            view.state.as_str(),
            view.contract.as_deref().unwrap_or("-"),
            view.sha256.as_deref().map_or("-", |digest| &digest[..16]),
            view.signed_by.as_deref().unwrap_or("-"),
            view.load_ms,
            view.cache.as_deref().unwrap_or("-"),
            view.source,
        );
        if let Some(error) = &view.error {
            println!("{:<18} error: {error}", "");
        }
    }
    EXIT_OK
}

fn print_changes(changes: &[Change], json: bool) -> u8 {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(changes).expect("changes serialise")
        );
    } else if changes.is_empty() {
        println!("nothing changed");
    } else {
        for change in changes {
            print!(
                "{} {}: {} ({})",
                change.accounting_system, change.version, change.result, change.source
            );
            match &change.error {
                Some(error) => println!(": {error}"),
                None => println!(),
            }
        }
    }
    if changes.iter().any(|change| change.error.is_some()) {
        EXIT_FAIL
    } else {
        EXIT_OK
    }
}

/// Calls the operator API; errors are printed and turned into exit codes.
pub(super) async fn api<T: serde::de::DeserializeOwned>(
    server: &url::Url,
    token_env: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<T, u8> {
    let url = server.join(path).map_err(|error| {
        eprintln!("error: --server {server}: {error}");
        EXIT_BAD_INPUT
    })?;
    let client = reqwest::Client::new();
    let mut request = match method {
        "POST" => client.post(url.clone()),
        _ => client.get(url.clone()),
    };
    if let Ok(token) = std::env::var(token_env) {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|error| {
        eprintln!("error: {url}: {error}");
        EXIT_INTERNAL
    })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|value| value["error"].as_str().map(str::to_owned))
            .unwrap_or(body);
        eprintln!("error: {method} {url}: {status}: {message}");
        return Err(EXIT_BAD_INPUT);
    }
    serde_json::from_str(&body).map_err(|error| {
        eprintln!("error: {method} {url}: unexpected answer: {error}");
        EXIT_INTERNAL
    })
}

fn keygen(path: &Path) -> u8 {
    let key = match SecretKey::generate() {
        Ok(key) => key,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_INTERNAL;
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(path).and_then(|mut file| {
        std::io::Write::write_all(&mut file, format!("{}\n", key.to_text()).as_bytes())
    });
    if let Err(error) = written {
        eprintln!("error: {}: {error}", path.display());
        return EXIT_BAD_INPUT;
    }
    println!("{}", key.public_key());
    eprintln!(
        "secret key written to {}; trust the public key above with plugins.trustedKeys",
        path.display()
    );
    EXIT_OK
}

/// The component and its manifest, read for signing or checking.
fn read_signed_parts(component: &Path) -> Result<(Vec<u8>, Vec<u8>), u8> {
    let read = |path: &Path, input| {
        input::read(path, input).map_err(|error| {
            eprintln!("error: {}: {error}", path.display());
            EXIT_BAD_INPUT
        })
    };
    Ok((
        read(component, Input::Component)?,
        read(&component.with_extension("toml"), Input::Manifest)?,
    ))
}

fn sign(key: &Path, component: &Path) -> u8 {
    let key = match input::read_text(key, Input::Key)
        .map_err(|error| error.to_string())
        .and_then(|text| SecretKey::parse(&text).map_err(|error| error.to_string()))
    {
        Ok(key) => key,
        Err(error) => {
            eprintln!("error: {}: {error}", key.display());
            return EXIT_BAD_INPUT;
        }
    };
    let (bytes, manifest) = match read_signed_parts(component) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let signature = signature::sign(&key, &bytes, &manifest);
    let path = component.with_extension("sig");
    if let Err(error) = std::fs::write(&path, format!("{signature}\n")) {
        eprintln!("error: {}: {error}", path.display());
        return EXIT_BAD_INPUT;
    }
    println!(
        "{}: signed by key {}",
        path.display(),
        key.public_key().id()
    );
    EXIT_OK
}

fn verify(trusted: &[String], component: &Path) -> u8 {
    let mut keys = Vec::new();
    for text in trusted {
        match text.parse::<PublicKey>() {
            Ok(key) => keys.push(key),
            Err(error) => {
                eprintln!("error: --trusted-key {text}: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let (bytes, manifest) = match read_signed_parts(component) {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let path = component.with_extension("sig");
    let text = match input::read_text(&path, Input::Signature) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: {}: {error}", path.display());
            return EXIT_FAIL;
        }
    };
    let outcome = text
        .parse()
        .and_then(|signature| signature::verify(&keys, &bytes, &manifest, &signature));
    match outcome {
        Ok(key) => {
            println!(
                "{}: verified, signed by key {}",
                component.display(),
                key.id()
            );
            EXIT_OK
        }
        Err(error) => {
            eprintln!("error: {}: {error}", component.display());
            EXIT_FAIL
        }
    }
}
