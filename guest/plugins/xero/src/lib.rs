//! Pre-export validation rules for Xero.
//!
//! The steps of Pleo's pre-export validation how-to, in Xero's terms
//! (docs/accounting-systems.md §1):
//!
//! 1. connectivity and authentication: `GET /connections` with the host-held
//!    token;
//! 2. company context: the configured tenant is one of the token's connections
//!    and an organisation, and `GET /Organisation` answers `ACTIVE`;
//! 3. permissions for the operations the export needs, probed read-only (never
//!    by creating records): manual journals, supplier contacts when the job uses
//!    vendor bookkeeping, attachments when receipts are attached;
//! 4. the accounts and tax rate the configuration posts to exist and are active.
//!
//! Every report lists `xero.settings` (the SDK's) and then [`rules::RULES`],
//! in that order, whatever happens.
//!
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - `settings.schema.json`: the settings' JSON Schema, `plugin-info.settings-schema`;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from Xero's answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{Api, Fetch};
use preflight_sdk::settings::{Accounts, Attachments};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, FailureReason, Plan, PluginInfo, Rule, SettingsError,
    Validator, export_validator,
};
use serde::Deserialize;

use model::{Accounts as Chart, Connection, ManualJournals, Organisations, TaxRates};
use rules::{DISPLAY_NAME, id};

/// The company's Xero settings (`settings.schema.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The organisation's name as the company knows it, for messages.
    #[serde(default)]
    pub organisation_name: Option<String>,
    /// The account codes Pleo posts to (Xero `Account.Code`s).
    pub accounts: Accounts,
    /// The tax type put on expense lines, e.g. `INPUT`.
    #[serde(default)]
    pub tax_type: Option<String>,
    /// Whether receipts are attached to what is posted (default true).
    #[serde(default)]
    pub attachments: Attachments,
}

/// The Xero validator.
pub struct Xero;

impl Validator for Xero {
    type Settings = Settings;

    const RULES: &'static [Rule] = rules::RULES;

    fn info() -> PluginInfo {
        PluginInfo::new("xero", env!("CARGO_PKG_VERSION"), "xero")
            .display_name(DISPLAY_NAME)
            .description(
                "Pre-export validation for Xero: connection, organisation, permissions, accounts",
            )
            .capabilities(&[
                Capability::JournalEntries,
                Capability::VendorBookkeeping,
                Capability::Attachments,
                Capability::MultiEntity,
            ])
            .settings_schema(include_str!("../settings.schema.json"))
    }

    fn check_settings(settings: &Settings) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        for (purpose, code) in settings.accounts.by_purpose() {
            // Xero account codes are alphanumeric, at most 10 characters
            // (`Account.Code` in xero_accounting.yaml).
            if code.trim().is_empty()
                || code.len() > 10
                || !code.chars().all(|c| c.is_ascii_alphanumeric())
            {
                errors.push(SettingsError {
                    field: format!("accounts.{purpose}"),
                    message: format!(
                        "'{code}' is not a Xero account code (1 to 10 letters or digits)"
                    ),
                });
            }
        }
        errors
    }

    fn validate(_job: &ExportJob, config: &Config<Settings>, plan: &mut Plan) {
        let Some(tenant_id) = config.tenant_id.as_deref() else {
            plan.record(Check::failed(
                id::TENANT,
                FailureReason::MissingConfiguration,
                "No Xero organisation is selected for this Pleo company. Choose the organisation \
                 in Pleo's Xero integration settings, then export again.",
            ));
            return;
        };
        let run = Run {
            identity: Api::new(&config.base_url),
            accounting: Api::new(format!("{}/api.xro/2.0", config.base_url))
                .header("xero-tenant-id", tenant_id),
            tenant_id,
            label: rules::organisation_label(
                config.settings.organisation_name.as_deref(),
                tenant_id,
            ),
        };
        run.all(&config.settings, plan);
    }
}

export_validator!(Xero);

