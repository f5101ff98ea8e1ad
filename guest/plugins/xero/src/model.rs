//! The parts of Xero's answers the rules read (shapes from Xero's OpenAPI:
//! `xero-identity.yaml` `Connection`, `xero_accounting.yaml` `Organisation`,
//! `Account`, `TaxRate`, `ManualJournal`, and the problem envelope of
//! docs/accounting-systems.md §1).

use serde::Deserialize;

/// One organisation or practice the token can reach (`GET /connections`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// The Xero tenant id (organisation id).
    pub tenant_id: String,
    /// `ORGANISATION` or `PRACTICE`.
    #[serde(default)]
    pub tenant_type: String,
    /// The organisation's display name.
    #[serde(default)]
    pub tenant_name: String,
}

/// `GET /api.xro/2.0/Organisation`.
#[derive(Debug, Deserialize)]
pub struct Organisations {
    /// Always one element for a tenant-scoped call.
    #[serde(rename = "Organisations")]
    pub organisations: Vec<Organisation>,
}

/// The organisation behind the tenant.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Organisation {
    /// Display name.
    pub name: String,
    /// `ACTIVE` when the API can be used with it.
    #[serde(default)]
    pub organisation_status: String,
    /// True for Xero's demo company.
    #[serde(default)]
    pub is_demo_company: bool,
}

/// `GET /api.xro/2.0/Accounts`.
#[derive(Debug, Deserialize)]
pub struct Accounts {
    /// The chart of accounts.
    #[serde(rename = "Accounts")]
    pub accounts: Vec<Account>,
}

/// One account of the chart.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// The customer-defined code, e.g. `429`; bank accounts may have none.
    #[serde(default)]
    pub code: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `ACTIVE`, `ARCHIVED` or `DELETED`.
    #[serde(default)]
    pub status: String,
}

/// `GET /api.xro/2.0/TaxRates`.
#[derive(Debug, Deserialize)]
pub struct TaxRates {
    /// The tax rates.
    #[serde(rename = "TaxRates")]
    pub tax_rates: Vec<TaxRate>,
}

/// One tax rate.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TaxRate {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The code used on lines, e.g. `INPUT`.
    pub tax_type: String,
    /// `ACTIVE`, `DELETED`, `ARCHIVED` or `PENDING`.
    #[serde(default)]
    pub status: String,
}

/// `GET /api.xro/2.0/ManualJournals`.
#[derive(Debug, Deserialize)]
pub struct ManualJournals {
    /// The journals of the requested page.
    #[serde(rename = "ManualJournals", default)]
    pub manual_journals: Vec<ManualJournal>,
}

/// One manual journal.
#[derive(Debug, Clone, Deserialize)]
pub struct ManualJournal {
    /// Its id.
    #[serde(rename = "ManualJournalID")]
    pub id: String,
}

/// Xero's problem envelope on 401/403/429/503
/// (`{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"TokenExpired: …"}`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Problem {
    /// E.g. `TokenExpired: token expired at 09/24/2021 08:23:47`.
    #[serde(default)]
    pub detail: Option<String>,
}
