//! The Fortnox validator against the Fortnox emulator over TCP: one case per
//! scenario and the happy paths, asserting the exact reason and that the
//! message names the problem; vendor bookkeeping with and without the
//! licence; Fortnox's own rate limit; and the `examples/fortnox` files.

use std::path::{Path, PathBuf};

use preflight::{ExportJob, FailureReason, IntegrationConfig, Plugin, Runtime, Verdict};
use preflight_emulators::fortnox::{self, FortnoxConfig, FortnoxEmulator, Scenario};
use preflight_runtime::config::{Credentials, Secret};
use preflight_runtime::report::CheckStatus;
use rstest::rstest;

use crate::support;

/// The bundled Fortnox plugin, compiled.
async fn fortnox_plugin(runtime: &Runtime) -> Plugin {
    crate::support::bundled_plugin(runtime, "fortnox").await
}

/// A Fortnox emulator on a free loopback port, in `scenarios`.
async fn fortnox_emulator(scenarios: &[Scenario]) -> FortnoxEmulator {
    let config = FortnoxConfig {
        scenarios: scenarios.to_vec(),
        slow_delay: support::REQUEST_TIMEOUT * 4,
        ..FortnoxConfig::default()
    };
    FortnoxEmulator::start(config, support::loopback())
        .await
        .expect("emulator starts")
}

/// The demo company's Fortnox configuration pointing at `base_url`.
fn fortnox_config(base_url: &str) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "fortnox".to_owned(),
        base_url: url::Url::parse(base_url).expect("url"),
        tenant_id: Some(fortnox::DEMO_DATABASE_NUMBER.to_string()),
        credentials: Credentials::Bearer(Secret::new(fortnox::DEMO_ACCESS_TOKEN)),
        settings: serde_json::json!({
            "companyName": fortnox::DEMO_COMPANY_NAME,
            "organizationNumber": fortnox::DEMO_ORGANIZATION_NUMBER,
            "voucherSeries": "P",
            "accounts": { "expenses": "6991", "contra": "1930" },
            "vatCode": "MP1",
        }),
    }
}

/// The status of rule `id` in `outcome`'s report.
fn status_of(outcome: &preflight::Outcome, id: &str) -> CheckStatus {
    outcome
        .report
        .checks
        .iter()
        .find(|check| check.id == id)
        .unwrap_or_else(|| panic!("{id} reported: {:#?}", outcome.report))
        .status
}

/// Every rule of the plugin, in order: each scenario's report lists all
/// of them, however early it fails.
const FORTNOX_RULES: &[&str] = &[
    "fortnox.settings",
    "fortnox.connection",
    "fortnox.company",
    "fortnox.financial-year",
    "fortnox.permissions.vouchers",
    "fortnox.voucher-series",
    "fortnox.permissions.suppliers",
    "fortnox.permissions.supplier-invoices",
    "fortnox.permissions.attachments",
    "fortnox.accounts.expenses",
    "fortnox.accounts.contra",
    "fortnox.vat-code",
];