/// One validation: the company's Xero coordinates.
struct Run<'a> {
    /// Xero's identity API (`/connections`), under the base URL.
    identity: Api,
    /// The tenant-scoped accounting API, `/api.xro/2.0` with `xero-tenant-id`.
    accounting: Api,
    tenant_id: &'a str,
    label: String,
}

impl Run<'_> {
    fn all(&self, settings: &Settings, plan: &mut Plan) {
        let Some(connections) = self.connection(plan) else {
            return;
        };
        plan.record(rules::tenant(&connections, self.tenant_id, &self.label));
        if plan.is_blocked() {
            return;
        }
        let Some(organisation) = self.organisation(plan) else {
            return;
        };
        let first_journal = self.journals(plan);
        if plan.is_blocked() {
            return;
        }
        self.contacts(plan);
        self.attachments(settings, first_journal.as_deref(), plan);
        if plan.is_blocked() {
            return;
        }
        self.accounts(settings, &organisation, plan);
        self.tax_type(settings, &organisation, plan);
    }

    /// `GET /connections`: the token works, and which tenants it reaches.
    fn connection(&self, plan: &mut Plan) -> Option<Vec<Connection>> {
        match self.identity.get_json::<Vec<Connection>>("connections") {
            Ok(connections) => {
                plan.record(Check::passed(
                    id::CONNECTION,
                    "Xero is reachable and accepts Pleo's connection.",
                ));
                Some(connections)
            }
            Err(fetch) => {
                plan.record(self.failure(id::CONNECTION, &fetch, "Xero"));
                None
            }
        }
    }

    /// `GET /Organisation`: the tenant answers and is active.
    fn organisation(&self, plan: &mut Plan) -> Option<String> {
        match self.accounting.get_json::<Organisations>("Organisation") {
            Ok(answer) => {
                let Some(organisation) = answer.organisations.into_iter().next() else {
                    plan.record(
                        Check::failed(
                            id::ORGANISATION,
                            FailureReason::AccountingSystemUnreachable,
                            "Xero did not describe the connected organisation. Try the export again later.",
                        )
                        .with_hint("GET /Organisation returned no organisation"),
                    );
                    return None;
                };
                let check = rules::organisation(&organisation);
                let active = !check.blocks();
                plan.record(check);
                active.then_some(organisation.name)
            }
            Err(Fetch::Status(response)) if response.status == 403 => {
                plan.record(rules::tenant_refused(
                    id::ORGANISATION,
                    &self.label,
                    &response,
                ));
                None
            }
            Err(fetch) => {
                plan.record(self.failure(id::ORGANISATION, &fetch, "the organisation's settings"));
                None
            }
        }
    }

    /// Manual journals may be read, so the journal scope was granted. Writing
    /// cannot be probed without creating a record, which a validator never
    /// does; Xero grants read and write in one scope. Returns a journal id to
    /// probe attachments with.
    fn journals(&self, plan: &mut Plan) -> Option<String> {
        match self
            .accounting
            .get_json::<ManualJournals>("ManualJournals?page=1")
        {
            Ok(journals) => {
                plan.record(Check::passed(
                    id::JOURNALS,
                    "Pleo may create manual journals in Xero.",
                ));
                journals
                    .manual_journals
                    .into_iter()
                    .next()
                    .map(|journal| journal.id)
            }
            Err(fetch) => {
                plan.record(self.failure(id::JOURNALS, &fetch, "manual journals"));
                None
            }
        }
    }

    /// Supplier contacts, needed only when the job books against vendors.
    fn contacts(&self, plan: &mut Plan) {
        if !plan.applies(id::CONTACTS) {
            return;
        }
        match self.accounting.get_json::<serde_json::Value>(
            "Contacts?where=IsSupplier%3D%3Dtrue&summaryOnly=true&page=1",
        ) {
            Ok(_) => plan.record(Check::passed(
                id::CONTACTS,
                "Pleo may use supplier contacts in Xero for vendor bookkeeping.",
            )),
            Err(fetch) => plan.record(self.failure(id::CONTACTS, &fetch, "contacts (suppliers)")),
        }
    }

    /// Attachments on an existing manual journal, read-only.
    fn attachments(&self, settings: &Settings, journal: Option<&str>, plan: &mut Plan) {
        if !settings.attachments.on() {
            plan.skip_attachments_off(id::ATTACHMENTS);
            return;
        }
        let Some(journal) = journal else {
            plan.record(
                Check::skipped(id::ATTACHMENTS, "Attachment access could not be probed yet: the organisation has no manual journal.")
                    .with_hint("no ManualJournals to list attachments of; the first export will show whether uploads work"),
            );
            return;
        };
        match self
            .accounting
            .get_json::<serde_json::Value>(&format!("ManualJournals/{journal}/Attachments"))
        {
            Ok(_) => plan.record(Check::passed(
                id::ATTACHMENTS,
                "Pleo may attach receipts in Xero.",
            )),
            Err(fetch) => plan.record(self.failure(id::ATTACHMENTS, &fetch, "attachments")),
        }
    }

    /// The configured accounts exist and are active.
    fn accounts(&self, settings: &Settings, organisation: &str, plan: &mut Plan) {
        let configured = settings.accounts.by_purpose();
        match self.accounting.get_json::<Chart>("Accounts") {
            Ok(chart) => {
                for (purpose, code) in configured {
                    plan.record(rules::account(purpose, code, &chart.accounts, organisation));
                }
            }
            Err(fetch) => {
                for (purpose, _) in configured {
                    plan.record(self.failure(
                        &format!("{}.{purpose}", id::ACCOUNTS),
                        &fetch,
                        "the chart of accounts",
                    ));
                }
            }
        }
    }

    /// The configured tax type exists and is active.
    fn tax_type(&self, settings: &Settings, organisation: &str, plan: &mut Plan) {
        let Some(tax_type) = &settings.tax_type else {
            plan.skip(
                id::TAX_TYPE,
                "No tax type is configured in Pleo's Xero settings.",
            );
            return;
        };
        match self.accounting.get_json::<TaxRates>("TaxRates") {
            Ok(rates) => plan.record(rules::tax_type(tax_type, &rates.tax_rates, organisation)),
            Err(fetch) => plan.record(self.failure(id::TAX_TYPE, &fetch, "tax rates")),
        }
    }

    /// The check for a failed call of rule `id` about `what`: Xero's own 401s
    /// first, then the SDK's generic mapping.
    fn failure(&self, id: &str, fetch: &Fetch, what: &str) -> Check {
        match fetch {
            Fetch::Status(response) if response.status == 401 => {
                rules::unauthorized(id, response, what)
            }
            Fetch::Status(response) if response.status == 403 => {
                rules::tenant_refused(id, &self.label, response)
            }
            _ => fetch.check(id, DISPLAY_NAME),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_sdk::CheckStatus::{self, Failed, Passed, Skipped};
    use preflight_sdk::testing::Harness;

    const TENANT: &str = "tenant-1";
    const SETTINGS: &str =
        r#"{"accounts": {"expenses": "429", "contra": "800"}, "taxType": "INPUT"}"#;

    /// Xero answering every step of a company that is ready to export.
    fn ready() -> Harness {
        answering(200, r#"{"ManualJournals": [{"ManualJournalID": "mj-1"}]}"#)
    }

    /// Xero answering `status` and `body` to the manual journals, and as for
    /// a ready company otherwise.
    fn answering(status: u16, journals: &str) -> Harness {
        Harness::new(SETTINGS)
            .tenant(TENANT)
            .reply(
                "GET",
                "connections",
                200,
                r#"[{"tenantId": "tenant-1", "tenantType": "ORGANISATION", "tenantName": "Demo"}]"#,
            )
            .reply(
                "GET",
                "api.xro/2.0/Organisation",
                200,
                r#"{"Organisations": [{"Name": "Demo", "OrganisationStatus": "ACTIVE"}]}"#,
            )
            .reply("GET", "api.xro/2.0/ManualJournals?page=1", status, journals)
            .reply(
                "GET",
                "api.xro/2.0/ManualJournals/mj-1/Attachments",
                200,
                r#"{"Attachments": []}"#,
            )
            .reply(
                "GET",
                "api.xro/2.0/Accounts",
                200,
                r#"{"Accounts": [{"Code": "429", "Name": "General", "Status": "ACTIVE"},
                                 {"Code": "800", "Name": "Payables", "Status": "ACTIVE"}]}"#,
            )
            .reply(
                "GET",
                "api.xro/2.0/TaxRates",
                200,
                r#"{"TaxRates": [{"Name": "Input", "TaxType": "INPUT", "Status": "ACTIVE"}]}"#,
            )
    }

    fn statuses(statuses: &[(&'static str, CheckStatus)]) -> Vec<(&'static str, CheckStatus)> {
        statuses.to_vec()
    }

    #[test]
    fn a_ready_company_passes_every_rule_in_order_with_one_request_each() {
        let run = ready().run::<Xero>();
        assert_eq!(
            run.statuses(),
            statuses(&[
                ("xero.settings", Passed),
                (id::CONNECTION, Passed),
                (id::TENANT, Passed),
                (id::ORGANISATION, Passed),
                (id::JOURNALS, Passed),
                (id::CONTACTS, Skipped),
                (id::ATTACHMENTS, Passed),
                (id::ACCOUNTS_EXPENSES, Passed),
                (id::ACCOUNTS_CONTRA, Passed),
                (id::TAX_TYPE, Passed),
            ])
        );
        assert_eq!(run.requests.len(), 6, "{:?}", run.requests);
        assert!(run.unmatched.is_empty(), "{:?}", run.unmatched);
    }

    #[test]
    fn refused_journals_fail_the_job_before_the_chart_of_accounts_is_read() {
        let run = answering(
            403,
            r#"{"Title": "Forbidden", "Detail": "AuthorizationUnsuccessful"}"#,
        )
        .run::<Xero>();
        let blocking = run.blocking().expect("the job fails");
        assert_eq!(blocking.id, id::JOURNALS);
        assert_eq!(blocking.status, Failed);
        assert!(
            !run.requests
                .iter()
                .any(|request| request.ends_with("/Accounts")),
            "{:?}",
            run.requests
        );
        assert_eq!(run.check(id::TAX_TYPE).status, Skipped);
    }

    #[test]
    fn the_settings_schema_matches_the_settings() {
        assert_eq!(preflight_sdk::settings::check_schema::<Xero>(), Ok(()));
    }

    #[test]
    fn info_names_xero_and_lists_the_settings_rule_first() {
        let info = Xero::info();
        assert_eq!(info.display_name, "Xero");
        assert_eq!(info.accounting_system, "xero");
        let first = preflight_sdk::plan::settings_rule_id(&info.name);
        assert_eq!(first, "xero.settings");
        assert!(Xero::RULES.iter().all(|rule| rule.id != first));
    }

    #[test]
    fn settings_refuse_unknown_fields_and_malformed_codes() {
        let parsed = preflight_sdk::settings::parse::<Settings>(
            r#"{"accounts": {"expenses": "429", "contra": "800"}, "taxType": "INPUT"}"#,
        )
        .expect("valid settings");
        assert!(parsed.attachments.on(), "attachments default to on");
        assert!(Xero::check_settings(&parsed).is_empty());

        let unknown = preflight_sdk::settings::parse::<Settings>(
            r#"{"accounts": {"expenses": "429", "contra": "800"}, "taxCode": "INPUT"}"#,
        )
        .unwrap_err();
        assert!(
            unknown.message.contains("unknown field `taxCode`"),
            "{unknown:?}"
        );

        let malformed = preflight_sdk::settings::parse::<Settings>(
            r#"{"accounts": {"expenses": "4 29", "contra": "80000000000"}}"#,
        )
        .expect("parses");
        let fields: Vec<String> = Xero::check_settings(&malformed)
            .into_iter()
            .map(|error| error.field)
            .collect();
        assert_eq!(fields, ["accounts.expenses", "accounts.contra"]);
    }
}
