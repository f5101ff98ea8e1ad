//! The Business Central validator against the Business Central emulator over TCP: one case
//! per scenario and the happy paths, asserting the exact reason and that the message names
//! the problem in Business Central's terms.

use preflight::{FailureReason, IntegrationConfig, Plugin, Runtime, Verdict};
use preflight_emulators::business_central::{
    self, BusinessCentralConfig, BusinessCentralEmulator, Scenario,
};
use preflight_runtime::config::{Credentials, Secret};
use preflight_runtime::report::CheckStatus;
use rstest::rstest;

use crate::support::{self, job, loopback, runtime};

/// The rule reporting vendor bookkeeping.
const VENDORS_RULE: &str = "business-central.permissions.vendors";

/// The bundled Business Central plugin, compiled.
async fn plugin(runtime: &Runtime) -> Plugin {
    crate::support::bundled_plugin(runtime, "business-central").await
}

/// An emulator on a free loopback port, in `scenarios`; `slow` outlasts the test runtime's
/// request timeout.
async fn emulator(scenarios: &[Scenario]) -> BusinessCentralEmulator {
    let config = BusinessCentralConfig {
        scenarios: scenarios.to_vec(),
        slow_delay: support::REQUEST_TIMEOUT * 4,
        ..BusinessCentralConfig::default()
    };
    BusinessCentralEmulator::start(config, loopback())
        .await
        .expect("emulator starts")
}

/// The demo company's configuration: the environment root as base URL, the company id as
/// tenant id, and the settings of examples/business-central/config.json.
fn config(emulator: &BusinessCentralEmulator) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "business-central".to_owned(),
        base_url: url::Url::parse(&emulator.environment_url()).expect("url"),
        tenant_id: Some(business_central::DEMO_COMPANY_ID.to_owned()),
        credentials: Credentials::Bearer(Secret::new(business_central::DEMO_ACCESS_TOKEN)),
        settings: serde_json::json!({
            "companyName": business_central::DEMO_COMPANY_NAME,
            "journal": "PLEO",
            "accounts": { "expenses": "6130", "contra": "2320" },
            "taxGroup": "VAT25",
            "attachments": true,
        }),
    }
}

/// Every rule of the plugin, in order: each scenario's report lists all
/// of them, however early it fails.
const BUSINESS_CENTRAL_RULES: &[&str] = &[
    "business-central.settings",
    "business-central.environment",
    "business-central.connection",
    "business-central.company",
    "business-central.permissions.journals",
    "business-central.journal",
    "business-central.permissions.vendors",
    "business-central.permissions.attachments",
    "business-central.accounts.expenses",
    "business-central.accounts.contra",
    "business-central.tax-group",
];

