//! The demo company's data: company information, financial years, voucher series, a BAS
//! chart of accounts, suppliers, supplier invoices, vouchers, the inbox and file
//! connections. Shapes follow the answers quoted in docs/accounting-systems.md §3; values are
//! fixed so every run answers the same, except that the financial years reach the
//! current year.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::state::Active;
use super::{FortnoxConfig, Scenario};

/// The company a token is bound to under `wrong-company`.
const OTHER_COMPANY_NAME: &str = "Svea Bygg AB";
const OTHER_DATABASE_NUMBER: u64 = 7_654_321;
const OTHER_ORGANIZATION_NUMBER: &str = "559123-4567";

/// The first financial year the company kept in Fortnox.
const FIRST_YEAR: i64 = 2022;
/// The last financial year under `financial-year-missing`.
const LAST_YEAR_WHEN_MISSING: i64 = 2024;
/// The financial years reach at least this year, so fixed test dates stay covered.
const LAST_YEAR_AT_LEAST: i64 = 2027;

/// `CompanyInformation` of the company the token is bound to.
pub(super) fn company_information(config: &FortnoxConfig, active: &Active) -> Value {
    let (name, database_number, organization_number, city) = if active.has(Scenario::WrongCompany) {
        (
            OTHER_COMPANY_NAME.to_owned(),
            OTHER_DATABASE_NUMBER,
            OTHER_ORGANIZATION_NUMBER.to_owned(),
            "Göteborg",
        )
    } else {
        (
            config.company_name.clone(),
            config.database_number,
            config.organization_number.clone(),
            "Stockholm",
        )
    };
    json!({
        "Address": "Storgatan 1",
        "City": city,
        "CountryCode": "SE",
        "DatabaseNumber": database_number,
        "CompanyName": name,
        "OrganizationNumber": organization_number,
        "VisitAddress": "Storgatan 1",
        "VisitCity": city,
        "VisitCountryCode": "SE",
        "VisitZipCode": "111 22",
        "ZipCode": "111 22",
    })
}

/// One financial year: calendar years, accrual accounting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FinancialYear {
    pub(super) id: u32,
    pub(super) from_date: String,
    pub(super) to_date: String,
}

impl FinancialYear {
    /// Whether `date` (`YYYY-MM-DD`) falls in the year.
    pub(super) fn covers(&self, date: &str) -> bool {
        self.from_date.as_str() <= date && date <= self.to_date.as_str()
    }

    pub(super) fn to_json(&self, api: &str) -> Value {
        json!({
            "@url": format!("{api}/financialyears/{}", self.id),
            "Id": self.id,
            "FromDate": self.from_date,
            "ToDate": self.to_date,
            "AccountChartType": format!("BAS {}", &self.from_date[..4]),
            "AccountingMethod": "ACCRUAL",
        })
    }
}

/// Calendar years from 2022 through next year (at least 2027), or through 2024 under
/// `financial-year-missing`; ids count from 1.
pub(super) fn financial_years(active: &Active) -> Vec<FinancialYear> {
    let last = if active.has(Scenario::FinancialYearMissing) {
        LAST_YEAR_WHEN_MISSING
    } else {
        (current_year() + 1).max(LAST_YEAR_AT_LEAST)
    };
    (FIRST_YEAR..=last)
        .zip(1..)
        .map(|(year, id)| FinancialYear {
            id,
            from_date: format!("{year}-01-01"),
            to_date: format!("{year}-12-31"),
        })
        .collect()
}

/// Today, `YYYY-MM-DD` in UTC.
pub(super) fn today() -> String {
    let (year, month, day) = civil_from_days(days_since_epoch());
    format!("{year:04}-{month:02}-{day:02}")
}

fn current_year() -> i64 {
    civil_from_days(days_since_epoch()).0
}

fn days_since_epoch() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    i64::try_from(seconds / 86_400).unwrap_or(0)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// The voucher series of a year: Fortnox's standard A to E, and P, the series the demo
/// company books Pleo's vouchers in (absent under `voucher-series-missing`).
pub(super) fn voucher_series(active: &Active, year: u32, api: &str) -> Vec<Value> {
    let mut series = vec![
        ("A", "Redovisning", true),
        ("B", "Kundfakturor", false),
        ("C", "Kundinbetalningar", false),
        ("D", "Leverantörsfakturor", false),
        ("E", "Leverantörsutbetalningar", false),
    ];
    if !active.has(Scenario::VoucherSeriesMissing) {
        series.push(("P", "Pleo", true));
    }
    series
        .into_iter()
        .map(|(code, description, manual)| {
            json!({
                "@url": format!("{api}/voucherseries/{code}?financialyear={year}"),
                "Code": code,
                "Description": description,
                "Manual": manual,
                "Year": year,
                "ApproverId": 0,
                "ApproverName": "",
            })
        })
        .collect()
}

