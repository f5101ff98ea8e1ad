//! `preflight check`: validate one job with one plugin and print the report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use preflight::input::Input;
use preflight::{ExportJob, IntegrationConfig, Limits, Outcome, RuntimeOptions, Verdict};
use preflight_runtime::cassette::Cassette;
use preflight_runtime::report::CheckStatus;
use preflight_runtime::sandbox::redact;

use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_OK, EXIT_PLUGIN_FAULT};

/// Arguments of `preflight check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    plugin: super::PluginChoice,
    /// The export job: Pleo's ExportJobV3 JSON, bare or wrapped in {"data": …}.
    #[arg(long, value_name = "FILE")]
    job: PathBuf,
    /// The company's integration configuration (JSON; see the README).
    /// With --store it is imported for the job's company first (written when
    /// it changed since it was last imported); without it, the stored one is
    /// used.
    #[arg(long, value_name = "FILE", required_unless_present = "store")]
    config: Option<PathBuf>,
    /// A store that keeps the company's configuration and OAuth tokens
    /// between runs (`sqlite://PATH`, a file path, `postgres://…`): a
    /// refreshed, rotated token is kept for the next run.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    #[command(flatten)]
    key: super::companies::KeyArgs,
    /// Print the outcome as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Write the validation to FILE as a cassette (the job, the
    /// configuration without credentials, the recorded exchanges, the
    /// verdict and checks), for `preflight test` to run offline.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Mask field NAME in the cassette --record writes (repeatable; JSON
    /// keys and query parameters, any case), as the decision log masks
    /// `maskFields`: in the job, the configuration's settings, and every
    /// exchange's URL, headers and JSON bodies. A masked cassette may no
    /// longer replay to the recorded verdict when the plugin depends on a
    /// masked value (an account code it looks up in a masked body, a masked
    /// query parameter the tape then finds nothing recorded for).
    #[arg(
        long = "mask-field",
        value_name = "NAME",
        requires = "record",
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    mask_fields: Vec<String>,
    /// Wall-time limit of the validation, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    wall_time_ms: u64,
    /// Timeout of each outbound request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    request_timeout_ms: u64,
}

/// Runs `preflight check`.
pub async fn run(args: CheckArgs) -> u8 {
    let inputs = match read_inputs(&args) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let (job, config) = inputs;
    let (config, stored) = match (&args.store, config) {
        (Some(url), config) => match stored_config(&args, url, &job, config).await {
            Ok(stored) => stored,
            Err(code) => return code,
        },
        (None, Some((config, _))) => (std::sync::Arc::new(config), None),
        (None, None) => unreachable!("clap requires --config without --store"),
    };
    let config_name = args.config.as_ref().map_or_else(
        || format!("company {} in the store", job.company_id),
        |path| path.display().to_string(),
    );
    let options = RuntimeOptions {
        limits: Limits {
            wall_time: Duration::from_millis(args.wall_time_ms),
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            ..Limits::default()
        },
        max_instances: 4,
        // The author's harness runs against local emulators.
        allow_http_loopback: true,
        ..RuntimeOptions::default()
    };
    let runtime = match super::runtime(options) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plugin = match super::load_plugin(&runtime, &args.plugin).await {
        Ok(plugin) => plugin,
        Err(code) => return code,
    };
    if plugin.info().accounting_system != config.accounting_system {
        eprintln!(
            "error: {config_name}: accountingSystem is '{}', but plugin {} validates '{}'",
            config.accounting_system,
            plugin.label(),
            plugin.info().accounting_system
        );
        return EXIT_BAD_INPUT;
    }
    match plugin.validate_settings(&config.settings).await {
        Ok(Ok(())) => {}
        Ok(Err(errors)) => {
            for error in errors {
                let field = if error.field.is_empty() {
                    String::new()
                } else {
                    format!(".{}", error.field)
                };
                eprintln!("error: {config_name}: settings{field}: {}", error.message);
            }
            return EXIT_BAD_INPUT;
        }
        Err(error) => {
            eprintln!(
                "error: plugin {}: faulted in validate-settings: {}",
                error.plugin, error.fault
            );
            return EXIT_PLUGIN_FAULT;
        }
    }
    let result = plugin.validate(&job, &config).await;
    if let Some(store) = stored {
        store.close().await;
    }
    match result {
        Ok(outcome) => {
            if let Some(path) = &args.record {
                let job_document = std::fs::read_to_string(&args.job)
                    .ok()
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                    .map(|document| match document.get("data") {
                        Some(job) => job.clone(),
                        None => document,
                    })
                    .unwrap_or_default();
                let mut cassette = Cassette::record(job_document, &config, &outcome);
                mask(&mut cassette, &args.mask_fields);
                let text = serde_json::to_string_pretty(&cassette).expect("cassettes serialise");
                if let Err(error) = std::fs::write(path, text + "\n") {
                    eprintln!("error: {}: {error}", path.display());
                    return super::EXIT_INTERNAL;
                }
            }
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome).expect("outcomes serialise")
                );
            } else {
                print_table(&outcome);
            }
            if outcome.verdict.proceeds() {
                EXIT_OK
            } else {
                EXIT_FAIL
            }
        }
        Err(error) => {
            if args.json {
                let fault =
                    serde_json::json!({ "plugin": error.plugin, "fault": error.fault.to_string() });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&fault).expect("faults serialise")
                );
            }
            eprintln!("error: {error}");
            EXIT_PLUGIN_FAULT
        }
    }
}

