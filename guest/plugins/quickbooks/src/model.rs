//! The parts of QuickBooks Online's answers the rules read: `CompanyInfo`, the
//! `QueryResponse` of the query endpoint, `Account`, `TaxCode`, `JournalCode`,
//! and the `Fault` envelope in both of its casings (docs/accounting-systems.md §2,
//! "Errors").

use serde::Deserialize;
use serde_json::{Map, Value};

/// `GET /v3/company/{realmId}/companyinfo/{realmId}`.
#[derive(Debug, Deserialize)]
pub struct CompanyInfoResponse {
    /// The company behind the realm.
    #[serde(rename = "CompanyInfo")]
    pub company_info: CompanyInfo,
}

/// The company behind a realm.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CompanyInfo {
    /// The name shown in QuickBooks, e.g. `Acme SAS`.
    #[serde(default)]
    pub company_name: String,
    /// The registered legal name, when it differs.
    #[serde(default)]
    pub legal_name: Option<String>,
    /// ISO country code of the company, e.g. `FR`.
    #[serde(default)]
    pub country: Option<String>,
    /// Extra facts as name/value pairs; `OfferingSku` names the plan.
    #[serde(default)]
    pub name_value: Vec<NameValue>,
}

impl CompanyInfo {
    /// The subscription plan (`OfferingSku`), e.g. `QuickBooks Online Plus`.
    pub fn plan(&self) -> Option<&str> {
        self.name_value
            .iter()
            .find(|pair| pair.name.eq_ignore_ascii_case("OfferingSku"))
            .map(|pair| pair.value.as_str())
            .filter(|plan| !plan.trim().is_empty())
    }
}

/// One `NameValue` pair of `CompanyInfo`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NameValue {
    /// E.g. `OfferingSku`.
    #[serde(default)]
    pub name: String,
    /// E.g. `QuickBooks Online Essentials`.
    #[serde(default)]
    pub value: String,
}

/// `GET /v3/company/{realmId}/query?query=select * from <Entity> …`: the
/// matching entities sit under the entity's name, which is absent when
/// nothing matched (`{"QueryResponse":{}}`).
#[derive(Debug, Deserialize)]
pub struct QueryResponse {
    /// Entity name → entities, plus `startPosition`, `maxResults`.
    #[serde(rename = "QueryResponse", default)]
    pub query_response: Map<String, Value>,
}

impl QueryResponse {
    /// The entities of type `entity` in the answer (none when the key is
    /// absent, as QuickBooks answers an empty result).
    pub fn entities<T: serde::de::DeserializeOwned>(
        &self,
        entity: &str,
    ) -> Result<Vec<T>, serde_json::Error> {
        match self.query_response.get(entity) {
            Some(list) => Vec::<T>::deserialize(list),
            None => Ok(Vec::new()),
        }
    }
}

/// One account of the chart of accounts.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// QuickBooks' id of the account.
    #[serde(default)]
    pub id: String,
    /// The account's name.
    #[serde(default)]
    pub name: String,
    /// `Parent:Child` name of a sub-account.
    #[serde(default)]
    pub fully_qualified_name: Option<String>,
    /// The account number, when the company uses account numbers.
    #[serde(default)]
    pub acct_num: Option<String>,
    /// False for an account made inactive ("deleted" in the QuickBooks UI).
    #[serde(default = "default_true")]
    pub active: bool,
    /// E.g. `Expense`, `Bank`, `Credit Card`, `Accounts Payable`.
    #[serde(default)]
    pub account_type: String,
}

/// One tax code.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TaxCode {
    /// QuickBooks' id of the tax code.
    #[serde(default)]
    pub id: String,
    /// The tax code's name, e.g. `TVA 20 %`.
    #[serde(default)]
    pub name: String,
    /// False for an inactive tax code.
    #[serde(default = "default_true")]
    pub active: bool,
    /// The rates applied on purchases; empty for a sales-only code.
    #[serde(default)]
    pub purchase_tax_rate_list: TaxRateList,
}

/// `SalesTaxRateList` / `PurchaseTaxRateList` of a tax code.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TaxRateList {
    /// One entry per rate.
    #[serde(default)]
    pub tax_rate_detail: Vec<Value>,
}

/// One journal code (French companies only).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct JournalCode {
    /// QuickBooks' id of the journal code.
    #[serde(default)]
    pub id: String,
    /// The code, e.g. `ACH`.
    #[serde(default)]
    pub name: String,
    /// What the journal is for, e.g. `Achats`.
    #[serde(default)]
    pub description: Option<String>,
    /// False for an inactive journal code.
    #[serde(default = "default_true")]
    pub active: bool,
}

/// QuickBooks' error envelope. Usually `{"Fault":{"Error":[…],"type":…}}`, but
/// 401s have been seen as `{"fault":{"error":[…]}}` (docs/accounting-systems.md §2,
/// "the lowercase variant appears intermittently"), so both casings parse.
#[derive(Debug, Default, Deserialize)]
pub struct FaultEnvelope {
    /// The fault, under `Fault` or `fault`.
    #[serde(rename = "Fault", alias = "fault", default)]
    pub fault: Option<Fault>,
}

/// A fault: its errors and its type (`AUTHENTICATION`, `SERVICE`,
/// `ValidationFault`, …).
#[derive(Debug, Default, Deserialize)]
pub struct Fault {
    /// The errors, under `Error` or `error`.
    #[serde(rename = "Error", alias = "error", default)]
    pub errors: Vec<FaultError>,
    /// The fault type.
    #[serde(rename = "type", alias = "Type", default)]
    pub kind: Option<String>,
}

/// One error of a fault.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct FaultError {
    /// E.g. `message=AuthenticationFailed; errorCode=003200; statusCode=401`.
    #[serde(rename = "Message", alias = "message", default)]
    pub message: String,
    /// E.g. `Token expired: …`.
    #[serde(rename = "Detail", alias = "detail", default)]
    pub detail: String,
    /// E.g. `3200`; some answers pad it to `003200`.
    #[serde(default)]
    pub code: String,
}

impl FaultError {
    /// The error code without leading zeros (`003200` → `3200`); taken from
    /// `errorCode=` in the message when `code` is empty.
    pub fn code(&self) -> String {
        let raw = if self.code.trim().is_empty() {
            self.message
                .split(';')
                .filter_map(|part| part.trim().strip_prefix("errorCode="))
                .next()
                .unwrap_or_default()
        } else {
            self.code.trim()
        };
        let trimmed = raw.trim_start_matches('0');
        if trimmed.is_empty() && !raw.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        }
    }
}

/// The first error of a QuickBooks fault in `body`, whatever its casing.
pub fn first_fault(body: &[u8]) -> Option<FaultError> {
    serde_json::from_slice::<FaultEnvelope>(body)
        .ok()?
        .fault?
        .errors
        .into_iter()
        .next()
}

fn default_true() -> bool {
    true
}
