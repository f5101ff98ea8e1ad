//! Pre-export validation rules for Microsoft Dynamics 365 Business Central
//! (online).
//!
//! The steps of Pleo's pre-export validation how-to, in Business Central's terms
//! (accounting-systems.md §5 and its "Suggested validator checks"):
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
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from Business Central's answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{self, Fetch};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, PluginInfo, Report, SettingsError, Validator,
    export_validator,
};
use serde::Deserialize;

use model::{Account, Collection, Company, Journal, TaxGroup};
use rules::{BUSINESS_CENTRAL, Environment, Place, id};

/// The company's Business Central settings.
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
    pub accounts: AccountSettings,
    /// The tax group (VAT product posting group) put on expense lines, e.g.
    /// `VAT25`.
    #[serde(default)]
    pub tax_group: Option<String>,
    /// Whether receipts are attached to what is posted (default true).
    #[serde(default = "default_true")]
    pub attachments: bool,
}

/// G/L account numbers by what Pleo uses them for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountSettings {
    /// Where expenses without a category account are booked.
    pub expenses: String,
    /// The balancing account of card and wallet transactions.
    pub contra: String,
}

fn default_true() -> bool {
    true
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

    fn info() -> PluginInfo {
        PluginInfo::new(
            "business-central",
            env!("CARGO_PKG_VERSION"),
            "business-central",
        )
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
    }

    fn check_settings(settings: &Settings) -> Vec<SettingsError> {
        // Field sizes from the Business Central tables behind API v2.0: journal
        // batch names are Code[10], G/L account numbers and tax group codes
        // Code[20].
        let mut checks = vec![
            code_error("journal", &settings.journal, 10, "journal batch code"),
            code_error(
                "accounts.expenses",
                &settings.accounts.expenses,
                20,
                "G/L account number",
            ),
            code_error(
                "accounts.contra",
                &settings.accounts.contra,
                20,
                "G/L account number",
            ),
        ];
        if let Some(group) = &settings.tax_group {
            checks.push(code_error("taxGroup", group, 20, "tax group code"));
        }
        checks.into_iter().flatten().collect()
    }

    fn validate(job: &ExportJob, config: &Config<Settings>) -> Report {
        let mut report = Report::new();
        let environment = match rules::environment(&config.base_url) {
            Ok(environment) => environment,
            Err(check) => {
                report.push(check);
                return report;
            }
        };
        let company_id = match rules::company_id(config.tenant_id.as_deref()) {
            Ok(company_id) => company_id,
            Err(check) => {
                report.push(check);
                return report;
            }
        };
        report.push(Check::passed(
            id::ENVIRONMENT,
            format!(
                "Pleo's settings name Business Central environment '{}'.",
                environment.name
            ),
        ));
        let run = Run {
            api: format!("{}/api/v2.0", config.base_url),
            company_id,
            label: rules::company_label(config.settings.company_name.as_deref(), company_id),
            environment,
        };
        run.all(job, &config.settings, &mut report);
        report
    }
}

export_validator!(BusinessCentral);

/// One validation: the company's Business Central coordinates.
struct Run<'a> {
    /// `{environment root}/api/v2.0`.
    api: String,
    company_id: &'a str,
    label: String,
    environment: Environment,
}

const NOT_CHECKED: &str = "Not checked: an earlier check did not pass.";

