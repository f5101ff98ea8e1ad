//! Pre-export validation rules for Xero.
//!
//! The steps of Pleo's pre-export validation how-to, in Xero's terms
//! (accounting-systems.md §1):
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
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from Xero's answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{self, Fetch};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, PluginInfo, Report, SettingsError, Validator,
    export_validator,
};
use serde::Deserialize;

use model::{Accounts, Connection, ManualJournals, Organisations, TaxRates};
use rules::id;

/// The display name used in messages.
const XERO: &str = "Xero";

/// The company's Xero settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The organisation's name as the company knows it, for messages.
    #[serde(default)]
    pub organisation_name: Option<String>,
    /// The account codes Pleo posts to.
    pub accounts: AccountSettings,
    /// The tax type put on expense lines, e.g. `INPUT`.
    #[serde(default)]
    pub tax_type: Option<String>,
    /// Whether receipts are attached to what is posted (default true).
    #[serde(default = "default_true")]
    pub attachments: bool,
}

/// Account codes by what Pleo uses them for.
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

/// The Xero validator.
pub struct Xero;

impl Validator for Xero {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo::new("xero", env!("CARGO_PKG_VERSION"), "xero")
            .description(
                "Pre-export validation for Xero: connection, organisation, permissions, accounts",
            )
            .capabilities(&[
                Capability::JournalEntries,
                Capability::VendorBookkeeping,
                Capability::Attachments,
                Capability::MultiEntity,
            ])
    }

    fn check_settings(settings: &Settings) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        for (field, code) in [
            ("accounts.expenses", &settings.accounts.expenses),
            ("accounts.contra", &settings.accounts.contra),
        ] {
            // Xero account codes are alphanumeric, at most 10 characters
            // (`Account.Code` in xero_accounting.yaml).
            if code.trim().is_empty()
                || code.len() > 10
                || !code.chars().all(|c| c.is_ascii_alphanumeric())
            {
                errors.push(SettingsError {
                    field: field.to_owned(),
                    message: format!(
                        "'{code}' is not a Xero account code (1 to 10 letters or digits)"
                    ),
                });
            }
        }
        errors
    }

    fn validate(job: &ExportJob, config: &Config<Settings>) -> Report {
        let mut report = Report::new();
        let Some(tenant_id) = config.tenant_id.as_deref() else {
            report.push(Check::failed(
                id::TENANT,
                preflight_sdk::FailureReason::MissingConfiguration,
                "No Xero organisation is selected for this Pleo company. Choose the organisation \
                 in Pleo's Xero integration settings, then export again.",
            ));
            return report;
        };
        let run = Run {
            base: &config.base_url,
            tenant_id,
            label: rules::organisation_label(
                config.settings.organisation_name.as_deref(),
                tenant_id,
            ),
        };
        run.all(job, &config.settings, &mut report);
        report
    }
}

export_validator!(Xero);

/// One validation: the company's Xero coordinates.
struct Run<'a> {
    base: &'a str,
    tenant_id: &'a str,
    label: String,
}

/// Every rule after the connection, in order, for reporting skipped ones.
const AFTER_CONNECTION: &[&str] = &[
    id::TENANT,
    id::ORGANISATION,
    id::JOURNALS,
    id::CONTACTS,
    id::ATTACHMENTS,
];

