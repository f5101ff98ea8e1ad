//! The parts of Business Central's answers the rules read: API v2.0 entities
//! (`company`, `journal`, `account`, `taxGroup`) in OData collections, and the
//! OData error envelope (docs/accounting-systems.md §5, "Endpoints" and "Errors").

use serde::Deserialize;

/// An OData collection: `{"@odata.context": "…", "value": [ … ]}`.
#[derive(Debug, Deserialize)]
pub struct Collection<T> {
    /// The entities of the collection (or of the requested page).
    pub value: Vec<T>,
}

/// One company of the environment (`GET …/api/v2.0/companies`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    /// The company id (GUID) used in `companies({id})/…`.
    pub id: String,
    /// The company's name, unique in the environment.
    #[serde(default)]
    pub name: String,
    /// The name shown in Business Central; may be empty.
    #[serde(default)]
    pub display_name: String,
}

impl Company {
    /// The name a finance user recognises: the display name, else the name.
    pub fn label(&self) -> &str {
        if self.display_name.trim().is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }
}

/// One general journal batch (`GET …/companies({id})/journals`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    /// The batch id (GUID) used in `journals({id})/journalLines`.
    pub id: String,
    /// The batch code, e.g. `PLEO` (`Code[10]`, upper case).
    pub code: String,
    /// The batch description.
    #[serde(default)]
    pub display_name: String,
}

/// One G/L account (`GET …/companies({id})/accounts`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The account number, e.g. `6130` (`Code[20]`).
    pub number: String,
    /// The account name.
    #[serde(default)]
    pub display_name: String,
    /// `Posting`, `Heading`, `Total`, `Begin-Total` or `End-Total`; only
    /// `Posting` accounts take entries.
    #[serde(default)]
    pub account_type: String,
    /// True when the account is blocked for posting.
    #[serde(default)]
    pub blocked: bool,
    /// True when journals may post to the account directly.
    #[serde(default = "default_true")]
    pub direct_posting: bool,
}

fn default_true() -> bool {
    true
}

/// One tax group (`GET …/companies({id})/taxGroups`); in VAT countries these
/// are the VAT product posting groups.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaxGroup {
    /// The group code, e.g. `VAT25`.
    pub code: String,
    /// The group description.
    #[serde(default)]
    pub display_name: String,
}

/// Business Central's error envelope:
/// `{"error":{"code":"<Category>_<Detail>","message":"…"}}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    #[serde(default)]
    pub error: ErrorBody,
}

/// The inside of [`ErrorEnvelope`].
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    /// E.g. `Authentication_InvalidCredentials`, `Internal_CompanyNotFound`.
    #[serde(default)]
    pub code: String,
    /// The human-readable message, usually ending in `CorrelationId: …`.
    #[serde(default)]
    pub message: String,
}
