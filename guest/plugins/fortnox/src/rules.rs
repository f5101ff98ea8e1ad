//! The decisions of the Fortnox rules, as pure functions of what Fortnox
//! answered. They hold every message a finance user may read, and run natively
//! in unit tests.
//!
//! Fortnox answers 400, 401 and 403 inconsistently for the same problem, so
//! every refusal is judged by the `ErrorInformation.code` first and by the
//! status only when no known code is present (docs/accounting-systems.md §3,
//! "Errors", and the closing "cross-cutting cautions").

use preflight_sdk::http::{self, Response};
use preflight_sdk::{Check, FailureReason, Rule};

use crate::model::{
    Account, CompanyInformation, ErrorAnswer, ErrorInformation, FinancialYear, VoucherSeries,
};

/// The accounting system's name in messages, the SDK's included
/// (`plugin-info.display-name`).
pub const DISPLAY_NAME: &str = "Fortnox";

/// Every rule, in the order they run (after the SDK's `fortnox.settings`).
pub const RULES: &[Rule] = &[
    Rule::new(id::CONNECTION, "Connection and authentication"),
    Rule::new(id::COMPANY, "Company connected"),
    Rule::new(id::FINANCIAL_YEAR, "Financial year"),
    Rule::new(id::VOUCHERS, "Vouchers permission"),
    Rule::new(id::VOUCHER_SERIES, "Voucher series"),
    Rule::vendor_bookkeeping(id::SUPPLIERS, "Suppliers permission"),
    Rule::vendor_bookkeeping(id::SUPPLIER_INVOICES, "Supplier invoices permission"),
    Rule::new(id::ATTACHMENTS, "Attachments permission"),
    Rule::new(id::ACCOUNTS_EXPENSES, "Expense account"),
    Rule::new(id::ACCOUNTS_CONTRA, "Contra account"),
    Rule::new(id::VAT_CODE, "VAT code"),
];

/// Rule ids; stable across versions.
pub mod id {
    /// Fortnox is reachable and accepts the token.
    pub const CONNECTION: &str = "fortnox.connection";
    /// The token is bound to the configured company.
    pub const COMPANY: &str = "fortnox.company";
    /// A financial year covers the export date.
    pub const FINANCIAL_YEAR: &str = "fortnox.financial-year";
    /// Vouchers may be used (scope `bookkeeping` and its licence).
    pub const VOUCHERS: &str = "fortnox.permissions.vouchers";
    /// The configured voucher series exists.
    pub const VOUCHER_SERIES: &str = "fortnox.voucher-series";
    /// Suppliers may be used (vendor bookkeeping).
    pub const SUPPLIERS: &str = "fortnox.permissions.suppliers";
    /// Supplier invoices may be used (vendor bookkeeping).
    pub const SUPPLIER_INVOICES: &str = "fortnox.permissions.supplier-invoices";
    /// Receipts may be uploaded to the inbox and connected to vouchers.
    pub const ATTACHMENTS: &str = "fortnox.permissions.attachments";
    /// Prefix of the per-account checks: `fortnox.accounts.<purpose>`.
    pub const ACCOUNTS: &str = "fortnox.accounts";
    /// The expense account exists and is active.
    pub const ACCOUNTS_EXPENSES: &str = "fortnox.accounts.expenses";
    /// The contra (balancing) account exists and is active.
    pub const ACCOUNTS_CONTRA: &str = "fortnox.accounts.contra";
    /// The configured VAT code is used in the chart of accounts.
    pub const VAT_CODE: &str = "fortnox.vat-code";
}

/// Fortnox error codes the rules key on (docs/accounting-systems.md §3, "Errors").
pub mod code {
    /// The access token is invalid (or expired).
    pub const INVALID_TOKEN: u64 = 2_000_310;
    /// The access token is missing.
    pub const MISSING_TOKEN: u64 = 2_000_311;
    /// The token is not authorised for the resource's scope.
    pub const MISSING_SCOPE: u64 = 2_000_663;
    /// The company has no active licence for the resource's scope.
    pub const NO_LICENCE: u64 = 2_001_101;
    /// The company has no licence for the API at all.
    pub const NO_API_LICENCE: u64 = 2_001_103;
}

