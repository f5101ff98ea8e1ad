//! Pre-export validation rules for QuickBooks Online.
//!
//! The steps of Pleo's pre-export validation how-to, in QuickBooks Online's
//! terms (docs/accounting-systems.md §2 and its "Suggested validator checks"):
//!
//! 1. connectivity and authentication: `GET /v3/company/{realmId}/companyinfo/
//!    {realmId}`, the cheap check, with the host-held token (fault 3200 means
//!    reconnect);
//! 2. company context: the realm answers (fault 3100 means the connection is for
//!    another company) and its `CompanyName` is the configured company;
//! 3. permissions for what the export needs, probed read-only with one-row
//!    queries, never by creating records: `JournalEntry`; `Vendor` and `Bill`
//!    when the job uses vendor bookkeeping (fault 5020: the plan lacks them);
//!    `Attachable` when receipts are attached (uploads go to `/upload`);
//! 4. the accounts, tax code and journal code the configuration names exist
//!    and are active.
//!
//! Every report lists `quickbooks.settings` (the SDK's) and then
//! [`rules::RULES`], in that order, whatever happens.
//!
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - `settings.schema.json`: the settings' JSON Schema, `plugin-info.settings-schema`;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from QuickBooks' answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{Api, Fetch};
use preflight_sdk::settings::{Accounts, Attachments};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, Plan, PluginInfo, Rule, SettingsError, Validator,
    export_validator,
};
use serde::Deserialize;

use model::{Account, CompanyInfoResponse, JournalCode, QueryResponse, TaxCode};
use rules::{DISPLAY_NAME, Subject, id};

/// The API minor version sent with every call, for the newer fields
/// (docs/accounting-systems.md §2, "add `minorversion=NN` (e.g. 75)").
const MINOR_VERSION: u32 = 75;

/// Rows per query page: QuickBooks' `maxresults` ceiling.
const PAGE_SIZE: usize = 1_000;

/// Pages read at most per entity, so a huge chart of accounts cannot use up the
/// per-validation request budget (50 by default).
const MAX_PAGES: usize = 10;

/// The company's QuickBooks Online settings (`settings.schema.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The company's name as the finance user knows it; when set, the realm's
    /// `CompanyName` (or `LegalName`) must match it.
    #[serde(default)]
    pub company_name: Option<String>,
    /// The accounts Pleo posts to, each an account number (`AcctNum`) or an
    /// account name (`Name` or `FullyQualifiedName`).
    pub accounts: Accounts,
    /// The tax code put on expense lines, by name (`TVA 20 %`) or id.
    #[serde(default)]
    pub tax_code: Option<String>,
    /// The journal code journal entries are posted with (French companies
    /// only), e.g. `ACH`.
    #[serde(default)]
    pub journal_code: Option<String>,
    /// Whether receipts are attached to what is posted (default true).
    #[serde(default)]
    pub attachments: Attachments,
}

/// The QuickBooks Online validator.
pub struct QuickBooks;

impl Validator for QuickBooks {
    type Settings = Settings;

    const RULES: &'static [Rule] = rules::RULES;

    fn info() -> PluginInfo {
        PluginInfo::new("quickbooks", env!("CARGO_PKG_VERSION"), "quickbooks")
            .display_name(DISPLAY_NAME)
            .description(
                "Pre-export validation for QuickBooks Online: connection, company, plan and \
                 permissions, accounts, tax code, journal code",
            )
            .capabilities(&[
                Capability::JournalEntries,
                Capability::VendorBookkeeping,
                Capability::Attachments,
            ])
            .settings_schema(include_str!("../settings.schema.json"))
    }

    fn check_settings(settings: &Settings) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        let mut text = |field: &str, value: &str, what: &str| {
            // Account names are at most 100 characters and may not contain
            // ':' except as the sub-account separator; numbers are shorter.
            // A blank or control-character value can never match anything.
            if value.trim().is_empty()
                || value.chars().count() > 100
                || value.chars().any(char::is_control)
            {
                errors.push(SettingsError {
                    field: field.to_owned(),
                    message: format!("'{value}' is not a QuickBooks Online {what}"),
                });
            }
        };
        for (purpose, reference) in settings.accounts.by_purpose() {
            text(
                &format!("accounts.{purpose}"),
                reference,
                "account number or name (1 to 100 characters)",
            );
        }
        if let Some(name) = &settings.company_name {
            text("companyName", name, "company name");
        }
        if let Some(code) = &settings.tax_code {
            text("taxCode", code, "tax code name or id");
        }
        if let Some(code) = &settings.journal_code {
            text("journalCode", code, "journal code");
        }
        errors
    }

    fn validate(_job: &ExportJob, config: &Config<Settings>, plan: &mut Plan) {
        let realm = match rules::realm_id(config.tenant_id.as_deref()) {
            Ok(realm) => realm,
            Err(check) => {
                plan.record(check);
                return;
            }
        };
        let mut run = Run {
            // Every call goes below `{base_url}/v3/company/{realmId}`, so only
            // the configured origin is ever reached. QuickBooks may answer 200
            // with a fault (docs/accounting-systems.md §2, "Errors").
            api: Api::new(format!("{}/v3/company/{realm}", config.base_url))
                .error_when(|response| model::first_fault(&response.body).is_some()),
            realm,
            label: rules::company_label(config.settings.company_name.as_deref(), realm),
            company_name: config.settings.company_name.clone().unwrap_or_default(),
            subscription: None,
        };
        run.all(&config.settings, plan);
    }
}

