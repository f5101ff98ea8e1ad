//! The decisions of the QuickBooks Online rules, as pure functions of what
//! QuickBooks answered. They hold every message a finance user may read, and
//! run natively in unit tests.

use preflight_sdk::http::{self, Response};
use preflight_sdk::{Check, FailureReason, Rule};

use crate::model::{Account, CompanyInfo, JournalCode, TaxCode, first_fault};

/// The accounting system's name in messages, the SDK's included
/// (`plugin-info.display-name`).
pub const DISPLAY_NAME: &str = "QuickBooks Online";

/// Every rule, in the order they run (after the SDK's `quickbooks.settings`).
pub const RULES: &[Rule] = &[
    Rule::new(id::CONNECTION, "Connection and authentication"),
    Rule::new(id::COMPANY, "Company connected"),
    Rule::new(id::JOURNAL_ENTRIES, "Journal entries permission"),
    Rule::vendor_bookkeeping(id::VENDORS, "Vendors and bills permission"),
    Rule::new(id::ATTACHMENTS, "Attachments permission"),
    Rule::new(id::ACCOUNTS_EXPENSES, "Expense account"),
    Rule::new(id::ACCOUNTS_CONTRA, "Contra account"),
    Rule::new(id::TAX_CODE, "Tax code"),
    Rule::new(id::JOURNAL_CODE, "Journal code"),
];

/// Rule ids; stable across versions.
pub mod id {
    /// QuickBooks Online answers and accepts the connection.
    pub const CONNECTION: &str = "quickbooks.connection";
    /// The realm is the company the configuration expects.
    pub const COMPANY: &str = "quickbooks.company";
    /// Journal entries may be used.
    pub const JOURNAL_ENTRIES: &str = "quickbooks.permissions.journal-entries";
    /// Vendors and bills may be used (vendor bookkeeping).
    pub const VENDORS: &str = "quickbooks.permissions.vendors";
    /// Attachments may be used.
    pub const ATTACHMENTS: &str = "quickbooks.permissions.attachments";
    /// Prefix of the per-account checks: `quickbooks.accounts.<purpose>`.
    pub const ACCOUNTS: &str = "quickbooks.accounts";
    /// The expense account exists and is active.
    pub const ACCOUNTS_EXPENSES: &str = "quickbooks.accounts.expenses";
    /// The contra (balancing) account exists and is active.
    pub const ACCOUNTS_CONTRA: &str = "quickbooks.accounts.contra";
    /// The configured tax code exists.
    pub const TAX_CODE: &str = "quickbooks.tax-code";
    /// The configured journal code exists.
    pub const JOURNAL_CODE: &str = "quickbooks.journal-code";
}

/// Fault codes from docs/accounting-systems.md §2 ("Errors").
mod code {
    /// `AuthenticationFailed`, with HTTP 401.
    pub const AUTHENTICATION_FAILED: &str = "3200";
    /// `AuthorizationFailed`, with HTTP 403.
    pub const AUTHORIZATION_FAILED: &str = "3100";
    /// `ThrottleExceeded`, with HTTP 429 (sent as `003001`).
    pub const THROTTLE_EXCEEDED: &str = "3001";
    /// "You do not have permission to access this feature": the plan does not
    /// include the entity; HTTP 400.
    pub const FEATURE_NOT_ENTITLED: &str = "5020";
}

/// Something the export uses, probed read-only by querying one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// What it is called in QuickBooks, e.g. `journal entries`.
    pub what: &'static str,
    /// Why Pleo needs it, completing "which Pleo needs …".
    pub purpose: &'static str,
    /// What the user can do when the plan lacks it.
    pub without: &'static str,
}

/// Journal entries (`JournalEntry`): how Pleo posts expenses.
pub const JOURNAL_ENTRIES: Feature = Feature {
    what: "journal entries",
    purpose: "to post your Pleo expenses",
    without: "Upgrade the plan in QuickBooks Online, then export again.",
};

/// Vendors and bills (`Vendor`, `Bill`): accounts payable for vendor
/// bookkeeping. Simple Start plans have no bills.
pub const VENDORS: Feature = Feature {
    what: "vendors and bills",
    purpose: "for vendor bookkeeping",
    without: "Upgrade to a plan with bills (Essentials or higher), or turn off vendor \
              bookkeeping in Pleo's export settings, then export again.",
};

