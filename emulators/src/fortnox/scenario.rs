//! Failure modes the Fortnox emulator can be switched into.

use std::fmt;
use std::str::FromStr;

/// A way the emulated Fortnox misbehaves, modelled on the errors and the fake-server notes
/// of docs/accounting-systems.md §3.
///
/// Several scenarios may be active at once; see [`crate::fortnox`] for the order they are
/// checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Every endpoint answers 401 with code 2000310 (invalid or expired access token).
    TokenExpired,
    /// The token lacks the `bookkeeping` scope: accounts, financial years, vouchers and
    /// voucher series answer code 2000663.
    MissingScope,
    /// The token lacks the `supplier` and `supplierinvoice` scopes: suppliers and supplier
    /// invoices answer code 2000663.
    MissingSupplierScope,
    /// The token lacks the `inbox` scope: the inbox answers code 2000663.
    MissingInboxScope,
    /// The token is bound to another company than the configured one.
    WrongCompany,
    /// The company has no licence for supplier invoices: `/3/supplierinvoices` answers
    /// code 2001101.
    NoSupplierInvoiceLicence,
    /// The company has no API licence: every endpoint answers code 2001103.
    NoApiLicence,
    /// Every endpoint answers 429 without `Retry-After`, as if the 25-requests-per-5-seconds
    /// window were used up.
    RateLimited,
    /// Every endpoint answers 503.
    Unavailable,
    /// Every answer is delayed by the configured slow delay.
    Slow,
    /// The chart of accounts lacks accounts 6991 and 1930.
    AccountsMissing,
    /// No account carries VAT code MP1.
    VatCodeMissing,
    /// Voucher series P (Pleo) does not exist.
    VoucherSeriesMissing,
    /// The company's financial years end on 2024-12-31.
    FinancialYearMissing,
}

impl Scenario {
    /// Every scenario, in the order `--list-scenarios` prints them.
    pub const ALL: &'static [Scenario] = &[
        Scenario::TokenExpired,
        Scenario::MissingScope,
        Scenario::MissingSupplierScope,
        Scenario::MissingInboxScope,
        Scenario::WrongCompany,
        Scenario::NoSupplierInvoiceLicence,
        Scenario::NoApiLicence,
        Scenario::RateLimited,
        Scenario::Unavailable,
        Scenario::Slow,
        Scenario::AccountsMissing,
        Scenario::VatCodeMissing,
        Scenario::VoucherSeriesMissing,
        Scenario::FinancialYearMissing,
    ];

    /// The kebab-case name used on the command line, e.g. `token-expired`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::TokenExpired => "token-expired",
            Scenario::MissingScope => "missing-scope",
            Scenario::MissingSupplierScope => "missing-supplier-scope",
            Scenario::MissingInboxScope => "missing-inbox-scope",
            Scenario::WrongCompany => "wrong-company",
            Scenario::NoSupplierInvoiceLicence => "no-supplier-invoice-licence",
            Scenario::NoApiLicence => "no-api-licence",
            Scenario::RateLimited => "rate-limited",
            Scenario::Unavailable => "unavailable",
            Scenario::Slow => "slow",
            Scenario::AccountsMissing => "accounts-missing",
            Scenario::VatCodeMissing => "vat-code-missing",
            Scenario::VoucherSeriesMissing => "voucher-series-missing",
            Scenario::FinancialYearMissing => "financial-year-missing",
        }
    }

    /// A one-line description for `--list-scenarios`.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::TokenExpired => {
                "every call answers 401 code 2000310 (invalid or expired token)"
            }
            Scenario::MissingScope => {
                "token lacks scope bookkeeping: accounts, vouchers, voucher series and financial \
                 years answer code 2000663"
            }
            Scenario::MissingSupplierScope => {
                "token lacks scopes supplier and supplierinvoice: code 2000663 on /suppliers and \
                 /supplierinvoices"
            }
            Scenario::MissingInboxScope => "token lacks scope inbox: /inbox answers code 2000663",
            Scenario::WrongCompany => {
                "the token is bound to another company (Svea Bygg AB, database number 7654321)"
            }
            Scenario::NoSupplierInvoiceLicence => {
                "no licence for supplier invoices: /supplierinvoices answers code 2001101"
            }
            Scenario::NoApiLicence => "no API licence: every call answers code 2001103",
            Scenario::RateLimited => {
                "every call answers 429 without Retry-After (25 requests / 5 s window used up)"
            }
            Scenario::Unavailable => "every call answers 503 Service Unavailable",
            Scenario::Slow => "every answer is delayed by the slow delay (default 10 s)",
            Scenario::AccountsMissing => {
                "the chart of accounts lacks 6991 Övriga externa kostnader and 1930 Företagskonto"
            }
            Scenario::VatCodeMissing => "no account carries VAT code MP1",
            Scenario::VoucherSeriesMissing => "voucher series P (Pleo) does not exist",
            Scenario::FinancialYearMissing => "the financial years end on 2024-12-31",
        }
    }

    /// The OAuth scopes this scenario removes from the token.
    pub(crate) fn missing_scopes(self) -> &'static [&'static str] {
        match self {
            Scenario::MissingScope => &["bookkeeping"],
            Scenario::MissingSupplierScope => &["supplier", "supplierinvoice"],
            Scenario::MissingInboxScope => &["inbox"],
            _ => &[],
        }
    }

    /// The scopes whose licence this scenario removes from the company.
    pub(crate) fn missing_licences(self) -> &'static [&'static str] {
        match self {
            Scenario::NoSupplierInvoiceLicence => &["supplierinvoice"],
            _ => &[],
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
        crate::server::parse_named(text, Scenario::ALL, Scenario::name, "Fortnox")
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
