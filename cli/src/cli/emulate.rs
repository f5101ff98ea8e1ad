//! `preflight emulate <system>`: an emulator as a standalone server, for plugin
//! authors and operators.

use std::fmt::Display;
use std::io::Write as _;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, ValueEnum};
use preflight_emulators::business_central::{self, BusinessCentralConfig, BusinessCentralEmulator};
use preflight_emulators::fortnox::{self, FortnoxConfig, FortnoxEmulator};
use preflight_emulators::pleo::{
    self, FaultScope, Faults, PleoConfig, PleoEmulator, WebhookTarget,
};
use preflight_emulators::quickbooks::{self, QuickBooksConfig, QuickBooksEmulator};
use preflight_emulators::xero::{self, XeroConfig, XeroEmulator};

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK};

/// Arguments of `preflight emulate`.
#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Which system to emulate.
    #[arg(value_enum)]
    system: System,
    /// Address to listen on [default: 127.0.0.1 and the system's port: pleo
    /// 4010, xero 4011, quickbooks 4012, fortnox 4013, business-central 4014].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Turn on a scenario (repeatable); see --list-scenarios.
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Print the scenarios of the system and exit.
    #[arg(long)]
    list_scenarios: bool,
    /// Delay of the `slow` scenario (and of pleo's `slow` and `held-answer`
    /// faults), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    slow_ms: u64,
    /// pleo: export jobs to seed, from a JSON file ({"jobs": [{"companyId": …}]}).
    #[arg(long, value_name = "FILE")]
    seed: Option<std::path::PathBuf>,
    /// pleo: share of API requests that get an injected fault (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    fault_rate: f64,
    /// pleo: which faults to inject: 5xx, 429, slow, drop (repeatable;
    /// default all but slow when --fault-rate is set), and lost-answer or
    /// held-answer, which let the request be processed, then close the
    /// connection instead of answering, or answer after --slow-ms (never by
    /// default).
    #[arg(long = "fault", value_name = "KIND")]
    faults: Vec<String>,
    /// pleo: which API requests faults may hit.
    #[arg(long, value_enum, value_name = "SCOPE", default_value_t = FaultScopeArg::All)]
    fault_scope: FaultScopeArg,
    /// pleo: POST Pleo's `v1.export-job.created` webhook of every new job
    /// (seeded or created through the API) to URL, Standard Webhooks style
    /// (webhook-id, webhook-timestamp, webhook-signature headers), up to 3
    /// attempts; needs --webhook-secret.
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// pleo: the Standard Webhooks secret webhooks are signed with: `whsec_`
    /// and the base64 of the HMAC key [default: $PREFLIGHT_WEBHOOK_SECRET,
    /// which keeps it out of the process list].
    #[arg(long, value_name = "SECRET")]
    webhook_secret: Option<String>,
}

/// The requests `--fault-scope` lets faults hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FaultScopeArg {
    /// Every API request.
    All,
    /// GET /v3/export-jobs.
    Listings,
    /// GET /v3/export-jobs/{jobId}, not its items.
    Lookups,
    /// POST /v3/export-job-events.
    Events,
}

impl From<FaultScopeArg> for FaultScope {
    fn from(scope: FaultScopeArg) -> Self {
        match scope {
            FaultScopeArg::All => FaultScope::All,
            FaultScopeArg::Listings => FaultScope::Listings,
            FaultScopeArg::Lookups => FaultScope::Lookups,
            FaultScopeArg::Events => FaultScope::Events,
        }
    }
}

/// The environment variable `--webhook-secret` defaults to.
const WEBHOOK_SECRET_ENV: &str = "PREFLIGHT_WEBHOOK_SECRET";

/// An emulated system.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum System {
    /// Pleo's Export API v3.
    Pleo,
    /// Xero (accounting API and /connections).
    Xero,
    /// QuickBooks Online (/v3/company/{realmId}/…).
    Quickbooks,
    /// Fortnox (/3/…).
    Fortnox,
    /// Microsoft Dynamics 365 Business Central (/v2.0/{tenant}/{environment}/api/v2.0/…).
    BusinessCentral,
}

/// A started accounting-system emulator: kept alive until shutdown, and what
/// to tell the user about it.
struct Started {
    server: Box<dyn std::any::Any + Send>,
    url: String,
    details: Vec<String>,
}