/// Attachments (`Attachable`, `POST /upload`): receipts on what is posted.
pub const ATTACHMENTS: Feature = Feature {
    what: "attachments",
    purpose: "to attach receipts",
    without: "Upgrade the plan in QuickBooks Online, or turn off attaching receipts in \
              Pleo's QuickBooks Online settings, then export again.",
};

/// What a failed call was about, which decides what a refusal means.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The company itself (`companyinfo`): a refusal means the connection is
    /// not for this company. Holds how the company is named in messages.
    Company(&'a str),
    /// A feature probed by a query: a refusal means the connected user or the
    /// plan lacks it.
    Feature(&'a Feature),
    /// Reference data (chart of accounts, tax codes, …) named for messages.
    Data(&'a str),
}

impl Subject<'_> {
    fn what(&self) -> &str {
        match self {
            Subject::Company(_) => "this company's data",
            Subject::Feature(feature) => feature.what,
            Subject::Data(what) => what,
        }
    }
}

/// How a company is named in messages: the configured name, or the realm id
/// when no name is configured.
pub fn company_label(name: Option<&str>, realm_id: &str) -> String {
    match name {
        Some(name) => format!("'{name}'"),
        None => format!("with realm id {realm_id}"),
    }
}

/// The configured realm id (the integration's tenant id): it must be present,
/// and digits only, since it becomes part of every URL path
/// (`/v3/company/{realmId}`, docs/accounting-systems.md §2).
pub fn realm_id(tenant_id: Option<&str>) -> Result<&str, Check> {
    let Some(realm) = tenant_id.map(str::trim) else {
        return Err(Check::failed(
            id::CONNECTION,
            FailureReason::MissingConfiguration,
            "No QuickBooks Online company is selected for this Pleo company. Connect QuickBooks \
             Online in Pleo's integration settings and choose the company, then export again.",
        )
        .with_hint("the integration configuration has no tenantId (realmId)"));
    };
    if realm.is_empty() || realm.len() > 32 || !realm.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Check::failed(
            id::CONNECTION,
            FailureReason::InvalidConfiguration,
            format!(
                "The QuickBooks Online company id in Pleo's settings ('{realm}') is not a \
                 QuickBooks company id. Reconnect QuickBooks Online in Pleo's integration \
                 settings and choose the company, then export again."
            ),
        )
        .with_hint("tenantId must be the numeric realmId returned by Intuit's OAuth callback"));
    }
    Ok(realm)
}

/// Whether a failed `companyinfo` call means the token is valid but not for
/// this realm (403 / fault 3100 without a scope problem): then the connection
/// works and the company is what is wrong.
pub fn refuses_company(response: &Response) -> bool {
    let fault = first_fault(&response.body);
    let code = fault.as_ref().map(|f| f.code()).unwrap_or_default();
    let refused = response.status == 403 || code == code::AUTHORIZATION_FAILED;
    refused
        && response.status != 401
        && code != code::AUTHENTICATION_FAILED
        && !fault.is_some_and(|f| lacks_scope(&f.detail))
}

/// Whether a 3100 detail says the token lacks the accounting scope ("The access
/// token does not have sufficient scope", docs/accounting-systems.md §2).
fn lacks_scope(detail: &str) -> bool {
    detail.to_ascii_lowercase().contains("scope")
}