/// Fortnox's rate limit is a 5-second sliding window of 25 requests per
/// client and company, and it sends no `Retry-After` (docs/accounting-systems.md
/// §3): after one window everything is free again.
pub const RATE_LIMIT_WINDOW_SECS: u32 = 5;

/// What one probe needs from Fortnox, for the messages of its refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// What the finance user calls it, e.g. `supplier invoices`.
    pub what: &'static str,
    /// The OAuth scope granting it (docs/accounting-systems.md §3, "Scopes").
    pub scope: &'static str,
    /// The part of the Fortnox subscription it needs, as Fortnox names it.
    pub licence: &'static str,
    /// Why Pleo needs it, completing "which Pleo needs to …".
    pub needed_for: &'static str,
}

/// `GET /3/companyinformation`.
pub const COMPANY_INFORMATION: Access = Access {
    what: "company information",
    scope: "companyinformation",
    licence: "integrations",
    needed_for: "confirm which company it is connected to",
};

/// Financial years, vouchers, voucher series and accounts.
pub const BOOKKEEPING: Access = Access {
    what: "bookkeeping (vouchers, voucher series and the chart of accounts)",
    scope: "bookkeeping",
    licence: "Bookkeeping (Bokföring)",
    needed_for: "book expenses as vouchers",
};

/// The supplier register.
pub const SUPPLIERS: Access = Access {
    what: "suppliers",
    scope: "supplier",
    licence: "Supplier invoices (Leverantörsfakturor)",
    needed_for: "book expenses against suppliers (vendor bookkeeping)",
};

/// Supplier invoices.
pub const SUPPLIER_INVOICES: Access = Access {
    what: "supplier invoices",
    scope: "supplierinvoice",
    licence: "Supplier invoices (Leverantörsfakturor)",
    needed_for: "book expenses against suppliers (vendor bookkeeping)",
};

/// The inbox receipts are uploaded to (`inbox_v`, the vouchers folder).
pub const INBOX: Access = Access {
    what: "the Fortnox inbox (Inkorgen)",
    scope: "inbox",
    licence: "the file inbox and archive",
    needed_for: "upload receipts",
};

/// Connecting an uploaded file to a voucher.
pub const FILE_CONNECTIONS: Access = Access {
    what: "attaching files to vouchers",
    scope: "connectfile",
    licence: "the file inbox and archive",
    needed_for: "attach receipts to vouchers",
};

/// How a company refers to its Fortnox company before Fortnox has named it:
/// the configured name, else the database number, else the organisation
/// number.
pub fn company_label(
    name: Option<&str>,
    database_number: Option<&str>,
    organization_number: Option<&str>,
) -> String {
    match (name, database_number, organization_number) {
        (Some(name), _, _) => format!("'{name}'"),
        (None, Some(number), _) => format!("with database number {number}"),
        (None, None, Some(number)) => format!("with organisation number {number}"),
        (None, None, None) => "connected to Pleo".to_owned(),
    }
}

/// The `ErrorInformation` of a refusal; empty when the body is not Fortnox's
/// envelope (a proxy's HTML page, an empty 503).
pub fn error_information(response: &Response) -> ErrorInformation {
    response
        .json::<ErrorAnswer>()
        .unwrap_or_default()
        .error_information
}

/// The check for a non-2xx answer to a probe of `access` under rule `id`:
/// Fortnox's error code decides, then the status.
pub fn refused(id: &str, response: &Response, access: &Access) -> Check {
    let error = error_information(response);
    let code = error.code.as_ref().and_then(|code| code.number());
    let hint = format!(
        "{} from Fortnox probing {} (scope {}): code {}, message '{}'",
        response.status,
        access.what,
        access.scope,
        code.map_or_else(|| "none".to_owned(), |code| code.to_string()),
        error.message.as_deref().unwrap_or_default()
    );
    match code {
        Some(code::INVALID_TOKEN | code::MISSING_TOKEN) => unauthorized(id),
        Some(code::MISSING_SCOPE) => missing_scope(id, access),
        Some(code::NO_LICENCE) => no_licence(id, access),
        Some(code::NO_API_LICENCE) => no_api_licence(id),
        _ => match response.status {
            429 => rate_limited(id, response),
            401 => unauthorized(id),
            _ => return http::status_check(id, DISPLAY_NAME, response),
        },
    }
    .with_hint(hint)
}

