//! The demo environment's data: two companies, each with the general journal batches, chart
//! of accounts, tax groups, vendors, purchase invoices and attachments of a small Danish
//! company, in API v2.0's entity shapes (docs/accounting-systems.md §5, "Endpoints"; field
//! lists from the v2.0 API reference [D], trimmed). Ids are fixed so answers are stable across
//! runs.

use serde_json::{Value, json};

use super::state::Active;
use super::{BusinessCentralConfig, Scenario};

/// When every seeded record was last modified.
const MODIFIED: &str = "2026-01-15T09:30:00Z";

/// A weak ETag, as every API v2.0 entity carries one.
const ETAG: &str = r#"W/"JzE5OzUyMTg1NDQ1NzU1MzI0MzQ4NDExOzAwOyc=""#;

/// The second company of the environment, never the configured one.
const OTHER_COMPANY: (&str, &str) = ("5d0b2c77-3e11-4c8a-9f0e-61a2b3c4d5e6", "My Company");

/// Which of the companies `/companies` lists a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Company {
    /// The configured one, which the scenarios shape.
    Configured,
    /// The second company of the environment: usable too, and its data is never shaped by a
    /// scenario (the permission and licence scenarios are the connection's, so they refuse
    /// it as well).
    Other,
}

impl Company {
    /// The listed company `id` names, if `/companies` lists it under the active scenarios
    /// (ids are GUIDs: case does not matter).
    pub(super) fn named(config: &BusinessCentralConfig, active: &Active, id: &str) -> Option<Self> {
        let id = id.trim();
        if id.eq_ignore_ascii_case(OTHER_COMPANY.0) {
            Some(Company::Other)
        } else if id.eq_ignore_ascii_case(&config.company_id) && !active.has(Scenario::WrongCompany)
        {
            Some(Company::Configured)
        } else {
            None
        }
    }

    /// The scenarios that shape this company's data: the active ones for the configured
    /// company, none for the other.
    pub(super) fn shaping(self, active: &Active) -> Active {
        match self {
            Company::Configured => active.clone(),
            Company::Other => Active::default(),
        }
    }
}

/// The id of general journal batch PLEO.
pub(super) const PLEO_JOURNAL_ID: &str = "a4b3c2d1-6f5e-4a3b-8c7d-0e1f2a3b4c5d";

/// The companies `/companies` lists under the active scenarios.
pub(super) fn companies(config: &BusinessCentralConfig, active: &Active) -> Vec<Value> {
    let mut companies = Vec::new();
    if !active.has(Scenario::WrongCompany) {
        companies.push(company(&config.company_id, &config.company_name));
    }
    companies.push(company(OTHER_COMPANY.0, OTHER_COMPANY.1));
    companies
}

fn company(id: &str, name: &str) -> Value {
    json!({
        "@odata.etag": ETAG,
        "id": id,
        "systemVersion": "27.0.38460.0",
        "timestamp": 12_345,
        "name": name,
        "displayName": name,
        "businessProfileId": "",
        "systemCreatedAt": MODIFIED,
        "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
        "systemModifiedAt": MODIFIED,
        "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
    })
}

/// General journal batches (entity `journal`); `journal-missing` removes PLEO.
pub(super) fn journals(active: &Active) -> Vec<Value> {
    let mut journals = vec![journal(
        "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
        "DEFAULT",
        "Default Journal Batch",
    )];
    if !active.has(Scenario::JournalMissing) {
        journals.push(journal(PLEO_JOURNAL_ID, "PLEO", "Pleo expenses"));
    }
    journals
}

fn journal(id: &str, code: &str, name: &str) -> Value {
    json!({
        "@odata.etag": ETAG,
        "id": id,
        "code": code,
        "displayName": name,
        "templateDisplayName": "GENERAL",
        "lastModifiedDateTime": MODIFIED,
        "balancingAccountId": "00000000-0000-0000-0000-000000000000",
        "balancingAccountNumber": "",
    })
}

/// One G/L account row: number, name, category, account type, blocked, direct posting.
type AccountRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
);