/// The check for an error answer of QuickBooks Online to a call of rule `id`
/// about `subject`; `plan` is the company's plan when known. Keys on the fault
/// code first, since QuickBooks returns 400, 401 and 403 inconsistently
/// (docs/accounting-systems.md, "Cross-cutting cautions"), then on the status.
pub fn failure(id: &str, subject: Subject<'_>, response: &Response, plan: Option<&str>) -> Check {
    let status = response.status;
    let fault = first_fault(&response.body).unwrap_or_default();
    let code = fault.code();
    let hint = format!(
        "QuickBooks Online answered {status}, fault code '{code}', message '{}', detail '{}'",
        fault.message, fault.detail
    );
    let what = subject.what();

    if status == 401 || code == code::AUTHENTICATION_FAILED {
        let message = if fault
            .detail
            .to_ascii_lowercase()
            .starts_with("token expired")
        {
            "Reconnect QuickBooks Online: Pleo's connection has expired. Open Pleo's QuickBooks \
             Online integration settings, reconnect, then export again."
        } else {
            "Reconnect QuickBooks Online: it no longer accepts Pleo's connection (it was \
             disconnected or revoked). Open Pleo's QuickBooks Online integration settings, \
             reconnect, then export again."
        };
        return Check::failed(
            id,
            FailureReason::AccountingSystemAuthenticationFailure,
            message,
        )
        .with_hint(hint);
    }
    if status == 429 || code == code::THROTTLE_EXCEEDED {
        // QuickBooks sends no Retry-After (docs/accounting-systems.md §2): the
        // runner's backoff decides; a header, should one come, is honoured.
        return Check::unverified(
            id,
            FailureReason::AccountingSystemRateLimit,
            "QuickBooks Online is limiting how many requests Pleo's integration may make right \
             now (at most 500 a minute per company). Try the export again in a few minutes.",
        )
        .with_retry_after(response.retry_after())
        .with_hint(hint);
    }
    if code == code::FEATURE_NOT_ENTITLED {
        let plan = plan.map_or_else(String::new, |plan| format!(" ({plan})"));
        let (purpose, without) = match subject {
            Subject::Feature(feature) => (feature.purpose, feature.without),
            _ => (
                "for the export",
                "Upgrade the plan in QuickBooks Online, then export again.",
            ),
        };
        return Check::failed(
            id,
            FailureReason::InvalidConfiguration,
            format!(
                "Your QuickBooks Online plan{plan} does not include {what}, which Pleo needs \
                 {purpose}. {without}"
            ),
        )
        .with_hint(hint);
    }
    if status == 403 || code == code::AUTHORIZATION_FAILED {
        if lacks_scope(&fault.detail) {
            return Check::failed(
                id,
                FailureReason::MissingConfiguration,
                "Pleo's QuickBooks Online connection does not include access to your accounting \
                 data. Reconnect QuickBooks Online in Pleo's integration settings and approve \
                 access to accounting, then export again.",
            )
            .with_hint(format!(
                "{hint}; the token lacks com.intuit.quickbooks.accounting"
            ));
        }
        return match subject {
            Subject::Company(label) => Check::failed(
                id,
                FailureReason::MissingConfiguration,
                format!(
                    "QuickBooks Online refused access to company {label}: Pleo's connection was \
                     made for another company, or the company's subscription has ended. \
                     Reconnect QuickBooks Online in Pleo's integration settings and choose that \
                     company, then export again."
                ),
            ),
            _ => Check::failed(
                id,
                FailureReason::AuthorizationFailure,
                format!(
                    "The QuickBooks Online user who connected Pleo is not allowed to use {what}. \
                     Ask your QuickBooks company administrator to give that user access (Settings \
                     > Manage users), or reconnect Pleo as an administrator, then export again."
                ),
            ),
        }
        .with_hint(hint);
    }
    if (500..=599).contains(&status) {
        return Check::unverified(
            id,
            FailureReason::AccountingSystemUnreachable,
            format!(
                "QuickBooks Online is unavailable at the moment (it answered {status}). Try the \
                 export again later."
            ),
        )
        .with_retry_after(response.retry_after())
        .with_hint(hint);
    }
    http::status_check(id, DISPLAY_NAME, response)
}

