//! The decisions of the Xero rules, as pure functions of what Xero answered.
//! They hold every message a finance user may read, and run natively in unit
//! tests.

use preflight_sdk::http::Response;
use preflight_sdk::{Check, FailureReason, Rule};

use crate::model::{Account, Connection, Organisation, Problem, TaxRate};

/// The accounting system's name in the SDK's messages (`plugin-info.display-name`).
pub const DISPLAY_NAME: &str = "Xero";

/// Every rule, in the order they run (after the SDK's `xero.settings`).
pub const RULES: &[Rule] = &[
    Rule::new(id::CONNECTION, "Connection and authentication"),
    Rule::new(id::TENANT, "Organisation connected"),
    Rule::new(id::ORGANISATION, "Organisation active"),
    Rule::new(id::JOURNALS, "Manual journals permission"),
    Rule::vendor_bookkeeping(id::CONTACTS, "Supplier contacts permission"),
    Rule::new(id::ATTACHMENTS, "Attachments permission"),
    Rule::new(id::ACCOUNTS_EXPENSES, "Expense account"),
    Rule::new(id::ACCOUNTS_CONTRA, "Contra account"),
    Rule::new(id::TAX_TYPE, "Tax rate"),
];

/// Rule ids; stable across versions.
pub mod id {
    /// The connection (token) is accepted.
    pub const CONNECTION: &str = "xero.connection";
    /// The configured tenant is one of the token's connections.
    pub const TENANT: &str = "xero.tenant";
    /// The organisation can be used through the API.
    pub const ORGANISATION: &str = "xero.organisation";
    /// Manual journals may be used.
    pub const JOURNALS: &str = "xero.permissions.journals";
    /// Supplier contacts may be used (vendor bookkeeping).
    pub const CONTACTS: &str = "xero.permissions.contacts";
    /// Attachments may be used.
    pub const ATTACHMENTS: &str = "xero.permissions.attachments";
    /// The configured tax type exists.
    pub const TAX_TYPE: &str = "xero.tax-type";
    /// Prefix of the per-account checks: `xero.accounts.<purpose>`.
    pub const ACCOUNTS: &str = "xero.accounts";
    /// The expense account exists and is active.
    pub const ACCOUNTS_EXPENSES: &str = "xero.accounts.expenses";
    /// The contra (balancing) account exists and is active.
    pub const ACCOUNTS_CONTRA: &str = "xero.accounts.contra";
}

/// How a company refers to its organisation in messages: the configured name,
/// or the tenant id when no name is configured.
pub fn organisation_label(name: Option<&str>, tenant_id: &str) -> String {
    match name {
        Some(name) => format!("'{name}'"),
        None => format!("with tenant id {tenant_id}"),
    }
}

/// The check for a 401 from Xero: an expired connection names the moment it
/// expired; a missing scope means consent must be given again.
pub fn unauthorized(id: &str, response: &Response, what: &str) -> Check {
    let detail = response
        .json::<Problem>()
        .unwrap_or_default()
        .detail
        .unwrap_or_default();
    let challenge = response.header("www-authenticate").unwrap_or_default();
    let hint = format!("401 from Xero: detail '{detail}', www-authenticate '{challenge}'");
    if challenge.contains("insufficient_scope") {
        return Check::failed(
            id,
            FailureReason::MissingConfiguration,
            format!(
                "Pleo's Xero connection is not allowed to use {what}. Reconnect Xero in Pleo's \
                 integration settings and approve access to {what}, then export again."
            ),
        )
        .with_hint(hint);
    }
    let message = match detail.strip_prefix("TokenExpired: token expired at ") {
        Some(moment) => format!(
            "Reconnect Xero: the connection expired on {}. Open Pleo's Xero integration \
             settings, reconnect, then export again.",
            readable_moment(moment)
        ),
        None => "Reconnect Xero: Xero no longer accepts Pleo's connection. Open Pleo's Xero \
                 integration settings, reconnect, then export again."
            .to_owned(),
    };
    Check::failed(
        id,
        FailureReason::AccountingSystemAuthenticationFailure,
        message,
    )
    .with_hint(hint)
}

