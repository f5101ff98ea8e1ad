//! The emulators' fidelity: every organisation or company an emulator
//! lists as reachable with its demo token (Xero's `/connections`, Business
//! Central's `/companies`, the one company a QuickBooks realm or a Fortnox
//! token is bound to) is usable, so a company configured for it validates
//! end to end through the real plugin, with and without vendor bookkeeping.

use preflight::Verdict;
use preflight_emulators::{business_central, fortnox, quickbooks, xero};
use rstest::rstest;

use crate::messages::{Emulator, System};
use crate::support;

/// A company as the emulator lists it: what a configuration names it by.
#[derive(Debug)]
struct Listed {
    /// The integration's `tenantId`.
    tenant_id: String,
    /// Settings naming the company as the emulator does.
    settings: Vec<(&'static str, serde_json::Value)>,
}

/// `GET url` with the bearer token, as JSON.
async fn get(url: &str, token: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let mut request = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .header("accept", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"));
    assert!(response.status().is_success(), "GET {url}: {response:?}");
    response
        .json()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"))
}

/// Every company the emulator lists with its demo token, read from the API
/// the plugin reads, each confirmed by the company's own description.
async fn listed(emulator: &Emulator) -> Vec<Listed> {
    let base = emulator.base_url();
    match emulator {
        Emulator::Xero(_) => {
            let token = xero::DEMO_ACCESS_TOKEN;
            let connections = get(&format!("{base}/connections"), token, &[]).await;
            let mut listed = Vec::new();
            for connection in connections.as_array().expect("an array of connections") {
                let id = connection["tenantId"].as_str().expect("tenantId");
                let name = connection["tenantName"].as_str().expect("tenantName");
                let organisation = get(
                    &format!("{base}/api.xro/2.0/Organisation"),
                    token,
                    &[("xero-tenant-id", id)],
                )
                .await;
                assert_eq!(organisation["Organisations"][0]["Name"], name, "{id}");
                listed.push(Listed {
                    tenant_id: id.to_owned(),
                    settings: vec![("organisationName", serde_json::json!(name))],
                });
            }
            listed
        }
        Emulator::QuickBooks(_) => {
            let realm = quickbooks::DEMO_REALM_ID;
            let info = get(
                &format!("{base}/v3/company/{realm}/companyinfo/{realm}"),
                quickbooks::DEMO_ACCESS_TOKEN,
                &[],
            )
            .await;
            let name = info["CompanyInfo"]["CompanyName"]
                .as_str()
                .expect("CompanyName");
            vec![Listed {
                tenant_id: realm.to_owned(),
                settings: vec![("companyName", serde_json::json!(name))],
            }]
        }
        Emulator::Fortnox(_) => {
            let info = get(
                &format!("{base}/3/companyinformation"),
                fortnox::DEMO_ACCESS_TOKEN,
                &[],
            )
            .await;
            let info = &info["CompanyInformation"];
            vec![Listed {
                tenant_id: info["DatabaseNumber"].to_string(),
                settings: vec![
                    ("companyName", info["CompanyName"].clone()),
                    ("organizationNumber", info["OrganizationNumber"].clone()),
                ],
            }]
        }
        Emulator::BusinessCentral(_) => {
            let token = business_central::DEMO_ACCESS_TOKEN;
            let companies = get(&format!("{base}/api/v2.0/companies"), token, &[]).await;
            let mut listed = Vec::new();
            for company in companies["value"].as_array().expect("an OData collection") {
                let id = company["id"].as_str().expect("id");
                let own = get(&format!("{base}/api/v2.0/companies({id})"), token, &[]).await;
                assert_eq!(own["name"], company["name"], "{id}");
                listed.push(Listed {
                    tenant_id: id.to_owned(),
                    settings: vec![("companyName", company["name"].clone())],
                });
            }
            listed
        }
    }
}

#[rstest]
#[case::xero(System::Xero)]
#[case::quickbooks(System::QuickBooks)]
#[case::fortnox(System::Fortnox)]
#[case::business_central(System::BusinessCentral)]
#[tokio::test]
async fn every_listed_company_validates_end_to_end(#[case] system: System) {
    let emulator = Emulator::start(system, None).await;
    let companies = listed(&emulator).await;
    assert!(!companies.is_empty(), "{system:?} lists no company");
    let runtime = support::runtime();
    let plugin = support::bundled_plugin(&runtime, system.plugin()).await;
    let mut unusable = Vec::new();
    for company in &companies {
        let mut config = system.example_config(&emulator.base_url());
        config.tenant_id = Some(company.tenant_id.clone());
        for (key, value) in &company.settings {
            config.settings[*key] = value.clone();
        }
        for vendors in [false, true] {
            let outcome = plugin
                .validate(&support::job(vendors), &config)
                .await
                .expect("a bundled plugin never faults");
            if outcome.verdict != Verdict::Proceed {
                unusable.push(format!(
                    "{company:?} (vendor bookkeeping {vendors}): {:?}",
                    outcome.verdict
                ));
            }
        }
    }
    assert!(
        unusable.is_empty(),
        "{system:?} lists companies that cannot be used:\n{}",
        unusable.join("\n")
    );
    emulator.shutdown().await;
}
