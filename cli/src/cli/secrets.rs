//! `preflight secrets`: the key that seals companies' credentials in the
//! store. `keygen` writes a new key file (mode 0600); `rotate-key` re-seals
//! every stored secret under the current key while replicas keep running.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use preflight::companies::Companies;
use preflight::metrics::Metrics;

use super::companies::KeyArgs;
use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight secrets`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Write a new secrets key to FILE (created, mode 0600; never
    /// overwritten) and print its id.
    Keygen {
        /// Where to write the key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Re-seal every stored secret under the current key. Run it after every
    /// replica was restarted with the new key as `secrets.keyFile` and the
    /// old one in `secrets.previousKeyFiles`; then drop the old key.
    RotateKey {
        /// The operator configuration whose store and keys to use.
        #[arg(long, value_name = "FILE", conflicts_with = "store")]
        config: Option<PathBuf>,
        /// The store's URL (with --secrets-key-file NEW --previous-key-file OLD).
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// Runs `preflight secrets`.
pub async fn run(args: SecretsArgs) -> u8 {
    match args.command {
        SecretsCommand::Keygen { out } => match preflight_store::secrets::Key::create_file(&out) {
            Ok(key) => {
                println!(
                    "wrote secrets key {} to {} (mode 0600)",
                    key.id(),
                    out.display()
                );
                EXIT_OK
            }
            Err(error) => {
                eprintln!("error: {error}");
                EXIT_BAD_INPUT
            }
        },
        SecretsCommand::RotateKey { config, store, key } => {
            let (store, secrets) =
                match super::companies::open_store(config.as_deref(), store.as_deref(), &key).await
                {
                    Ok(opened) => opened,
                    Err(code) => return code,
                };
            let sealer = match secrets.sealer() {
                Ok(sealer) => sealer,
                Err(error) => {
                    eprintln!("error: secrets key: {error}");
                    return EXIT_BAD_INPUT;
                }
            };
            let current = sealer.current_key().to_owned();
            let companies = Companies::new(store, Arc::new(sealer), Arc::new(Metrics::default()));
            match companies.reseal().await {
                Ok((configurations, tokens)) => {
                    println!(
                        "re-sealed {configurations} configuration(s) and {tokens} token set(s) under key {current}"
                    );
                    EXIT_OK
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    EXIT_INTERNAL
                }
            }
        }
    }
}