fn read_inputs(
    args: &CheckArgs,
) -> Result<(ExportJob, Option<(IntegrationConfig, serde_json::Value)>), String> {
    let job = read(&args.job, Input::JobFile)?;
    let job =
        ExportJob::from_json(&job).map_err(|error| format!("{}: {error}", args.job.display()))?;
    let Some(path) = &args.config else {
        return Ok((job, None));
    };
    let text = read(path, Input::ConfigFile)?;
    let config = IntegrationConfig::from_json(&text).map_err(|error| {
        let field = if error.field.is_empty() {
            "the configuration".to_owned()
        } else {
            error.field
        };
        format!("{}: {field}: {}", path.display(), error.message)
    })?;
    let document =
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok((job, Some((config, document))))
}

/// The job's company's configuration from the store at `url`, the file's
/// imported first when given (and changed since its last import), so its
/// OAuth tokens are those the store kept, refreshed by an earlier run.
async fn stored_config(
    args: &CheckArgs,
    url: &str,
    job: &ExportJob,
    file: Option<(IntegrationConfig, serde_json::Value)>,
) -> Result<
    (
        std::sync::Arc<IntegrationConfig>,
        Option<preflight_store::Store>,
    ),
    u8,
> {
    let (store, secrets) = super::companies::open_store(None, Some(url), &args.key).await?;
    let sealer = secrets.sealer().map_err(|error| {
        eprintln!("error: secrets key: {error}");
        EXIT_BAD_INPUT
    })?;
    let companies = preflight::companies::Companies::new(
        store.clone(),
        std::sync::Arc::new(sealer),
        std::sync::Arc::new(preflight::metrics::Metrics::default()),
    );
    let company = job.company_id;
    if let Some((_, document)) = file {
        let path = args
            .config
            .as_ref()
            .expect("a file was read")
            .display()
            .to_string();
        if let Err((_, error)) = companies
            .import_file(
                &[(company, document)],
                preflight::companies::Via::Check,
                None,
                |_| path.clone(),
            )
            .await
        {
            eprintln!("error: {path}: {error}");
            return Err(EXIT_BAD_INPUT);
        }
    }
    match companies.get(company).await {
        Ok(Some(config)) => Ok((config, Some(store))),
        Ok(None) => {
            eprintln!(
                "error: store {url}: company {company} (the job's) has no configuration; give --config FILE"
            );
            Err(EXIT_BAD_INPUT)
        }
        Err(error) => {
            eprintln!("error: store {url}: {error}");
            Err(super::EXIT_INTERNAL)
        }
    }
}

