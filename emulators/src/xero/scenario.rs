//! Failure modes the Xero emulator can be switched into.

use std::fmt;
use std::str::FromStr;

/// A way the emulated Xero misbehaves, modelled on the failures listed in
/// docs/accounting-systems.md §1 ("Errors" and "Fake-server notes").
///
/// Several scenarios may be active at once; see [`crate::xero`] for the order they are
/// checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Every endpoint answers 401 `TokenExpired: token expired at …`.
    TokenExpired,
    /// `/connections` omits the configured tenant and accounting calls for it get 403.
    TenantNotConnected,
    /// `/connections` reports the configured tenant as a `PRACTICE`, not an `ORGANISATION`.
    PracticeTenant,
    /// The token lacks `accounting.transactions`, so `/ManualJournals` answers 401.
    MissingScope,
    /// The token lacks `accounting.contacts`, so `/Contacts` answers 401.
    MissingContactsScope,
    /// The token lacks `accounting.attachments`, so every `…/Attachments…` path answers 401.
    MissingAttachmentsScope,
    /// Every endpoint answers 429 with `Retry-After`.
    RateLimited,
    /// Every endpoint answers 503 `Not Available`.
    Unavailable,
    /// Every answer is delayed by the configured slow delay.
    Slow,
    /// `/Organisation` reports `OrganisationStatus: SUSPENDED`.
    OrganisationInactive,
    /// The chart of accounts lacks accounts 429 and 800.
    AccountsMissing,
}

impl Scenario {
    /// Every scenario, in the order `--list-scenarios` prints them.
    pub const ALL: &'static [Scenario] = &[
        Scenario::TokenExpired,
        Scenario::TenantNotConnected,
        Scenario::PracticeTenant,
        Scenario::MissingScope,
        Scenario::MissingContactsScope,
        Scenario::MissingAttachmentsScope,
        Scenario::RateLimited,
        Scenario::Unavailable,
        Scenario::Slow,
        Scenario::OrganisationInactive,
        Scenario::AccountsMissing,
    ];

    /// The kebab-case name used on the command line, e.g. `token-expired`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::TokenExpired => "token-expired",
            Scenario::TenantNotConnected => "tenant-not-connected",
            Scenario::PracticeTenant => "practice-tenant",
            Scenario::MissingScope => "missing-scope",
            Scenario::MissingContactsScope => "missing-contacts-scope",
            Scenario::MissingAttachmentsScope => "missing-attachments-scope",
            Scenario::RateLimited => "rate-limited",
            Scenario::Unavailable => "unavailable",
            Scenario::Slow => "slow",
            Scenario::OrganisationInactive => "organisation-inactive",
            Scenario::AccountsMissing => "accounts-missing",
        }
    }

    /// A one-line description for `--list-scenarios`.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::TokenExpired => {
                "every call answers 401 TokenExpired (access token expired 30 minutes ago)"
            }
            Scenario::TenantNotConnected => {
                "the configured tenant is missing from /connections; accounting calls answer 403"
            }
            Scenario::PracticeTenant => {
                "/connections lists the configured tenant with tenantType PRACTICE"
            }
            Scenario::MissingScope => {
                "token lacks accounting.transactions: /ManualJournals answers 401 insufficient_scope"
            }
            Scenario::MissingContactsScope => {
                "token lacks accounting.contacts: /Contacts answers 401 insufficient_scope"
            }
            Scenario::MissingAttachmentsScope => {
                "token lacks accounting.attachments: …/Attachments answers 401 insufficient_scope"
            }
            Scenario::RateLimited => {
                "every call answers 429 with Retry-After and X-Rate-Limit-Problem: minute"
            }
            Scenario::Unavailable => "every call answers 503 Not Available",
            Scenario::Slow => "every answer is delayed by the slow delay (default 10 s)",
            Scenario::OrganisationInactive => "/Organisation reports OrganisationStatus SUSPENDED",
            Scenario::AccountsMissing => {
                "the chart of accounts lacks 429 General Expenses and 800 Accounts Payable"
            }
        }
    }

    /// The OAuth scope this scenario removes from the token, if it is a missing-scope one.
    pub(crate) fn missing_scope(self) -> Option<&'static str> {
        match self {
            Scenario::MissingScope => Some("accounting.transactions"),
            Scenario::MissingContactsScope => Some("accounting.contacts"),
            Scenario::MissingAttachmentsScope => Some("accounting.attachments"),
            _ => None,
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
        crate::server::parse_named(text, Scenario::ALL, Scenario::name, "Xero")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        crate::server::check_named(Scenario::ALL, Scenario::name, 11);
    }
}
