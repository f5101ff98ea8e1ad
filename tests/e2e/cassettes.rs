//! Cassettes of every bundled system, as a plugin author makes them:
//! `preflight check --record` against the system's emulator, the emulator
//! stopped, then `preflight test` replaying the cassette offline to the
//! verdict and checks `check` came to; and `check --mask-field` masking the
//! recording as the decision log masks `maskFields`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use preflight_emulators::business_central::{self, BusinessCentralConfig, BusinessCentralEmulator};
use preflight_emulators::fortnox::{self, FortnoxConfig, FortnoxEmulator};
use preflight_emulators::quickbooks::{self, QuickBooksConfig, QuickBooksEmulator};
use preflight_emulators::xero::{self, XeroEmulator};
use rstest::rstest;
use serde_json::Value;

use crate::support;

const PREFLIGHT: &str = env!("CARGO_BIN_EXE_preflight");

/// What a masked value reads in a cassette.
const MASKED: &str = "[masked]";

/// The system a case records, and the scenarios its emulator runs.
#[derive(Debug, Clone, Copy)]
enum Setup {
    Xero(&'static [xero::Scenario]),
    QuickBooks(&'static [quickbooks::Scenario]),
    Fortnox(&'static [fortnox::Scenario]),
    BusinessCentral(&'static [business_central::Scenario]),
}

impl Setup {
    /// The bundled plugin of the system, as `--plugin` names it.
    fn plugin(self) -> &'static str {
        match self {
            Setup::Xero(_) => "xero",
            Setup::QuickBooks(_) => "quickbooks",
            Setup::Fortnox(_) => "fortnox",
            Setup::BusinessCentral(_) => "business-central",
        }
    }
}

/// A running emulator of one of the bundled systems.
enum Emulator {
    Xero(XeroEmulator),
    QuickBooks(QuickBooksEmulator),
    Fortnox(FortnoxEmulator),
    BusinessCentral(BusinessCentralEmulator),
}

impl Emulator {
    /// Starts `setup`'s emulator on a free loopback port, with the demo
    /// company's configuration document pointing at it (credentials
    /// included), as `check --config` reads it.
    async fn start(setup: Setup) -> (Emulator, Value) {
        match setup {
            Setup::Xero(scenarios) => {
                let emulator = support::xero_emulator(scenarios).await;
                let config = support::xero_config(&emulator.url()).to_document();
                (Emulator::Xero(emulator), config)
            }
            Setup::QuickBooks(scenarios) => {
                let config = QuickBooksConfig {
                    scenarios: scenarios.to_vec(),
                    ..QuickBooksConfig::default()
                };
                let emulator = QuickBooksEmulator::start(config, support::loopback())
                    .await
                    .expect("emulator starts");
                let config = serde_json::json!({
                    "accountingSystem": "quickbooks",
                    "baseUrl": emulator.url(),
                    "tenantId": quickbooks::DEMO_REALM_ID,
                    "credentials": { "type": "bearer", "token": quickbooks::DEMO_ACCESS_TOKEN },
                    "settings": {
                        "companyName": quickbooks::DEMO_COMPANY_NAME,
                        "accounts": { "expenses": "625100", "contra": "512100" },
                        "taxCode": "TVA 20 %",
                        "journalCode": "ACH",
                    },
                });
                (Emulator::QuickBooks(emulator), config)
            }
            Setup::Fortnox(scenarios) => {
                let config = FortnoxConfig {
                    scenarios: scenarios.to_vec(),
                    ..FortnoxConfig::default()
                };
                let emulator = FortnoxEmulator::start(config, support::loopback())
                    .await
                    .expect("emulator starts");
                let config = serde_json::json!({
                    "accountingSystem": "fortnox",
                    "baseUrl": emulator.url(),
                    "tenantId": fortnox::DEMO_DATABASE_NUMBER.to_string(),
                    "credentials": { "type": "bearer", "token": fortnox::DEMO_ACCESS_TOKEN },
                    "settings": {
                        "companyName": fortnox::DEMO_COMPANY_NAME,
                        "organizationNumber": fortnox::DEMO_ORGANIZATION_NUMBER,
                        "voucherSeries": "P",
                        "accounts": { "expenses": "6991", "contra": "1930" },
                        "vatCode": "MP1",
                    },
                });
                (Emulator::Fortnox(emulator), config)
            }
            Setup::BusinessCentral(scenarios) => {
                let config = BusinessCentralConfig {
                    scenarios: scenarios.to_vec(),
                    ..BusinessCentralConfig::default()
                };
                let emulator = BusinessCentralEmulator::start(config, support::loopback())
                    .await
                    .expect("emulator starts");
                let config = serde_json::json!({
                    "accountingSystem": "business-central",
                    "baseUrl": emulator.environment_url(),
                    "tenantId": business_central::DEMO_COMPANY_ID,
                    "credentials": {
                        "type": "bearer",
                        "token": business_central::DEMO_ACCESS_TOKEN,
                    },
                    "settings": {
                        "companyName": business_central::DEMO_COMPANY_NAME,
                        "journal": "PLEO",
                        "accounts": { "expenses": "6130", "contra": "2320" },
                        "taxGroup": "VAT25",
                        "attachments": true,
                    },
                });
                (Emulator::BusinessCentral(emulator), config)
            }
        }
    }

    /// The address the emulator listens on.
    fn addr(&self) -> SocketAddr {
        match self {
            Emulator::Xero(emulator) => emulator.addr(),
            Emulator::QuickBooks(emulator) => emulator.addr(),
            Emulator::Fortnox(emulator) => emulator.addr(),
            Emulator::BusinessCentral(emulator) => emulator.addr(),
        }
    }

    /// How many requests the emulator received.
    fn requests(&self) -> usize {
        match self {
            Emulator::Xero(emulator) => emulator.requests().len(),
            Emulator::QuickBooks(emulator) => emulator.requests().len(),
            Emulator::Fortnox(emulator) => emulator.requests().len(),
            Emulator::BusinessCentral(emulator) => emulator.requests().len(),
        }
    }

    /// Stops the emulator and asserts that nothing listens on its address
    /// any more, so a replay that sent a request would get no answer.
    async fn stop(self) {
        let addr = self.addr();
        match self {
            Emulator::Xero(emulator) => emulator.shutdown().await,
            Emulator::QuickBooks(emulator) => emulator.shutdown().await,
            Emulator::Fortnox(emulator) => emulator.shutdown().await,
            Emulator::BusinessCentral(emulator) => emulator.shutdown().await,
        }
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "the stopped emulator still accepts connections on {addr}"
        );
    }
}

/// Runs `preflight` with `args`.
fn preflight(args: &[&str]) -> Output {
    Command::new(PREFLIGHT)
        .args(args)
        .output()
        .expect("preflight runs")
}

/// `path` as an argument.
fn arg(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// `preflight check --plugin plugin --job job --config config --record
/// cassette --json`, with `extra` flags; asserts it came to a verdict (exit
/// 0 or 1, as the verdict says) and returns the outcome it printed.
fn check_and_record(
    plugin: &str,
    job: &Path,
    config: &Path,
    cassette: &Path,
    extra: &[&str],
) -> Value {
    let args = [
        "check",
        "--plugin",
        plugin,
        "--job",
        arg(job),
        "--config",
        arg(config),
        "--record",
        arg(cassette),
        "--json",
    ];
    let output = preflight(&[&args[..], extra].concat());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("{plugin}: check --json printed no outcome ({error}): {stderr}")
    });
    let proceeds = outcome["verdict"]["verdict"] == "proceed";
    assert_eq!(
        output.status.code(),
        Some(if proceeds { 0 } else { 1 }),
        "{plugin}: {stderr}"
    );
    outcome
}

/// `(id, status)` of every check in `checks`, in order.
fn checks(checks: &Value) -> Vec<(String, String)> {
    checks
        .as_array()
        .expect("a list of checks")
        .iter()
        .map(|check| {
            let field = |name: &str| check[name].as_str().expect("a string").to_owned();
            (field("id"), field("status"))
        })
        .collect()
}

/// The cassette at `path`, parsed.
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the cassette was written");
    serde_json::from_str(&text).expect("the cassette is JSON")
}

