//! The Xero validator against the Xero emulator: one case per scenario and the
//! happy paths, asserting the exact reason and that the message names the
//! problem.

use preflight::{FailureReason, Verdict};
use preflight_emulators::xero::Scenario;
use preflight_runtime::report::CheckStatus;
use rstest::rstest;

use crate::support;

/// Every rule of the plugin, in order: each scenario's report lists all
/// of them, however early it fails.
const XERO_RULES: &[&str] = &[
    "xero.settings",
    "xero.connection",
    "xero.tenant",
    "xero.organisation",
    "xero.permissions.journals",
    "xero.permissions.contacts",
    "xero.permissions.attachments",
    "xero.accounts.expenses",
    "xero.accounts.contra",
    "xero.tax-type",
];

#[rstest]
#[case::happy_path(&[], false, None, "")]
#[case::happy_path_with_vendors(&[], true, None, "")]
#[case::token_expired(&[Scenario::TokenExpired], false, Some(FailureReason::AccountingSystemAuthenticationFailure), "Reconnect Xero: the connection expired on")]
#[case::tenant_not_connected(&[Scenario::TenantNotConnected], false, Some(FailureReason::MissingConfiguration), "Xero organisation 'Acme ApS' is not connected to this integration")]
#[case::practice_tenant(&[Scenario::PracticeTenant], false, Some(FailureReason::InvalidConfiguration), "is a Xero practice, not an organisation")]
#[case::missing_scope(&[Scenario::MissingScope], false, Some(FailureReason::MissingConfiguration), "not allowed to use manual journals")]
#[case::missing_contacts_scope(&[Scenario::MissingContactsScope], true, Some(FailureReason::MissingConfiguration), "not allowed to use contacts (suppliers)")]
#[case::contacts_scope_unneeded_without_vendors(&[Scenario::MissingContactsScope], false, None, "")]
#[case::missing_attachments_scope(&[Scenario::MissingAttachmentsScope], false, Some(FailureReason::MissingConfiguration), "not allowed to use attachments")]
#[case::rate_limited(&[Scenario::RateLimited], false, Some(FailureReason::AccountingSystemRateLimit), "Xero is limiting how many requests")]
#[case::unavailable(&[Scenario::Unavailable], false, Some(FailureReason::AccountingSystemUnreachable), "Xero is unavailable at the moment (it answered 503)")]
#[case::slow(&[Scenario::Slow], false, Some(FailureReason::AccountingSystemTimeout), "Xero did not answer in time")]
#[case::organisation_inactive(&[Scenario::OrganisationInactive], false, Some(FailureReason::InvalidConfiguration), "Xero organisation 'Acme ApS' is not active (status SUSPENDED)")]
#[case::accounts_missing(&[Scenario::AccountsMissing], false, Some(FailureReason::MissingConfiguration), "Xero account 429 (used for expenses) does not exist in 'Acme ApS'")]
#[tokio::test]
async fn xero_scenarios(
    #[case] scenarios: &[Scenario],
    #[case] vendor_based_bookkeeping: bool,
    #[case] reason: Option<FailureReason>,
    #[case] message: &str,
) {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(scenarios).await;
    let outcome = plugin
        .validate(
            &support::job(vendor_based_bookkeeping),
            &support::xero_config(&emulator.url()),
        )
        .await
        .expect("the Xero plugin never faults");
    support::assert_rule_set(&plugin, &outcome, XERO_RULES);

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
    let contacts = outcome
        .report
        .checks
        .iter()
        .find(|c| c.id == "xero.permissions.contacts")
        .expect("contacts rule reported");
    if !vendor_based_bookkeeping {
        assert_eq!(
            contacts.status,
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
async fn rate_limit_carries_retry_after() {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(&[Scenario::RateLimited]).await;
    let outcome = plugin
        .validate(&support::job(false), &support::xero_config(&emulator.url()))
        .await
        .unwrap();
    match outcome.verdict {
        Verdict::Retry {
            retry_after, check, ..
        } => {
            assert_eq!(retry_after, Some(1), "the emulator sends Retry-After: 1");
            assert_eq!(check, "xero.connection");
        }
        other => panic!("a rate limit is transient, got {other:?}"),
    }
}

#[tokio::test]
async fn happy_path_checks_everything_and_sends_the_tenant() {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(&[]).await;
    let outcome = plugin
        .validate(&support::job(true), &support::xero_config(&emulator.url()))
        .await
        .unwrap();
    assert!(outcome.verdict.proceeds());
    let passed: Vec<&str> = outcome
        .report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Passed)
        .map(|c| c.id.as_str())
        .collect();
    // The settings rule passes too: every declared rule does.
    for rule in XERO_RULES {
        assert!(
            passed.contains(rule),
            "{rule} did not pass: {:#?}",
            outcome.report
        );
    }
    let requests = emulator.requests();
    let accounting: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api.xro/2.0/"))
        .collect();
    assert!(!accounting.is_empty());
    for request in accounting {
        let tenant = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("xero-tenant-id"));
        assert_eq!(
            tenant.map(|(_, v)| v.as_str()),
            Some(preflight_emulators::xero::DEMO_TENANT_ID),
            "{}",
            request.path
        );
    }
}

#[tokio::test]
async fn missing_tenant_fails_without_any_request() {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(&[]).await;
    let mut config = support::xero_config(&emulator.url());
    config.tenant_id = None;
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
            .contains("No Xero organisation is selected")
    );
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn unusable_settings_fail_with_the_field_named() {
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    let emulator = support::xero_emulator(&[]).await;
    let mut config = support::xero_config(&emulator.url());
    config.settings = serde_json::json!({ "accounts": { "expenses": "429" } });
    let outcome = plugin
        .validate(&support::job(false), &config)
        .await
        .unwrap();
    assert_eq!(
        outcome.verdict.reason(),
        Some(FailureReason::MissingConfiguration)
    );
    assert!(
        outcome.verdict.message().unwrap().contains("accounts"),
        "{:?}",
        outcome.verdict
    );

    let errors = plugin
        .validate_settings(
            &serde_json::json!({ "accounts": { "expenses": "4 29", "contra": "800" } }),
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(errors[0].field, "accounts.expenses");
}

#[tokio::test]
async fn every_tenant_the_emulator_lists_as_connected_is_usable() {
    let emulator = support::xero_emulator(&[]).await;
    let http = reqwest::Client::new();
    let connections: Vec<serde_json::Value> = http
        .get(format!("{}/connections", emulator.url()))
        .bearer_auth(preflight_emulators::xero::DEMO_ACCESS_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(connections.len(), 2, "{connections:?}");
    let runtime = support::runtime();
    let plugin = support::xero_plugin(&runtime).await;
    for connection in &connections {
        let (tenant, name) = (
            connection["tenantId"].as_str().unwrap(),
            connection["tenantName"].as_str().unwrap(),
        );
        // A company configured for that tenant validates end to end.
        let mut config = support::xero_config(&emulator.url());
        config.tenant_id = Some(tenant.to_owned());
        config.settings["organisationName"] = serde_json::json!(name);
        let outcome = plugin.validate(&support::job(true), &config).await.unwrap();
        assert_eq!(
            outcome.verdict,
            Verdict::Proceed,
            "{name}: {:?}",
            outcome.report
        );
        let organisation: serde_json::Value = http
            .get(format!("{}/api.xro/2.0/Organisation", emulator.url()))
            .bearer_auth(preflight_emulators::xero::DEMO_ACCESS_TOKEN)
            .header("xero-tenant-id", tenant)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(organisation["Organisations"][0]["OrganisationID"], tenant);
        assert_eq!(organisation["Organisations"][0]["Name"], name);
    }
}