impl Run<'_> {
    fn all(&self, job: &ExportJob, settings: &Settings, report: &mut Report) {
        let expenses = format!("{}.expenses", id::ACCOUNTS);
        let contra = format!("{}.contra", id::ACCOUNTS);
        // Every rule after the connection, in order, for reporting skipped ones.
        let after_connection = [
            id::COMPANY,
            id::JOURNALS,
            id::JOURNAL,
            id::VENDORS,
            id::ATTACHMENTS,
            &expenses,
            &contra,
            id::TAX_GROUP,
        ];
        let Some(companies) = self.connection(report) else {
            report.skip_all(&after_connection, NOT_CHECKED);
            return;
        };
        report.push(rules::company(
            &companies,
            self.company_id,
            &self.label,
            &self.environment,
        ));
        if report.is_blocked() {
            report.skip_all(&after_connection[1..], NOT_CHECKED);
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
        self.journals(settings, &company, &place, report);
        if report.is_blocked() {
            report.skip_all(&after_connection[3..], NOT_CHECKED);
            return;
        }
        self.vendors(job, &place, report);
        self.attachments(settings, &place, report);
        if report.is_blocked() {
            report.skip_all(&after_connection[5..], NOT_CHECKED);
            return;
        }
        self.accounts(settings, &company, &place, report);
        self.tax_group(settings, &company, &place, report);
    }

    /// `GET …/companies`: the environment answers, accepts the token, and
    /// lists the companies it holds.
    fn connection(&self, report: &mut Report) -> Option<Vec<Company>> {
        match http::get_json::<Collection<Company>>(format!("{}/companies", self.api), &[]) {
            Ok(companies) => {
                report.push(Check::passed(
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
                report.push(rules::environment_not_found(&self.environment, &response));
                None
            }
            Err(fetch) => {
                let place = Place {
                    environment: &self.environment,
                    company: &self.label,
                };
                report.push(self.failure(id::CONNECTION, &fetch, BUSINESS_CENTRAL, &place));
                None
            }
        }
    }

    /// General journals may be read, the configured batch exists, and its
    /// journal lines may be read. Posting cannot be probed without creating a
    /// record, which a validator never does (accounting-systems.md, "Never
    /// create test records for a probe"), so a refused read is what reveals a
    /// missing permission set or licence.
    fn journals(&self, settings: &Settings, company: &str, place: &Place<'_>, report: &mut Report) {
        let journals = match self.get::<Collection<Journal>>("journals") {
            Ok(journals) => journals.value,
            Err(fetch) => {
                report.push(self.failure(id::JOURNALS, &fetch, "general journals", place));
                report.push(Check::skipped(id::JOURNAL, NOT_CHECKED));
                return;
            }
        };
        let (batch, batch_id) = rules::journal(&settings.journal, &journals, company);
        let permission = match batch_id {
            Some(batch_id) => {
                match self
                    .get::<serde_json::Value>(&format!("journals({batch_id})/journalLines?$top=1"))
                {
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
        report.push(permission);
        report.push(batch);
    }

    /// Vendors and purchase invoices, needed only when the job books against
    /// vendors.
    fn vendors(&self, job: &ExportJob, place: &Place<'_>, report: &mut Report) {
        if !job.vendor_based_bookkeeping {
            report.push(Check::skipped(
                id::VENDORS,
                "This export does not use vendor bookkeeping.",
            ));
            return;
        }
        for resource in ["vendors?$top=1", "purchaseInvoices?$top=1"] {
            match self.get::<serde_json::Value>(resource) {
                Ok(_) => {}
                Err(Fetch::Status(response)) => {
                    report.push(rules::vendors_refused(&response, place));
                    return;
                }
                Err(fetch) => {
                    report.push(fetch.check(id::VENDORS, BUSINESS_CENTRAL));
                    return;
                }
            }
        }
        report.push(Check::passed(
            id::VENDORS,
            "Pleo may use vendors and purchase invoices in Business Central for vendor \
             bookkeeping.",
        ));
    }

    /// Attachments (incoming documents), read-only.
    fn attachments(&self, settings: &Settings, place: &Place<'_>, report: &mut Report) {
        if !settings.attachments {
            report.push(Check::skipped(
                id::ATTACHMENTS,
                "Receipts are not attached: turned off in Pleo's Business Central settings.",
            ));
            return;
        }
        match self.get::<serde_json::Value>("attachments?$top=1") {
            Ok(_) => report.push(Check::passed(
                id::ATTACHMENTS,
                "Pleo may attach receipts in Business Central.",
            )),
            Err(fetch) => report.push(self.failure(
                id::ATTACHMENTS,
                &fetch,
                "attachments (incoming documents)",
                place,
            )),
        }
    }

    /// The configured G/L accounts exist and can be posted to.
    fn accounts(&self, settings: &Settings, company: &str, place: &Place<'_>, report: &mut Report) {
        let configured = [
            ("expenses", &settings.accounts.expenses),
            ("contra", &settings.accounts.contra),
        ];
        match self.get::<Collection<Account>>("accounts") {
            Ok(chart) => {
                for (purpose, number) in configured {
                    report.push(rules::account(purpose, number, &chart.value, company));
                }
            }
            Err(fetch) => {
                for (purpose, _) in configured {
                    report.push(self.failure(
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
    fn tax_group(
        &self,
        settings: &Settings,
        company: &str,
        place: &Place<'_>,
        report: &mut Report,
    ) {
        let Some(code) = &settings.tax_group else {
            report.push(Check::skipped(
                id::TAX_GROUP,
                "No tax group is configured in Pleo's Business Central settings.",
            ));
            return;
        };
        match self.get::<Collection<TaxGroup>>("taxGroups") {
            Ok(groups) => report.push(rules::tax_group(code, &groups.value, company)),
            Err(fetch) => report.push(self.failure(id::TAX_GROUP, &fetch, "tax groups", place)),
        }
    }

    /// A company-scoped `GET` of API v2.0.
    fn get<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T, Fetch> {
        http::get_json(
            format!("{}/companies({})/{resource}", self.api, self.company_id),
            &[],
        )
    }

    /// The check for a failed call of rule `id` about `what`: Business
    /// Central's own refusals for answers, the SDK's mapping for the rest.
    fn failure(&self, id: &str, fetch: &Fetch, what: &str, place: &Place<'_>) -> Check {
        match fetch {
            Fetch::Status(response) => rules::refused(id, response, what, place),
            _ => fetch.check(id, BUSINESS_CENTRAL),
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
    fn settings_refuse_unknown_fields_and_oversized_codes() {
        let good = settings(
            r#"{"journal": "PLEO", "accounts": {"expenses": "6130", "contra": "2320"},
                "taxGroup": "VAT25"}"#,
        )
        .unwrap();
        assert!(good.attachments);
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
