//! The decisions of the Business Central rules, as pure functions of what
//! Business Central answered. They hold every message a finance user may read,
//! in Business Central's vocabulary (environment, company, general journal
//! batch, G/L account, tax group, permission set, licence), and run natively in
//! unit tests.

use preflight_sdk::http::{self, Response};
use preflight_sdk::{Check, FailureReason, Rule};

use crate::model::{Account, Company, ErrorEnvelope, Journal, TaxGroup};

/// The accounting system's full name (`plugin-info.display-name`), which the
/// SDK's messages use; the plugin's own messages say "Business Central".
pub const DISPLAY_NAME: &str = "Microsoft Dynamics 365 Business Central";

/// Every rule, in the order they run (after the SDK's
/// `business-central.settings`).
pub const RULES: &[Rule] = &[
    Rule::new(id::ENVIRONMENT, "Environment address"),
    Rule::new(id::CONNECTION, "Connection and authentication"),
    Rule::new(id::COMPANY, "Company in the environment"),
    Rule::new(id::JOURNALS, "General journals permission"),
    Rule::new(id::JOURNAL, "General journal batch"),
    Rule::vendor_bookkeeping(id::VENDORS, "Vendors and purchase invoices permission"),
    Rule::new(id::ATTACHMENTS, "Attachments permission"),
    Rule::new(id::ACCOUNTS_EXPENSES, "Expense G/L account"),
    Rule::new(id::ACCOUNTS_CONTRA, "Contra G/L account"),
    Rule::new(id::TAX_GROUP, "Tax group"),
];

/// Rule ids; stable across versions.
pub mod id {
    /// The base URL names a Business Central environment.
    pub const ENVIRONMENT: &str = "business-central.environment";
    /// The environment is reachable and accepts Pleo's credentials.
    pub const CONNECTION: &str = "business-central.connection";
    /// The configured company is one of the environment's companies.
    pub const COMPANY: &str = "business-central.company";
    /// General journals and their lines may be used.
    pub const JOURNALS: &str = "business-central.permissions.journals";
    /// Vendors and purchase invoices may be used (vendor bookkeeping).
    pub const VENDORS: &str = "business-central.permissions.vendors";
    /// Attachments (incoming documents) may be used.
    pub const ATTACHMENTS: &str = "business-central.permissions.attachments";
    /// The configured general journal batch exists.
    pub const JOURNAL: &str = "business-central.journal";
    /// Prefix of the per-account checks: `business-central.accounts.<purpose>`.
    pub const ACCOUNTS: &str = "business-central.accounts";
    /// The expense G/L account exists and can be posted to.
    pub const ACCOUNTS_EXPENSES: &str = "business-central.accounts.expenses";
    /// The contra (balancing) G/L account exists and can be posted to.
    pub const ACCOUNTS_CONTRA: &str = "business-central.accounts.contra";
    /// The configured tax group exists.
    pub const TAX_GROUP: &str = "business-central.tax-group";
}

/// Where the company lives: the Microsoft Entra tenant and the environment, as
/// read from the base URL `…/v2.0/{tenant}/{environment}`
/// (docs/accounting-systems.md §5, "Base / auth").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The Microsoft Entra tenant id (or domain) of the URL.
    pub tenant: String,
    /// The environment name, e.g. `Production` or a sandbox name.
    pub name: String,
}

/// Reads the tenant and environment from the configured base URL, which must
/// be the environment root `https://…/v2.0/{tenant}/{environment}`.
pub fn environment(base_url: &str) -> Result<Environment, Check> {
    let path = base_url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path)
        .filter(|path| !path.contains(['?', '#']));
    let segments: Vec<&str> = path
        .map(|path| path.trim_matches('/').split('/').collect())
        .unwrap_or_default();
    match segments.as_slice() {
        [.., "v2.0", tenant, name] if !tenant.is_empty() && !name.is_empty() => Ok(Environment {
            tenant: (*tenant).to_owned(),
            name: (*name).to_owned(),
        }),
        _ => Err(Check::failed(
            id::ENVIRONMENT,
            FailureReason::InvalidConfiguration,
            format!(
                "The Business Central address in Pleo's integration settings ({base_url}) does \
                 not name an environment. It must look like \
                 https://api.businesscentral.dynamics.com/v2.0/<Microsoft Entra tenant id>/<environment \
                 name>. Correct it in Pleo's Business Central integration settings, then export \
                 again."
            ),
        )
        .with_hint("base URL path does not end in /v2.0/{tenant}/{environment}")),
    }
}