/// The token is invalid, expired or missing: the finance user reconnects.
pub fn unauthorized(id: &str) -> Check {
    Check::failed(
        id,
        FailureReason::AccountingSystemAuthenticationFailure,
        "Reconnect Fortnox: Fortnox no longer accepts Pleo's connection (its access has expired \
         or was revoked). Open Pleo's Fortnox integration settings, reconnect and log in to your \
         Fortnox company, then export again.",
    )
}

/// Code 2000663: the token was authorised without the scope; a new consent is
/// the only way to gain one (docs/accounting-systems.md §3, "Scopes").
pub fn missing_scope(id: &str, access: &Access) -> Check {
    Check::failed(
        id,
        FailureReason::MissingConfiguration,
        format!(
            "Pleo's Fortnox connection is not allowed to use {what}, which Pleo needs to \
             {needed_for}. Reconnect Fortnox in Pleo's integration settings and approve access \
             to {what} when Fortnox asks, then export again.",
            what = access.what,
            needed_for = access.needed_for,
        ),
    )
}

/// Code 2001101: the company's subscription lacks the licence for the scope;
/// reconnecting cannot fix that, so the set-up itself cannot do the export.
pub fn no_licence(id: &str, access: &Access) -> Check {
    Check::failed(
        id,
        FailureReason::InvalidConfiguration,
        format!(
            "Your Fortnox company has no active licence for {what}, which Pleo needs to \
             {needed_for}. Add {licence} to your Fortnox subscription, then export again.",
            what = access.what,
            needed_for = access.needed_for,
            licence = access.licence,
        ),
    )
}

/// Code 2001103: the company has no licence for integrations at all.
pub fn no_api_licence(id: &str) -> Check {
    Check::failed(
        id,
        FailureReason::InvalidConfiguration,
        "Your Fortnox subscription does not include integrations (the API licence), so Pleo \
         cannot work with your Fortnox company. Add integrations to your Fortnox subscription, \
         then export again.",
    )
}

/// A 429: transient. Fortnox sends no `Retry-After`, so the wait is one
/// window of its sliding-window limit unless a header says otherwise.
pub fn rate_limited(id: &str, response: &Response) -> Check {
    Check::unverified(
        id,
        FailureReason::AccountingSystemRateLimit,
        "Fortnox is limiting how many requests Pleo's integration may make right now (Fortnox \
         allows 25 requests every 5 seconds per company). This is temporary: try the export \
         again in a few minutes.",
    )
    .with_retry_after(Some(
        response.retry_after().unwrap_or(RATE_LIMIT_WINDOW_SECS),
    ))
}

/// The export date, `YYYY-MM-DD`, from the job's RFC 3339 `createdAt`: the
/// date the financial year must cover.
pub fn export_date(created_at: &str) -> Option<&str> {
    let date = created_at.get(..10)?;
    let bytes = date.as_bytes();
    let shape = bytes.iter().enumerate().all(|(index, byte)| match index {
        4 | 7 => *byte == b'-',
        _ => byte.is_ascii_digit(),
    });
    shape.then_some(date)
}

/// Neither a database number nor an organisation number is configured, so
/// the company the token is bound to cannot be confirmed.
pub fn no_company_configured() -> Check {
    Check::failed(
        id::COMPANY,
        FailureReason::MissingConfiguration,
        "No Fortnox company is set for this Pleo company. Reconnect Fortnox in Pleo's \
         integration settings so the company's database number is recorded, then export again.",
    )
    .with_hint(
        "integration config has no tenantId (DatabaseNumber) and settings no organizationNumber",
    )
}

/// Digits only, so `556677-8899`, `5566778899` and `16556677-8899` compare by
/// their last ten digits (the 12-digit form prefixes the century, `16` for
/// companies).
pub fn organization_digits(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        12 => digits[2..].to_owned(),
        _ => digits,
    }
}