/// Runs `preflight emulate`.
pub async fn run(args: EmulateArgs) -> u8 {
    let slow = Duration::from_millis(args.slow_ms);
    match args.system {
        System::Pleo => pleo(args).await,
        System::Xero => {
            accounting(
                &args,
                xero::Scenario::ALL,
                xero::Scenario::description,
                xero::DEFAULT_PORT,
                async |scenarios, listen| {
                    let config = XeroConfig {
                        scenarios,
                        slow_delay: slow,
                        ..XeroConfig::default()
                    };
                    let emulator = XeroEmulator::start(config.clone(), listen).await?;
                    Ok(Started {
                        url: emulator.url(),
                        details: vec![
                            format!("access token: {}", config.access_token),
                            format!(
                                "tenant id: {} ({})",
                                config.tenant_id, config.organisation_name
                            ),
                        ],
                        server: Box::new(emulator),
                    })
                },
            )
            .await
        }
        System::Quickbooks => {
            let (all, describe) = (quickbooks::Scenario::ALL, quickbooks::Scenario::description);
            accounting(
                &args,
                all,
                describe,
                quickbooks::DEFAULT_PORT,
                async |scenarios, listen| {
                    let config = QuickBooksConfig {
                        scenarios,
                        slow_delay: slow,
                        ..QuickBooksConfig::default()
                    };
                    let emulator = QuickBooksEmulator::start(config.clone(), listen).await?;
                    Ok(Started {
                        url: emulator.url(),
                        details: vec![
                            format!("access token: {}", config.access_token),
                            format!("realm id: {} ({})", config.realm_id, config.company_name),
                        ],
                        server: Box::new(emulator),
                    })
                },
            )
            .await
        }
        System::Fortnox => {
            accounting(
                &args,
                fortnox::Scenario::ALL,
                fortnox::Scenario::description,
                fortnox::DEFAULT_PORT,
                async |scenarios, listen| {
                    let config = FortnoxConfig {
                        scenarios,
                        slow_delay: slow,
                        ..FortnoxConfig::default()
                    };
                    let emulator = FortnoxEmulator::start(config.clone(), listen).await?;
                    Ok(Started {
                        url: emulator.url(),
                        details: vec![
                            format!("access token: {}", config.access_token),
                            format!(
                                "database number: {} ({}, organisation number {})",
                                config.database_number,
                                config.company_name,
                                config.organization_number
                            ),
                        ],
                        server: Box::new(emulator),
                    })
                },
            )
            .await
        }
        System::BusinessCentral => {
            let (all, describe) = (
                business_central::Scenario::ALL,
                business_central::Scenario::description,
            );
            accounting(
                &args,
                all,
                describe,
                business_central::DEFAULT_PORT,
                async |scenarios, listen| {
                    let config = BusinessCentralConfig {
                        scenarios,
                        slow_delay: slow,
                        ..BusinessCentralConfig::default()
                    };
                    let emulator = BusinessCentralEmulator::start(config.clone(), listen).await?;
                    Ok(Started {
                        url: emulator.url(),
                        details: vec![
                            format!("access token: {}", config.access_token),
                            format!(
                                "base URL for configurations: {}",
                                emulator.environment_url()
                            ),
                            format!(
                                "company id: {} ({})",
                                config.company_id, config.company_name
                            ),
                        ],
                        server: Box::new(emulator),
                    })
                },
            )
            .await
        }
    }
}

/// The shared part of every accounting-system emulator: scenarios by name,
/// the listen address, the first line `listening on URL`, and running until
/// SIGINT or SIGTERM.
async fn accounting<S>(
    args: &EmulateArgs,
    all: &[S],
    describe: fn(S) -> &'static str,
    default_port: u16,
    start: impl AsyncFnOnce(Vec<S>, SocketAddr) -> std::io::Result<Started>,
) -> u8
where
    S: Copy + Display + FromStr<Err = String>,
{
    let pleo_only = !args.faults.is_empty()
        || args.seed.is_some()
        || args.fault_rate != 0.0
        || args.fault_scope != FaultScopeArg::All
        || args.webhook_url.is_some()
        || args.webhook_secret.is_some();
    if pleo_only {
        eprintln!(
            "error: --seed, --fault, --fault-rate, --fault-scope, --webhook-url and --webhook-secret are for `emulate pleo`; accounting systems take --scenario"
        );
        return EXIT_BAD_INPUT;
    }
    if args.list_scenarios {
        for scenario in all {
            println!("{:<28} {}", scenario.to_string(), describe(*scenario));
        }
        return EXIT_OK;
    }
    let mut scenarios = Vec::new();
    for name in &args.scenarios {
        match name.parse::<S>() {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => {
                eprintln!("error: --scenario {name}: {error}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let active: Vec<String> = scenarios.iter().map(ToString::to_string).collect();
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)));
    let started = match start(scenarios, listen).await {
        Ok(started) => started,
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            return EXIT_INTERNAL;
        }
    };
    let mut lines = vec![format!("listening on {}", started.url)];
    lines.extend(started.details);
    lines.push(format!(
        "scenarios: {}",
        if active.is_empty() {
            "none (happy path)".to_owned()
        } else {
            active.join(", ")
        }
    ));
    print_lines(&lines);
    super::wait_for_shutdown().await;
    drop(started.server);
    EXIT_OK
}