/// The configured company id (the integration's `tenantId`), which must be a
/// Business Central company GUID.
pub fn company_id(tenant_id: Option<&str>) -> Result<&str, Check> {
    let Some(company) = tenant_id.map(str::trim) else {
        return Err(Check::failed(
            id::COMPANY,
            FailureReason::MissingConfiguration,
            "No Business Central company is selected for this Pleo company. Choose the company \
             in Pleo's Business Central integration settings, then export again.",
        ));
    };
    if !is_guid(company) {
        return Err(Check::failed(
            id::COMPANY,
            FailureReason::InvalidConfiguration,
            format!(
                "'{company}' is not a Business Central company id (a GUID such as \
                 f03f6225-081c-ec11-bb77-000d3abcd65f). Select the company again in Pleo's \
                 Business Central integration settings, then export again."
            ),
        ));
    }
    Ok(company)
}

/// True for `8-4-4-4-12` hexadecimal digits.
fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// How the company is named in messages before Business Central described it:
/// the configured name, or the id.
pub fn company_label(name: Option<&str>, company_id: &str) -> String {
    match name {
        Some(name) => format!("'{name}'"),
        None => format!("with id {company_id}"),
    }
}

/// The environment and company a failure is about, for messages.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// The environment.
    pub environment: &'a Environment,
    /// The company as [`company_label`] names it.
    pub company: &'a str,
}

/// What a refusal from Business Central means, keyed on the OData error code
/// and message rather than the status, which Business Central sets
/// inconsistently (docs/accounting-systems.md, "Cross-cutting cautions").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401 whose challenge or message says the Entra token expired.
    TokenExpired,
    /// 401 `Authentication_InvalidCredentials` otherwise: a revoked grant, or a
    /// service-to-service app not registered in Business Central.
    InvalidCredentials,
    /// `Internal_CompanyNotFound`.
    CompanyNotFound,
    /// A permission-set refusal; holds the object Business Central named.
    Permission(String),
    /// A licence refusal; holds the object Business Central named.
    Licence(String),
    /// 503: maintenance or overload, with `retry-after`.
    Maintenance,
    /// Anything else.
    Other,
}

/// The code and message of Business Central's error envelope, empty when the
/// body is not one.
pub fn error_of(response: &Response) -> (String, String) {
    let envelope = response.json::<ErrorEnvelope>().unwrap_or_default();
    (envelope.error.code, envelope.error.message)
}

/// Classifies a non-2xx answer.
pub fn classify(response: &Response) -> Refusal {
    let (code, message) = error_of(response);
    let lower = message.to_ascii_lowercase();
    if response.status == 401 {
        let challenge = response
            .header("www-authenticate")
            .unwrap_or_default()
            .to_ascii_lowercase();
        return if challenge.contains("expired") || lower.contains("token expired") {
            Refusal::TokenExpired
        } else {
            Refusal::InvalidCredentials
        };
    }
    if code.eq_ignore_ascii_case("Internal_CompanyNotFound") {
        return Refusal::CompanyNotFound;
    }
    // A licence refusal names the licence ("Your license does not grant you the
    // following permissions on …"); a permission-set refusal reads "Sorry, the
    // current permissions prevented the action. (TableData … Read: …)"
    // (docs/accounting-systems.md §5, "Permissions"), whatever the status.
    if lower.contains("license") || lower.contains("licence") {
        return Refusal::Licence(permission_object(&message));
    }
    if lower.contains("permissions prevented the action")
        || lower.contains("do not have the following permissions")
        || code.starts_with("Authorization_")
    {
        return Refusal::Permission(permission_object(&message));
    }
    if response.status == 503 {
        return Refusal::Maintenance;
    }
    Refusal::Other
}

/// The object a permission or licence message names, e.g. `TableData 81 Gen.
/// Journal Line Read`; the message itself (without the correlation id) when
/// it names none.
pub fn permission_object(message: &str) -> String {
    let message = message
        .split("CorrelationId")
        .next()
        .unwrap_or(message)
        .trim();
    if let Some((_, rest)) = message.split_once("(TableData ") {
        let object = rest.split([')', ':']).next().unwrap_or(rest).trim();
        return format!("TableData {object}");
    }
    if let Some((_, rest)) = message.split_once("permissions on ") {
        let object = rest.trim_end_matches('.').trim();
        return object.to_owned();
    }
    message.to_owned()
}