/// The company context: the token is bound to one company, which must be the
/// configured one by database number and organisation number, whichever are
/// configured (docs/accounting-systems.md §3, "Cheap check").
pub fn company(
    info: &CompanyInformation,
    database_number: Option<&str>,
    organization_number: Option<&str>,
) -> Check {
    let actual_database = info.database_number.as_ref().map(|number| number.text());
    let actual_organization = organization_digits(&info.organization_number);
    let hint = format!(
        "companyinformation: DatabaseNumber {:?}, OrganizationNumber '{}'; configured: \
         tenantId {database_number:?}, organizationNumber {organization_number:?}",
        actual_database, info.organization_number
    );
    let mut compared = false;
    let mut expected = Vec::new();
    let mut matches = true;
    if let Some(wanted) = database_number {
        expected.push(format!("database number {}", wanted.trim()));
        if let Some(actual) = &actual_database {
            compared = true;
            matches &= actual == wanted.trim();
        }
    }
    if let Some(wanted) = organization_number {
        expected.push(format!("organisation number {}", wanted.trim()));
        if !actual_organization.is_empty() {
            compared = true;
            matches &= actual_organization == organization_digits(wanted);
        }
    }
    if !compared {
        return Check::failed(
            id::COMPANY,
            FailureReason::AccountingSystemUnreachable,
            "Fortnox did not say which company Pleo is connected to. Try the export again later; \
             if it keeps failing, contact support.",
        )
        .with_hint(hint);
    }
    if !matches {
        return Check::failed(
            id::COMPANY,
            FailureReason::MissingConfiguration,
            format!(
                "Pleo is connected to Fortnox company '{}' (organisation number {}), but this \
                 Pleo company exports to the Fortnox company with {}. Reconnect Fortnox in \
                 Pleo's integration settings and log in to the right company, then export again.",
                info.company_name,
                info.organization_number,
                expected.join(" and ")
            ),
        )
        .with_hint(hint);
    }
    Check::passed(
        id::COMPANY,
        format!(
            "Pleo is connected to Fortnox company '{}' (organisation number {}).",
            info.company_name, info.organization_number
        ),
    )
    .with_hint(hint)
}

/// The export date must fall in a financial year, or no voucher can be booked
/// (docs/accounting-systems.md, closing table: "Fortnox financial year missing" is
/// an operation the set-up does not support).
pub fn financial_year(years: &[FinancialYear], date: &str, company: &str) -> Check {
    let Some(year) = years
        .iter()
        .find(|year| year.from_date.as_str() <= date && date <= year.to_date.as_str())
    else {
        return Check::failed(
            id::FINANCIAL_YEAR,
            FailureReason::InvalidConfiguration,
            format!(
                "Fortnox company '{company}' has no financial year covering {date}, so the \
                 export cannot be booked. Create the financial year in Fortnox's bookkeeping \
                 settings, then export again."
            ),
        )
        .with_hint(format!(
            "GET /3/financialyears?date={date} returned {} year{}, none covering it",
            years.len(),
            if years.len() == 1 { "" } else { "s" }
        ));
    };
    Check::passed(
        id::FINANCIAL_YEAR,
        format!(
            "Fortnox financial year {} to {} covers {date}.",
            year.from_date, year.to_date
        ),
    )
    .with_hint(format!("financial year id {}", year.id))
}

/// The configured voucher series must exist in the financial year.
pub fn voucher_series(series: &[VoucherSeries], code: &str, company: &str) -> Check {
    match series
        .iter()
        .find(|series| series.code.trim().eq_ignore_ascii_case(code.trim()))
    {
        None => Check::failed(
            id::VOUCHER_SERIES,
            FailureReason::MissingConfiguration,
            format!(
                "Voucher series {code} does not exist in Fortnox company '{company}'. Create it \
                 in Fortnox's voucher series settings, or pick another voucher series in Pleo's \
                 Fortnox settings."
            ),
        )
        .with_hint(format!(
            "voucher series in GET /3/voucherseries: {:?}",
            series.iter().map(|s| s.code.as_str()).collect::<Vec<_>>()
        )),
        Some(series) => Check::passed(
            id::VOUCHER_SERIES,
            format!(
                "Fortnox voucher series {} '{}' exists.",
                series.code, series.description
            ),
        ),
    }
}