/// A trimmed chart: a heading, the payables account (no direct posting, as posting groups
/// feed it), a blocked account and the accounts the demo configuration maps to.
const ACCOUNTS: &[AccountRow] = &[
    ("2300", "Liquid Assets", "Assets", "Heading", false, true),
    ("2320", "Pleo Card", "Assets", "Posting", false, true),
    (
        "5410",
        "Vendors, Domestic",
        "Liabilities",
        "Posting",
        false,
        false,
    ),
    (
        "6100",
        "Operating Expenses",
        "Expense",
        "Heading",
        false,
        true,
    ),
    ("6130", "Office Supplies", "Expense", "Posting", false, true),
    ("6140", "Travel", "Expense", "Posting", false, true),
    ("6195", "Old Expenses", "Expense", "Posting", true, true),
];

/// Numbers `accounts-missing` removes: the accounts the demo configuration maps to.
const MISSING_ACCOUNTS: &[&str] = &["6130", "2320"];

/// The chart of accounts (entity `account`) under the active scenarios.
pub(super) fn accounts(active: &Active) -> Vec<Value> {
    let hide = active.has(Scenario::AccountsMissing);
    ACCOUNTS
        .iter()
        .enumerate()
        .filter(|(_, row)| !(hide && MISSING_ACCOUNTS.contains(&row.0)))
        .map(
            |(index, &(number, name, category, kind, blocked, direct))| {
                json!({
                    "@odata.etag": ETAG,
                    "id": format!("6a1c0f3e-0000-4000-8000-{index:012}"),
                    "number": number,
                    "displayName": name,
                    "category": category,
                    "subCategory": "",
                    "blocked": blocked,
                    "accountType": kind,
                    "directPosting": direct,
                    "netChange": 0,
                    "consolidationTranslationMethod": "",
                    "consolidationDebitAccount": "",
                    "consolidationCreditAccount": "",
                    "excludeFromConsolidation": false,
                    "lastModifiedDateTime": MODIFIED,
                })
            },
        )
        .collect()
}

/// Tax groups (entity `taxGroup`; VAT product posting groups in VAT countries);
/// `tax-group-missing` removes VAT25.
pub(super) fn tax_groups(active: &Active) -> Vec<Value> {
    [
        ("VAT25", "Standard VAT 25%"),
        ("NO VAT", "No VAT"),
        ("SERVICES", "Reverse charge services"),
    ]
    .into_iter()
    .enumerate()
    .filter(|(_, (code, _))| !(active.has(Scenario::TaxGroupMissing) && *code == "VAT25"))
    .map(|(index, (code, name))| {
        json!({
            "@odata.etag": ETAG,
            "id": format!("7b2d1e4f-0000-4000-8000-{index:012}"),
            "code": code,
            "displayName": name,
            "taxType": "VAT",
            "lastModifiedDateTime": MODIFIED,
        })
    })
    .collect()
}

/// Vendors (entity `vendor`).
pub(super) fn vendors() -> Vec<Value> {
    [("10000", "Office Depot ApS"), ("20000", "DSB")]
        .into_iter()
        .enumerate()
        .map(|(index, (number, name))| {
            json!({
                "@odata.etag": ETAG,
                "id": format!("8c3e2f5a-0000-4000-8000-{index:012}"),
                "number": number,
                "displayName": name,
                "currencyCode": "DKK",
                "blocked": " ",
                "balance": 0,
                "lastModifiedDateTime": MODIFIED,
            })
        })
        .collect()
}

/// Purchase invoices (entity `purchaseInvoice`).
pub(super) fn purchase_invoices() -> Vec<Value> {
    vec![json!({
        "@odata.etag": ETAG,
        "id": "9d4f3a6b-0000-4000-8000-000000000000",
        "number": "108001",
        "invoiceDate": "2026-01-14",
        "vendorNumber": "10000",
        "vendorName": "Office Depot ApS",
        "currencyCode": "DKK",
        "totalAmountIncludingTax": 1250,
        "status": "Open",
        "lastModifiedDateTime": MODIFIED,
    })]
}

/// Attachments (entity `attachment`, incoming documents).
pub(super) fn attachments() -> Vec<Value> {
    vec![json!({
        "@odata.etag": ETAG,
        "id": "ae5a4b7c-0000-4000-8000-000000000000",
        "parentId": "9d4f3a6b-0000-4000-8000-000000000000",
        "fileName": "receipt-108001.pdf",
        "byteSize": 48_213,
        "parentType": "Purchase Invoice",
        "lastModifiedDateTime": MODIFIED,
    })]
}