/// The check for a non-2xx answer to rule `id`'s call about `what` (e.g.
/// "general journals"): Business Central's own refusals first, then the SDK's
/// mapping by status.
pub fn refused(id: &str, response: &Response, what: &str, place: &Place<'_>) -> Check {
    let (code, message) = error_of(response);
    let hint = format!(
        "{} from Business Central: code '{code}', message '{}'",
        response.status,
        message.chars().take(300).collect::<String>()
    );
    let environment = &place.environment.name;
    let company = place.company;
    match classify(response) {
        Refusal::TokenExpired => Check::failed(
            id,
            FailureReason::AccountingSystemAuthenticationFailure,
            "Reconnect Business Central: Pleo's sign-in to Business Central (Microsoft Entra ID) \
             has expired. Open Pleo's Business Central integration settings, reconnect, then \
             export again.",
        ),
        Refusal::InvalidCredentials => Check::failed(
            id,
            FailureReason::AccountingSystemAuthenticationFailure,
            format!(
                "Business Central environment '{environment}' rejected Pleo's credentials. If \
                 Pleo connects as an app, check on Business Central's Microsoft Entra \
                 Applications page that the app is registered, its state is Enabled and it has \
                 permission sets; otherwise reconnect Business Central in Pleo's integration \
                 settings. Then export again."
            ),
        ),
        Refusal::CompanyNotFound => Check::failed(
            id,
            FailureReason::MissingConfiguration,
            format!(
                "Business Central company {company} does not exist in environment \
                 '{environment}'. Select an existing company in Pleo's Business Central \
                 integration settings, then export again."
            ),
        ),
        Refusal::Permission(object) => Check::failed(
            id,
            FailureReason::MissingConfiguration,
            format!(
                "The permission sets of Pleo's Business Central connection do not allow {what} \
                 in company {company} (Business Central: {object}). Ask a Business Central \
                 administrator to add a permission set that grants it (for an app on the \
                 Microsoft Entra Applications page, for a user on the user card), then export \
                 again."
            ),
        ),
        Refusal::Licence(object) => Check::failed(
            id,
            FailureReason::InvalidConfiguration,
            format!(
                "The Business Central licence of Pleo's connection does not include {what} \
                 (Business Central: {object}). Ask a Business Central administrator to assign a \
                 licence that includes it, then export again."
            ),
        ),
        Refusal::Maintenance => {
            let retry_after = response.retry_after();
            let when = match retry_after {
                Some(1) => "in a second".to_owned(),
                Some(seconds) => format!("in {seconds} seconds"),
                None => "in a few minutes".to_owned(),
            };
            return Check::unverified(
                id,
                FailureReason::AccountingSystemUnreachable,
                format!(
                    "Business Central environment '{environment}' is being updated or is busy \
                     (it answered 503). This is temporary: try the export again {when}."
                ),
            )
            .with_retry_after(retry_after)
            .with_hint(hint);
        }
        Refusal::Other => return http::status_check(id, DISPLAY_NAME, response),
    }
    .with_hint(hint)
}

/// The check for a refusal of the vendor probes: a licence without purchasing
/// means vendor bookkeeping cannot be done at all with this setup.
pub fn vendors_refused(response: &Response, place: &Place<'_>) -> Check {
    match classify(response) {
        Refusal::Licence(object) => Check::failed(
            id::VENDORS,
            FailureReason::InvalidConfiguration,
            format!(
                "This export uses vendor bookkeeping, which Pleo's Business Central connection \
                 cannot do in company {}: its licence does not include purchasing (vendors and \
                 purchase invoices; Business Central: {object}). Assign a Business Central \
                 licence that includes purchasing (Essentials or Premium), or export without \
                 vendor bookkeeping.",
                place.company
            ),
        )
        .with_hint(format!(
            "{} from Business Central: {}",
            response.status,
            response.text_excerpt(300)
        )),
        _ => refused(
            id::VENDORS,
            response,
            "vendors and purchase invoices (vendor bookkeeping)",
            place,
        ),
    }
}

