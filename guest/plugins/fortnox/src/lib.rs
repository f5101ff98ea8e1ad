//! Pre-export validation rules for Fortnox.
//!
//! The steps of Pleo's pre-export validation how-to, in Fortnox's terms
//! (accounting-systems.md §3):
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
//! # Layout
//!
//! - `lib.rs`: settings and the order of the steps;
//! - [`rules`]: what each answer means, as pure functions with the messages;
//! - [`model`]: the shapes read from Fortnox's answers.

pub mod model;
pub mod rules;

use preflight_sdk::http::{self, Fetch};
use preflight_sdk::{
    Capability, Check, Config, ExportJob, FailureReason, PluginInfo, Report, SettingsError,
    Validator, export_validator,
};
use serde::Deserialize;

use model::{
    Account, AccountsPage, CompanyInformationAnswer, FinancialYear, FinancialYears,
    VoucherSeriesCollection,
};
use rules::{Access, FORTNOX, id};

/// The company's Fortnox settings.
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
    /// The account numbers Pleo books to.
    pub accounts: AccountSettings,
    /// The VAT code of expense lines, e.g. `MP1` (input VAT 25 %).
    #[serde(default)]
    pub vat_code: Option<String>,
    /// Whether receipts are attached to vouchers (default true).
    #[serde(default = "default_true")]
    pub attachments: bool,
}

/// Account numbers by what Pleo uses them for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountSettings {
    /// Where expenses without a category account are booked, e.g. `6991`.
    pub expenses: String,
    /// The balancing account of card and wallet transactions, e.g. `1930`.
    pub contra: String,
}

