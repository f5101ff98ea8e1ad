//! The parts of Fortnox's answers the rules read (docs/accounting-systems.md §3:
//! `GET /3/companyinformation`, `/3/financialyears`, `/3/voucherseries`,
//! `/3/accounts`, and the `ErrorInformation` envelope every error shares).

use serde::Deserialize;

/// A value Fortnox sends as a JSON number in some answers and as a string in
/// others (`DatabaseNumber`, error `code`); clients see both, so both parse.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum NumberOrText {
    /// A JSON number, e.g. `2000310`.
    Number(u64),
    /// A JSON string, e.g. `"2000310"`.
    Text(String),
}

impl NumberOrText {
    /// The value as text, trimmed.
    pub fn text(&self) -> String {
        match self {
            NumberOrText::Number(number) => number.to_string(),
            NumberOrText::Text(text) => text.trim().to_owned(),
        }
    }

    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<u64> {
        match self {
            NumberOrText::Number(number) => Some(*number),
            NumberOrText::Text(text) => text.trim().parse().ok(),
        }
    }
}

/// `GET /3/companyinformation`.
#[derive(Debug, Deserialize)]
pub struct CompanyInformationAnswer {
    /// The company the token is bound to.
    #[serde(rename = "CompanyInformation")]
    pub company_information: CompanyInformation,
}

/// The company behind the token: a Fortnox token reaches exactly one company
/// (docs/accounting-systems.md §3, "Tenant").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CompanyInformation {
    /// Display name.
    #[serde(default)]
    pub company_name: String,
    /// The Fortnox database number; equals the service-account tenant id.
    #[serde(default)]
    pub database_number: Option<NumberOrText>,
    /// The Swedish organisation number, e.g. `556677-8899`.
    #[serde(default)]
    pub organization_number: String,
}

/// `GET /3/financialyears?date=…`.
#[derive(Debug, Deserialize)]
pub struct FinancialYears {
    /// The financial years covering the date (zero or one).
    #[serde(rename = "FinancialYears", default)]
    pub financial_years: Vec<FinancialYear>,
}

/// One financial year (räkenskapsår).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct FinancialYear {
    /// The id other calls take as `financialyear`.
    pub id: u32,
    /// First day, `YYYY-MM-DD`.
    #[serde(default)]
    pub from_date: String,
    /// Last day, `YYYY-MM-DD`.
    #[serde(default)]
    pub to_date: String,
}

/// `GET /3/voucherseries`.
#[derive(Debug, Deserialize)]
pub struct VoucherSeriesCollection {
    /// Every voucher series of the financial year.
    #[serde(rename = "VoucherSeriesCollection", default)]
    pub voucher_series: Vec<VoucherSeries>,
}

/// One voucher series (verifikationsserie).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VoucherSeries {
    /// The series code vouchers name, e.g. `A`.
    pub code: String,
    /// Display name, e.g. `Redovisning`.
    #[serde(default)]
    pub description: String,
}

/// `GET /3/accounts?financialyear=…`: one page of the chart of accounts.
#[derive(Debug, Deserialize)]
pub struct AccountsPage {
    /// Paging of the list.
    #[serde(rename = "MetaInformation", default)]
    pub meta: MetaInformation,
    /// The accounts of this page.
    #[serde(rename = "Accounts", default)]
    pub accounts: Vec<Account>,
}

/// Fortnox's paging block on list answers.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct MetaInformation {
    /// How many pages the list has.
    #[serde(rename = "@TotalPages", default)]
    pub total_pages: u32,
    /// The page this answer holds, from 1.
    #[serde(rename = "@CurrentPage", default)]
    pub current_page: u32,
}

/// One account of the chart (BAS numbering, 1000 to 9999).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    /// The account number.
    pub number: u32,
    /// Display name, e.g. `Företagskonto`.
    #[serde(default)]
    pub description: String,
    /// False for an account that is turned off.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// The VAT code the account reports under, e.g. `MP1`; Fortnox has no
    /// separate tax-rate resource (docs/accounting-systems.md §3, "Endpoints").
    #[serde(rename = "VATCode", default)]
    pub vat_code: Option<String>,
}

fn active_by_default() -> bool {
    true
}

/// The error envelope every Fortnox error shares:
/// `{"ErrorInformation":{"error":1,"message":"…","code":2000423}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorAnswer {
    /// The error; clients also see it spelled with capitalised keys.
    #[serde(rename = "ErrorInformation", alias = "errorInformation", default)]
    pub error_information: ErrorInformation,
}

/// The inside of [`ErrorAnswer`].
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ErrorInformation {
    /// The human-readable text, often Swedish.
    #[serde(alias = "Message", default)]
    pub message: Option<String>,
    /// Fortnox's error code, e.g. `2000663`.
    #[serde(alias = "Code", default)]
    pub code: Option<NumberOrText>,
}