/// The check for a 404 on `…/api/v2.0/companies`: the environment is unknown
/// in the tenant (docs/accounting-systems.md §5, "Fake-server notes").
pub fn environment_not_found(environment: &Environment, response: &Response) -> Check {
    Check::failed(
        id::CONNECTION,
        FailureReason::MissingConfiguration,
        format!(
            "Business Central environment '{}' does not exist in Microsoft Entra tenant {}, or \
             Pleo's connection cannot see it. Check the environment name (Production or the \
             sandbox's name) in Pleo's Business Central integration settings, then export again.",
            environment.name, environment.tenant
        ),
    )
    .with_hint(format!(
        "404 on GET /companies: {}",
        response.text_excerpt(300)
    ))
}

/// The company context: the configured company must be one of the
/// environment's companies (docs/accounting-systems.md §5, "Tenant selection").
pub fn company(
    companies: &[Company],
    company_id: &str,
    label: &str,
    environment: &Environment,
) -> Check {
    match companies
        .iter()
        .find(|company| company.id.eq_ignore_ascii_case(company_id))
    {
        Some(company) => Check::passed(
            id::COMPANY,
            format!(
                "Business Central company '{}' is in environment '{}'.",
                company.label(),
                environment.name
            ),
        ),
        None => {
            let names: Vec<String> = companies
                .iter()
                .map(|company| format!("'{}'", company.label()))
                .collect();
            let reachable = if names.is_empty() {
                "Pleo's connection reaches no company there".to_owned()
            } else {
                format!(
                    "the companies Pleo's connection reaches are {}",
                    names.join(", ")
                )
            };
            Check::failed(
                id::COMPANY,
                FailureReason::MissingConfiguration,
                format!(
                    "Business Central company {label} is not in environment '{}' ({reachable}). \
                     Select the right company in Pleo's Business Central integration settings, \
                     then export again.",
                    environment.name
                ),
            )
            .with_hint(format!("company {company_id} not in GET /companies"))
        }
    }
}

/// The configured general journal batch must exist; returns its id too.
pub fn journal<'a>(code: &str, journals: &'a [Journal], company: &str) -> (Check, Option<&'a str>) {
    match journals
        .iter()
        .find(|journal| journal.code.trim().eq_ignore_ascii_case(code.trim()))
    {
        Some(journal) => (
            Check::passed(
                id::JOURNAL,
                format!(
                    "Business Central general journal batch {} exists in '{company}'.",
                    journal.code
                ),
            ),
            Some(journal.id.as_str()),
        ),
        None => (
            Check::failed(
                id::JOURNAL,
                FailureReason::MissingConfiguration,
                format!(
                    "Business Central has no general journal batch {code} in company \
                     '{company}'. Create the batch on the General Journals page, or choose \
                     another batch in Pleo's Business Central settings."
                ),
            )
            .with_hint(format!("no journal with code {code} in GET /journals")),
            None,
        ),
    }
}