/// Xero's `MM/DD/YYYY hh:mm:ss` (UTC) as `YYYY-MM-DD at hh:mm:ss UTC`, which
/// reads the same in every country; anything else as Xero sent it, in UTC.
pub fn readable_moment(moment: &str) -> String {
    let moment = moment.trim();
    let parts = moment.split_once(' ').and_then(|(date, time)| {
        let mut fields = date.split('/');
        let (month, day, year) = (fields.next()?, fields.next()?, fields.next()?);
        let digits =
            |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
        let shaped = fields.next().is_none()
            && digits(month, 2)
            && digits(day, 2)
            && digits(year, 4)
            && time.len() == 8
            && time.bytes().enumerate().all(|(at, b)| {
                if at == 2 || at == 5 {
                    b == b':'
                } else {
                    b.is_ascii_digit()
                }
            });
        shaped.then(|| format!("{year}-{month}-{day} at {time} UTC"))
    });
    parts.unwrap_or_else(|| format!("{moment} (UTC)"))
}

/// The company context: the configured tenant must be among the token's
/// connections, and be an organisation rather than a practice.
pub fn tenant(connections: &[Connection], tenant_id: &str, label: &str) -> Check {
    let Some(connection) = connections
        .iter()
        .find(|c| c.tenant_id.eq_ignore_ascii_case(tenant_id))
    else {
        let connected: Vec<&str> = connections.iter().map(|c| c.tenant_name.as_str()).collect();
        return Check::failed(
            id::TENANT,
            FailureReason::MissingConfiguration,
            format!(
                "Xero organisation {label} is not connected to this integration. Reconnect Xero \
                 in Pleo's integration settings and select that organisation, then export again."
            ),
        )
        .with_hint(format!(
            "tenant {tenant_id} not in /connections; connected: {connected:?}"
        ));
    };
    if connection.tenant_type.eq_ignore_ascii_case("PRACTICE") {
        return Check::failed(
            id::TENANT,
            FailureReason::InvalidConfiguration,
            format!(
                "'{}' is a Xero practice, not an organisation, so expenses cannot be booked \
                 there. Select the client organisation in Pleo's Xero integration settings.",
                connection.tenant_name
            ),
        )
        .with_hint(format!("tenant {tenant_id} has tenantType PRACTICE"));
    }
    Check::passed(
        id::TENANT,
        format!(
            "Xero organisation '{}' is connected.",
            connection.tenant_name
        ),
    )
}

/// The check for a 403 on an accounting call: Xero refuses the tenant even
/// though it is listed (disconnected meanwhile, deleted, trial ended).
pub fn tenant_refused(id: &str, label: &str, response: &Response) -> Check {
    Check::failed(
        id,
        FailureReason::MissingConfiguration,
        format!(
            "Xero refused access to organisation {label}: it may have been disconnected or \
             deleted, or its subscription has ended. Reconnect Xero in Pleo's integration \
             settings, then export again."
        ),
    )
    .with_hint(format!("403 from Xero: {}", response.text_excerpt(200)))
}

/// The organisation must be active to accept postings.
pub fn organisation(organisation: &Organisation) -> Check {
    if !organisation
        .organisation_status
        .eq_ignore_ascii_case("ACTIVE")
    {
        return Check::failed(
            id::ORGANISATION,
            FailureReason::InvalidConfiguration,
            format!(
                "Xero organisation '{}' is not active (status {}). Reactivate its Xero \
                 subscription, or connect an active organisation in Pleo's Xero settings.",
                organisation.name, organisation.organisation_status
            ),
        );
    }
    Check::passed(
        id::ORGANISATION,
        format!("Xero organisation '{}' is active.", organisation.name),
    )
}