/// The right company: when the configuration names the company, the realm's
/// `CompanyName` (or `LegalName`) must be that name (docs/accounting-systems.md §2,
/// "Tenant selection": picking the wrong company yields another realm).
pub fn company(info: &CompanyInfo, expected: Option<&str>, realm_id: &str) -> Check {
    let actual = info.company_name.trim();
    if let Some(expected) = expected.map(str::trim) {
        let same = |name: &str| name.trim().eq_ignore_ascii_case(expected);
        if !same(actual) && !info.legal_name.as_deref().is_some_and(same) {
            return Check::failed(
                id::COMPANY,
                FailureReason::MissingConfiguration,
                format!(
                    "Pleo is connected to QuickBooks Online company '{actual}', not \
                     '{expected}'. Reconnect QuickBooks Online in Pleo's integration settings \
                     and choose '{expected}', then export again."
                ),
            )
            .with_hint(format!(
                "realm {realm_id}: CompanyName '{actual}', LegalName {:?}, expected '{expected}'",
                info.legal_name
            ));
        }
    }
    Check::passed(
        id::COMPANY,
        format!("QuickBooks Online company '{actual}' is connected."),
    )
    .with_hint(format!(
        "realm {realm_id}, country {}, plan {}",
        info.country.as_deref().unwrap_or("unknown"),
        info.plan().unwrap_or("unknown")
    ))
}

/// A configured account (`purpose` is what Pleo uses it for), named by its
/// account number or its (fully qualified) name, must exist and be active.
pub fn account(purpose: &str, reference: &str, accounts: &[Account], company: &str) -> Check {
    let rule = format!("{}.{purpose}", id::ACCOUNTS);
    let wanted = reference.trim();
    let by_number = accounts
        .iter()
        .find(|account| account.acct_num.as_deref().map(str::trim) == Some(wanted));
    let found = by_number.or_else(|| {
        accounts.iter().find(|account| {
            account.name.trim().eq_ignore_ascii_case(wanted)
                || account
                    .fully_qualified_name
                    .as_deref()
                    .is_some_and(|name| name.trim().eq_ignore_ascii_case(wanted))
        })
    });
    match found {
        None => Check::failed(
            &rule,
            FailureReason::MissingConfiguration,
            format!(
                "QuickBooks Online account {wanted} (used for {purpose}) does not exist in \
                 '{company}'. Create it in the chart of accounts, or map {purpose} to another \
                 account in Pleo's QuickBooks Online settings."
            ),
        )
        .with_hint(format!(
            "no Account with AcctNum or Name '{wanted}' among {}",
            counted(accounts.len(), "account", "accounts")
        )),
        Some(account) if !account.active => Check::failed(
            &rule,
            FailureReason::InvalidConfiguration,
            format!(
                "QuickBooks Online account {wanted} '{}' (used for {purpose}) is inactive in \
                 '{company}'. Make it active again in the chart of accounts, or map {purpose} \
                 to an active account in Pleo's QuickBooks Online settings.",
                account.name
            ),
        )
        .with_hint(format!("Account Id {} has Active false", account.id)),
        Some(account) => Check::passed(
            &rule,
            format!(
                "QuickBooks Online account {wanted} '{}' ({purpose}) exists and is active.",
                account.name
            ),
        )
        .with_hint(format!(
            "Account Id {}, AccountType {}",
            account.id, account.account_type
        )),
    }
}

/// `count` and the noun in the number it takes: `1 account`, `3 accounts`.
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// The configured tax code, named by its name or id, must exist, be active and
/// apply to purchases (a code with no `PurchaseTaxRateList` entry is for sales
/// only).
pub fn tax_code(reference: &str, codes: &[TaxCode], company: &str) -> Check {
    let wanted = reference.trim();
    let found = codes
        .iter()
        .find(|code| code.name.trim().eq_ignore_ascii_case(wanted))
        .or_else(|| codes.iter().find(|code| code.id == wanted));
    match found {
        None => Check::failed(
            id::TAX_CODE,
            FailureReason::MissingConfiguration,
            format!(
                "QuickBooks Online tax code '{wanted}' does not exist in '{company}'. Pick an \
                 existing tax code in Pleo's QuickBooks Online settings."
            ),
        )
        .with_hint(format!(
            "no TaxCode with Name or Id '{wanted}' among {}",
            counted(codes.len(), "tax code", "tax codes")
        )),
        Some(code) if !code.active => Check::failed(
            id::TAX_CODE,
            FailureReason::InvalidConfiguration,
            format!(
                "QuickBooks Online tax code '{}' is inactive in '{company}'. Pick an active tax \
                 code in Pleo's QuickBooks Online settings.",
                code.name
            ),
        ),
        Some(code) if code.purchase_tax_rate_list.tax_rate_detail.is_empty() => Check::failed(
            id::TAX_CODE,
            FailureReason::InvalidConfiguration,
            format!(
                "QuickBooks Online tax code '{}' has no purchase rate in '{company}', so it \
                 cannot be used on expenses. Pick a tax code for purchases in Pleo's QuickBooks \
                 Online settings.",
                code.name
            ),
        )
        .with_hint(format!(
            "TaxCode Id {} has an empty PurchaseTaxRateList",
            code.id
        )),
        Some(code) => Check::passed(
            id::TAX_CODE,
            format!(
                "QuickBooks Online tax code '{}' exists and applies to purchases.",
                code.name
            ),
        ),
    }
}

