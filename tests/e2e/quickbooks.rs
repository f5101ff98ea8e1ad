//! The QuickBooks Online validator against the QuickBooks Online emulator over
//! TCP: one case per scenario and the happy paths, asserting the exact reason
//! and that the message names the problem in QuickBooks' vocabulary.

use preflight::{FailureReason, IntegrationConfig, Plugin, Runtime, Verdict};
use preflight_emulators::quickbooks::{self, QuickBooksConfig, QuickBooksEmulator, Scenario};
use preflight_runtime::config::{Credentials, Secret};
use preflight_runtime::report::CheckStatus;
use rstest::rstest;

use crate::support::{self, REQUEST_TIMEOUT, job, loopback, runtime};

/// The bundled QuickBooks Online plugin, compiled.
async fn plugin(runtime: &Runtime) -> Plugin {
    crate::support::bundled_plugin(runtime, "quickbooks").await
}

/// An emulator on a free loopback port, in `scenarios`; `slow` outlasts the
/// tests' per-request timeout.
async fn emulator(scenarios: &[Scenario]) -> QuickBooksEmulator {
    let config = QuickBooksConfig {
        scenarios: scenarios.to_vec(),
        slow_delay: REQUEST_TIMEOUT * 4,
        ..QuickBooksConfig::default()
    };
    QuickBooksEmulator::start(config, loopback())
        .await
        .expect("emulator starts")
}

/// The demo company's configuration pointing at `base_url`, as in
/// `examples/quickbooks/config.json`.
fn config(base_url: &str) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "quickbooks".to_owned(),
        base_url: url::Url::parse(base_url).expect("url"),
        tenant_id: Some(quickbooks::DEMO_REALM_ID.to_owned()),
        credentials: Credentials::Bearer(Secret::new(quickbooks::DEMO_ACCESS_TOKEN)),
        settings: serde_json::json!({
            "companyName": quickbooks::DEMO_COMPANY_NAME,
            "accounts": { "expenses": "625100", "contra": "512100" },
            "taxCode": "TVA 20 %",
            "journalCode": "ACH",
        }),
    }
}

/// Every rule of the plugin, in order: each scenario's report lists all
/// of them, however early it fails.
const QUICKBOOKS_RULES: &[&str] = &[
    "quickbooks.settings",
    "quickbooks.connection",
    "quickbooks.company",
    "quickbooks.permissions.journal-entries",
    "quickbooks.permissions.vendors",
    "quickbooks.permissions.attachments",
    "quickbooks.accounts.expenses",
    "quickbooks.accounts.contra",
    "quickbooks.tax-code",
    "quickbooks.journal-code",
];