#[rstest]
#[case::happy_path(&[], false, None, "")]
#[case::happy_path_with_vendors(&[], true, None, "")]
#[case::token_expired(&[Scenario::TokenExpired], false, Some(FailureReason::AccountingSystemAuthenticationFailure), "Reconnect Business Central: Pleo's sign-in to Business Central (Microsoft Entra ID) has expired")]
#[case::app_not_registered(&[Scenario::AppNotRegistered], false, Some(FailureReason::AccountingSystemAuthenticationFailure), "Microsoft Entra Applications page")]
#[case::unknown_environment(&[Scenario::UnknownEnvironment], false, Some(FailureReason::MissingConfiguration), "environment 'Production' does not exist in Microsoft Entra tenant")]
#[case::wrong_company(&[Scenario::WrongCompany], false, Some(FailureReason::MissingConfiguration), "company 'CRONUS Danmark A/S' is not in environment 'Production' (the companies Pleo's connection reaches are 'My Company')")]
#[case::missing_permission(&[Scenario::MissingPermission], false, Some(FailureReason::MissingConfiguration), "do not allow general journals in company 'CRONUS Danmark A/S' (Business Central: TableData 232 Gen. Journal Batch Read)")]
#[case::missing_attachments_permission(&[Scenario::MissingAttachmentsPermission], false, Some(FailureReason::MissingConfiguration), "do not allow attachments (incoming documents)")]
#[case::purchasing_not_licensed(&[Scenario::PurchasingNotLicensed], true, Some(FailureReason::InvalidConfiguration), "its licence does not include purchasing")]
#[case::purchasing_unneeded_without_vendors(&[Scenario::PurchasingNotLicensed], false, None, "")]
#[case::rate_limited(&[Scenario::RateLimited], false, Some(FailureReason::AccountingSystemRateLimit), "Business Central is limiting how many requests")]
#[case::maintenance(&[Scenario::Maintenance], false, Some(FailureReason::AccountingSystemUnreachable), "environment 'Production' is being updated or is busy (it answered 503)")]
#[case::outage(&[Scenario::Outage], false, Some(FailureReason::AccountingSystemUnreachable), "Business Central is unavailable at the moment (it answered 502)")]
#[case::slow(&[Scenario::Slow], false, Some(FailureReason::AccountingSystemTimeout), "Business Central did not answer in time")]
#[case::accounts_missing(&[Scenario::AccountsMissing], false, Some(FailureReason::MissingConfiguration), "G/L account 6130 (used for expenses) does not exist in company 'CRONUS Danmark A/S'")]
#[case::tax_group_missing(&[Scenario::TaxGroupMissing], false, Some(FailureReason::MissingConfiguration), "tax group VAT25 does not exist in company 'CRONUS Danmark A/S'")]
#[case::journal_missing(&[Scenario::JournalMissing], false, Some(FailureReason::MissingConfiguration), "no general journal batch PLEO in company 'CRONUS Danmark A/S'")]
#[tokio::test]
async fn business_central_scenarios(
    #[case] scenarios: &[Scenario],
    #[case] vendor_based_bookkeeping: bool,
    #[case] reason: Option<FailureReason>,
    #[case] message: &str,
) {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(scenarios).await;
    let outcome = plugin
        .validate(&job(vendor_based_bookkeeping), &config(&emulator))
        .await
        .expect("the Business Central plugin never faults");
    support::assert_rule_set(&plugin, &outcome, BUSINESS_CENTRAL_RULES);

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
        .find(|c| c.id == VENDORS_RULE)
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
async fn business_central_happy_path_checks_everything_inside_the_environment() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;
    let outcome = plugin
        .validate(&job(true), &config(&emulator))
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
    for rule in BUSINESS_CENTRAL_RULES {
        assert!(
            passed.contains(rule),
            "{rule} did not pass: {:#?}",
            outcome.report
        );
    }
    let requests = emulator.requests();
    let company_root = format!(
        "/v2.0/{}/{}/api/v2.0/companies({})/",
        business_central::DEMO_TENANT_ID,
        business_central::DEMO_ENVIRONMENT,
        business_central::DEMO_COMPANY_ID
    );
    assert_eq!(
        requests[0].path,
        format!(
            "/v2.0/{}/{}/api/v2.0/companies",
            business_central::DEMO_TENANT_ID,
            business_central::DEMO_ENVIRONMENT
        )
    );
    for request in &requests[1..] {
        assert!(
            request.path.starts_with(&company_root),
            "{} is not scoped to the company",
            request.path
        );
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {}", business_central::DEMO_ACCESS_TOKEN).as_str()),
            "the host attaches the token"
        );
    }
    for set in [
        "journals",
        "vendors",
        "purchaseInvoices",
        "attachments",
        "accounts",
        "taxGroups",
    ] {
        assert!(
            requests
                .iter()
                .any(|r| r.path == format!("{company_root}{set}")),
            "{set} was not read"
        );
    }
}

