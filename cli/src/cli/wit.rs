//! `preflight wit`: the contract's WIT, as this binary runs it.

use clap::Args;
use preflight_runtime::bindings::{ContractVersion, LATEST};

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Arguments of `preflight wit`.
#[derive(Debug, Args)]
pub struct WitArgs {
    /// The contract version to print (each one this host runs: 0.1.0,
    /// 0.2.0); the latest when absent.
    #[arg(long, value_name = "VERSION")]
    contract: Option<String>,
}

/// Prints the WIT of the chosen contract version to stdout.
pub fn run(args: &WitArgs) -> u8 {
    let version = match args.contract.as_deref() {
        None => LATEST,
        Some(text) => match ContractVersion::ALL
            .into_iter()
            .find(|version| version.as_str() == text)
        {
            Some(version) => version,
            None => {
                eprintln!(
                    "error: --contract {text}: this host runs preflight:plugin versions {}",
                    ContractVersion::supported()
                );
                return EXIT_BAD_INPUT;
            }
        },
    };
    print!("{}", version.wit());
    EXIT_OK
}
