//! Pre-export validation rules for Fortnox.
//!
//! The steps of Pleo's pre-export validation how-to, in Fortnox's terms
//! (docs/accounting-systems.md §3):
//!
//! 1. connectivity and authentication: `GET /3/companyinformation`, the cheap
//!    call every token with the `companyinformation` scope may make;
//! 2. company context: a Fortnox token is bound to one company, whose
//!    `DatabaseNumber` / `OrganizationNumber` must be the configured ones;
//! 3. the financial year covering the export date exists;
//! 4. permissions and licences for the operations the export needs, probed
//!    read-only (never by creating records): vouchers and the configured
//!    voucher series; suppliers and supplier invoices when the job uses vendor
//!    bookkeeping; the inbox and voucher file connections when receipts are
//!    attached;
//! 5. the accounts and VAT code the configuration books with exist in the
//!    financial year's chart of accounts.
//!
//! Refusals are judged by Fortnox's `ErrorInformation.code` (2000310/2000311
//! token, 2000663 scope, 2001101 licence, 2001103 API licence) before the
//! status, because Fortnox's statuses are inconsistent.
//!
//! Every report lists `fortnox.settings` (the SDK's) and then
//! [`rules::RULES`], in that order, whatever happens.
//!
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - `settings.schema.json`: the settings' JSON Schema, `plugin-info.settings-schema`;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from Fortnox's answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{Api, Fetch};
use preflight_sdk::settings::{Accounts, Attachments};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, FailureReason, Plan, PluginInfo, Rule, SettingsError,
    Validator, export_validator,
};
use serde::Deserialize;

use model::{
    Account, AccountsPage, CompanyInformationAnswer, FinancialYear, FinancialYears,
    VoucherSeriesCollection,
};
use rules::{Access, DISPLAY_NAME, id};

/// The company's Fortnox settings (`settings.schema.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The company's name as the finance team knows it, for messages before
    /// Fortnox has named the company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// The Swedish organisation number the connected company must have, e.g.
    /// `556677-8899`; checked besides the database number (`tenantId`).
    #[serde(default)]
    pub organization_number: Option<String>,
    /// The voucher series Pleo books vouchers in, e.g. `A`.
    pub voucher_series: String,
    /// The account numbers Pleo books to, e.g. `6991` and `1930`.
    pub accounts: Accounts,
    /// The VAT code of expense lines, e.g. `MP1` (input VAT 25 %).
    #[serde(default)]
    pub vat_code: Option<String>,
    /// Whether receipts are attached to vouchers (default true).
    #[serde(default)]
    pub attachments: Attachments,
}

/// A BAS account number: four digits, 1000 to 9999 (Fortnox's `Account.Number`).
fn account_number(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.len() != 4 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|number| *number >= 1000)
}

