//! Failure modes the Business Central emulator can be switched into.

use std::fmt;
use std::str::FromStr;

/// A way the emulated Business Central misbehaves, modelled on docs/accounting-systems.md §5
/// ("Errors", "Permissions" and "Fake-server notes").
///
/// Several scenarios may be active at once; see [`crate::business_central`] for the order
/// they are checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Every call answers 401 `Authentication_InvalidCredentials` with a challenge saying
    /// the access token expired.
    TokenExpired,
    /// Every call answers 401 `Authentication_InvalidCredentials` "The server has rejected
    /// the client credentials": a service-to-service app not registered on the Microsoft
    /// Entra Applications page.
    AppNotRegistered,
    /// The environment in the URL does not exist: every call answers 404.
    UnknownEnvironment,
    /// `/companies` omits the configured company; calls scoped to it answer
    /// `Internal_CompanyNotFound`.
    WrongCompany,
    /// The permission sets lack general journals: `journals` and `journalLines` answer the
    /// "current permissions prevented the action" error.
    MissingPermission,
    /// The permission sets lack incoming documents: `attachments` answers the permissions
    /// error.
    MissingAttachmentsPermission,
    /// The licence does not include purchasing: `vendors` and `purchaseInvoices` answer the
    /// "license does not grant you" error.
    PurchasingNotLicensed,
    /// Every call answers 429 (throttled; Business Central documents no `Retry-After` here).
    RateLimited,
    /// Every call answers 503 with `retry-after`: the environment is being updated.
    Maintenance,
    /// Every call answers 502 with `retry-after`.
    Outage,
    /// Every answer is delayed by the configured slow delay.
    Slow,
    /// The chart of accounts lacks 6130 Office Supplies and 2320 Pleo Card.
    AccountsMissing,
    /// Tax group VAT25 does not exist.
    TaxGroupMissing,
    /// General journal batch PLEO does not exist.
    JournalMissing,
}

impl Scenario {
    /// Every scenario, in the order `--list-scenarios` prints them.
    pub const ALL: &'static [Scenario] = &[
        Scenario::TokenExpired,
        Scenario::AppNotRegistered,
        Scenario::UnknownEnvironment,
        Scenario::WrongCompany,
        Scenario::MissingPermission,
        Scenario::MissingAttachmentsPermission,
        Scenario::PurchasingNotLicensed,
        Scenario::RateLimited,
        Scenario::Maintenance,
        Scenario::Outage,
        Scenario::Slow,
        Scenario::AccountsMissing,
        Scenario::TaxGroupMissing,
        Scenario::JournalMissing,
    ];

    /// The kebab-case name used on the command line, e.g. `token-expired`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::TokenExpired => "token-expired",
            Scenario::AppNotRegistered => "app-not-registered",
            Scenario::UnknownEnvironment => "unknown-environment",
            Scenario::WrongCompany => "wrong-company",
            Scenario::MissingPermission => "missing-permission",
            Scenario::MissingAttachmentsPermission => "missing-attachments-permission",
            Scenario::PurchasingNotLicensed => "purchasing-not-licensed",
            Scenario::RateLimited => "rate-limited",
            Scenario::Maintenance => "maintenance",
            Scenario::Outage => "outage",
            Scenario::Slow => "slow",
            Scenario::AccountsMissing => "accounts-missing",
            Scenario::TaxGroupMissing => "tax-group-missing",
            Scenario::JournalMissing => "journal-missing",
        }
    }

    /// A one-line description for `--list-scenarios`.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::TokenExpired => {
                "every call answers 401 Authentication_InvalidCredentials (access token expired)"
            }
            Scenario::AppNotRegistered => {
                "every call answers 401 Authentication_InvalidCredentials (app not registered \
                 on the Microsoft Entra Applications page)"
            }
            Scenario::UnknownEnvironment => {
                "the environment does not exist: every call answers 404"
            }
            Scenario::WrongCompany => {
                "the configured company is missing from /companies; its calls answer \
                 Internal_CompanyNotFound"
            }
            Scenario::MissingPermission => {
                "permission sets lack general journals: journals and journalLines are refused"
            }
            Scenario::MissingAttachmentsPermission => {
                "permission sets lack incoming documents: attachments are refused"
            }
            Scenario::PurchasingNotLicensed => {
                "the licence lacks purchasing: vendors and purchaseInvoices are refused"
            }
            Scenario::RateLimited => "every call answers 429 (throttled)",
            Scenario::Maintenance => "every call answers 503 with retry-after (environment update)",
            Scenario::Outage => "every call answers 502 with retry-after",
            Scenario::Slow => "every answer is delayed by the slow delay (default 10 s)",
            Scenario::AccountsMissing => {
                "the chart of accounts lacks 6130 Office Supplies and 2320 Pleo Card"
            }
            Scenario::TaxGroupMissing => "tax group VAT25 does not exist",
            Scenario::JournalMissing => "general journal batch PLEO does not exist",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    /// Parses a [`Scenario::name`]; case and `_` versus `-` do not matter.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::server::parse_named(text, Scenario::ALL, Scenario::name, "Business Central")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        crate::server::check_named(Scenario::ALL, Scenario::name, 14);
    }
}
