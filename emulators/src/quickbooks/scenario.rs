//! Failure modes the QuickBooks Online emulator can be switched into.

use std::fmt;
use std::str::FromStr;

/// A way the emulated QuickBooks Online misbehaves, modelled on the errors listed in
/// docs/accounting-systems.md §2 ("Errors" and "Fake-server notes").
///
/// Several scenarios may be active at once; see [`crate::quickbooks`] for the order they
/// are checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Every call answers 401 fault 3200 `Token expired`, in the lowercase envelope.
    TokenExpired,
    /// The token lacks `com.intuit.quickbooks.accounting`: every call answers 403 fault
    /// 3100 "The access token does not have sufficient scope".
    MissingScope,
    /// The connected user may not use journal entries: `JournalEntry` queries answer 403
    /// fault 3100.
    JournalEntriesForbidden,
    /// The realm belongs to another company than the demo one: `companyinfo` describes
    /// Intuit's sandbox company `Sandbox Company_US_1`.
    WrongCompany,
    /// The plan is Simple Start, which has no bills: `Bill` queries answer 400 fault 5020.
    PlanWithoutBills,
    /// Every call answers 429 fault 3001 `ThrottleExceeded`, without `Retry-After`.
    RateLimited,
    /// Every call answers 503.
    Unavailable,
    /// Every answer is delayed by the configured slow delay.
    Slow,
    /// The chart of accounts lacks accounts 625100 and 512100.
    AccountsMissing,
    /// The tax code `TVA 20 %` does not exist.
    TaxCodeMissing,
    /// The journal code `ACH` does not exist.
    JournalCodeMissing,
}

impl Scenario {
    /// Every scenario, in the order `--list-scenarios` prints them.
    pub const ALL: &'static [Scenario] = &[
        Scenario::TokenExpired,
        Scenario::MissingScope,
        Scenario::JournalEntriesForbidden,
        Scenario::WrongCompany,
        Scenario::PlanWithoutBills,
        Scenario::RateLimited,
        Scenario::Unavailable,
        Scenario::Slow,
        Scenario::AccountsMissing,
        Scenario::TaxCodeMissing,
        Scenario::JournalCodeMissing,
    ];

    /// The kebab-case name used on the command line, e.g. `token-expired`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::TokenExpired => "token-expired",
            Scenario::MissingScope => "missing-scope",
            Scenario::JournalEntriesForbidden => "journal-entries-forbidden",
            Scenario::WrongCompany => "wrong-company",
            Scenario::PlanWithoutBills => "plan-without-bills",
            Scenario::RateLimited => "rate-limited",
            Scenario::Unavailable => "unavailable",
            Scenario::Slow => "slow",
            Scenario::AccountsMissing => "accounts-missing",
            Scenario::TaxCodeMissing => "tax-code-missing",
            Scenario::JournalCodeMissing => "journal-code-missing",
        }
    }

    /// A one-line description for `--list-scenarios`.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::TokenExpired => {
                "every call answers 401 fault 3200 AuthenticationFailed (token expired)"
            }
            Scenario::MissingScope => {
                "token lacks com.intuit.quickbooks.accounting: every call answers 403 fault 3100"
            }
            Scenario::JournalEntriesForbidden => {
                "the connected user may not use journal entries: JournalEntry queries answer 403 fault 3100"
            }
            Scenario::WrongCompany => {
                "the realm is another company: companyinfo describes 'Sandbox Company_US_1'"
            }
            Scenario::PlanWithoutBills => {
                "the plan is Simple Start: Bill queries answer 400 fault 5020 (feature not in plan)"
            }
            Scenario::RateLimited => {
                "every call answers 429 fault 3001 ThrottleExceeded, without Retry-After"
            }
            Scenario::Unavailable => "every call answers 503 Service Unavailable",
            Scenario::Slow => "every answer is delayed by the slow delay (default 10 s)",
            Scenario::AccountsMissing => {
                "the chart of accounts lacks 625100 Voyages et déplacements and 512100 Pleo"
            }
            Scenario::TaxCodeMissing => "the tax code 'TVA 20 %' does not exist",
            Scenario::JournalCodeMissing => "the journal code ACH (Achats) does not exist",
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
        crate::server::parse_named(text, Scenario::ALL, Scenario::name, "QuickBooks Online")
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
