//! Pre-export validation rules for Microsoft Dynamics 365 Business Central
//! (online).
//!
//! The steps of Pleo's pre-export validation how-to, in Business Central's terms
//! (docs/accounting-systems.md §5 and its "Suggested validator checks"):
//!
//! 1. the environment: the base URL is the environment root
//!    `…/v2.0/{Entra tenant}/{environment}`;
//! 2. connectivity and authentication: `GET …/api/v2.0/companies` with the
//!    host-held Entra token (401 `Authentication_InvalidCredentials`, 404 for an
//!    unknown environment);
//! 3. company context: the configured company id is in that list;
//! 4. permissions and licences for what the export needs, probed read-only
//!    (never by creating records): general journals and journal lines; vendors
//!    and purchase invoices when the job uses vendor bookkeeping; attachments
//!    (incoming documents) when receipts are attached;
//! 5. the general journal batch, G/L accounts and tax group the configuration
//!    names exist and can be posted to.
//!
//! Every report lists `business-central.settings` (the SDK's) and then
//! [`rules::RULES`], in that order, whatever happens.
//!
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - `settings.schema.json`: the settings' JSON Schema, `plugin-info.settings-schema`;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from Business Central's answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{Api, Fetch};
use preflight_sdk::settings::{Accounts, Attachments};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, Plan, PluginInfo, Rule, SettingsError, Validator,
    export_validator,
};
use serde::Deserialize;

use model::{Account, Collection, Company, Journal, TaxGroup};
use rules::{DISPLAY_NAME, Environment, Place, id};

/// The company's Business Central settings (`settings.schema.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The company's name as the Pleo company knows it, for messages until
    /// Business Central has described the company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// The code of the general journal batch Pleo posts to, e.g. `PLEO`.
    pub journal: String,
    /// The G/L account numbers Pleo posts to.
    pub accounts: Accounts,
    /// The tax group (VAT product posting group) put on expense lines, e.g.
    /// `VAT25`.
    #[serde(default)]
    pub tax_group: Option<String>,
    /// Whether receipts are attached to what is posted (default true).
    #[serde(default)]
    pub attachments: Attachments,
}

/// Checks that `value` fits a Business Central `Code[max]` field: not blank,
/// at most `max` characters, no surrounding spaces.
fn code_error(field: &str, value: &str, max: usize, what: &str) -> Option<SettingsError> {
    let fits = !value.trim().is_empty() && value.chars().count() <= max && value.trim() == value;
    (!fits).then(|| SettingsError {
        field: field.to_owned(),
        message: format!("'{value}' is not a Business Central {what} (1 to {max} characters)"),
    })
}

/// The Business Central validator.
pub struct BusinessCentral;

impl Validator for BusinessCentral {
    type Settings = Settings;

    const RULES: &'static [Rule] = rules::RULES;

    fn info() -> PluginInfo {
        PluginInfo::new(
            "business-central",
            env!("CARGO_PKG_VERSION"),
            "business-central",
        )
        .display_name(DISPLAY_NAME)
        .description(
            "Pre-export validation for Business Central: environment, credentials, company, \
             permissions and licences, journal batch, G/L accounts, tax group",
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
        // Field sizes from the Business Central tables behind API v2.0: journal
        // batch names are Code[10], G/L account numbers and tax group codes
        // Code[20].
        let mut checks = vec![code_error(
            "journal",
            &settings.journal,
            10,
            "journal batch code",
        )];
        for (purpose, number) in settings.accounts.by_purpose() {
            checks.push(code_error(
                &format!("accounts.{purpose}"),
                number,
                20,
                "G/L account number",
            ));
        }
        if let Some(group) = &settings.tax_group {
            checks.push(code_error("taxGroup", group, 20, "tax group code"));
        }
        checks.into_iter().flatten().collect()
    }

    fn validate(_job: &ExportJob, config: &Config<Settings>, plan: &mut Plan) {
        let environment = match rules::environment(&config.base_url) {
            Ok(environment) => environment,
            Err(check) => {
                plan.record(check);
                return;
            }
        };
        plan.record(Check::passed(
            id::ENVIRONMENT,
            format!(
                "Pleo's settings name Business Central environment '{}'.",
                environment.name
            ),
        ));
        let company_id = match rules::company_id(config.tenant_id.as_deref()) {
            Ok(company_id) => company_id,
            Err(check) => {
                plan.record(check);
                return;
            }
        };
        let api = format!("{}/api/v2.0", config.base_url);
        let run = Run {
            company: Api::new(format!("{api}/companies({company_id})")),
            environment_api: Api::new(api),
            company_id,
            label: rules::company_label(config.settings.company_name.as_deref(), company_id),
            environment,
        };
        run.all(&config.settings, plan);
    }
}

export_validator!(BusinessCentral);

/// One validation: the company's Business Central coordinates.
struct Run<'a> {
    /// `{environment root}/api/v2.0`.
    environment_api: Api,
    /// `{environment root}/api/v2.0/companies({id})`: company-scoped calls.
    company: Api,
    company_id: &'a str,
    label: String,
    environment: Environment,
}