#[rstest]
#[case::happy_path(&[], false, None, "")]
#[case::happy_path_with_vendors(&[], true, None, "")]
#[case::token_expired(&[Scenario::TokenExpired], false, Some(FailureReason::AccountingSystemAuthenticationFailure), "Reconnect QuickBooks Online: Pleo's connection has expired")]
#[case::missing_scope(&[Scenario::MissingScope], false, Some(FailureReason::MissingConfiguration), "does not include access to your accounting data")]
#[case::journal_entries_forbidden(&[Scenario::JournalEntriesForbidden], false, Some(FailureReason::AuthorizationFailure), "The QuickBooks Online user who connected Pleo is not allowed to use journal entries")]
#[case::wrong_company(&[Scenario::WrongCompany], false, Some(FailureReason::MissingConfiguration), "Pleo is connected to QuickBooks Online company 'Sandbox Company_US_1', not 'Acme SAS'")]
#[case::plan_without_bills(&[Scenario::PlanWithoutBills], true, Some(FailureReason::InvalidConfiguration), "Your QuickBooks Online plan (QuickBooks Online Simple Start) does not include vendors and bills, which Pleo needs for vendor bookkeeping")]
#[case::plan_without_bills_unneeded_without_vendors(&[Scenario::PlanWithoutBills], false, None, "")]
#[case::rate_limited(&[Scenario::RateLimited], false, Some(FailureReason::AccountingSystemRateLimit), "QuickBooks Online is limiting how many requests")]
#[case::unavailable(&[Scenario::Unavailable], false, Some(FailureReason::AccountingSystemUnreachable), "QuickBooks Online is unavailable at the moment (it answered 503)")]
#[case::slow(&[Scenario::Slow], false, Some(FailureReason::AccountingSystemTimeout), "QuickBooks Online did not answer in time")]
#[case::accounts_missing(&[Scenario::AccountsMissing], false, Some(FailureReason::MissingConfiguration), "QuickBooks Online account 625100 (used for expenses) does not exist in 'Acme SAS'")]
#[case::tax_code_missing(&[Scenario::TaxCodeMissing], false, Some(FailureReason::MissingConfiguration), "QuickBooks Online tax code 'TVA 20 %' does not exist in 'Acme SAS'")]
#[case::journal_code_missing(&[Scenario::JournalCodeMissing], false, Some(FailureReason::MissingConfiguration), "QuickBooks Online journal code ACH does not exist in 'Acme SAS'")]
#[tokio::test]
async fn quickbooks_scenarios(
    #[case] scenarios: &[Scenario],
    #[case] vendor_based_bookkeeping: bool,
    #[case] reason: Option<FailureReason>,
    #[case] message: &str,
) {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(scenarios).await;
    let outcome = plugin
        .validate(&job(vendor_based_bookkeeping), &config(&emulator.url()))
        .await
        .expect("the QuickBooks Online plugin never faults");
    support::assert_rule_set(&plugin, &outcome, QUICKBOOKS_RULES);

    assert_eq!(outcome.verdict.reason(), reason, "{:#?}", outcome.report);
    if reason.is_some() {
        let actual = outcome
            .verdict
            .message()
            .expect("a failing verdict has a message");
        assert!(
            actual.contains(message),
            "message {actual:?} lacks {message:?}"
        );
    }
    let vendors = outcome
        .report
        .checks
        .iter()
        .find(|c| c.id == "quickbooks.permissions.vendors")
        .expect("vendors rule reported");
    if !vendor_based_bookkeeping {
        assert_eq!(
            vendors.status,
            CheckStatus::Skipped,
            "vendor checks run only for vendor bookkeeping"
        );
    }
    assert!(
        !outcome.exchanges.is_empty(),
        "the plugin talked to the emulator"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn quickbooks_rate_limit_has_no_retry_after() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[Scenario::RateLimited]).await;
    let outcome = plugin
        .validate(&job(false), &config(&emulator.url()))
        .await
        .unwrap();
    match outcome.verdict {
        Verdict::Retry {
            retry_after, check, ..
        } => {
            assert_eq!(retry_after, None, "QuickBooks sends no Retry-After");
            assert_eq!(check, "quickbooks.connection");
        }
        other => panic!("a rate limit is transient, got {other:?}"),
    }
}

#[tokio::test]
async fn quickbooks_happy_path_checks_everything_in_the_realm() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;
    let outcome = plugin
        .validate(&job(true), &config(&emulator.url()))
        .await
        .unwrap();
    assert!(outcome.verdict.proceeds(), "{:#?}", outcome.report);
    let passed: Vec<&str> = outcome
        .report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Passed)
        .map(|c| c.id.as_str())
        .collect();
    // The settings rule passes too: every declared rule does.
    for rule in QUICKBOOKS_RULES {
        assert!(
            passed.contains(rule),
            "{rule} did not pass: {:#?}",
            outcome.report
        );
    }
    let prefix = format!("/v3/company/{}/", quickbooks::DEMO_REALM_ID);
    let requests = emulator.requests();
    assert!(!requests.is_empty());
    for request in requests {
        assert_eq!(request.method, "GET", "validation only reads");
        assert!(request.path.starts_with(&prefix), "{}", request.path);
        assert!(
            request
                .query
                .as_deref()
                .is_some_and(|query| query.contains("minorversion=75")),
            "{request:?}"
        );
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {}", quickbooks::DEMO_ACCESS_TOKEN).as_str()),
            "the host attaches the token"
        );
    }
}