/// Masks the values of `fields` (JSON keys or query parameters, compared
/// without regard to case) in `cassette` as the decision log masks
/// `maskFields`: in the job, the configuration's settings, and every
/// exchange's URL, headers and JSON bodies. The configuration's
/// `accountingSystem`, `baseUrl` and `tenantId` are kept: a replay reads them.
fn mask(cassette: &mut Cassette, fields: &[String]) {
    if fields.is_empty() {
        return;
    }
    let fields: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
    redact::mask_value(&mut cassette.job, &fields);
    if let Some(settings) = cassette.config.get_mut("settings") {
        redact::mask_value(settings, &fields);
    }
    for exchange in &mut cassette.exchanges {
        redact::mask_exchange(exchange, &fields);
    }
}

fn read(path: &Path, input: Input) -> Result<String, String> {
    preflight::input::read_text(path, input).map_err(|error| format!("{}: {error}", path.display()))
}

/// Prints the checks, then the verdict.
fn print_table(outcome: &Outcome) {
    let id_width = outcome
        .report
        .checks
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "plugin {} · {:.1} ms · {} request(s)",
        outcome.plugin,
        outcome.elapsed.as_secs_f64() * 1000.0,
        outcome.exchanges.len()
    );
    println!();
    println!(
        "{:<id_width$}  {:<10}  {:<40}  MESSAGE",
        "CHECK", "STATUS", "REASON"
    );
    for check in &outcome.report.checks {
        let status = match check.status {
            CheckStatus::Passed => "passed",
            CheckStatus::Failed => "FAILED",
            CheckStatus::Skipped => "skipped",
            CheckStatus::Unverified => "UNVERIFIED",
        };
        let reason = check.reason.map(|r| r.as_str()).unwrap_or("");
        println!(
            "{:<id_width$}  {status:<10}  {reason:<40}  {}",
            check.id, check.message
        );
        if let Some(hint) = &check.hint {
            println!("{:<id_width$}  {:<10}  {:<40}  hint: {hint}", "", "", "");
        }
    }
    println!();
    match &outcome.verdict {
        Verdict::Proceed => println!("verdict: proceed (the job may go on to item processing)"),
        Verdict::Fail {
            reason,
            message,
            check,
        } => {
            println!("verdict: fail ({check})");
            println!("failureReasonType: {reason}");
            println!("failureReason: {message}");
        }
        Verdict::Retry {
            reason,
            message,
            check,
            retry_after,
        } => {
            let after = retry_after
                .map(|s| format!(", retry after {s} s"))
                .unwrap_or_default();
            println!("verdict: fail unless a retry succeeds ({check}: transient{after})");
            println!("failureReasonType: {reason}");
            println!("failureReason: {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;
    use preflight_runtime::cassette::{Expectation, VERSION};
    use preflight_runtime::sandbox::outbound::Exchange;
    use preflight_runtime::sandbox::record::Captured;
    use serde_json::json;

    use super::*;

    /// `preflight check …` with `extra` flags, parsed.
    fn parse(extra: &[&str]) -> Result<CheckArgs, clap::Error> {
        let base = [
            "preflight",
            "check",
            "--plugin",
            "xero",
            "--job",
            "job.json",
        ];
        let args = base.iter().chain(["--config", "config.json"].iter());
        match super::super::Cli::try_parse_from(args.chain(extra.iter()))?.command {
            super::super::Command::Check(args) => Ok(args),
            other => panic!("parsed as another command: {other:?}"),
        }
    }

    /// A recorded cassette holding an e-mail address in the job, the
    /// settings, a URL's query, a request header, a response header and a
    /// response body.
    fn cassette() -> Cassette {
        let body = r#"{"Contacts": [{"EmailAddress": "ap@acme.test", "Name": "Acme"}]}"#;
        Cassette {
            cassette: VERSION,
            job: json!({ "id": "job-1", "submitter": { "Email": "ap@acme.test" } }),
            config: json!({
                "accountingSystem": "xero",
                "baseUrl": "http://127.0.0.1:4011",
                "tenantId": "tenant-1",
                "settings": { "organisationName": "Acme ApS", "accounts": { "expenses": "429" } },
            }),
            exchanges: vec![Exchange {
                method: "GET".to_owned(),
                url: "http://127.0.0.1:4011/Contacts?email=ap%40acme.test&page=1".to_owned(),
                status: Some(200),
                request_headers: vec![("X-Contact".to_owned(), "ap@acme.test".to_owned())],
                response_headers: vec![("x-contact".to_owned(), "ap@acme.test".to_owned())],
                response_body: Some(Captured {
                    text: Some(body.to_owned()),
                    base64: None,
                    size: body.len(),
                    truncated: false,
                }),
                ..Exchange::default()
            }],
            expect: Expectation {
                verdict: "proceed".to_owned(),
                reason: None,
                checks: Vec::new(),
            },
        }
    }

    #[test]
    fn mask_field_is_repeatable_and_refused_without_record() {
        let masks = ["--mask-field", "Name", "--mask-field", "EMAIL"];
        let args = parse(&[&["--record", "c.json"][..], &masks].concat())
            .expect("--mask-field with --record parses");
        assert_eq!(args.mask_fields, ["Name", "EMAIL"]);
        assert!(parse(&[]).expect("no flag parses").mask_fields.is_empty());
        let error = parse(&["--mask-field", "Name"]).expect_err("--record is required");
        assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
        assert!(error.to_string().contains("--record"), "{error}");
        let error = parse(&["--record", "c.json", "--mask-field", ""]).expect_err("an empty name");
        assert_eq!(error.kind(), ErrorKind::InvalidValue);
    }

    #[test]
    fn a_cassette_is_masked_in_the_job_settings_and_exchanges_in_any_case() {
        let mut masked = cassette();
        let fields = ["email", "EmailAddress", "X-CONTACT", "OrganisationName"];
        mask(&mut masked, &fields.map(str::to_owned));
        assert_eq!(masked.job["submitter"]["Email"], redact::MASKED);
        assert_eq!(masked.job["id"], "job-1");
        let settings = &masked.config["settings"];
        assert_eq!(settings["organisationName"], redact::MASKED);
        assert_eq!(settings["accounts"]["expenses"], "429");
        let exchange = &masked.exchanges[0];
        assert_eq!(
            exchange.url,
            "http://127.0.0.1:4011/Contacts?email=%5Bmasked%5D&page=1"
        );
        assert_eq!(exchange.request_headers[0].1, redact::MASKED);
        assert_eq!(exchange.response_headers[0].1, redact::MASKED);
        let body = exchange.response_body.as_ref().and_then(|b| b.text.clone());
        assert_eq!(
            body.as_deref(),
            Some(r#"{"Contacts": [{"EmailAddress": "[masked]", "Name": "Acme"}]}"#)
        );
        let text = serde_json::to_string(&masked).expect("cassettes serialise");
        assert!(!text.contains("ap@acme.test") && !text.contains("ap%40acme.test"));
        assert!(!text.contains("Acme ApS"), "{text}");

        // Outside the settings the configuration is kept: a replay reads it.
        let mut kept = cassette();
        mask(&mut kept, &["tenantid".to_owned(), "baseurl".to_owned()]);
        assert_eq!(kept.config, cassette().config);
        // No field named: nothing changes.
        let mut unmasked = cassette();
        mask(&mut unmasked, &[]);
        assert_eq!(
            serde_json::to_value(&unmasked).unwrap(),
            serde_json::to_value(cassette()).unwrap()
        );
    }
}