/// The configured journal code must exist and be active. QuickBooks Online
/// has journal codes for French companies only.
pub fn journal_code(reference: &str, codes: &[JournalCode], company: &str) -> Check {
    let wanted = reference.trim();
    match codes
        .iter()
        .find(|code| code.name.trim().eq_ignore_ascii_case(wanted))
    {
        None => Check::failed(
            id::JOURNAL_CODE,
            FailureReason::MissingConfiguration,
            format!(
                "QuickBooks Online journal code {wanted} does not exist in '{company}'. Create \
                 it in QuickBooks Online, or pick another journal in Pleo's QuickBooks Online \
                 settings."
            ),
        )
        .with_hint(format!(
            "no JournalCode named '{wanted}' among {}",
            counted(codes.len(), "journal code", "journal codes")
        )),
        Some(code) if !code.active => Check::failed(
            id::JOURNAL_CODE,
            FailureReason::InvalidConfiguration,
            format!(
                "QuickBooks Online journal code {wanted} is inactive in '{company}'. Make it \
                 active again in QuickBooks Online, or pick another journal in Pleo's QuickBooks \
                 Online settings."
            ),
        ),
        Some(code) => Check::passed(
            id::JOURNAL_CODE,
            format!(
                "QuickBooks Online journal code {wanted}{} exists and is active.",
                code.description
                    .as_deref()
                    .map_or_else(String::new, |text| format!(" '{text}'"))
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NameValue, TaxRateList};
    use preflight_sdk::CheckStatus;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn fault(code: &str, message: &str, detail: &str, kind: &str) -> String {
        serde_json::json!({
            "Fault": {
                "Error": [{ "Message": message, "Detail": detail, "code": code, "element": "" }],
                "type": kind,
            },
            "time": "2026-11-25T01:00:00.000-07:00",
        })
        .to_string()
    }

    fn account_named(id: &str, number: Option<&str>, name: &str, active: bool) -> Account {
        Account {
            id: id.into(),
            name: name.into(),
            fully_qualified_name: Some(name.into()),
            acct_num: number.map(Into::into),
            active,
            account_type: "Expense".into(),
        }
    }

    #[test]
    fn counts_take_the_number_of_their_noun() {
        assert_eq!(counted(1, "account", "accounts"), "1 account");
        assert_eq!(counted(0, "account", "accounts"), "0 accounts");
        assert_eq!(counted(12, "tax code", "tax codes"), "12 tax codes");
    }

    #[test]
    fn realm_id_must_be_present_and_numeric() {
        assert_eq!(realm_id(Some(" 9341453050607040 ")), Ok("9341453050607040"));
        let missing = realm_id(None).unwrap_err();
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("No QuickBooks Online company is selected")
        );
        let bad = realm_id(Some("../other")).unwrap_err();
        assert_eq!(bad.reason, Some(FailureReason::InvalidConfiguration));
    }

    #[test]
    fn expired_token_in_lowercase_envelope_asks_to_reconnect() {
        let body = r#"{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired: eyJlbmMi","code":"3200","element":null}],"type":"AUTHENTICATION"},"report":null,"time":1533811101733}"#;
        let check = failure(
            id::CONNECTION,
            Subject::Company("'Acme SAS'"),
            &response(401, body),
            None,
        );
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemAuthenticationFailure)
        );
        assert!(
            check
                .message
                .starts_with("Reconnect QuickBooks Online: Pleo's connection has expired"),
            "{}",
            check.message
        );
        assert!(check.hint.unwrap().contains("fault code '3200'"));
    }

    #[test]
    fn codes_parse_padded_or_from_the_message() {
        let error = crate::model::FaultError {
            message: "message=ThrottleExceeded; errorCode=003001; statusCode=429".into(),
            detail: String::new(),
            code: String::new(),
        };
        assert_eq!(error.code(), "3001");
        let padded = crate::model::FaultError {
            code: "003200".into(),
            ..error
        };
        assert_eq!(padded.code(), "3200");
    }

    #[test]
    fn throttling_is_transient_without_retry_after() {
        let body = fault(
            "3001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "The request limit was reached.",
            "SERVICE",
        );
        let check = failure(
            id::CONNECTION,
            Subject::Company("'Acme SAS'"),
            &response(429, &body),
            None,
        );
        assert_eq!(check.status, CheckStatus::Unverified);
        assert_eq!(check.reason, Some(FailureReason::AccountingSystemRateLimit));
        assert_eq!(check.retry_after, None);
        assert!(check.message.contains("500 a minute per company"));
    }

    #[test]
    fn missing_scope_asks_for_consent() {
        let body = fault(
            "3100",
            "message=AuthorizationFailed; errorCode=003100; statusCode=403",
            "The access token does not have sufficient scope",
            "SERVICE",
        );
        let response = response(403, &body);
        assert!(!refuses_company(&response));
        let check = failure(
            id::CONNECTION,
            Subject::Company("'Acme SAS'"),
            &response,
            None,
        );
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(check.message.contains("approve access to accounting"));
    }

    #[test]
    fn refusal_means_wrong_company_or_missing_rights_by_subject() {
        let body = fault(
            "3100",
            "message=AuthorizationFailed; errorCode=003100; statusCode=403",
            "Authorization failed for this request",
            "SERVICE",
        );
        let response = response(403, &body);
        assert!(refuses_company(&response));

        let company = failure(id::COMPANY, Subject::Company("'Acme SAS'"), &response, None);
        assert_eq!(company.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            company
                .message
                .contains("refused access to company 'Acme SAS'")
        );

        let journals = failure(
            id::JOURNAL_ENTRIES,
            Subject::Feature(&JOURNAL_ENTRIES),
            &response,
            None,
        );
        assert_eq!(journals.reason, Some(FailureReason::AuthorizationFailure));
        assert!(
            journals
                .message
                .contains("not allowed to use journal entries")
        );
    }

    #[test]
    fn feature_outside_the_plan_is_invalid_configuration() {
        let body = fault(
            "5020",
            "Permission Denied Error",
            "Permission Denied Error : You do not have the access rights to use this feature.",
            "ValidationFault",
        );
        let check = failure(
            id::VENDORS,
            Subject::Feature(&VENDORS),
            &response(400, &body),
            Some("QuickBooks Online Simple Start"),
        );
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            check.message.starts_with(
                "Your QuickBooks Online plan (QuickBooks Online Simple Start) does not include \
                 vendors and bills, which Pleo needs for vendor bookkeeping."
            ),
            "{}",
            check.message
        );
        assert!(check.message.contains("turn off vendor bookkeeping"));
    }

    #[test]
    fn a_fault_in_a_success_answer_still_counts() {
        let body = fault(
            "5020",
            "Permission Denied Error",
            "no access",
            "ValidationFault",
        );
        let check = failure(
            id::ATTACHMENTS,
            Subject::Feature(&ATTACHMENTS),
            &response(200, &body),
            None,
        );
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(check.message.contains("does not include attachments"));
    }

    #[test]
    fn outages_are_transient() {
        let check = failure(
            id::CONNECTION,
            Subject::Company("'Acme SAS'"),
            &response(503, "Service Unavailable"),
            None,
        );
        assert_eq!(check.status, CheckStatus::Unverified);
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemUnreachable)
        );
        assert!(check.message.contains("(it answered 503)"));
    }

    #[test]
    fn company_must_be_the_configured_one() {
        let info = CompanyInfo {
            company_name: "Acme SAS".into(),
            legal_name: Some("Acme Société par actions simplifiée".into()),
            country: Some("FR".into()),
            name_value: vec![NameValue {
                name: "OfferingSku".into(),
                value: "QuickBooks Online Plus".into(),
            }],
        };
        assert_eq!(info.plan(), Some("QuickBooks Online Plus"));
        assert_eq!(
            company(&info, Some("acme sas"), "1").status,
            CheckStatus::Passed
        );
        assert_eq!(company(&info, None, "1").status, CheckStatus::Passed);

        let wrong = company(&info, Some("Nordic Oy"), "1");
        assert_eq!(wrong.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            wrong.message.starts_with(
                "Pleo is connected to QuickBooks Online company 'Acme SAS', not 'Nordic Oy'"
            ),
            "{}",
            wrong.message
        );
    }

    #[test]
    fn accounts_match_by_number_or_name_and_must_be_active() {
        let chart = [
            account_named("58", Some("625100"), "Voyages et déplacements", true),
            account_named("59", Some("625700"), "Réceptions", false),
            account_named("60", None, "Pleo", true),
        ];
        let by_number = account("expenses", "625100", &chart, "Acme SAS");
        assert_eq!(by_number.status, CheckStatus::Passed);
        assert!(by_number.message.contains("'Voyages et déplacements'"));
        assert_eq!(
            account("contra", "pleo", &chart, "Acme SAS").status,
            CheckStatus::Passed
        );

        let missing = account("contra", "512100", &chart, "Acme SAS");
        assert_eq!(missing.id, "quickbooks.accounts.contra");
        assert_eq!(missing.id, id::ACCOUNTS_CONTRA);
        assert_eq!(by_number.id, id::ACCOUNTS_EXPENSES);
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(missing.message.contains(
            "QuickBooks Online account 512100 (used for contra) does not exist in 'Acme SAS'"
        ));

        let inactive = account("expenses", "625700", &chart, "Acme SAS");
        assert_eq!(inactive.reason, Some(FailureReason::InvalidConfiguration));
        assert!(inactive.message.contains("is inactive"));
    }

    #[test]
    fn tax_codes_must_exist_be_active_and_apply_to_purchases() {
        let purchase = TaxRateList {
            tax_rate_detail: vec![serde_json::json!({ "TaxRateRef": { "value": "4" } })],
        };
        let code = |id: &str, name: &str, active: bool, rates: &TaxRateList| TaxCode {
            id: id.into(),
            name: name.into(),
            active,
            purchase_tax_rate_list: rates.clone(),
        };
        let codes = [
            code("4", "TVA 20 %", true, &purchase),
            code("5", "TVA collectée 20 %", true, &TaxRateList::default()),
            code("6", "Ancien taux", false, &purchase),
        ];
        assert_eq!(
            tax_code("tva 20 %", &codes, "Acme SAS").status,
            CheckStatus::Passed
        );
        assert_eq!(
            tax_code("4", &codes, "Acme SAS").status,
            CheckStatus::Passed
        );
        let missing = tax_code("TVA 8 %", &codes, "Acme SAS");
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("tax code 'TVA 8 %' does not exist in 'Acme SAS'")
        );
        let sales = tax_code("TVA collectée 20 %", &codes, "Acme SAS");
        assert_eq!(sales.reason, Some(FailureReason::InvalidConfiguration));
        assert!(sales.message.contains("no purchase rate"));
        assert_eq!(
            tax_code("Ancien taux", &codes, "Acme SAS").reason,
            Some(FailureReason::InvalidConfiguration)
        );
    }

    #[test]
    fn journal_codes_must_exist_and_be_active() {
        let codes = [
            JournalCode {
                id: "1".into(),
                name: "ACH".into(),
                description: Some("Achats".into()),
                active: true,
            },
            JournalCode {
                id: "2".into(),
                name: "OD".into(),
                description: None,
                active: false,
            },
        ];
        let found = journal_code("ach", &codes, "Acme SAS");
        assert_eq!(found.status, CheckStatus::Passed);
        assert!(found.message.contains("'Achats'"));
        assert_eq!(
            journal_code("OD", &codes, "Acme SAS").reason,
            Some(FailureReason::InvalidConfiguration)
        );
        assert_eq!(
            journal_code("BQ", &codes, "Acme SAS").reason,
            Some(FailureReason::MissingConfiguration)
        );
    }
}