/// Prints the start-up lines. Whoever started the emulator may stop reading
/// after the first; a closed stdout must not stop the server.
fn print_lines(lines: &[String]) {
    let mut stdout = std::io::stdout().lock();
    let _ = lines
        .iter()
        .try_for_each(|line| writeln!(stdout, "{line}"))
        .and_then(|()| stdout.flush());
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
    let delay = Duration::from_millis(args.slow_ms);
    let faults = match pleo_faults(args.fault_rate, &args.faults, delay, args.fault_scope) {
        Ok(faults) => faults,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let environment_secret = std::env::var(WEBHOOK_SECRET_ENV).ok();
    let webhook = match webhook_target(
        args.webhook_url.clone(),
        args.webhook_secret.clone(),
        environment_secret,
    ) {
        Ok(webhook) => webhook,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let webhook_url = webhook.as_ref().map(|target| target.url.clone());
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], pleo::DEFAULT_PORT)));
    let emulator = match PleoEmulator::start(
        PleoConfig {
            faults,
            webhook,
            ..PleoConfig::default()
        },
        listen,
    )
    .await
    {
        Ok(emulator) => emulator,
        // Only an invalid webhook target, which webhook_target has already refused.
        Err(error) if error.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
        Err(error) => {
            eprintln!("error: cannot listen on {listen}: {error}");
            return EXIT_INTERNAL;
        }
    };
    let mut lines = vec![
        format!("listening on {}", emulator.url()),
        format!(
            "organisation token: {} (Authorization: Bearer)",
            pleo::DEMO_ORG_TOKEN
        ),
        format!(
            "API key: {} (Authorization: Basic base64(key:))",
            pleo::DEMO_API_KEY
        ),
    ];
    if let Some(url) = webhook_url {
        lines.push(format!("webhook: v1.export-job.created to {url}"));
    }
    if let Some(path) = &args.seed {
        let seeded = std::fs::read_to_string(path)
            .map_err(|error| error.to_string())
            .and_then(|text| emulator.seed_from_json(&text));
        match seeded {
            Ok(jobs) => lines.extend(jobs.iter().map(|job| format!("seeded job {job}"))),
            Err(error) => {
                eprintln!("error: {}: {error}", path.display());
                return EXIT_BAD_INPUT;
            }
        }
    }
    print_lines(&lines);
    super::wait_for_shutdown().await;
    emulator.shutdown().await;
    EXIT_OK
}

/// The faults of `--fault-rate`, `--fault` (5xx, 429 and drop when none is
/// named), `--fault-scope` and, for `slow` and `held-answer`, `--slow-ms`.
fn pleo_faults(
    rate: f64,
    kinds: &[String],
    delay: Duration,
    scope: FaultScopeArg,
) -> Result<Faults, String> {
    let mut faults = Faults {
        rate,
        scope: scope.into(),
        seed: 1,
        ..Faults::default()
    };
    let kinds: Vec<&str> = if kinds.is_empty() {
        vec!["5xx", "429", "drop"]
    } else {
        kinds.iter().map(String::as_str).collect()
    };
    for kind in kinds {
        match kind {
            "5xx" => faults.server_errors = true,
            "429" => faults.rate_limits = true,
            "drop" => faults.drops = true,
            "slow" => faults.slow = Some(delay),
            "lost-answer" => faults.lost_answers = true,
            "held-answer" => faults.held_answers = Some(delay),
            other => {
                return Err(format!(
                    "--fault {other}: expected one of 5xx, 429, slow, drop, lost-answer, held-answer"
                ));
            }
        }
    }
    Ok(faults)
}