/// A configured account (`purpose` is what Pleo uses it for) must exist in the
/// chart of accounts and be active.
pub fn account(purpose: &str, code: &str, accounts: &[Account], organisation: &str) -> Check {
    let rule = format!("{}.{purpose}", id::ACCOUNTS);
    let found = accounts.iter().find(|account| {
        account
            .code
            .as_deref()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case(code.trim()))
    });
    match found {
        None => Check::failed(
            &rule,
            FailureReason::MissingConfiguration,
            format!(
                "Xero account {code} (used for {purpose}) does not exist in '{organisation}'. \
                 Create it in Xero's chart of accounts, or map {purpose} to another account in \
                 Pleo's Xero settings."
            ),
        )
        .with_hint(format!("no account with Code {code} in GET /Accounts")),
        Some(account) if !account.status.eq_ignore_ascii_case("ACTIVE") => Check::failed(
            &rule,
            FailureReason::InvalidConfiguration,
            format!(
                "Xero account {code} '{}' (used for {purpose}) is {} in '{organisation}'. \
                 Restore it in Xero, or map {purpose} to an active account in Pleo's Xero \
                 settings.",
                account.name,
                account.status.to_ascii_lowercase()
            ),
        ),
        Some(account) => Check::passed(
            &rule,
            format!(
                "Xero account {code} '{}' ({purpose}) exists and is active.",
                account.name
            ),
        ),
    }
}