export_validator!(QuickBooks);

/// One validation: the company's QuickBooks coordinates and what was learnt
/// about the company so far.
struct Run<'a> {
    /// The company's API, `{base_url}/v3/company/{realmId}`.
    api: Api,
    realm: &'a str,
    label: String,
    /// The company's name for messages, once `companyinfo` answered.
    company_name: String,
    /// The subscription plan (`OfferingSku`) for messages, once
    /// `companyinfo` answered.
    subscription: Option<String>,
}

impl Run<'_> {
    fn all(&mut self, settings: &Settings, plan: &mut Plan) {
        if !self.company(settings, plan) {
            return;
        }
        self.probe(
            id::JOURNAL_ENTRIES,
            &rules::JOURNAL_ENTRIES,
            &["JournalEntry"],
            plan,
        );
        if plan.is_blocked() {
            return;
        }
        if plan.applies(id::VENDORS) {
            self.probe(id::VENDORS, &rules::VENDORS, &["Vendor", "Bill"], plan);
        }
        if settings.attachments.on() {
            self.probe(id::ATTACHMENTS, &rules::ATTACHMENTS, &["Attachable"], plan);
        } else {
            plan.skip_attachments_off(id::ATTACHMENTS);
        }
        if plan.is_blocked() {
            return;
        }
        self.accounts(settings, plan);
        self.tax_code(settings, plan);
        self.journal_code(settings, plan);
    }

    /// `GET companyinfo/{realmId}`: QuickBooks answers, accepts the token, lets
    /// it into this realm, and the realm is the expected company. Returns
    /// whether later rules may run.
    fn company(&mut self, settings: &Settings, plan: &mut Plan) -> bool {
        let path = self.path(&format!("companyinfo/{}", self.realm), None);
        match self.api.get_json::<CompanyInfoResponse>(&path) {
            Ok(answer) => {
                plan.record(Check::passed(
                    id::CONNECTION,
                    "QuickBooks Online is reachable and accepts Pleo's connection.",
                ));
                let info = answer.company_info;
                let check = rules::company(&info, settings.company_name.as_deref(), self.realm);
                let right = !check.blocks();
                plan.record(check);
                self.subscription = info.plan().map(str::to_owned);
                self.company_name = info.company_name;
                right
            }
            Err(Fetch::Status(response)) if rules::refuses_company(&response) => {
                // Authenticated, but not for this realm: the connection works
                // and the company is what is wrong.
                plan.record(Check::passed(
                    id::CONNECTION,
                    "QuickBooks Online is reachable and accepts Pleo's connection.",
                ));
                plan.record(rules::failure(
                    id::COMPANY,
                    Subject::Company(&self.label),
                    &response,
                    None,
                ));
                false
            }
            Err(fetch) => {
                plan.record(self.failure(id::CONNECTION, Subject::Company(&self.label), &fetch));
                false
            }
        }
    }

    /// Rule `id` passes when a one-row query of each of `entities` answers:
    /// the connected user may read them and the plan includes them. Writing
    /// cannot be probed without creating records, which a validator never
    /// does (docs/accounting-systems.md, "Cross-cutting cautions").
    fn probe(&self, id: &str, feature: &rules::Feature, entities: &[&str], plan: &mut Plan) {
        for entity in entities {
            let query = format!("select * from {entity} maxresults 1");
            if let Err(fetch) = self
                .api
                .get_json::<QueryResponse>(&self.path("query", Some(&query)))
            {
                plan.record(self.failure(id, Subject::Feature(feature), &fetch));
                return;
            }
        }
        plan.record(Check::passed(
            id,
            format!("Pleo may use {} in QuickBooks Online.", feature.what),
        ));
    }

    /// The configured accounts exist and are active. Inactive accounts are
    /// asked for explicitly: a query returns active ones only by default.
    fn accounts(&self, settings: &Settings, plan: &mut Plan) {
        let configured = settings.accounts.by_purpose();
        match self.query_all::<Account>("Account", " where Active IN (true, false)") {
            Ok(chart) => {
                for (purpose, reference) in configured {
                    plan.record(rules::account(
                        purpose,
                        reference,
                        &chart,
                        &self.company_name,
                    ));
                }
            }
            Err(fetch) => {
                for (purpose, _) in configured {
                    plan.record(self.failure(
                        &format!("{}.{purpose}", id::ACCOUNTS),
                        Subject::Data("the chart of accounts"),
                        &fetch,
                    ));
                }
            }
        }
    }

    /// The configured tax code exists, is active and applies to purchases.
    fn tax_code(&self, settings: &Settings, plan: &mut Plan) {
        let Some(reference) = &settings.tax_code else {
            plan.skip(
                id::TAX_CODE,
                "No tax code is configured in Pleo's QuickBooks Online settings.",
            );
            return;
        };
        match self.query_all::<TaxCode>("TaxCode", " where Active IN (true, false)") {
            Ok(codes) => plan.record(rules::tax_code(reference, &codes, &self.company_name)),
            Err(fetch) => {
                plan.record(self.failure(id::TAX_CODE, Subject::Data("tax codes"), &fetch))
            }
        }
    }

    /// The configured journal code exists and is active.
    fn journal_code(&self, settings: &Settings, plan: &mut Plan) {
        let Some(reference) = &settings.journal_code else {
            plan.skip(
                id::JOURNAL_CODE,
                "No journal code is configured in Pleo's QuickBooks Online settings.",
            );
            return;
        };
        match self.query_all::<JournalCode>("JournalCode", " where Active IN (true, false)") {
            Ok(codes) => plan.record(rules::journal_code(reference, &codes, &self.company_name)),
            Err(fetch) => {
                plan.record(self.failure(id::JOURNAL_CODE, Subject::Data("journal codes"), &fetch))
            }
        }
    }

    /// Every `entity` matching `filter`, page by page.
    fn query_all<T: serde::de::DeserializeOwned>(
        &self,
        entity: &str,
        filter: &str,
    ) -> Result<Vec<T>, Fetch> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let start = page * PAGE_SIZE + 1;
            let query = format!(
                "select * from {entity}{filter} startposition {start} maxresults {PAGE_SIZE}"
            );
            let response = self.api.get(&self.path("query", Some(&query)))?;
            let parsed = response
                .json::<QueryResponse>()
                .and_then(|answer| answer.entities::<T>(entity));
            let rows = match parsed {
                Ok(rows) => rows,
                Err(error) => return Err(Fetch::Body(response, error)),
            };
            let full = rows.len() >= PAGE_SIZE;
            all.extend(rows);
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// `{resource}?query=…&minorversion=75`, below the company's API.
    fn path(&self, resource: &str, query: Option<&str>) -> String {
        let query = query.map_or_else(String::new, |query| {
            format!("query={}&", percent_encode(query))
        });
        format!("{resource}?{query}minorversion={MINOR_VERSION}")
    }

    /// The check for a failed call of rule `id` about `subject`: QuickBooks'
    /// faults first, the SDK's transport mapping otherwise.
    fn failure(&self, id: &str, subject: Subject<'_>, fetch: &Fetch) -> Check {
        match fetch {
            Fetch::Status(response) => {
                rules::failure(id, subject, response, self.subscription.as_deref())
            }
            _ => fetch.check(id, DISPLAY_NAME),
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for the
/// query-language statement in `?query=`.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_schema_matches_the_settings() {
        assert_eq!(
            preflight_sdk::settings::check_schema::<QuickBooks>(),
            Ok(())
        );
    }

    #[test]
    fn info_names_quickbooks_online() {
        let info = QuickBooks::info();
        assert_eq!(info.display_name, "QuickBooks Online");
        assert_eq!(info.accounting_system, "quickbooks");
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            percent_encode("select * from Account where Active IN (true, false)"),
            "select%20%2A%20from%20Account%20where%20Active%20IN%20%28true%2C%20false%29"
        );
    }

    #[test]
    fn settings_refuse_unknown_fields_and_blank_values() {
        let parsed = preflight_sdk::settings::parse::<Settings>(
            r#"{"accounts": {"expenses": "625100", "contra": "512100"}, "taxCode": "TVA 20 %"}"#,
        )
        .expect("valid settings");
        assert!(parsed.attachments.on());
        assert!(QuickBooks::check_settings(&parsed).is_empty());

        let unknown = preflight_sdk::settings::parse::<Settings>(
            r#"{"accounts": {"expenses": "1", "contra": "2"}, "realm": "1"}"#,
        )
        .unwrap_err();
        assert!(
            unknown.message.contains("unknown field `realm`"),
            "{}",
            unknown.message
        );

        let blank = preflight_sdk::settings::parse::<Settings>(
            r#"{"accounts": {"expenses": " ", "contra": "2"}, "journalCode": ""}"#,
        )
        .expect("parses");
        let fields: Vec<String> = QuickBooks::check_settings(&blank)
            .into_iter()
            .map(|error| error.field)
            .collect();
        assert_eq!(fields, ["accounts.expenses", "journalCode"]);
    }
}