/// 1 to 10 ASCII letters or digits: the shape of voucher series and VAT codes.
fn is_short_code(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.len() <= 10 && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The Fortnox validator.
pub struct Fortnox;

impl Validator for Fortnox {
    type Settings = Settings;

    const RULES: &'static [Rule] = rules::RULES;

    fn info() -> PluginInfo {
        PluginInfo::new("fortnox", env!("CARGO_PKG_VERSION"), "fortnox")
            .display_name(DISPLAY_NAME)
            .description(
                "Pre-export validation for Fortnox: connection, company, financial year, \
                 licences and scopes, voucher series, accounts, VAT code",
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
        let mut refuse = |field: &str, message: String| {
            errors.push(SettingsError {
                field: field.to_owned(),
                message,
            });
        };
        for (purpose, number) in settings.accounts.by_purpose() {
            if account_number(number).is_none() {
                refuse(
                    &format!("accounts.{purpose}"),
                    format!(
                        "'{number}' is not a Fortnox account number (four digits, 1000 to 9999)"
                    ),
                );
            }
        }
        if !is_short_code(&settings.voucher_series) {
            refuse(
                "voucherSeries",
                format!(
                    "'{}' is not a Fortnox voucher series code (1 to 10 letters or digits)",
                    settings.voucher_series
                ),
            );
        }
        if let Some(vat_code) = &settings.vat_code
            && !is_short_code(vat_code)
        {
            refuse(
                "vatCode",
                format!("'{vat_code}' is not a Fortnox VAT code (1 to 10 letters or digits)"),
            );
        }
        if let Some(number) = &settings.organization_number {
            let digits = rules::organization_digits(number);
            let allowed = number
                .trim()
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-');
            if !allowed || digits.len() != 10 {
                refuse(
                    "organizationNumber",
                    format!(
                        "'{number}' is not a Swedish organisation number (10 digits, e.g. \
                         556677-8899)"
                    ),
                );
            }
        }
        errors
    }

    fn validate(job: &ExportJob, config: &Config<Settings>, plan: &mut Plan) {
        let settings = &config.settings;
        let database_number = config.tenant_id.as_deref().map(str::trim);
        let organization_number = settings.organization_number.as_deref();
        if database_number.is_none() && organization_number.is_none() {
            plan.record(rules::no_company_configured());
            return;
        }
        // The API lives under `/3/`; a base URL configured with it is accepted too.
        let base = config.base_url.trim_end_matches("/3");
        let run = Run {
            api: Api::new(format!("{base}/3")),
            database_number,
            organization_number,
            label: rules::company_label(
                settings.company_name.as_deref(),
                database_number,
                organization_number,
            ),
        };
        run.all(job, settings, plan);
    }
}

export_validator!(Fortnox);

/// At most this many pages of the chart of accounts are read (500 accounts
/// each, Fortnox's largest page); a BAS chart has far fewer.
const MAX_ACCOUNT_PAGES: u32 = 10;

/// One validation: the company's Fortnox coordinates.
struct Run<'a> {
    /// `{base_url}/3`, the root of every resource; the host attaches the
    /// bearer token.
    api: Api,
    database_number: Option<&'a str>,
    organization_number: Option<&'a str>,
    /// How messages name the company until Fortnox has named it.
    label: String,
}

impl Run<'_> {
    fn all(&self, job: &ExportJob, settings: &Settings, plan: &mut Plan) {
        let Some(company) = self.connection(plan) else {
            return;
        };
        if plan.is_blocked() {
            return;
        }
        let Some(year) = self.financial_year(job, &company, plan) else {
            return;
        };
        self.vouchers(&year, plan);
        self.voucher_series(&year, &settings.voucher_series, &company, plan);
        if plan.is_blocked() {
            return;
        }
        self.vendors(plan);
        self.attachments(settings, plan);
        if plan.is_blocked() {
            return;
        }
        self.accounts(settings, &year, &company, plan);
    }

    /// `GET /3/companyinformation`: the token works, and names its company,
    /// which must be the configured one. Returns the company's name.
    fn connection(&self, plan: &mut Plan) -> Option<String> {
        match self
            .api
            .get_json::<CompanyInformationAnswer>("companyinformation")
        {
            Ok(answer) => {
                plan.record(Check::passed(
                    id::CONNECTION,
                    "Fortnox is reachable and accepts Pleo's connection.",
                ));
                let info = answer.company_information;
                plan.record(rules::company(
                    &info,
                    self.database_number,
                    self.organization_number,
                ));
                let name = if info.company_name.trim().is_empty() {
                    self.label.trim_matches('\'').to_owned()
                } else {
                    info.company_name
                };
                Some(name)
            }
            Err(fetch) => {
                plan.record(failure(id::CONNECTION, &fetch, &rules::COMPANY_INFORMATION));
                None
            }
        }
    }

    /// `GET /3/financialyears?date=…`: the year the export is booked in.
    fn financial_year(
        &self,
        job: &ExportJob,
        company: &str,
        plan: &mut Plan,
    ) -> Option<FinancialYear> {
        let Some(date) = rules::export_date(&job.created_at) else {
            plan.record(
                Check::failed(
                    id::FINANCIAL_YEAR,
                    FailureReason::ValidationFailure,
                    "This export has no readable creation date, so its Fortnox financial year \
                     cannot be found. Start the export again from Pleo.",
                )
                .with_hint(format!("createdAt '{}' is not RFC 3339", job.created_at)),
            );
            return None;
        };
        match self
            .api
            .get_json::<FinancialYears>(&format!("financialyears?date={date}"))
        {
            Ok(answer) => {
                let check = rules::financial_year(&answer.financial_years, date, company);
                let found = !check.blocks();
                plan.record(check);
                if !found {
                    return None;
                }
                answer
                    .financial_years
                    .into_iter()
                    .find(|year| year.from_date.as_str() <= date && date <= year.to_date.as_str())
            }
            Err(fetch) => {
                plan.record(failure(id::FINANCIAL_YEAR, &fetch, &rules::BOOKKEEPING));
                None
            }
        }
    }

    /// Vouchers may be read, so the `bookkeeping` scope and licence are there;
    /// a scope grants read and write alike (docs/accounting-systems.md §3,
    /// "Scopes"), and a validator never creates a voucher to find out.
    fn vouchers(&self, year: &FinancialYear, plan: &mut Plan) {
        let resource = format!("vouchers?financialyear={}&limit=1", year.id);
        match self.api.get_json::<serde_json::Value>(&resource) {
            Ok(_) => plan.record(Check::passed(
                id::VOUCHERS,
                "Pleo may book vouchers in Fortnox.",
            )),
            Err(fetch) => plan.record(failure(id::VOUCHERS, &fetch, &rules::BOOKKEEPING)),
        }
    }

    /// The configured voucher series exists in the financial year.
    fn voucher_series(&self, year: &FinancialYear, code: &str, company: &str, plan: &mut Plan) {
        let resource = format!("voucherseries?financialyear={}", year.id);
        match self.api.get_json::<VoucherSeriesCollection>(&resource) {
            Ok(answer) => plan.record(rules::voucher_series(&answer.voucher_series, code, company)),
            Err(fetch) => plan.record(failure(id::VOUCHER_SERIES, &fetch, &rules::BOOKKEEPING)),
        }
    }

    /// Suppliers and supplier invoices, needed only when the job books against
    /// vendors; each has its own scope, and supplier invoices their licence.
    fn vendors(&self, plan: &mut Plan) {
        for (rule, resource, access, passed) in [
            (
                id::SUPPLIERS,
                "suppliers?limit=1",
                &rules::SUPPLIERS,
                "Pleo may use Fortnox's supplier register for vendor bookkeeping.",
            ),
            (
                id::SUPPLIER_INVOICES,
                "supplierinvoices?limit=1",
                &rules::SUPPLIER_INVOICES,
                "Pleo may book supplier invoices in Fortnox for vendor bookkeeping.",
            ),
        ] {
            if !plan.applies(rule) {
                continue;
            }
            match self.api.get_json::<serde_json::Value>(resource) {
                Ok(_) => plan.record(Check::passed(rule, passed)),
                Err(fetch) => plan.record(failure(rule, &fetch, access)),
            }
        }
    }

    /// Receipts go to the inbox's vouchers folder (`inbox_v`) and are then
    /// connected to the voucher (docs/accounting-systems.md §3, "Attachment"); both
    /// are probed read-only.
    fn attachments(&self, settings: &Settings, plan: &mut Plan) {
        if !settings.attachments.on() {
            plan.skip_attachments_off(id::ATTACHMENTS);
            return;
        }
        let probes: [(&str, &Access); 2] = [
            ("inbox?path=inbox_v", &rules::INBOX),
            ("voucherfileconnections?limit=1", &rules::FILE_CONNECTIONS),
        ];
        for (resource, access) in probes {
            if let Err(fetch) = self.api.get_json::<serde_json::Value>(resource) {
                plan.record(failure(id::ATTACHMENTS, &fetch, access));
                return;
            }
        }
        plan.record(Check::passed(
            id::ATTACHMENTS,
            "Pleo may upload receipts to Fortnox's inbox and attach them to vouchers.",
        ));
    }

    /// The configured accounts and VAT code, against the financial year's
    /// chart of accounts.
    fn accounts(&self, settings: &Settings, year: &FinancialYear, company: &str, plan: &mut Plan) {
        let chart = self.chart(year);
        for (purpose, number) in settings.accounts.by_purpose() {
            match &chart {
                Ok(chart) => {
                    // `check_settings` has refused anything but four digits already.
                    let number = account_number(number).unwrap_or_default();
                    plan.record(rules::account(purpose, number, chart, company));
                }
                Err(fetch) => plan.record(failure(
                    &format!("{}.{purpose}", id::ACCOUNTS),
                    fetch,
                    &rules::BOOKKEEPING,
                )),
            }
        }
        match (&settings.vat_code, &chart) {
            (None, _) => plan.skip(
                id::VAT_CODE,
                "No VAT code is set in Pleo's Fortnox settings.",
            ),
            (Some(vat_code), Ok(chart)) => plan.record(rules::vat_code(vat_code, chart, company)),
            (Some(_), Err(fetch)) => plan.record(failure(id::VAT_CODE, fetch, &rules::BOOKKEEPING)),
        }
    }

    /// Every page of `GET /3/accounts?financialyear=…`.
    fn chart(&self, year: &FinancialYear) -> Result<Vec<Account>, Fetch> {
        let mut accounts = Vec::new();
        for page in 1..=MAX_ACCOUNT_PAGES {
            let resource = format!("accounts?financialyear={}&limit=500&page={page}", year.id);
            let answer = self.api.get_json::<AccountsPage>(&resource)?;
            let last = answer.accounts.is_empty() || page >= answer.meta.total_pages;
            accounts.extend(answer.accounts);
            if last {
                break;
            }
        }
        Ok(accounts)
    }
}