/// Runs `preflight test --plugin plugin cassette`.
fn replay_offline(plugin: &str, cassette: &Path) -> (Option<i32>, String) {
    let output = preflight(&["test", "--plugin", plugin, arg(cassette)]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    (output.status.code(), format!("{stdout}{stderr}"))
}

/// Each system's validation recorded against its emulator, with several
/// requests on the tape (a happy path, or a failure at the last rules),
/// replays offline, with the emulator gone, to the verdict and checks
/// `check` printed; without its exchanges the same cassette fails.
#[rstest]
#[case::xero_happy_path_with_vendors(Setup::Xero(&[]), true, "proceed")]
#[case::quickbooks_journal_code_missing(
    Setup::QuickBooks(&[quickbooks::Scenario::JournalCodeMissing]),
    false,
    "fail"
)]
#[case::fortnox_happy_path_with_vendors(Setup::Fortnox(&[]), true, "proceed")]
#[case::business_central_tax_group_missing(
    Setup::BusinessCentral(&[business_central::Scenario::TaxGroupMissing]),
    false,
    "fail"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_cassette_replays_offline_to_what_check_said(
    #[case] setup: Setup,
    #[case] vendor_based_bookkeeping: bool,
    #[case] verdict: &str,
) {
    let plugin = setup.plugin();
    let (emulator, config_document) = Emulator::start(setup).await;
    let dir = support::temp_dir(&format!("cassettes-{plugin}"));
    let job = dir.join("job.json");
    std::fs::write(&job, support::job_json(vendor_based_bookkeeping)).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, config_document.to_string()).unwrap();
    let cassette = dir.join("cassette.json");

    let outcome = check_and_record(plugin, &job, &config, &cassette, &[]);
    assert_eq!(outcome["verdict"]["verdict"], verdict, "{outcome:#}");
    let exchanges = outcome["exchanges"].as_array().expect("exchanges");
    assert!(
        exchanges.len() >= 4,
        "{plugin}: a scenario of several requests, got {}",
        exchanges.len()
    );
    assert_eq!(
        emulator.requests(),
        exchanges.len(),
        "{plugin}: every request the emulator received is an exchange"
    );

    // The cassette: the exchanges check made, and what check said.
    let recorded = read_json(&cassette);
    assert_eq!(recorded["cassette"], 1);
    assert_eq!(recorded["exchanges"], outcome["exchanges"], "{plugin}");
    assert_eq!(
        recorded["job"],
        serde_json::from_str::<Value>(&support::job_json(vendor_based_bookkeeping)).unwrap()
    );
    assert!(
        recorded["config"].get("credentials").is_none(),
        "{plugin}: no credentials in a cassette"
    );
    let expect = &recorded["expect"];
    assert_eq!(expect["verdict"], outcome["verdict"]["verdict"], "{plugin}");
    assert_eq!(
        expect.get("reason"),
        outcome["verdict"].get("reason"),
        "{plugin}"
    );
    let said = checks(&outcome["report"]["checks"]);
    assert!(
        said.iter().any(|(_, status)| status == "passed"),
        "{plugin}: {said:?}"
    );
    assert_eq!(checks(&expect["checks"]), said, "{plugin}");

    // Offline: the emulator is gone; the tape answers every request.
    emulator.stop().await;
    let (code, output) = replay_offline(plugin, &cassette);
    assert_eq!(code, Some(0), "{plugin}: {output}");
    assert!(
        output.contains("1 cassette(s): 1 passed, 0 failed"),
        "{output}"
    );
    assert!(!output.contains("not on the tape"), "{output}");

    // The tape matters: without it nothing answers, and the plugin comes to
    // another verdict.
    let mut untaped = recorded.clone();
    untaped["exchanges"] = Value::Array(Vec::new());
    let bare = dir.join("untaped.json");
    std::fs::write(&bare, untaped.to_string()).unwrap();
    let (code, output) = replay_offline(plugin, &bare);
    assert_eq!(code, Some(1), "{plugin}: {output}");
    assert!(output.contains("not on the tape"), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `check --mask-field` masks a response body's field, a settings field and
/// a request header in the cassette, in any case, and the cassette still
/// replays when the plugin depends on none of them; masking a value the
/// plugin looks up changes what the replay comes to. Without `--record` the
/// flag is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_cassette_keeps_the_masked_fields_out_of_the_file() {
    let (emulator, config_document) = Emulator::start(Setup::Xero(&[])).await;
    let dir = support::temp_dir("cassettes-masked");
    let job = dir.join("job.json");
    std::fs::write(&job, support::job_json(false)).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, config_document.to_string()).unwrap();
    let tax_number = "DK31415926";

    // Unmasked, the values are in the cassette in clear.
    let plain = dir.join("plain.json");
    check_and_record("xero", &job, &config, &plain, &[]);
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(text.contains(tax_number), "{text}");
    let recorded = read_json(&plain);
    assert_eq!(
        recorded["config"]["settings"]["organisationName"],
        xero::DEMO_ORGANISATION_NAME
    );

    let masked = dir.join("masked.json");
    let fields = [
        "--mask-field",
        "taxnumber",
        "--mask-field",
        "ORGANISATIONNAME",
        "--mask-field",
        "Xero-Tenant-Id",
    ];
    let outcome = check_and_record("xero", &job, &config, &masked, &fields);
    assert_eq!(outcome["verdict"]["verdict"], "proceed", "{outcome:#}");
    let text = std::fs::read_to_string(&masked).unwrap();
    assert!(!text.contains(tax_number), "{text}");
    let cassette = read_json(&masked);
    let settings = &cassette["config"]["settings"];
    assert_eq!(settings["organisationName"], MASKED);
    assert_eq!(settings["accounts"]["expenses"], "429", "others are kept");
    let exchanges = cassette["exchanges"].as_array().unwrap();
    let organisation = exchanges
        .iter()
        .find(|exchange| {
            exchange["url"]
                .as_str()
                .is_some_and(|url| url.ends_with("/api.xro/2.0/Organisation"))
        })
        .expect("GET /Organisation recorded");
    let body: Value = serde_json::from_str(
        organisation["response_body"]["text"]
            .as_str()
            .expect("a text body"),
    )
    .unwrap();
    assert_eq!(body["Organisations"][0]["TaxNumber"], MASKED, "{body:#}");
    assert_eq!(
        body["Organisations"][0]["Name"],
        xero::DEMO_ORGANISATION_NAME,
        "a field not named is kept"
    );
    let tenant_headers: Vec<&Value> = exchanges
        .iter()
        .filter_map(|exchange| exchange["request_headers"].as_array())
        .flatten()
        .filter(|header| {
            header[0]
                .as_str()
                .is_some_and(|name| name.eq_ignore_ascii_case("xero-tenant-id"))
        })
        .map(|header| &header[1])
        .collect();
    assert!(!tenant_headers.is_empty(), "{text}");
    assert!(
        tenant_headers.iter().all(|value| *value == MASKED),
        "{tenant_headers:?}"
    );

    // The plugin depends on none of those: the masked cassette replays.
    // Masking the account codes it looks up is another matter.
    let codes = dir.join("codes.json");
    check_and_record("xero", &job, &config, &codes, &["--mask-field", "Code"]);
    emulator.stop().await;
    let (code, output) = replay_offline("xero", &masked);
    assert_eq!(code, Some(0), "{output}");
    let (code, output) = replay_offline("xero", &codes);
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("check xero.accounts.expenses: expected passed"),
        "{output}"
    );

    // --mask-field without --record: refused, naming --record.
    let output = preflight(&[
        "check",
        "--plugin",
        "xero",
        "--job",
        arg(&job),
        "--config",
        arg(&config),
        "--mask-field",
        "Name",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--record"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