#[rstest]
#[case::happy_path(&[], false, None, "")]
#[case::happy_path_with_vendors(&[], true, None, "")]
#[case::token_expired(&[Scenario::TokenExpired], false, Some(FailureReason::AccountingSystemAuthenticationFailure), "Reconnect Fortnox: Fortnox no longer accepts Pleo's connection")]
#[case::missing_scope(&[Scenario::MissingScope], false, Some(FailureReason::MissingConfiguration), "not allowed to use bookkeeping (vouchers, voucher series and the chart of accounts)")]
#[case::missing_supplier_scope(&[Scenario::MissingSupplierScope], true, Some(FailureReason::MissingConfiguration), "not allowed to use suppliers, which Pleo needs to book expenses against suppliers")]
#[case::supplier_scope_unneeded_without_vendors(&[Scenario::MissingSupplierScope], false, None, "")]
#[case::missing_inbox_scope(&[Scenario::MissingInboxScope], false, Some(FailureReason::MissingConfiguration), "not allowed to use the Fortnox inbox (Inkorgen), which Pleo needs to upload receipts")]
#[case::wrong_company(&[Scenario::WrongCompany], false, Some(FailureReason::MissingConfiguration), "Pleo is connected to Fortnox company 'Svea Bygg AB' (organisation number 559123-4567), but this Pleo company exports to the Fortnox company with database number 1234567")]
#[case::no_supplier_invoice_licence(&[Scenario::NoSupplierInvoiceLicence], true, Some(FailureReason::InvalidConfiguration), "Your Fortnox company has no active licence for supplier invoices")]
#[case::supplier_invoice_licence_unneeded_without_vendors(&[Scenario::NoSupplierInvoiceLicence], false, None, "")]
#[case::no_api_licence(&[Scenario::NoApiLicence], false, Some(FailureReason::InvalidConfiguration), "does not include integrations (the API licence)")]
#[case::rate_limited(&[Scenario::RateLimited], false, Some(FailureReason::AccountingSystemRateLimit), "Fortnox is limiting how many requests")]
#[case::unavailable(&[Scenario::Unavailable], false, Some(FailureReason::AccountingSystemUnreachable), "Fortnox is unavailable at the moment (it answered 503)")]
#[case::slow(&[Scenario::Slow], false, Some(FailureReason::AccountingSystemTimeout), "Fortnox did not answer in time")]
#[case::accounts_missing(&[Scenario::AccountsMissing], false, Some(FailureReason::MissingConfiguration), "Fortnox account 6991 (used for expenses) does not exist in the chart of accounts of 'Nordisk Demo AB'")]
#[case::vat_code_missing(&[Scenario::VatCodeMissing], false, Some(FailureReason::MissingConfiguration), "VAT code MP1 is not set on any active account")]
#[case::voucher_series_missing(&[Scenario::VoucherSeriesMissing], false, Some(FailureReason::MissingConfiguration), "Voucher series P does not exist in Fortnox company 'Nordisk Demo AB'")]
#[case::financial_year_missing(&[Scenario::FinancialYearMissing], false, Some(FailureReason::InvalidConfiguration), "has no financial year covering 2026-11-25")]
#[tokio::test]
async fn fortnox_scenarios(
    #[case] scenarios: &[Scenario],
    #[case] vendor_based_bookkeeping: bool,
    #[case] reason: Option<FailureReason>,
    #[case] message: &str,
) {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(scenarios).await;
    let outcome = plugin
        .validate(
            &support::job(vendor_based_bookkeeping),
            &fortnox_config(&emulator.url()),
        )
        .await
        .expect("the Fortnox plugin never faults");
    support::assert_rule_set(&plugin, &outcome, FORTNOX_RULES);

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
    if !vendor_based_bookkeeping {
        for rule in [
            "fortnox.permissions.suppliers",
            "fortnox.permissions.supplier-invoices",
        ] {
            assert_eq!(
                status_of(&outcome, rule),
                CheckStatus::Skipped,
                "vendor checks run only for vendor bookkeeping"
            );
        }
    }
    assert!(
        !emulator.requests().is_empty(),
        "the plugin talked to the emulator"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn vendor_bookkeeping_runs_the_supplier_checks_when_the_job_needs_them() {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(&[]).await;
    let config = fortnox_config(&emulator.url());

    let with_vendors = plugin.validate(&support::job(true), &config).await.unwrap();
    assert!(
        with_vendors.verdict.proceeds(),
        "{:#?}",
        with_vendors.report
    );
    for rule in [
        "fortnox.permissions.suppliers",
        "fortnox.permissions.supplier-invoices",
    ] {
        assert_eq!(status_of(&with_vendors, rule), CheckStatus::Passed);
    }
    let paths: Vec<String> = emulator.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().any(|p| p == "/3/supplierinvoices"),
        "{paths:?}"
    );

    emulator.clear_requests();
    emulator.set_scenarios(&[Scenario::NoSupplierInvoiceLicence]);
    let without_licence = plugin.validate(&support::job(true), &config).await.unwrap();
    assert_eq!(
        without_licence.verdict.reason(),
        Some(FailureReason::InvalidConfiguration)
    );
    assert_eq!(
        status_of(&without_licence, "fortnox.permissions.supplier-invoices"),
        CheckStatus::Failed
    );

    emulator.clear_requests();
    let no_vendors = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();
    assert!(no_vendors.verdict.proceeds(), "{:#?}", no_vendors.report);
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/3/supplier")),
        "no supplier probe without vendor bookkeeping"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn rate_limit_asks_to_wait_one_window() {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(&[Scenario::RateLimited]).await;
    let outcome = plugin
        .validate(&support::job(false), &fortnox_config(&emulator.url()))
        .await
        .unwrap();
    match outcome.verdict {
        Verdict::Retry {
            retry_after, check, ..
        } => {
            assert_eq!(
                retry_after,
                Some(5),
                "Fortnox sends no Retry-After; its window is 5 s"
            );
            assert_eq!(check, "fortnox.connection");
        }
        other => panic!("a rate limit is transient, got {other:?}"),
    }
}

#[tokio::test]
async fn emulator_enforces_twenty_five_requests_per_five_seconds() {
    let emulator = fortnox_emulator(&[]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/3/companyinformation", emulator.url());
    let mut statuses = Vec::new();
    for _ in 0..26 {
        let response = client
            .get(&url)
            .bearer_auth(fortnox::DEMO_ACCESS_TOKEN)
            .send()
            .await
            .expect("emulator answers");
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            assert!(
                response.headers().get("retry-after").is_none(),
                "Fortnox sends no Retry-After"
            );
            let body: serde_json::Value = response.json().await.expect("JSON body");
            assert_eq!(body["ErrorInformation"]["error"], 1, "{body}");
        }
    }
    assert!(
        statuses[..25].iter().all(|status| *status == 200),
        "{statuses:?}"
    );
    assert_eq!(statuses[25], 429);
    emulator.shutdown().await;
}

#[tokio::test]
async fn emulator_answers_fortnox_error_bodies() {
    let emulator = fortnox_emulator(&[Scenario::MissingScope]).await;
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = client.get(format!("{}{path}", emulator.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let token = Some(fortnox::DEMO_ACCESS_TOKEN);
    let cases = [
        ("/3/companyinformation", None, 401, Some(2_000_311)),
        ("/3/companyinformation", Some("wrong"), 401, Some(2_000_310)),
        ("/3/accounts", token, 400, Some(2_000_663)),
        ("/3/nothing-here", token, 404, None),
    ];
    for (path, token, status, code) in cases {
        let response = get(path, token).await.expect("emulator answers");
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: serde_json::Value = response.json().await.expect("JSON body");
        assert_eq!(body["ErrorInformation"]["error"], 1, "{body}");
        assert_eq!(body["ErrorInformation"]["code"].as_u64(), code, "{body}");
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn happy_path_checks_everything_with_reads_under_the_api_root() {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(&[]).await;
    let outcome = plugin
        .validate(&support::job(true), &fortnox_config(&emulator.url()))
        .await
        .unwrap();
    assert!(outcome.verdict.proceeds());
    // The settings rule passes too: every declared rule does.
    for rule in FORTNOX_RULES {
        assert_eq!(status_of(&outcome, rule), CheckStatus::Passed, "{rule}");
    }
    let requests = emulator.requests();
    assert!(requests.len() <= 12, "{} requests", requests.len());
    for request in &requests {
        assert_eq!(request.method, "GET", "a validator never writes");
        assert!(request.path.starts_with("/3/"), "{}", request.path);
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {}", fortnox::DEMO_ACCESS_TOKEN).as_str()),
            "the host attaches the token"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn company_is_matched_by_organisation_number_too() {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(&[]).await;
    let mut config = fortnox_config(&emulator.url());
    config.tenant_id = None;
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();
    assert!(outcome.verdict.proceeds(), "{:#?}", outcome.report);

    config.settings["organizationNumber"] = "5591234567".into();
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert!(
        outcome
            .verdict
            .message()
            .unwrap()
            .contains("organisation number 5591234567")
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn missing_company_fails_without_any_request() {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(&[]).await;
    let mut config = fortnox_config(&emulator.url());
    config.tenant_id = None;
    config.settings = serde_json::json!({
        "voucherSeries": "P",
        "accounts": { "expenses": "6991", "contra": "1930" },
    });
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert!(
        outcome
            .verdict
            .message()
            .unwrap()
            .contains("No Fortnox company is set")
    );
    assert!(emulator.requests().is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn unusable_settings_fail_with_the_field_named() {
    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let emulator = fortnox_emulator(&[]).await;
    let mut config = fortnox_config(&emulator.url());
    config.settings = serde_json::json!({ "accounts": { "expenses": "6991", "contra": "1930" } });
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert!(
        outcome.verdict.message().unwrap().contains("voucherSeries"),
        "{:?}",
        outcome.verdict
    );

    let errors = plugin
        .validate_settings(&serde_json::json!({
            "voucherSeries": "P",
            "accounts": { "expenses": "699", "contra": "1930" },
        }))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(errors[0].field, "accounts.expenses");

    let errors = plugin
        .validate_settings(&serde_json::json!({
            "voucherSeries": "P",
            "accounts": { "expenses": "6991", "contra": "1930" },
            "taxType": "MP1",
        }))
        .await
        .unwrap()
        .unwrap_err();
    assert!(errors[0].message.contains("taxType"), "{errors:?}");
    emulator.shutdown().await;
}

/// `examples/fortnox`.
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fortnox")
}

#[tokio::test]
async fn example_files_validate_against_the_emulator() {
    let emulator = fortnox_emulator(&[]).await;
    let example = std::fs::read_to_string(examples().join("config.json")).unwrap();
    let default_url = format!("http://127.0.0.1:{}", fortnox::DEFAULT_PORT);
    assert!(
        example.contains(&default_url),
        "the example targets the emulator's default port"
    );
    let config = IntegrationConfig::from_json(&example.replace(&default_url, &emulator.url()))
        .expect("the example configuration parses");
    let job = ExportJob::from_json(&std::fs::read_to_string(examples().join("job.json")).unwrap())
        .expect("the example job parses");
    assert!(
        job.vendor_based_bookkeeping,
        "the walkthrough shows vendor checks"
    );

    let runtime = support::runtime();
    let plugin = fortnox_plugin(&runtime).await;
    let outcome = plugin.validate(&job, &config).await.unwrap();
    assert!(outcome.verdict.proceeds(), "{:#?}", outcome.report);

    emulator.set_scenarios(&[Scenario::NoSupplierInvoiceLicence]);
    let outcome = plugin.validate(&job, &config).await.unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::InvalidConfiguration)
    );
    emulator.shutdown().await;
}