/// The webhook target of `--webhook-url` and `--webhook-secret` (or, without
/// the flag, the secret from the environment), checked; `None` without a URL.
/// The URL and the flag need each other, but a secret in the environment alone
/// is no error: it may be set for other runs.
fn webhook_target(
    url: Option<String>,
    secret_flag: Option<String>,
    environment_secret: Option<String>,
) -> Result<Option<WebhookTarget>, String> {
    let Some(url) = url else {
        return match secret_flag {
            Some(_) => Err("--webhook-secret needs --webhook-url".to_owned()),
            None => Ok(None),
        };
    };
    let secret = secret_flag
        .or(environment_secret.filter(|secret| !secret.is_empty()))
        .ok_or_else(|| {
            format!("--webhook-url needs --webhook-secret (or ${WEBHOOK_SECRET_ENV})")
        })?;
    let target = WebhookTarget { url, secret };
    target.validate()?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const URL: &str = "http://127.0.0.1:8080/hooks";

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    fn kinds(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn fault_kinds_default_to_all_but_slow_and_the_answer_faults() {
        let delay = Duration::from_millis(250);
        let faults = pleo_faults(0.5, &[], delay, FaultScopeArg::All).expect("valid");
        assert!(faults.server_errors && faults.rate_limits && faults.drops);
        assert_eq!((faults.slow, faults.held_answers), (None, None));
        assert!(!faults.lost_answers);
        assert_eq!((faults.rate, faults.scope), (0.5, FaultScope::All));
    }

    #[test]
    fn answer_faults_are_named_and_held_answers_wait_slow_ms() {
        let delay = Duration::from_millis(250);
        let names = kinds(&["lost-answer", "held-answer"]);
        let faults = pleo_faults(1.0, &names, delay, FaultScopeArg::Events).expect("valid");
        assert!(faults.lost_answers);
        assert_eq!(faults.held_answers, Some(delay));
        assert!(!faults.server_errors && !faults.rate_limits && !faults.drops);
        assert_eq!((faults.slow, faults.scope), (None, FaultScope::Events));
        let error = pleo_faults(1.0, &kinds(&["lost"]), delay, FaultScopeArg::All)
            .expect_err("unknown kind");
        assert!(error.contains("lost-answer, held-answer"), "{error}");
    }

    #[test]
    fn fault_scopes_are_named_and_map_one_to_one() {
        let scopes = [
            ("all", FaultScopeArg::All, FaultScope::All),
            ("listings", FaultScopeArg::Listings, FaultScope::Listings),
            ("lookups", FaultScopeArg::Lookups, FaultScope::Lookups),
            ("events", FaultScopeArg::Events, FaultScope::Events),
        ];
        for (name, arg, scope) in scopes {
            assert_eq!(FaultScopeArg::from_str(name, false), Ok(arg), "{name}");
            assert_eq!(FaultScope::from(arg), scope, "{name}");
        }
    }

    #[test]
    fn url_and_secret_go_together() {
        assert_eq!(webhook_target(None, None, None), Ok(None));
        assert_eq!(webhook_target(None, None, some(SECRET)), Ok(None));
        let error = webhook_target(None, some(SECRET), None).expect_err("secret alone");
        assert!(error.contains("--webhook-url"), "{error}");
        let error = webhook_target(some(URL), None, None).expect_err("URL alone");
        assert!(error.contains("--webhook-secret"), "{error}");
        let error = webhook_target(some(URL), None, some("")).expect_err("empty secret");
        assert!(error.contains("--webhook-secret"), "{error}");
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let target = webhook_target(some(URL), some(SECRET), some("whsec_AQ=="))
            .expect("valid")
            .expect("a target");
        assert_eq!((target.url.as_str(), target.secret.as_str()), (URL, SECRET));
        let target = webhook_target(some(URL), None, some(SECRET))
            .expect("valid")
            .expect("a target");
        assert_eq!(target.secret, SECRET);
    }

    #[test]
    fn invalid_targets_are_refused() {
        let error = webhook_target(some(URL), some("hunter2"), None).expect_err("no prefix");
        assert!(
            error.contains("whsec_") && !error.contains("hunter2"),
            "{error}"
        );
        let error = webhook_target(some("hooks"), some(SECRET), None).expect_err("relative URL");
        assert!(error.contains("webhook URL"), "{error}");
    }
}