/// A configured tax type must exist and be active.
pub fn tax_type(tax_type: &str, rates: &[TaxRate], organisation: &str) -> Check {
    match rates
        .iter()
        .find(|rate| rate.tax_type.eq_ignore_ascii_case(tax_type))
    {
        None => Check::failed(
            id::TAX_TYPE,
            FailureReason::MissingConfiguration,
            format!(
                "Xero tax rate {tax_type} does not exist in '{organisation}'. Pick an existing \
                 tax rate in Pleo's Xero settings."
            ),
        ),
        Some(rate) if !rate.status.eq_ignore_ascii_case("ACTIVE") => Check::failed(
            id::TAX_TYPE,
            FailureReason::InvalidConfiguration,
            format!(
                "Xero tax rate {tax_type} '{}' is {} in '{organisation}'. Pick an active tax \
                 rate in Pleo's Xero settings.",
                rate.name,
                rate.status.to_ascii_lowercase()
            ),
        ),
        Some(rate) => Check::passed(
            id::TAX_TYPE,
            format!("Xero tax rate {tax_type} '{}' is active.", rate.name),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_sdk::CheckStatus;

    fn connection(tenant_id: &str, tenant_type: &str, name: &str) -> Connection {
        Connection {
            tenant_id: tenant_id.to_owned(),
            tenant_type: tenant_type.to_owned(),
            tenant_name: name.to_owned(),
        }
    }

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

    #[test]
    fn tenant_must_be_connected_organisation() {
        let connections = [
            connection("T1", "ORGANISATION", "Acme ApS"),
            connection("T2", "PRACTICE", "Books & Co"),
        ];
        assert_eq!(
            tenant(&connections, "t1", "'Acme ApS'").status,
            CheckStatus::Passed
        );

        let missing = tenant(&connections, "T3", "'Nordic Oy'");
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing.message.contains("'Nordic Oy' is not connected"),
            "{}",
            missing.message
        );

        let practice = tenant(&connections, "T2", "'Books & Co'");
        assert_eq!(practice.reason, Some(FailureReason::InvalidConfiguration));
        assert!(practice.message.contains("practice"));
    }

    #[test]
    fn expired_token_names_the_moment() {
        let body = r#"{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"TokenExpired: token expired at 09/24/2021 08:23:47"}"#;
        let check = unauthorized(id::CONNECTION, &response(401, &[], body), "Xero");
        assert_eq!(
            check.reason,
            Some(FailureReason::AccountingSystemAuthenticationFailure)
        );
        assert!(
            check.message.starts_with(
                "Reconnect Xero: the connection expired on 2021-09-24 at 08:23:47 UTC."
            ),
            "{}",
            check.message
        );
        assert_eq!(readable_moment("not a moment"), "not a moment (UTC)");
        assert_eq!(
            readable_moment("9/24/2021 08:23:47"),
            "9/24/2021 08:23:47 (UTC)"
        );
    }

    #[test]
    fn insufficient_scope_asks_for_consent() {
        let headers = [("www-authenticate", r#"Bearer error="insufficient_scope""#)];
        let check = unauthorized(
            id::JOURNALS,
            &response(401, &headers, "{}"),
            "manual journals",
        );
        assert_eq!(check.reason, Some(FailureReason::MissingConfiguration));
        assert!(check.message.contains("approve access to manual journals"));
    }

    #[test]
    fn organisation_must_be_active() {
        let mut org = Organisation {
            name: "Acme ApS".to_owned(),
            organisation_status: "ACTIVE".to_owned(),
            is_demo_company: false,
        };
        assert_eq!(organisation(&org).status, CheckStatus::Passed);
        org.organisation_status = "SUSPENDED".to_owned();
        let check = organisation(&org);
        assert_eq!(check.reason, Some(FailureReason::InvalidConfiguration));
        assert!(
            check
                .message
                .contains("'Acme ApS' is not active (status SUSPENDED)")
        );
    }

    #[test]
    fn accounts_must_exist_and_be_active() {
        let chart = [
            Account {
                code: Some("429".into()),
                name: "General Expenses".into(),
                status: "ACTIVE".into(),
            },
            Account {
                code: Some("499".into()),
                name: "Old Expenses".into(),
                status: "ARCHIVED".into(),
            },
            Account {
                code: None,
                name: "Bank".into(),
                status: "ACTIVE".into(),
            },
        ];
        assert_eq!(
            account("expenses", "429", &chart, "Acme ApS").status,
            CheckStatus::Passed
        );

        let missing = account("contra", "800", &chart, "Acme ApS");
        assert_eq!(missing.id, "xero.accounts.contra");
        assert_eq!(missing.reason, Some(FailureReason::MissingConfiguration));
        assert!(
            missing
                .message
                .contains("Xero account 800 (used for contra) does not exist in 'Acme ApS'")
        );

        let archived = account("expenses", "499", &chart, "Acme ApS");
        assert_eq!(archived.reason, Some(FailureReason::InvalidConfiguration));
        assert!(archived.message.contains("is archived"));
    }

    #[test]
    fn account_rule_ids_follow_the_prefix() {
        let chart = [Account {
            code: Some("800".into()),
            name: "Pleo".into(),
            status: "ACTIVE".into(),
        }];
        assert_eq!(
            account("expenses", "429", &chart, "X").id,
            id::ACCOUNTS_EXPENSES
        );
        assert_eq!(
            account("contra", "800", &chart, "X").id,
            id::ACCOUNTS_CONTRA
        );
    }

    #[test]
    fn tax_type_must_be_active() {
        let rates = [
            TaxRate {
                name: "Input VAT".into(),
                tax_type: "INPUT".into(),
                status: "ACTIVE".into(),
            },
            TaxRate {
                name: "Old VAT".into(),
                tax_type: "OLD".into(),
                status: "DELETED".into(),
            },
        ];
        assert_eq!(
            tax_type("INPUT", &rates, "Acme ApS").status,
            CheckStatus::Passed
        );
        assert_eq!(
            tax_type("OLD", &rates, "Acme ApS").reason,
            Some(FailureReason::InvalidConfiguration)
        );
        assert_eq!(
            tax_type("ZERO", &rates, "Acme ApS").reason,
            Some(FailureReason::MissingConfiguration)
        );
    }
}