#[tokio::test]
async fn quickbooks_another_realm_is_refused_as_the_wrong_company() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;
    let mut config = config(&emulator.url());
    config.tenant_id = Some("4620816365178421990".to_owned());
    let outcome = plugin.validate(&job(false), &config).await.unwrap();
    match &outcome.verdict {
        Verdict::Fail {
            reason,
            message,
            check,
        } => {
            assert_eq!(*reason, FailureReason::MissingConfiguration);
            assert_eq!(check, "quickbooks.company");
            assert!(
                message.contains("refused access to company 'Acme SAS'"),
                "{message}"
            );
        }
        other => panic!("another realm must fail, got {other:?}"),
    }
}

#[tokio::test]
async fn quickbooks_missing_realm_fails_without_any_request() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;
    let mut config = config(&emulator.url());
    config.tenant_id = None;
    let outcome = plugin.validate(&job(false), &config).await.unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert!(
        outcome
            .verdict
            .message()
            .unwrap()
            .contains("No QuickBooks Online company is selected")
    );
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn quickbooks_unusable_settings_fail_with_the_field_named() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;
    let mut config = config(&emulator.url());
    config.settings = serde_json::json!({
        "accounts": { "expenses": "625100", "contra": "512100" },
        "taxcode": "TVA 20 %",
    });
    let outcome = plugin.validate(&job(false), &config).await.unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::InvalidConfiguration)
    );
    assert!(
        outcome.verdict.message().unwrap().contains("taxcode"),
        "{:?}",
        outcome.verdict
    );
    assert!(emulator.requests().is_empty());

    let errors = plugin
        .validate_settings(&serde_json::json!({
            "accounts": { "expenses": " ", "contra": "512100" }
        }))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(errors[0].field, "accounts.expenses");
}

/// `examples/quickbooks/config.json` is the configuration these tests use.
#[test]
fn quickbooks_example_config_matches_the_emulator_defaults() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quickbooks/config.json"
    );
    let example: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("example exists"))
            .expect("example is JSON");
    let expected = config(&format!("http://127.0.0.1:{}", quickbooks::DEFAULT_PORT));
    assert_eq!(example["accountingSystem"], "quickbooks");
    assert_eq!(
        example["baseUrl"],
        expected.base_url.as_str().trim_end_matches('/')
    );
    assert_eq!(example["tenantId"], quickbooks::DEMO_REALM_ID);
    assert_eq!(
        example["credentials"]["token"],
        quickbooks::DEMO_ACCESS_TOKEN
    );
    for key in ["companyName", "accounts", "taxCode", "journalCode"] {
        assert_eq!(example["settings"][key], expected.settings[key], "{key}");
    }
}

/// The `examples/quickbooks` walkthrough as a user runs it: `preflight check`
/// with the example job and configuration (pointed at this test's emulator
/// instead of the default port), on the happy path and in one scenario.
#[rstest]
#[case::happy_path(&[], Some(0), "verdict: proceed")]
#[case::plan_without_bills(&[Scenario::PlanWithoutBills], Some(1), "failureReasonType: invalid_configuration")]
#[tokio::test(flavor = "multi_thread")]
async fn quickbooks_example_walkthrough(
    #[case] scenarios: &[Scenario],
    #[case] exit: Option<i32>,
    #[case] expected: &str,
) {
    let emulator = emulator(scenarios).await;
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/quickbooks");
    let example = std::fs::read_to_string(format!("{examples}/config.json")).expect("example");
    let default_url = format!("http://127.0.0.1:{}", quickbooks::DEFAULT_PORT);
    assert!(
        example.contains(&default_url),
        "the example targets the default port"
    );
    let config = crate::support::temp_dir("quickbooks-example").join("config.json");
    std::fs::write(&config, example.replace(&default_url, &emulator.url())).expect("write");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_preflight"))
        .args(["check", "--plugin", "quickbooks", "--job"])
        .arg(format!("{examples}/job.json"))
        .arg("--config")
        .arg(&config)
        .output()
        .await
        .expect("preflight runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        exit,
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(expected), "{stdout}");
    assert!(
        stdout.contains("quickbooks.permissions.vendors"),
        "{stdout}"
    );
    emulator.shutdown().await;
}
