//! `preflight emulate <system>`: an accounting-system emulator as a standalone
//! server, for plugin authors and operators.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::{Args, ValueEnum};
use preflight_emulators::pleo::{self, Faults, PleoConfig, PleoEmulator};
use preflight_emulators::xero::{self, Scenario as XeroScenario, XeroConfig, XeroEmulator};

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Which system to emulate.
    #[arg(value_enum)]
    system: System,
    /// Address to listen on [default: 127.0.0.1 and the system's port: pleo
    /// 4010, xero 4011].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Turn on a scenario (repeatable); see --list-scenarios.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Print the scenarios of the system and exit.
    #[arg(long)]
    list_scenarios: bool,
    /// Delay of the `slow` scenario (and of pleo's `slow` fault), in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    slow_ms: u64,
    /// pleo: export jobs to seed, from a JSON file ({"jobs": [{"companyId": …}]}).
    #[arg(long, value_name = "FILE")]
    seed: Option<std::path::PathBuf>,
    /// pleo: share of API requests that get an injected fault (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    fault_rate: f64,
    /// pleo: which faults to inject: 5xx, 429, slow, drop (repeatable;
    /// default all but slow when --fault-rate is set).
    #[arg(long = "fault", value_name = "KIND")]
    faults: Vec<String>,
}

/// An emulated system.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum System {
    /// Pleo's Export API v3.
    Pleo,
    /// Xero (accounting API and /connections).
    Xero,
}

/// Runs `preflight emulate`.
pub async fn run(args: EmulateArgs) -> u8 {
    match args.system {
        System::Pleo => pleo(args).await,
        System::Xero => xero(args).await,
    }
}

async fn pleo(args: EmulateArgs) -> u8 {
    if args.list_scenarios || !args.scenarios.is_empty() {
        eprintln!("error: the Pleo emulator has no scenarios; use --fault-rate and --fault");
        return EXIT_BAD_INPUT;
    }
    if !(0.0..=1.0).contains(&args.fault_rate) {
        eprintln!(
            "error: --fault-rate {}: must be between 0 and 1",
            args.fault_rate
        );
        return EXIT_BAD_INPUT;
    }
    let mut faults = Faults {
        rate: args.fault_rate,
        seed: 1,
        ..Faults::default()
    };
    let kinds: Vec<&str> = if args.faults.is_empty() {
        vec!["5xx", "429", "drop"]
    } else {
        args.faults.iter().map(String::as_str).collect()
    };
    for kind in kinds {
        match kind {
            "5xx" => faults.server_errors = true,
            "429" => faults.rate_limits = true,
            "drop" => faults.drops = true,
            "slow" => faults.slow = Some(std::time::Duration::from_millis(args.slow_ms)),
            other => {
                eprintln!("error: --fault {other}: expected one of 5xx, 429, slow, drop");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], pleo::DEFAULT_PORT)));
    let emulator = match PleoEmulator::start(
        PleoConfig {
            faults,
            ..PleoConfig::default()
        },
        listen,
    )
    .await
    {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            return EXIT_INTERNAL;
        }
    };
    let mut seeded = Vec::new();
    if let Some(path) = &args.seed {
        let seeded_jobs = std::fs::read_to_string(path)
            .map_err(|error| error.to_string())
            .and_then(|text| emulator.seed_from_json(&text));
        match seeded_jobs {
            Ok(jobs) => seeded = jobs,
            Err(error) => {
                eprintln!("error: {}: {error}", path.display());
                return EXIT_BAD_INPUT;
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", emulator.url())
        .and_then(|()| {
            writeln!(
                stdout,
                "organisation token: {} (Authorization: Bearer)",
                pleo::DEMO_ORG_TOKEN
            )
        })
        .and_then(|()| {
            writeln!(
                stdout,
                "API key: {} (Authorization: Basic base64(key:))",
                pleo::DEMO_API_KEY
            )
        })
        .and_then(|()| {
            seeded
                .iter()
                .try_for_each(|job| writeln!(stdout, "seeded job {job}"))
        })
        .and_then(|()| stdout.flush());
    drop(stdout);
    super::wait_for_shutdown().await;
    emulator.shutdown().await;
    EXIT_OK
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