#[tokio::test]
async fn business_central_maintenance_carries_retry_after() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[Scenario::Maintenance]).await;
    let outcome = plugin
        .validate(&job(false), &config(&emulator))
        .await
        .unwrap();
    match outcome.verdict {
        Verdict::Retry {
            retry_after, check, ..
        } => {
            assert_eq!(retry_after, Some(1), "the emulator sends retry-after: 1");
            assert_eq!(check, "business-central.connection");
        }
        other => panic!("maintenance is transient, got {other:?}"),
    }
}

#[tokio::test]
async fn business_central_switching_scenarios_changes_the_verdict() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[Scenario::PurchasingNotLicensed]).await;
    let blocked = plugin
        .validate(&job(true), &config(&emulator))
        .await
        .unwrap();
    assert_eq!(
        blocked.verdict.reason(),
        Some(FailureReason::InvalidConfiguration)
    );
    let vendors = blocked
        .report
        .checks
        .iter()
        .find(|c| c.id == VENDORS_RULE)
        .expect("vendors rule reported");
    assert_eq!(vendors.status, CheckStatus::Failed);

    emulator.set_scenarios(&[]);
    emulator.clear_requests();
    let allowed = plugin
        .validate(&job(true), &config(&emulator))
        .await
        .unwrap();
    assert!(allowed.verdict.proceeds(), "{:#?}", allowed.report);
    assert!(!emulator.requests().is_empty());
}

#[tokio::test]
async fn business_central_configuration_errors_fail_without_requests() {
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;

    let mut no_company = config(&emulator);
    no_company.tenant_id = None;
    let outcome = plugin.validate(&job(false), &no_company).await.unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert!(
        outcome
            .verdict
            .message()
            .unwrap()
            .contains("No Business Central company is selected")
    );

    let mut server_root = config(&emulator);
    server_root.base_url = url::Url::parse(&emulator.url()).expect("url");
    let outcome = plugin.validate(&job(false), &server_root).await.unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::InvalidConfiguration)
    );
    assert!(
        outcome
            .verdict
            .message()
            .unwrap()
            .contains("does not name an environment")
    );
    assert!(emulator.requests().is_empty());

    let errors = plugin
        .validate_settings(&serde_json::json!({
            "journal": "PLEO",
            "accounts": { "expenses": "6130", "contra": "2320" },
            "vatCode": "VAT25",
        }))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        errors[0].message.contains("unknown field `vatCode`"),
        "{errors:?}"
    );
    let errors = plugin
        .validate_settings(&serde_json::json!({
            "journal": "PLEO-EXPENSES",
            "accounts": { "expenses": "6130", "contra": "2320" },
        }))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(errors[0].field, "journal");
}

#[tokio::test]
async fn business_central_example_files_match_the_emulator_defaults() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/business-central");
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/config.json")).expect("config.json"),
    )
    .expect("config.json is JSON");
    assert_eq!(config["accountingSystem"], "business-central");
    assert_eq!(
        config["baseUrl"],
        format!(
            "http://127.0.0.1:{}/v2.0/{}/{}",
            business_central::DEFAULT_PORT,
            business_central::DEMO_TENANT_ID,
            business_central::DEMO_ENVIRONMENT
        )
    );
    assert_eq!(config["tenantId"], business_central::DEMO_COMPANY_ID);
    assert_eq!(
        config["credentials"]["token"],
        business_central::DEMO_ACCESS_TOKEN
    );

    // The example's settings and job pass against an emulator on a free port.
    let runtime = runtime();
    let plugin = plugin(&runtime).await;
    let emulator = emulator(&[]).await;
    let mut integration = self::config(&emulator);
    integration.settings = config["settings"].clone();
    let job_text = std::fs::read_to_string(format!("{root}/job.json")).expect("job.json");
    let example_job = preflight::ExportJob::from_json(&job_text).expect("job.json parses");
    let outcome = plugin.validate(&example_job, &integration).await.unwrap();
    assert!(outcome.verdict.proceeds(), "{:#?}", outcome.report);
}