impl Run<'_> {
    fn all(&self, job: &ExportJob, settings: &Settings, report: &mut Report) {
        let not_checked = "Not checked: an earlier check did not pass.";
        let Some(connections) = self.connection(report) else {
            report.skip_all(AFTER_CONNECTION, not_checked);
            return;
        };
        report.push(rules::tenant(&connections, self.tenant_id, &self.label));
        if report.is_blocked() {
            report.skip_all(&AFTER_CONNECTION[1..], not_checked);
            return;
        }
        let Some(organisation) = self.organisation(report) else {
            report.skip_all(&AFTER_CONNECTION[2..], not_checked);
            return;
        };
        let first_journal = self.journals(report);
        if report.is_blocked() {
            report.skip_all(&AFTER_CONNECTION[3..], not_checked);
            return;
        }
        self.contacts(job, report);
        self.attachments(settings, first_journal.as_deref(), report);
        if report.is_blocked() {
            return;
        }
        self.accounts(settings, &organisation, report);
        if let Some(tax_type) = &settings.tax_type {
            match self.get::<TaxRates>("TaxRates") {
                Ok(rates) => {
                    report.push(rules::tax_type(tax_type, &rates.tax_rates, &organisation))
                }
                Err(fetch) => report.push(self.failure(id::TAX_TYPE, &fetch, "tax rates")),
            }
        }
    }

    /// `GET /connections`: the token works, and which tenants it reaches.
    fn connection(&self, report: &mut Report) -> Option<Vec<Connection>> {
        match http::get_json::<Vec<Connection>>(format!("{}/connections", self.base), &[]) {
            Ok(connections) => {
                report.push(Check::passed(
                    id::CONNECTION,
                    "Xero is reachable and accepts Pleo's connection.",
                ));
                Some(connections)
            }
            Err(fetch) => {
                report.push(self.failure(id::CONNECTION, &fetch, "Xero"));
                None
            }
        }
    }

    /// `GET /Organisation`: the tenant answers and is active.
    fn organisation(&self, report: &mut Report) -> Option<String> {
        match self.get::<Organisations>("Organisation") {
            Ok(answer) => {
                let Some(organisation) = answer.organisations.into_iter().next() else {
                    report.push(
                        Check::failed(
                            id::ORGANISATION,
                            preflight_sdk::FailureReason::AccountingSystemUnreachable,
                            "Xero did not describe the connected organisation. Try the export again later.",
                        )
                        .with_hint("GET /Organisation returned no organisation"),
                    );
                    return None;
                };
                let check = rules::organisation(&organisation);
                let active = !check.blocks();
                report.push(check);
                active.then_some(organisation.name)
            }
            Err(Fetch::Status(response)) if response.status == 403 => {
                report.push(rules::tenant_refused(
                    id::ORGANISATION,
                    &self.label,
                    &response,
                ));
                None
            }
            Err(fetch) => {
                report.push(self.failure(id::ORGANISATION, &fetch, "the organisation's settings"));
                None
            }
        }
    }

    /// Manual journals may be read, so the journal scope was granted. Writing
    /// cannot be probed without creating a record, which a validator never
    /// does; Xero grants read and write in one scope. Returns a journal id to
    /// probe attachments with.
    fn journals(&self, report: &mut Report) -> Option<String> {
        match self.get::<ManualJournals>("ManualJournals?page=1") {
            Ok(journals) => {
                report.push(Check::passed(
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
                report.push(self.failure(id::JOURNALS, &fetch, "manual journals"));
                None
            }
        }
    }

    /// Supplier contacts, needed only when the job books against vendors.
    fn contacts(&self, job: &ExportJob, report: &mut Report) {
        if !job.vendor_based_bookkeeping {
            report.push(Check::skipped(
                id::CONTACTS,
                "This export does not use vendor bookkeeping.",
            ));
            return;
        }
        match self
            .get::<serde_json::Value>("Contacts?where=IsSupplier%3D%3Dtrue&summaryOnly=true&page=1")
        {
            Ok(_) => report.push(Check::passed(
                id::CONTACTS,
                "Pleo may use supplier contacts in Xero for vendor bookkeeping.",
            )),
            Err(fetch) => report.push(self.failure(id::CONTACTS, &fetch, "contacts (suppliers)")),
        }
    }

    /// Attachments on an existing manual journal, read-only.
    fn attachments(&self, settings: &Settings, journal: Option<&str>, report: &mut Report) {
        if !settings.attachments {
            report.push(Check::skipped(
                id::ATTACHMENTS,
                "Receipts are not attached: turned off in Pleo's Xero settings.",
            ));
            return;
        }
        let Some(journal) = journal else {
            report.push(
                Check::skipped(id::ATTACHMENTS, "Attachment access could not be probed yet: the organisation has no manual journal.")
                    .with_hint("no ManualJournals to list attachments of; the first export will show whether uploads work"),
            );
            return;
        };
        match self.get::<serde_json::Value>(&format!("ManualJournals/{journal}/Attachments")) {
            Ok(_) => report.push(Check::passed(
                id::ATTACHMENTS,
                "Pleo may attach receipts in Xero.",
            )),
            Err(fetch) => report.push(self.failure(id::ATTACHMENTS, &fetch, "attachments")),
        }
    }

    /// The configured accounts exist and are active.
    fn accounts(&self, settings: &Settings, organisation: &str, report: &mut Report) {
        let configured = [
            ("expenses", &settings.accounts.expenses),
            ("contra", &settings.accounts.contra),
        ];
        match self.get::<Accounts>("Accounts") {
            Ok(chart) => {
                for (purpose, code) in configured {
                    report.push(rules::account(purpose, code, &chart.accounts, organisation));
                }
            }
            Err(fetch) => {
                for (purpose, _) in configured {
                    report.push(self.failure(
                        &format!("{}.{purpose}", id::ACCOUNTS),
                        &fetch,
                        "the chart of accounts",
                    ));
                }
            }
        }
    }

    /// A tenant-scoped `GET` of the accounting API.
    fn get<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T, Fetch> {
        http::get_json(
            format!("{}/api.xro/2.0/{resource}", self.base),
            &[("xero-tenant-id", self.tenant_id)],
        )
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
            _ => fetch.check(id, XERO),
        }
    }
}
