//! `preflight emulate <system>`: an accounting-system emulator as a standalone
//! server, for plugin authors and operators.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::{Args, ValueEnum};
use preflight_emulators::xero::{self, Scenario as XeroScenario, XeroConfig, XeroEmulator};

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Which system to emulate.
    #[arg(value_enum)]
    system: System,
    /// Address to listen on [default: 127.0.0.1 and the system's port: xero 4011].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Turn on a scenario (repeatable); see --list-scenarios.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Print the scenarios of the system and exit.
    #[arg(long)]
    list_scenarios: bool,
    /// Delay of the `slow` scenario, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    slow_ms: u64,
}

/// An emulated system.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum System {
    /// Xero (accounting API and /connections).
    Xero,
}

/// Runs `preflight emulate`.
pub async fn run(args: EmulateArgs) -> u8 {
    match args.system {
        System::Xero => xero(args).await,
    }
}

async fn xero(args: EmulateArgs) -> u8 {
    if args.list_scenarios {
        for scenario in XeroScenario::ALL {
            println!("{:<28} {}", scenario.name(), scenario.description());
        }
        return EXIT_OK;
    }
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        match name.parse::<XeroScenario>() {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => {
                eprintln!("error: --scenario {name}: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let config = XeroConfig {
        scenarios,
        slow_delay: std::time::Duration::from_millis(args.slow_ms),
        ..XeroConfig::default()
    };
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], xero::DEFAULT_PORT)));
    let emulator = match XeroEmulator::start(config.clone(), listen).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            return EXIT_INTERNAL;
        }
    };
    let active: Vec<String> = config.scenarios.iter().map(ToString::to_string).collect();
    // Whoever started the emulator may stop reading after the first line; a
    // closed stdout must not stop the server.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", emulator.url())
        .and_then(|()| writeln!(stdout, "access token: {}", config.access_token))
        .and_then(|()| {
            writeln!(
                stdout,
                "tenant id: {} ({})",
                config.tenant_id, config.organisation_name
            )
        })
        .and_then(|()| {
            writeln!(
                stdout,
                "scenarios: {}",
                if active.is_empty() {
                    "none (happy path)".to_owned()
                } else {
                    active.join(", ")
                }
            )
        })
        .and_then(|()| stdout.flush());
    drop(stdout);
    super::wait_for_shutdown().await;
    emulator.shutdown().await;
    EXIT_OK
}