/// A configured account (`purpose` is what Pleo uses it for) must exist in the
/// chart of accounts of the financial year and be active.
pub fn account(purpose: &str, number: u32, accounts: &[Account], company: &str) -> Check {
    let rule = format!("{}.{purpose}", id::ACCOUNTS);
    match accounts.iter().find(|account| account.number == number) {
        None => Check::failed(
            &rule,
            FailureReason::MissingConfiguration,
            format!(
                "Fortnox account {number} (used for {purpose}) does not exist in the chart of \
                 accounts of '{company}'. Add it in Fortnox's chart of accounts, or map \
                 {purpose} to another account in Pleo's Fortnox settings."
            ),
        )
        .with_hint(format!("no account {number} in GET /3/accounts")),
        Some(account) if !account.active => Check::failed(
            &rule,
            FailureReason::InvalidConfiguration,
            format!(
                "Fortnox account {number} '{}' (used for {purpose}) is inactive in '{company}'. \
                 Activate it in Fortnox's chart of accounts, or map {purpose} to an active \
                 account in Pleo's Fortnox settings.",
                account.description
            ),
        ),
        Some(account) => Check::passed(
            &rule,
            format!(
                "Fortnox account {number} '{}' ({purpose}) exists and is active.",
                account.description
            ),
        ),
    }
}