/// One account of the demo chart: number, description, VAT code, active.
type SeedAccount = (u32, &'static str, Option<&'static str>, bool);

/// A part of the BAS 2026 chart: bank, payables, VAT and the expense accounts a card
/// programme books to. MP1 is input VAT 25 %, MP2 12 %.
const CHART: &[SeedAccount] = &[
    (1930, "Företagskonto/checkkonto/affärskonto", None, true),
    (1940, "Övriga bankkonton", None, true),
    (2440, "Leverantörsskulder", None, true),
    (2641, "Debiterad ingående moms", None, true),
    (
        2893,
        "Skulder till närstående personer, kortfristig del",
        None,
        true,
    ),
    (4010, "Inköp material och varor", Some("MP1"), true),
    (5410, "Förbrukningsinventarier", Some("MP1"), true),
    (5460, "Förbrukningsmaterial", Some("MP1"), true),
    (5611, "Drivmedel för personbilar", Some("MP1"), true),
    (5800, "Resekostnader", Some("MP1"), true),
    (5831, "Kost och logi i Sverige", Some("MP2"), true),
    (6071, "Representation, avdragsgill", Some("MP1"), true),
    (6090, "Övriga försäljningskostnader", Some("MP1"), false),
    (6110, "Kontorsmateriel", Some("MP1"), true),
    (6212, "Mobiltelefon", Some("MP1"), true),
    (6540, "IT-tjänster", Some("MP1"), true),
    (6570, "Bankkostnader", None, true),
    (
        6991,
        "Övriga externa kostnader, avdragsgilla",
        Some("MP1"),
        true,
    ),
    (
        6992,
        "Övriga externa kostnader, ej avdragsgilla",
        None,
        true,
    ),
];

/// The accounts `accounts-missing` removes.
const MISSING_ACCOUNTS: &[u32] = &[6991, 1930];
/// The VAT code `vat-code-missing` removes.
const MISSING_VAT_CODE: &str = "MP1";

/// The chart of accounts of financial year `year`, shaped by `accounts-missing` and
/// `vat-code-missing`.
pub(super) fn accounts(active: &Active, year: u32, api: &str) -> Vec<Value> {
    CHART
        .iter()
        .filter(|(number, ..)| {
            !(active.has(Scenario::AccountsMissing) && MISSING_ACCOUNTS.contains(number))
        })
        .map(|&(number, description, vat_code, is_active)| {
            let vat_code = vat_code.filter(|code| {
                !(active.has(Scenario::VatCodeMissing) && *code == MISSING_VAT_CODE)
            });
            json!({
                "@url": format!("{api}/accounts/{number}?financialyear={year}"),
                "Active": is_active,
                "BalanceBroughtForward": 0.0,
                "CostCenter": null,
                "CostCenterSettings": "ALLOWED",
                "Description": description,
                "Number": number,
                "Project": null,
                "ProjectSettings": "ALLOWED",
                "SRU": sru(number),
                "Year": year,
                "VATCode": vat_code,
            })
        })
        .collect()
}

/// The tax-return (SRU) code of a BAS account, by its class.
fn sru(number: u32) -> u32 {
    match number {
        1000..=1999 => 7281,
        2000..=2999 => 7368,
        _ => 7513,
    }
}

/// Two vouchers booked in series A of `year`.
pub(super) fn vouchers(year: u32, from_date: &str, api: &str) -> Vec<Value> {
    [(1, "Ingående balanser"), (2, "Bankavgifter januari")]
        .into_iter()
        .map(|(number, description)| {
            json!({
                "@url": format!("{api}/vouchers/A/{number}?financialyear={year}"),
                "Comments": "",
                "Description": description,
                "ReferenceNumber": "",
                "ReferenceType": "MANUAL",
                "TransactionDate": from_date,
                "VoucherNumber": number,
                "VoucherSeries": "A",
                "Year": year,
                "ApprovalState": 0,
            })
        })
        .collect()
}

/// The supplier register.
pub(super) fn suppliers(api: &str) -> Vec<Value> {
    [
        ("1", "Kontorsgiganten AB", "556000-1111"),
        ("2", "SJ AB", "556196-1599"),
    ]
    .into_iter()
    .map(|(number, name, organisation_number)| {
        json!({
            "@url": format!("{api}/suppliers/{number}"),
            "Active": true,
            "Address1": "",
            "City": "Stockholm",
            "Email": "",
            "Name": name,
            "OrganisationNumber": organisation_number,
            "Phone": "",
            "SupplierNumber": number,
            "ZipCode": "",
        })
    })
    .collect()
}

/// One booked supplier invoice.
pub(super) fn supplier_invoices(api: &str) -> Vec<Value> {
    vec![json!({
        "@url": format!("{api}/supplierinvoices/1"),
        "Balance": "0",
        "Booked": true,
        "Cancelled": false,
        "Currency": "SEK",
        "DueDate": "2026-02-28",
        "GivenNumber": "1",
        "InvoiceDate": "2026-01-29",
        "InvoiceNumber": "90412",
        "SupplierName": "Kontorsgiganten AB",
        "SupplierNumber": "1",
        "Total": "1250",
    })]
}

