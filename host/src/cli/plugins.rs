//! `preflight plugins`: list the bundled plugins, or describe a component file.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `preflight plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    command: PluginsCommand,
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// List the bundled plugins (or the given files) with version, accounting
    /// system, capabilities, size and digest.
    List {
        /// Component files or bundled names to describe instead of every
        /// bundled plugin.
        #[arg(value_name = "FILE|NAME")]
        plugins: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Row {
    source: String,
    name: String,
    version: String,
    accounting_system: String,
    capabilities: Vec<String>,
    size: usize,
    sha256: String,
}

/// Runs `preflight plugins`.
pub async fn run(args: PluginsArgs) -> u8 {
    let PluginsCommand::List { plugins, json } = args.command;
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
                capabilities: plugin.info().capabilities.clone(),
                size: plugin.size(),
                sha256: plugin.digest().to_owned(),
            }),
            Err(error) => {
                eprintln!("error: {error}");
                return EXIT_BAD_INPUT;
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
        "{:<12} {:<9} {:<18} {:>9}  {:<16}  CAPABILITIES",
        "NAME", "VERSION", "ACCOUNTING SYSTEM", "SIZE", "SHA256"
    );
    for row in rows {
        println!(
            "{:<12} {:<9} {:<18} {:>7}KB  {:<16}  {}",
            row.name,
            row.version,
            row.accounting_system,
            row.size / 1024,
            &row.sha256[..16],
            row.capabilities.join(", ")
        );
    }
    EXIT_OK
}