/// The configured VAT code must be in use: Fortnox keeps VAT codes on
/// accounts, not as a resource of their own (docs/accounting-systems.md §3,
/// "Endpoints"), so a code no active account carries cannot be booked with.
pub fn vat_code(vat_code: &str, accounts: &[Account], company: &str) -> Check {
    let carriers: Vec<&Account> = accounts
        .iter()
        .filter(|account| {
            account.active
                && account
                    .vat_code
                    .as_deref()
                    .is_some_and(|code| code.trim().eq_ignore_ascii_case(vat_code.trim()))
        })
        .collect();
    match carriers.first() {
        None => Check::failed(
            id::VAT_CODE,
            FailureReason::MissingConfiguration,
            format!(
                "VAT code {vat_code} is not set on any active account in the chart of accounts \
                 of Fortnox company '{company}'. Set it on the right accounts in Fortnox, or pick \
                 another VAT code in Pleo's Fortnox settings."
            ),
        )
        .with_hint(format!("no active account with VATCode {vat_code}")),
        Some(first) => Check::passed(
            id::VAT_CODE,
            format!(
                "Fortnox VAT code {vat_code} is in use (e.g. on account {} '{}').",
                first.number, first.description
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NumberOrText;
    use preflight_sdk::CheckStatus;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn error_body(code: u64, message: &str) -> String {
        format!(r#"{{"ErrorInformation":{{"error":1,"message":"{message}","code":{code}}}}}"#)
    }

    fn info(database: u64, organization: &str) -> CompanyInformation {
        CompanyInformation {
            company_name: "Nordisk Demo AB".to_owned(),
            database_number: Some(NumberOrText::Number(database)),
            organization_number: organization.to_owned(),
        }
    }

    fn account_of(number: u32, description: &str, active: bool, vat: &str) -> Account {
        Account {
            number,
            description: description.to_owned(),
            active,
            vat_code: Some(vat.to_owned()),
        }
    }

    #[test]
    fn codes_decide_over_statuses() {
        // Fortnox answers the same problem with 400, 401 or 403; only the code counts.
        for status in [400, 401, 403] {
            let check = refused(
                id::CONNECTION,
                &response(status, &error_body(2_000_310, "Ogiltig access-token")),
                &COMPANY_INFORMATION,
            );
            assert_eq!(
                check.reason,
                Some(FailureReason::AccountingSystemAuthenticationFailure),
                "status {status}"
            );
            assert!(check.message.starts_with("Reconnect Fortnox"));
            assert!(check.hint.as_deref().unwrap().contains("code 2000310"));

            let scope = refused(
                id::VOUCHERS,
                &response(
                    status,
                    &error_body(2_000_663, "Har inte behörighet för scope"),
                ),
                &BOOKKEEPING,
            );
            assert_eq!(scope.reason, Some(FailureReason::MissingConfiguration));
            assert!(
                scope
                    .message
                    .contains("not allowed to use bookkeeping (vouchers"),
                "{}",
                scope.message
            );
        }
    }

    #[test]
    fn capitalised_and_string_codes_are_read() {
        let body = r#"{"ErrorInformation":{"Error":1,"Message":"Ingen licens","Code":"2001101"}}"#;
        let check = refused(
            id::SUPPLIER_INVOICES,
            &response(403, body),
            &SUPPLIER_INVOICES,
        );
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            check
                .message
                .contains("no active licence for supplier invoices"),
            "{}",
            check.message
        );
        assert!(
            check
                .message
                .contains("Add Supplier invoices (Leverantörsfakturor)")
        );
    }

    #[test]
    fn missing_api_licence_is_a_configuration_problem() {
        let check = refused(
            id::CONNECTION,
            &response(
                403,
                &error_body(2_001_103, "Saknar licens för integrationer"),
            ),
            &COMPANY_INFORMATION,
        );
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(check.message.contains("does not include integrations"));
    }

    #[test]
    fn rate_limit_waits_one_window_without_retry_after() {
        let check = refused(
            id::CONNECTION,
            &response(429, r#"{"message":"Too Many Requests"}"#),
            &COMPANY_INFORMATION,
        );
        assert_eq!(check.status, CheckStatus::Unverified);
        assert_eq!(check.reason, Some(FailureReason::AccountingSystemRateLimit));
        assert_eq!(check.retry_after, Some(5));
        assert!(check.message.contains("25 requests every 5 seconds"));
    }

    #[test]
    fn unknown_refusals_fall_back_to_the_status() {
        let outage = refused(
            id::CONNECTION,
            &response(503, "<html>down</html>"),
            &COMPANY_INFORMATION,
        );
        assert_eq!(outage.status, CheckStatus::Unverified);
        assert_eq!(
            outage.reason,
            Some(FailureReason::AccountingSystemUnreachable)
        );
        assert!(outage.message.contains("Fortnox is unavailable"));

        let unauthorized = refused(id::CONNECTION, &response(401, ""), &COMPANY_INFORMATION);
        assert_eq!(
            unauthorized.reason,
            Some(FailureReason::AccountingSystemAuthenticationFailure)
        );
    }

    #[test]
    fn organisation_numbers_compare_by_digits() {
        assert_eq!(organization_digits("556677-8899"), "5566778899");
        assert_eq!(organization_digits("16556677-8899"), "5566778899");
        assert_eq!(organization_digits(" 5566778899 "), "5566778899");
    }

    #[test]
    fn company_must_be_the_configured_one() {
        let company_info = info(1_234_567, "556677-8899");
        assert_eq!(
            company(&company_info, Some("1234567"), None).status,
            CheckStatus::Passed
        );
        assert_eq!(
            company(&company_info, None, Some("5566778899")).status,
            CheckStatus::Passed
        );
        assert_eq!(
            company(&company_info, Some("1234567"), Some("556677-8899")).status,
            CheckStatus::Passed
        );

        let wrong = company(&company_info, Some("7654321"), None);
        assert_eq!(wrong.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            wrong.message.contains(
                "connected to Fortnox company 'Nordisk Demo AB' (organisation number \
                 556677-8899), but this Pleo company exports to the Fortnox company with \
                 database number 7654321"
            ),
            "{}",
            wrong.message
        );

        let wrong_org = company(&company_info, Some("1234567"), Some("559900-1122"));
        assert_eq!(wrong_org.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            wrong_org
                .message
                .contains("organisation number 559900-1122")
        );
    }

    #[test]
    fn company_that_cannot_be_compared_is_not_passed() {
        let nameless = CompanyInformation {
            company_name: "X".to_owned(),
            database_number: None,
            organization_number: String::new(),
        };
        let check = company(&nameless, Some("1234567"), None);
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemUnreachable)
        );
    }

    #[test]
    fn labels_prefer_the_name() {
        assert_eq!(
            company_label(Some("Nordisk Demo AB"), Some("1"), None),
            "'Nordisk Demo AB'"
        );
        assert_eq!(
            company_label(None, Some("1234567"), Some("556677-8899")),
            "with database number 1234567"
        );
        assert_eq!(
            company_label(None, None, Some("556677-8899")),
            "with organisation number 556677-8899"
        );
    }

    #[test]
    fn financial_year_must_cover_the_date() {
        let years = [FinancialYear {
            id: 3,
            from_date: "2026-01-01".to_owned(),
            to_date: "2026-12-31".to_owned(),
        }];
        let check = financial_year(&years, "2026-11-25", "Nordisk Demo AB");
        assert_eq!(check.status, CheckStatus::Passed);
        assert!(check.message.contains("2026-01-01 to 2026-12-31"));

        let missing = financial_year(&years, "2027-01-02", "Nordisk Demo AB");
        assert_eq!(missing.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            missing
                .message
                .contains("has no financial year covering 2027-01-02")
        );
        assert_eq!(
            financial_year(&[], "2026-11-25", "X").reason,
            Some(FailureReason::InvalidConfiguration)
        );
    }

    #[test]
    fn voucher_series_must_exist() {
        let series = [
            VoucherSeries {
                code: "A".to_owned(),
                description: "Redovisning".to_owned(),
            },
            VoucherSeries {
                code: "P".to_owned(),
                description: "Pleo".to_owned(),
            },
        ];
        assert_eq!(
            voucher_series(&series, "p", "Nordisk Demo AB").status,
            CheckStatus::Passed
        );
        let missing = voucher_series(&series, "Q", "Nordisk Demo AB");
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("Voucher series Q does not exist in Fortnox company 'Nordisk Demo AB'")
        );
    }

    #[test]
    fn accounts_must_exist_and_be_active() {
        let chart = [
            account_of(6991, "Övriga externa kostnader", true, "MP1"),
            account_of(1930, "Företagskonto", true, ""),
            account_of(6990, "Övriga kostnader", false, "MP1"),
        ];
        assert_eq!(
            account("expenses", 6991, &chart, "Nordisk Demo AB").status,
            CheckStatus::Passed
        );
        let missing = account("contra", 1940, &chart, "Nordisk Demo AB");
        assert_eq!(missing.id, "fortnox.accounts.contra");
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(missing.message.contains(
            "Fortnox account 1940 (used for contra) does not exist in the chart of accounts of \
             'Nordisk Demo AB'"
        ));
        let inactive = account("expenses", 6990, &chart, "Nordisk Demo AB");
        assert_eq!(inactive.reason, Some(FailureReason::InvalidConfiguration));
        assert!(inactive.message.contains("is inactive"));
    }

    #[test]
    fn vat_code_must_be_on_an_active_account() {
        let chart = [
            account_of(6991, "Övriga externa kostnader", true, "MP1"),
            account_of(5410, "Förbrukningsinventarier", false, "MP2"),
        ];
        let found = vat_code("mp1", &chart, "Nordisk Demo AB");
        assert_eq!(found.status, CheckStatus::Passed);
        assert!(found.message.contains("account 6991"));
        let inactive_only = vat_code("MP2", &chart, "Nordisk Demo AB");
        assert_eq!(
            inactive_only.reason,
            Some(FailureReason::MissingConfiguration)
        );
        assert!(
            inactive_only
                .message
                .contains("VAT code MP2 is not set on any active account")
        );
    }

    #[test]
    fn export_date_is_the_day_of_creation() {
        assert_eq!(export_date("2026-11-25T09:00:00Z"), Some("2026-11-25"));
        assert_eq!(export_date("2026-11-25"), Some("2026-11-25"));
        assert_eq!(export_date("25/11/2026 09:00"), None);
        assert_eq!(export_date("2026"), None);
    }

    #[test]
    fn account_rule_ids_follow_the_prefix() {
        let chart = [account_of(1930, "Företagskonto", true, "")];
        assert_eq!(
            account("expenses", 1, &chart, "X").id,
            id::ACCOUNTS_EXPENSES
        );
        assert_eq!(account("contra", 1930, &chart, "X").id, id::ACCOUNTS_CONTRA);
    }

    #[test]
    fn no_configured_company_is_missing_configuration() {
        let check = no_company_configured();
        assert_eq!(check.id, id::COMPANY);
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
    }
}
