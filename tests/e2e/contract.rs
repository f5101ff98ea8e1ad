//! Contract versions side by side: a component built against the frozen
//! `preflight:plugin@0.1.0` (`guest/fixtures/contract-v0-1-0`) loads,
//! validates and is listed with its version next to the bundled 0.2.0
//! plugins, which declare their rules and list exactly those in every
//! report.

use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use preflight::{FailureReason, IntegrationConfig, Verdict};
use preflight_artifacts::fixtures;
use preflight_runtime::config::Credentials;
use preflight_runtime::report::CheckStatus;

use crate::support;

/// A loopback server whose `/up/status` answers 200 and `/down/status` 503:
/// the accounting system of the 0.1.0 fixture.
async fn status_server() -> SocketAddr {
    let app = Router::new()
        .route("/up/status", get(|| async { (StatusCode::OK, "{}") }))
        .route(
            "/down/status",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "{}") }),
        );
    let listener = tokio::net::TcpListener::bind(support::loopback())
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

fn legacy_config(base_url: String) -> IntegrationConfig {
    IntegrationConfig {
        accounting_system: "legacy".to_owned(),
        base_url: url::Url::parse(&base_url).unwrap(),
        tenant_id: None,
        credentials: Credentials::None,
        settings: serde_json::json!({}),
    }
}

#[tokio::test]
async fn a_component_of_the_frozen_0_1_0_contract_loads_and_validates() {
    let runtime = support::runtime();
    let plugin = support::plugin_from(&runtime, fixtures::CONTRACT_V0_1_0).await;
    let info = plugin.info();
    assert_eq!(
        (
            info.name.as_str(),
            info.version.as_str(),
            info.contract.as_str()
        ),
        ("legacy", "0.1.0", "0.1.0")
    );
    assert_eq!(info.display_name, None, "0.1.0 has no display name");
    assert_eq!(info.rules, None, "0.1.0 declares no rules");
    assert_eq!(info.system_name(), "legacy");
    assert!(
        plugin
            .validate_settings(&serde_json::json!({}))
            .await
            .unwrap()
            .is_ok()
    );
    let refused = plugin
        .validate_settings(&serde_json::json!([1]))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused[0].field, "");

    let server = status_server().await;
    let job = support::job(false);
    let up = plugin
        .validate(&job, &legacy_config(format!("http://{server}/up")))
        .await
        .unwrap();
    assert_eq!(up.verdict, Verdict::Proceed);
    assert_eq!(up.report.checks.len(), 1);
    assert_eq!(up.report.checks[0].id, "legacy.status");
    assert_eq!(up.report.checks[0].status, CheckStatus::Passed);
    assert_eq!(up.exchanges.len(), 1, "the request went through the host");
    assert_eq!(up.exchanges[0].status, Some(200));

    let down = plugin
        .validate(&job, &legacy_config(format!("http://{server}/down")))
        .await
        .unwrap();
    assert_eq!(
        down.verdict.reason(),
        Some(FailureReason::AccountingSystemUnreachable)
    );
    assert_eq!(down.exchanges[0].status, Some(503));
}

#[tokio::test]
async fn bundled_plugins_are_on_0_2_0_and_declare_what_0_1_0_could_not() {
    let runtime = support::runtime();
    for artifact in preflight::bundled::all() {
        let plugin = support::bundled_plugin(&runtime, artifact.name).await;
        let info = plugin.info();
        assert_eq!(info.contract, "0.2.0", "{}", artifact.name);
        let display = info.display_name.as_deref().unwrap_or_default();
        assert!(
            !display.is_empty() && display != info.accounting_system,
            "{display}"
        );
        let rules = info.rules.as_ref().expect("0.2.0 plugins declare rules");
        assert_eq!(
            rules[0].id,
            format!("{}.settings", info.name),
            "the SDK's settings rule comes first"
        );
        assert!(rules.iter().all(|rule| !rule.title.trim().is_empty()));
        let schema = info.settings_schema.as_ref().expect("a settings schema");
        assert_eq!(schema["type"], "object", "{}", artifact.name);
    }
}

#[test]
fn plugins_list_shows_each_components_contract_version() {
    let output = std::process::Command::new(crate::serve::PREFLIGHT)
        .args([
            "plugins",
            "list",
            "--json",
            "xero",
            fixtures::CONTRACT_V0_1_0,
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let contract = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed: {rows}"))["contract"]
            .clone()
    };
    assert_eq!(contract("xero"), "0.2.0");
    assert_eq!(contract("legacy"), "0.1.0");

    let table = std::process::Command::new(crate::serve::PREFLIGHT)
        .args(["plugins", "list", fixtures::CONTRACT_V0_1_0])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("CONTRACT"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("legacy") && line.contains(" 0.1.0 ")),
        "{text}"
    );
}