/// A configured G/L account (`purpose` is what Pleo uses it for) must exist,
/// be a posting account, not be blocked, and allow direct posting, since
/// journals post to it directly.
pub fn account(purpose: &str, number: &str, accounts: &[Account], company: &str) -> Check {
    let rule = format!("{}.{purpose}", id::ACCOUNTS);
    let Some(account) = accounts
        .iter()
        .find(|account| account.number.trim().eq_ignore_ascii_case(number.trim()))
    else {
        return Check::failed(
            &rule,
            FailureReason::MissingConfiguration,
            format!(
                "Business Central G/L account {number} (used for {purpose}) does not exist in \
                 company '{company}'. Create it in the chart of accounts, or map {purpose} to \
                 another account in Pleo's Business Central settings."
            ),
        )
        .with_hint(format!("no account with number {number} in GET /accounts"));
    };
    let name = &account.display_name;
    let problem = if !account.account_type.eq_ignore_ascii_case("Posting") {
        let kind = &account.account_type;
        let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        Some(format!(
            "is {article} {kind} account, and only posting accounts take entries. Map {purpose} \
             to a posting account"
        ))
    } else if account.blocked {
        Some(format!(
            "is blocked. Clear Blocked on the G/L account card, or map {purpose} to another \
             account"
        ))
    } else if !account.direct_posting {
        Some(format!(
            "does not allow direct posting, so journals cannot post to it. Turn on Direct \
             Posting on the G/L account card, or map {purpose} to another account"
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => Check::failed(
            &rule,
            FailureReason::InvalidConfiguration,
            format!(
                "Business Central G/L account {number} '{name}' (used for {purpose}) in \
                 '{company}' {problem} in Pleo's Business Central settings."
            ),
        ),
        None => Check::passed(
            &rule,
            format!("Business Central G/L account {number} '{name}' ({purpose}) can be posted to."),
        ),
    }
}

/// A configured tax group (VAT product posting group) must exist.
pub fn tax_group(code: &str, groups: &[TaxGroup], company: &str) -> Check {
    match groups
        .iter()
        .find(|group| group.code.trim().eq_ignore_ascii_case(code.trim()))
    {
        Some(group) => Check::passed(
            id::TAX_GROUP,
            format!(
                "Business Central tax group {} '{}' exists.",
                group.code, group.display_name
            ),
        ),
        None => Check::failed(
            id::TAX_GROUP,
            FailureReason::MissingConfiguration,
            format!(
                "Business Central tax group {code} does not exist in company '{company}'. \
                 Create it (Tax Groups, or VAT Product Posting Groups), or choose an existing \
                 tax group in Pleo's Business Central settings."
            ),
        )
        .with_hint(format!("no tax group with code {code} in GET /taxGroups")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_sdk::CheckStatus;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Response {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        response(status, &[], &body.to_string())
    }

    fn production() -> Environment {
        Environment {
            tenant: "7e9a".into(),
            name: "Production".into(),
        }
    }

    fn place(environment: &Environment) -> Place<'_> {
        Place {
            environment,
            company: "'CRONUS Danmark A/S'",
        }
    }

    #[test]
    fn environment_comes_from_the_base_url() {
        let parsed = environment(
            "https://api.businesscentral.dynamics.com/v2.0/7e9a0c61-1d3b-4f7e-9c55-2b8f4a6d1e20/Production",
        )
        .unwrap();
        assert_eq!(parsed.tenant, "7e9a0c61-1d3b-4f7e-9c55-2b8f4a6d1e20");
        assert_eq!(parsed.name, "Production");
        assert_eq!(
            environment("http://127.0.0.1:4014/v2.0/t/Sandbox-DK/")
                .unwrap()
                .name,
            "Sandbox-DK"
        );
        for wrong in [
            "https://api.businesscentral.dynamics.com",
            "https://api.businesscentral.dynamics.com/v2.0/tenant",
            "https://api.businesscentral.dynamics.com/v1.0/t/Production",
            "https://api.businesscentral.dynamics.com/v2.0/t/Production?x=1",
        ] {
            let check = environment(wrong).unwrap_err();
            assert_eq!(
                check.reason,
                Some(FailureReason::InvalidConfiguration),
                "{wrong}"
            );
            assert!(check.message.contains("does not name an environment"));
        }
    }

    #[test]
    fn company_id_must_be_a_guid() {
        assert_eq!(
            company_id(Some("f03f6225-081c-ec11-bb77-000d3abcd65f")),
            Ok("f03f6225-081c-ec11-bb77-000d3abcd65f")
        );
        let missing = company_id(None).unwrap_err();
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("No Business Central company is selected")
        );
        let wrong = company_id(Some("CRONUS")).unwrap_err();
        assert_eq!(wrong.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            wrong
                .message
                .contains("'CRONUS' is not a Business Central company id")
        );
    }

    #[test]
    fn expired_token_asks_to_reconnect() {
        let expired = response(
            401,
            &[(
                "www-authenticate",
                r#"Bearer error="invalid_token", error_description="The access token expired""#,
            )],
            r#"{"error":{"code":"Authentication_InvalidCredentials","message":"The server has rejected the client credentials."}}"#,
        );
        assert_eq!(classify(&expired), Refusal::TokenExpired);
        let env = production();
        let check = refused(id::CONNECTION, &expired, "Business Central", &place(&env));
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemAuthenticationFailure)
        );
        assert!(check.message.starts_with("Reconnect Business Central"));
    }

    #[test]
    fn rejected_credentials_point_at_entra_applications() {
        let rejected = error(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.  CorrelationId:  1b2c.",
        );
        assert_eq!(classify(&rejected), Refusal::InvalidCredentials);
        let env = production();
        let check = refused(id::CONNECTION, &rejected, "Business Central", &place(&env));
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemAuthenticationFailure)
        );
        assert!(check.message.contains("Microsoft Entra Applications page"));
        assert!(check.message.contains("'Production'"));
    }

    #[test]
    fn permission_refusals_are_recognised_whatever_the_status() {
        let message = "Sorry, the current permissions prevented the action. (TableData 81 Gen. \
                       Journal Line Read: Base Application)  CorrelationId:  9f1e.";
        for status in [400, 403, 500] {
            let refusal = error(status, "Internal_ServerError", message);
            assert_eq!(
                classify(&refusal),
                Refusal::Permission("TableData 81 Gen. Journal Line Read".into()),
                "{status}"
            );
        }
        let env = production();
        let check = refused(
            id::JOURNALS,
            &error(403, "Internal_ServerError", message),
            "general journals",
            &place(&env),
        );
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(check.message.contains("do not allow general journals"));
        assert!(
            check
                .message
                .contains("TableData 81 Gen. Journal Line Read")
        );
    }

    #[test]
    fn an_internal_error_without_permissions_is_an_outage() {
        let outage = error(500, "Internal_ServerError", "An unexpected error occurred.");
        assert_eq!(classify(&outage), Refusal::Other);
        let env = production();
        let check = refused(id::JOURNALS, &outage, "general journals", &place(&env));
        assert_eq!(check.status, CheckStatus::Unverified);
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemUnreachable)
        );
    }

    #[test]
    fn licence_without_purchasing_rules_out_vendor_bookkeeping() {
        let refusal = error(
            403,
            "Internal_ServerError",
            "Your license does not grant you the following permissions on TableData 38 \
             Purchase Header: Read.  CorrelationId:  77aa.",
        );
        assert_eq!(
            classify(&refusal),
            Refusal::Licence("TableData 38 Purchase Header: Read".into())
        );
        let env = production();
        let check = vendors_refused(&refusal, &place(&env));
        assert_eq!(check.id, id::VENDORS);
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            check
                .message
                .contains("licence does not include purchasing")
        );

        let generic = refused(id::ATTACHMENTS, &refusal, "attachments", &place(&env));
        assert_eq!(generic.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            generic
                .message
                .contains("licence of Pleo's connection does not include attachments")
        );
    }

    #[test]
    fn unknown_company_code_names_the_company() {
        let refusal = error(
            400,
            "Internal_CompanyNotFound",
            "The company does not exist.",
        );
        let env = production();
        let check = refused(id::JOURNALS, &refusal, "general journals", &place(&env));
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            check.message.contains(
                "company 'CRONUS Danmark A/S' does not exist in environment 'Production'"
            )
        );
    }

    #[test]
    fn maintenance_is_transient_and_carries_retry_after() {
        let busy = response(
            503,
            &[("retry-after", "30")],
            r#"{"error":{"code":"Internal_TenantUnavailable","message":"The tenant is unavailable."}}"#,
        );
        let env = production();
        let check = refused(id::CONNECTION, &busy, "Business Central", &place(&env));
        assert_eq!(check.status, CheckStatus::Unverified);
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemUnreachable)
        );
        assert_eq!(check.retry_after, Some(30));
        assert!(check.message.contains("is being updated or is busy"));
        assert!(check.message.contains("in 30 seconds"));
        let soon = response(
            503,
            &[("retry-after", "1")],
            r#"{"error":{"code":"Internal_TenantUnavailable","message":"The tenant is unavailable."}}"#,
        );
        let check = refused(id::CONNECTION, &soon, "Business Central", &place(&env));
        assert!(
            check.message.ends_with("try the export again in a second."),
            "{}",
            check.message
        );

        let throttled = error(429, "Application_TooManyRequests", "Too many requests.");
        let check = refused(id::CONNECTION, &throttled, "Business Central", &place(&env));
        assert_eq!(check.reason, Some(FailureReason::AccountingSystemRateLimit));
    }

    #[test]
    fn unknown_environment_names_tenant_and_environment() {
        let check = environment_not_found(&production(), &error(404, "BadRequest_NotFound", ""));
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            check
                .message
                .contains("environment 'Production' does not exist")
        );
        assert!(check.message.contains("tenant 7e9a"));
    }

    #[test]
    fn company_must_be_listed() {
        let companies = [
            Company {
                id: "F03F6225-081C-EC11-BB77-000D3ABCD65F".into(),
                name: "CRONUS Danmark A/S".into(),
                display_name: String::new(),
            },
            Company {
                id: "11111111-2222-3333-4444-555555555555".into(),
                name: "My Company".into(),
                display_name: "My Company Ltd".into(),
            },
        ];
        let env = production();
        let found = company(
            &companies,
            "f03f6225-081c-ec11-bb77-000d3abcd65f",
            "'CRONUS'",
            &env,
        );
        assert_eq!(found.status, CheckStatus::Passed);
        assert!(found.message.contains("'CRONUS Danmark A/S'"));

        let missing = company(
            &companies,
            "99999999-2222-3333-4444-555555555555",
            "'Nordic Oy'",
            &env,
        );
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("company 'Nordic Oy' is not in environment 'Production'")
        );
        assert!(missing.message.contains("'My Company Ltd'"));
    }

    #[test]
    fn journal_batch_must_exist() {
        let journals = [Journal {
            id: "j1".into(),
            code: "PLEO".into(),
            display_name: "Pleo expenses".into(),
        }];
        let (check, id) = journal("pleo", &journals, "CRONUS");
        assert_eq!(check.status, CheckStatus::Passed);
        assert_eq!(id, Some("j1"));
        let (check, id) = journal("EXPENSES", &journals, "CRONUS");
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(check.message.contains("no general journal batch EXPENSES"));
        assert_eq!(id, None);
    }

    #[test]
    fn accounts_must_take_direct_postings() {
        let account_of = |number: &str, kind: &str, blocked: bool, direct: bool| Account {
            number: number.into(),
            display_name: format!("Account {number}"),
            account_type: kind.into(),
            blocked,
            direct_posting: direct,
        };
        let chart = [
            account_of("6130", "Posting", false, true),
            account_of("6100", "Heading", false, true),
            account_of("6195", "Posting", true, true),
            account_of("5410", "Posting", false, false),
        ];
        assert_eq!(
            account("expenses", "6130", &chart, "CRONUS").status,
            CheckStatus::Passed
        );

        let missing = account("contra", "2320", &chart, "CRONUS");
        assert_eq!(missing.id, "business-central.accounts.contra");
        assert_eq!(missing.id, id::ACCOUNTS_CONTRA);
        assert_eq!(
            account("expenses", "6130", &chart, "CRONUS").id,
            id::ACCOUNTS_EXPENSES
        );
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("G/L account 2320 (used for contra) does not exist in company 'CRONUS'")
        );

        let heading = account("expenses", "6100", &chart, "CRONUS");
        assert_eq!(heading.reason, Some(FailureReason::InvalidConfiguration));
        assert!(heading.message.contains("is a Heading account"));
        let end_total = [account_of("6199", "End-Total", false, true)];
        let end_total = account("expenses", "6199", &end_total, "CRONUS");
        assert!(
            end_total.message.contains("is an End-Total account"),
            "{}",
            end_total.message
        );

        let blocked = account("expenses", "6195", &chart, "CRONUS");
        assert_eq!(blocked.reason, Some(FailureReason::InvalidConfiguration));
        assert!(blocked.message.contains("is blocked"));

        let indirect = account("contra", "5410", &chart, "CRONUS");
        assert_eq!(indirect.reason, Some(FailureReason::InvalidConfiguration));
        assert!(indirect.message.contains("does not allow direct posting"));
    }

    #[test]
    fn tax_group_must_exist() {
        let groups = [TaxGroup {
            code: "VAT25".into(),
            display_name: "Standard VAT 25%".into(),
        }];
        assert_eq!(
            tax_group("vat25", &groups, "CRONUS").status,
            CheckStatus::Passed
        );
        let missing = tax_group("VAT10", &groups, "CRONUS");
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(missing.message.contains("tax group VAT10 does not exist"));
    }

    #[test]
    fn permission_objects_are_cut_from_messages() {
        assert_eq!(
            permission_object(
                "Sorry, the current permissions prevented the action. (TableData 130 Incoming \
                 Document Read: Base Application)  CorrelationId:  x."
            ),
            "TableData 130 Incoming Document Read"
        );
        assert_eq!(
            permission_object("Something else.  CorrelationId:  x."),
            "Something else."
        );
    }
}