fn default_true() -> bool {
    true
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

    fn info() -> PluginInfo {
        PluginInfo::new("fortnox", env!("CARGO_PKG_VERSION"), "fortnox")
            .description(
                "Pre-export validation for Fortnox: connection, company, financial year, \
                 licences and scopes, voucher series, accounts, VAT code",
            )
            .capabilities(&[
                Capability::JournalEntries,
                Capability::VendorBookkeeping,
                Capability::Attachments,
            ])
    }

    fn check_settings(settings: &Settings) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        let mut refuse = |field: &str, message: String| {
            errors.push(SettingsError {
                field: field.to_owned(),
                message,
            });
        };
        for (field, number) in [
            ("accounts.expenses", &settings.accounts.expenses),
            ("accounts.contra", &settings.accounts.contra),
        ] {
            if account_number(number).is_none() {
                refuse(
                    field,
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

    fn validate(job: &ExportJob, config: &Config<Settings>) -> Report {
        let mut report = Report::new();
        let settings = &config.settings;
        let database_number = config.tenant_id.as_deref().map(str::trim);
        let organization_number = settings.organization_number.as_deref();
        if database_number.is_none() && organization_number.is_none() {
            skip(
                &mut report,
                job,
                &[id::CONNECTION],
                "Not checked: no Fortnox company is set.",
            );
            report.push(rules::no_company_configured());
            skip(
                &mut report,
                job,
                rules_from(id::FINANCIAL_YEAR),
                NOT_CHECKED,
            );
            return report;
        }
        // The API lives under `/3/`; a base URL configured with it is accepted too.
        let base = config.base_url.trim_end_matches("/3");
        let run = Run {
            api: format!("{base}/3"),
            database_number,
            organization_number,
            label: rules::company_label(
                settings.company_name.as_deref(),
                database_number,
                organization_number,
            ),
        };
        run.all(job, settings, &mut report);
        report
    }
}

export_validator!(Fortnox);

/// Every rule, in the order it runs, for reporting the ones that cannot run.
const ALL_RULES: &[&str] = &[
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
];

/// Why a rule after a blocking one is reported skipped.
const NOT_CHECKED: &str = "Not checked: an earlier check did not pass.";

/// Why the vendor rules are skipped for a job without vendor bookkeeping.
const NO_VENDORS: &str = "This export does not use vendor bookkeeping.";

/// At most this many pages of the chart of accounts are read (500 accounts
/// each, Fortnox's largest page); a BAS chart has far fewer.
const MAX_ACCOUNT_PAGES: u32 = 10;

/// Reports each rule of `rules` skipped with `why`; the vendor rules say that
/// the job does not need them when it does not.
fn skip(report: &mut Report, job: &ExportJob, rules: &[&str], why: &str) {
    for rule in rules {
        let vendor_rule = *rule == id::SUPPLIERS || *rule == id::SUPPLIER_INVOICES;
        if vendor_rule && !job.vendor_based_bookkeeping {
            report.push(Check::skipped(rule, NO_VENDORS));
        } else {
            report.push(Check::skipped(rule, why));
        }
    }
}

/// The rules from `first` on, for [`skip`].
fn rules_from(first: &str) -> &'static [&'static str] {
    let start = ALL_RULES
        .iter()
        .position(|rule| *rule == first)
        .unwrap_or(ALL_RULES.len());
    &ALL_RULES[start..]
}

/// One validation: the company's Fortnox coordinates.
struct Run<'a> {
    /// `{base_url}/3`, the root of every resource.
    api: String,
    database_number: Option<&'a str>,
    organization_number: Option<&'a str>,
    /// How messages name the company until Fortnox has named it.
    label: String,
}

impl Run<'_> {
    fn all(&self, job: &ExportJob, settings: &Settings, report: &mut Report) {
        let Some(company) = self.connection(report) else {
            skip(report, job, rules_from(id::COMPANY), NOT_CHECKED);
            return;
        };
        if report.is_blocked() {
            skip(report, job, rules_from(id::FINANCIAL_YEAR), NOT_CHECKED);
            return;
        }
        let Some(year) = self.financial_year(job, &company, report) else {
            skip(report, job, rules_from(id::VOUCHERS), NOT_CHECKED);
            return;
        };
        self.vouchers(&year, report);
        self.voucher_series(&year, &settings.voucher_series, &company, report);
        if report.is_blocked() {
            skip(report, job, rules_from(id::SUPPLIERS), NOT_CHECKED);
            return;
        }
        self.vendors(job, report);
        self.attachments(settings, report);
        if report.is_blocked() {
            skip(report, job, rules_from(id::ACCOUNTS_EXPENSES), NOT_CHECKED);
            return;
        }
        self.accounts(settings, &year, &company, report);
    }

    /// `GET /3/companyinformation`: the token works, and names its company,
    /// which must be the configured one. Returns the company's name.
    fn connection(&self, report: &mut Report) -> Option<String> {
        match self.get::<CompanyInformationAnswer>("companyinformation") {
            Ok(answer) => {
                report.push(Check::passed(
                    id::CONNECTION,
                    "Fortnox is reachable and accepts Pleo's connection.",
                ));
                let info = answer.company_information;
                report.push(rules::company(
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
                report.push(failure(id::CONNECTION, &fetch, &rules::COMPANY_INFORMATION));
                None
            }
        }
    }

    /// `GET /3/financialyears?date=…`: the year the export is booked in.
    fn financial_year(
        &self,
        job: &ExportJob,
        company: &str,
        report: &mut Report,
    ) -> Option<FinancialYear> {
        let Some(date) = rules::export_date(&job.created_at) else {
            report.push(
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
        match self.get::<FinancialYears>(&format!("financialyears?date={date}")) {
            Ok(answer) => {
                let check = rules::financial_year(&answer.financial_years, date, company);
                let found = !check.blocks();
                report.push(check);
                if !found {
                    return None;
                }
                answer
                    .financial_years
                    .into_iter()
                    .find(|year| year.from_date.as_str() <= date && date <= year.to_date.as_str())
            }
            Err(fetch) => {
                report.push(failure(id::FINANCIAL_YEAR, &fetch, &rules::BOOKKEEPING));
                None
            }
        }
    }

    /// Vouchers may be read, so the `bookkeeping` scope and licence are there;
    /// a scope grants read and write alike (accounting-systems.md §3,
    /// "Scopes"), and a validator never creates a voucher to find out.
    fn vouchers(&self, year: &FinancialYear, report: &mut Report) {
        let resource = format!("vouchers?financialyear={}&limit=1", year.id);
        match self.get::<serde_json::Value>(&resource) {
            Ok(_) => report.push(Check::passed(
                id::VOUCHERS,
                "Pleo may book vouchers in Fortnox.",
            )),
            Err(fetch) => report.push(failure(id::VOUCHERS, &fetch, &rules::BOOKKEEPING)),
        }
    }

    /// The configured voucher series exists in the financial year.
    fn voucher_series(&self, year: &FinancialYear, code: &str, company: &str, report: &mut Report) {
        let resource = format!("voucherseries?financialyear={}", year.id);
        match self.get::<VoucherSeriesCollection>(&resource) {
            Ok(answer) => report.push(rules::voucher_series(&answer.voucher_series, code, company)),
            Err(fetch) => report.push(failure(id::VOUCHER_SERIES, &fetch, &rules::BOOKKEEPING)),
        }
    }

    /// Suppliers and supplier invoices, needed only when the job books against
    /// vendors; each has its own scope, and supplier invoices their licence.
    fn vendors(&self, job: &ExportJob, report: &mut Report) {
        if !job.vendor_based_bookkeeping {
            skip(
                report,
                job,
                &[id::SUPPLIERS, id::SUPPLIER_INVOICES],
                NO_VENDORS,
            );
            return;
        }
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
            match self.get::<serde_json::Value>(resource) {
                Ok(_) => report.push(Check::passed(rule, passed)),
                Err(fetch) => report.push(failure(rule, &fetch, access)),
            }
        }
    }

    /// Receipts go to the inbox's vouchers folder (`inbox_v`) and are then
    /// connected to the voucher (accounting-systems.md §3, "Attachment"); both
    /// are probed read-only.
    fn attachments(&self, settings: &Settings, report: &mut Report) {
        if !settings.attachments {
            report.push(Check::skipped(
                id::ATTACHMENTS,
                "Receipts are not attached: turned off in Pleo's Fortnox settings.",
            ));
            return;
        }
        let probes: [(&str, &Access); 2] = [
            ("inbox?path=inbox_v", &rules::INBOX),
            ("voucherfileconnections?limit=1", &rules::FILE_CONNECTIONS),
        ];
        for (resource, access) in probes {
            if let Err(fetch) = self.get::<serde_json::Value>(resource) {
                report.push(failure(id::ATTACHMENTS, &fetch, access));
                return;
            }
        }
        report.push(Check::passed(
            id::ATTACHMENTS,
            "Pleo may upload receipts to Fortnox's inbox and attach them to vouchers.",
        ));
    }

    /// The configured accounts and VAT code, against the financial year's
    /// chart of accounts.
    fn accounts(
        &self,
        settings: &Settings,
        year: &FinancialYear,
        company: &str,
        report: &mut Report,
    ) {
        let configured = [
            ("expenses", &settings.accounts.expenses),
            ("contra", &settings.accounts.contra),
        ];
        let chart = match self.chart(year) {
            Ok(chart) => chart,
            Err(fetch) => {
                for rule in [id::ACCOUNTS_EXPENSES, id::ACCOUNTS_CONTRA] {
                    report.push(failure(rule, &fetch, &rules::BOOKKEEPING));
                }
                if settings.vat_code.is_some() {
                    report.push(failure(id::VAT_CODE, &fetch, &rules::BOOKKEEPING));
                }
                return;
            }
        };
        for (purpose, number) in configured {
            // `check_settings` has refused anything but four digits already.
            let number = account_number(number).unwrap_or_default();
            report.push(rules::account(purpose, number, &chart, company));
        }
        match &settings.vat_code {
            Some(vat_code) => report.push(rules::vat_code(vat_code, &chart, company)),
            None => report.push(Check::skipped(
                id::VAT_CODE,
                "No VAT code is set in Pleo's Fortnox settings.",
            )),
        }
    }

    /// Every page of `GET /3/accounts?financialyear=…`.
    fn chart(&self, year: &FinancialYear) -> Result<Vec<Account>, Fetch> {
        let mut accounts = Vec::new();
        for page in 1..=MAX_ACCOUNT_PAGES {
            let resource = format!("accounts?financialyear={}&limit=500&page={page}", year.id);
            let answer = self.get::<AccountsPage>(&resource)?;
            let last = answer.accounts.is_empty() || page >= answer.meta.total_pages;
            accounts.extend(answer.accounts);
            if last {
                break;
            }
        }
        Ok(accounts)
    }

    /// `GET {base}/3/{resource}`; the host attaches the bearer token.
    fn get<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T, Fetch> {
        http::get_json(format!("{}/{resource}", self.api), &[])
    }
}

/// The check for a failed call of rule `id` probing `access`: Fortnox's error
/// codes first, then the SDK's mapping of transport errors and bodies.
fn failure(id: &str, fetch: &Fetch, access: &Access) -> Check {
    match fetch {
        Fetch::Status(response) => rules::refused(id, response, access),
        _ => fetch.check(id, FORTNOX),
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
        assert!(parsed.attachments, "attachments default to on");
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

    #[test]
    fn skipped_rules_start_where_asked() {
        assert_eq!(rules_from(id::CONNECTION), ALL_RULES);
        assert_eq!(rules_from(id::VAT_CODE), [id::VAT_CODE]);
        assert_eq!(rules_from(id::ACCOUNTS_EXPENSES).len(), 3);
    }
}