/// The inbox's folders: `inbox_v` holds voucher attachments, `inbox_s` supplier invoices
/// (docs/accounting-systems.md §3, "Attachment").
const INBOX_FOLDERS: &[(&str, &str)] = &[
    ("inbox_v", "Verifikationer"),
    ("inbox_s", "Leverantörsfakturor"),
    ("inbox_kf", "Kundfakturor"),
];

/// `Folder` of the inbox root (`path` absent) or of one folder; `None` when no folder has
/// that path.
pub(super) fn inbox_folder(path: Option<&str>, api: &str) -> Option<Value> {
    let Some(path) = path else {
        let folders: Vec<Value> = INBOX_FOLDERS
            .iter()
            .map(
                |(id, name)| json!({ "@url": format!("{api}/inbox/{id}"), "Id": id, "Name": name }),
            )
            .collect();
        return Some(json!({
            "@url": format!("{api}/inbox"),
            "Email": "inbox.1234567@fortnox.se",
            "Files": [],
            "Folders": folders,
            "Id": "root",
            "Name": "root",
        }));
    };
    let (id, name) = INBOX_FOLDERS.iter().find(|(id, _)| *id == path.trim())?;
    Some(json!({
        "@url": format!("{api}/inbox/{id}"),
        "Email": "",
        "Files": [{
            "@url": format!("{api}/inbox/3e0b4c8a-5d1f-4a38-9a53-1b5d1c7e2f10"),
            "Comments": "",
            "Id": "3e0b4c8a-5d1f-4a38-9a53-1b5d1c7e2f10",
            "Name": "kvitto-bankavgift.pdf",
            "Path": format!("{id}/kvitto-bankavgift.pdf"),
            "Size": 48_213,
        }],
        "Folders": [],
        "Id": id,
        "Name": name,
    }))
}

/// One receipt connected to voucher A 2.
pub(super) fn voucher_file_connections(year: u32, api: &str) -> Vec<Value> {
    vec![json!({
        "@url": format!("{api}/voucherfileconnections/4b2a9f3c-9e8d-4c1a-8f5e-2d7c6b1a0e93"),
        "FileId": "4b2a9f3c-9e8d-4c1a-8f5e-2d7c6b1a0e93",
        "VoucherDescription": "Bankavgifter januari",
        "VoucherNumber": "2",
        "VoucherSeries": "A",
        "VoucherYear": year,
    })]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_convert_to_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(today().len(), 10);
    }

    #[test]
    fn financial_years_cover_today_unless_missing() {
        let years = financial_years(&Active::default());
        assert_eq!(years[0].id, 1);
        assert!(years.iter().any(|year| year.covers(&today())));
        assert!(years.iter().any(|year| year.covers("2026-11-25")));

        let missing = financial_years(&Active::from(vec![Scenario::FinancialYearMissing]));
        assert_eq!(
            missing.last().map(|year| year.to_date.as_str()),
            Some("2024-12-31")
        );
        assert!(!missing.iter().any(|year| year.covers("2026-11-25")));
    }

    #[test]
    fn scenarios_shape_the_chart() {
        let api = "http://127.0.0.1/3";
        let numbers = |active: &Active| -> Vec<u64> {
            accounts(active, 1, api)
                .iter()
                .filter_map(|account| account["Number"].as_u64())
                .collect()
        };
        assert!(numbers(&Active::default()).contains(&6991));
        let missing = numbers(&Active::from(vec![Scenario::AccountsMissing]));
        assert!(!missing.contains(&6991) && !missing.contains(&1930));

        let no_vat = accounts(&Active::from(vec![Scenario::VatCodeMissing]), 1, api);
        assert!(no_vat.iter().all(|account| account["VATCode"] != "MP1"));
        assert!(no_vat.iter().any(|account| account["VATCode"] == "MP2"));
    }

    #[test]
    fn voucher_series_p_can_go_missing() {
        let codes = |active: &Active| -> Vec<String> {
            voucher_series(active, 1, "")
                .iter()
                .filter_map(|series| series["Code"].as_str().map(str::to_owned))
                .collect()
        };
        assert!(codes(&Active::default()).contains(&"P".to_owned()));
        assert!(
            !codes(&Active::from(vec![Scenario::VoucherSeriesMissing])).contains(&"P".to_owned())
        );
    }

    #[test]
    fn inbox_has_the_vouchers_folder() {
        assert!(inbox_folder(None, "").is_some());
        assert_eq!(
            inbox_folder(Some("inbox_v"), "").unwrap()["Name"],
            "Verifikationer"
        );
        assert!(inbox_folder(Some("nope"), "").is_none());
    }
}