/// The check for a failed call of rule `id` probing `access`: Fortnox's error
/// codes first, then the SDK's mapping of transport errors and bodies.
fn failure(id: &str, fetch: &Fetch, access: &Access) -> Check {
    match fetch {
        Fetch::Status(response) => rules::refused(id, response, access),
        _ => fetch.check(id, DISPLAY_NAME),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: serde_json::Value) -> Result<Settings, SettingsError> {
        preflight_sdk::settings::parse(&json.to_string())
    }

    fn valid() -> serde_json::Value {
        serde_json::json!({
            "voucherSeries": "P",
            "accounts": { "expenses": "6991", "contra": "1930" },
            "vatCode": "MP1",
            "organizationNumber": "556677-8899",
        })
    }

    #[test]
    fn valid_settings_pass() {
        let parsed = settings(valid()).expect("parses");
        assert!(parsed.attachments.on(), "attachments default to on");
        assert!(Fortnox::check_settings(&parsed).is_empty());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut json = valid();
        json["taxType"] = "INPUT".into();
        let error = settings(json).expect_err("unknown field");
        assert!(
            error.message.contains("unknown field `taxType`"),
            "{error:?}"
        );
    }

    #[test]
    fn malformed_codes_name_their_field() {
        let mut json = valid();
        json["accounts"]["contra"] = "193".into();
        json["voucherSeries"] = "P 1".into();
        json["vatCode"] = "".into();
        json["organizationNumber"] = "55667".into();
        let errors = Fortnox::check_settings(&settings(json).expect("parses"));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "accounts.contra",
                "voucherSeries",
                "vatCode",
                "organizationNumber"
            ]
        );
    }

    #[test]
    fn account_numbers_are_four_digits() {
        assert_eq!(account_number("6991"), Some(6991));
        assert_eq!(account_number(" 1930 "), Some(1930));
        assert_eq!(account_number("0930"), None);
        assert_eq!(account_number("69910"), None);
        assert_eq!(account_number("69a1"), None);
    }

    // The rule plan replaced the skipping by position in a rule list that
    // `rules_from` served; what that test held (the order, the vendor rules
    // among them) is held on the declared rules instead.
    #[test]
    fn rules_are_declared_in_the_order_they_run() {
        let ids: Vec<&str> = Fortnox::RULES.iter().map(|rule| rule.id).collect();
        assert_eq!(
            ids,
            [
                id::CONNECTION,
                id::COMPANY,
                id::FINANCIAL_YEAR,
                id::VOUCHERS,
                id::VOUCHER_SERIES,
                id::SUPPLIERS,
                id::SUPPLIER_INVOICES,
                id::ATTACHMENTS,
                id::ACCOUNTS_EXPENSES,
                id::ACCOUNTS_CONTRA,
                id::VAT_CODE,
            ]
        );
        let vendor: Vec<&str> = Fortnox::RULES
            .iter()
            .filter(|rule| rule.applies == preflight_sdk::plan::Applies::WithVendorBookkeeping)
            .map(|rule| rule.id)
            .collect();
        assert_eq!(vendor, [id::SUPPLIERS, id::SUPPLIER_INVOICES]);
    }

    #[test]
    fn the_settings_schema_matches_the_settings() {
        assert_eq!(preflight_sdk::settings::check_schema::<Fortnox>(), Ok(()));
    }

    #[test]
    fn info_names_fortnox() {
        let info = Fortnox::info();
        assert_eq!(info.display_name, "Fortnox");
        assert_eq!(info.accounting_system, "fortnox");
    }
}