impl Run<'_> {
    fn all(&self, settings: &Settings, plan: &mut Plan) {
        let Some(companies) = self.connection(plan) else {
            return;
        };
        plan.record(rules::company(
            &companies,
            self.company_id,
            &self.label,
            &self.environment,
        ));
        if plan.is_blocked() {
            return;
        }
        // From here on messages use the name Business Central knows the
        // company by.
        let company = companies
            .iter()
            .find(|company| company.id.eq_ignore_ascii_case(self.company_id))
            .map_or_else(|| self.label.clone(), |company| company.label().to_owned());
        let labelled = format!("'{company}'");
        let place = Place {
            environment: &self.environment,
            company: &labelled,
        };
        self.journals(settings, &company, &place, plan);
        if plan.is_blocked() {
            return;
        }
        self.vendors(&place, plan);
        self.attachments(settings, &place, plan);
        if plan.is_blocked() {
            return;
        }
        self.accounts(settings, &company, &place, plan);
        self.tax_group(settings, &company, &place, plan);
    }

    /// `GET …/companies`: the environment answers, accepts the token, and
    /// lists the companies it holds.
    fn connection(&self, plan: &mut Plan) -> Option<Vec<Company>> {
        match self
            .environment_api
            .get_json::<Collection<Company>>("companies")
        {
            Ok(companies) => {
                plan.record(Check::passed(
                    id::CONNECTION,
                    format!(
                        "Business Central environment '{}' is reachable and accepts Pleo's \
                         connection.",
                        self.environment.name
                    ),
                ));
                Some(companies.value)
            }
            Err(Fetch::Status(response)) if response.status == 404 => {
                plan.record(rules::environment_not_found(&self.environment, &response));
                None
            }
            Err(fetch) => {
                let place = Place {
                    environment: &self.environment,
                    company: &self.label,
                };
                plan.record(self.failure(id::CONNECTION, &fetch, "Business Central", &place));
                None
            }
        }
    }

    /// General journals may be read, the configured batch exists, and its
    /// journal lines may be read. Posting cannot be probed without creating a
    /// record, which a validator never does (docs/accounting-systems.md, "Never
    /// create test records for a probe"), so a refused read is what reveals a
    /// missing permission set or licence.
    fn journals(&self, settings: &Settings, company: &str, place: &Place<'_>, plan: &mut Plan) {
        let journals = match self.company.get_json::<Collection<Journal>>("journals") {
            Ok(journals) => journals.value,
            Err(fetch) => {
                plan.record(self.failure(id::JOURNALS, &fetch, "general journals", place));
                return;
            }
        };
        let (batch, batch_id) = rules::journal(&settings.journal, &journals, company);
        let permission = match batch_id {
            Some(batch_id) => {
                match self.company.get_json::<serde_json::Value>(&format!(
                    "journals({batch_id})/journalLines?$top=1"
                )) {
                    Ok(_) => Check::passed(
                        id::JOURNALS,
                        "Pleo may use general journals and journal lines in Business Central.",
                    ),
                    Err(fetch) => {
                        self.failure(id::JOURNALS, &fetch, "general journal lines", place)
                    }
                }
            }
            None => Check::passed(
                id::JOURNALS,
                "Pleo may use general journals in Business Central.",
            )
            .with_hint("journal lines not probed: the configured batch does not exist"),
        };
        plan.record(permission);
        plan.record(batch);
    }

    /// Vendors and purchase invoices, needed only when the job books against
    /// vendors.
    fn vendors(&self, place: &Place<'_>, plan: &mut Plan) {
        if !plan.applies(id::VENDORS) {
            return;
        }
        for resource in ["vendors?$top=1", "purchaseInvoices?$top=1"] {
            match self.company.get_json::<serde_json::Value>(resource) {
                Ok(_) => {}
                Err(Fetch::Status(response)) => {
                    plan.record(rules::vendors_refused(&response, place));
                    return;
                }
                Err(fetch) => {
                    plan.record(fetch.check(id::VENDORS, DISPLAY_NAME));
                    return;
                }
            }
        }
        plan.record(Check::passed(
            id::VENDORS,
            "Pleo may use vendors and purchase invoices in Business Central for vendor \
             bookkeeping.",
        ));
    }

    /// Attachments (incoming documents), read-only.
    fn attachments(&self, settings: &Settings, place: &Place<'_>, plan: &mut Plan) {
        if !settings.attachments.on() {
            plan.skip_attachments_off(id::ATTACHMENTS);
            return;
        }
        match self
            .company
            .get_json::<serde_json::Value>("attachments?$top=1")
        {
            Ok(_) => plan.record(Check::passed(
                id::ATTACHMENTS,
                "Pleo may attach receipts in Business Central.",
            )),
            Err(fetch) => plan.record(self.failure(
                id::ATTACHMENTS,
                &fetch,
                "attachments (incoming documents)",
                place,
            )),
        }
    }

    /// The configured G/L accounts exist and can be posted to.
    fn accounts(&self, settings: &Settings, company: &str, place: &Place<'_>, plan: &mut Plan) {
        let configured = settings.accounts.by_purpose();
        match self.company.get_json::<Collection<Account>>("accounts") {
            Ok(chart) => {
                for (purpose, number) in configured {
                    plan.record(rules::account(purpose, number, &chart.value, company));
                }
            }
            Err(fetch) => {
                for (purpose, _) in configured {
                    plan.record(self.failure(
                        &format!("{}.{purpose}", id::ACCOUNTS),
                        &fetch,
                        "the chart of accounts",
                        place,
                    ));
                }
            }
        }
    }

    /// The configured tax group exists.
    fn tax_group(&self, settings: &Settings, company: &str, place: &Place<'_>, plan: &mut Plan) {
        let Some(code) = &settings.tax_group else {
            plan.skip(
                id::TAX_GROUP,
                "No tax group is configured in Pleo's Business Central settings.",
            );
            return;
        };
        match self.company.get_json::<Collection<TaxGroup>>("taxGroups") {
            Ok(groups) => plan.record(rules::tax_group(code, &groups.value, company)),
            Err(fetch) => plan.record(self.failure(id::TAX_GROUP, &fetch, "tax groups", place)),
        }
    }

    /// The check for a failed call of rule `id` about `what`: Business
    /// Central's own refusals for answers, the SDK's mapping for the rest.
    fn failure(&self, id: &str, fetch: &Fetch, what: &str, place: &Place<'_>) -> Check {
        match fetch {
            Fetch::Status(response) => rules::refused(id, response, what, place),
            _ => fetch.check(id, DISPLAY_NAME),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> Result<Settings, SettingsError> {
        preflight_sdk::settings::parse(json)
    }

    #[test]
    fn the_settings_schema_matches_the_settings() {
        assert_eq!(
            preflight_sdk::settings::check_schema::<BusinessCentral>(),
            Ok(())
        );
    }

    #[test]
    fn info_gives_the_full_product_name() {
        let info = BusinessCentral::info();
        assert_eq!(info.display_name, "Microsoft Dynamics 365 Business Central");
        assert_eq!(info.accounting_system, "business-central");
    }

    #[test]
    fn settings_refuse_unknown_fields_and_oversized_codes() {
        let good = settings(
            r#"{"journal": "PLEO", "accounts": {"expenses": "6130", "contra": "2320"},
                "taxGroup": "VAT25"}"#,
        )
        .unwrap();
        assert!(good.attachments.on());
        assert!(BusinessCentral::check_settings(&good).is_empty());

        let unknown = settings(
            r#"{"journal": "PLEO", "accounts": {"expenses": "6130", "contra": "2320"},
                "taxCode": "VAT25"}"#,
        )
        .unwrap_err();
        assert!(
            unknown.message.contains("unknown field `taxCode`"),
            "{}",
            unknown.message
        );

        let long = settings(
            r#"{"journal": "PLEO-EXPENSES", "accounts": {"expenses": " 6130", "contra": "2320"}}"#,
        )
        .unwrap();
        let fields: Vec<String> = BusinessCentral::check_settings(&long)
            .into_iter()
            .map(|error| error.field)
            .collect();
        assert_eq!(fields, ["journal", "accounts.expenses"]);
    }
}
