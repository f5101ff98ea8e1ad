//! The demo company's data: a French company on QuickBooks Online Plus, with a trimmed
//! Plan Comptable Général chart of accounts, French VAT tax codes and the journal codes
//! QuickBooks keeps for French companies. Entities follow QuickBooks' JSON (Id, SyncToken,
//! `domain`, `sparse`, MetaData); ids are fixed so answers are stable across runs.

use serde_json::{Value, json};

use super::state::Active;
use super::{QuickBooksConfig, Scenario};

/// When every seeded entity was created and last updated.
const META: &str = "2026-01-05T09:12:44-08:00";

/// The plan of the demo company and of the `plan-without-bills` scenario (`OfferingSku`).
const PLAN: &str = "QuickBooks Online Plus";
const PLAN_WITHOUT_BILLS: &str = "QuickBooks Online Simple Start";

/// The company the `wrong-company` scenario shows: the name Intuit gives sandbox companies.
const SANDBOX_COMPANY: &str = "Sandbox Company_US_1";

fn meta() -> Value {
    json!({ "CreateTime": META, "LastUpdatedTime": META })
}

/// `CompanyInfo` of the configured company as the active scenarios show it.
pub(super) fn company_info(config: &QuickBooksConfig, active: &Active) -> Value {
    let (name, country, address) = if active.has(Scenario::WrongCompany) {
        (
            SANDBOX_COMPANY,
            "US",
            json!({ "Id": "1", "Line1": "123 Sierra Way", "City": "San Pablo",
                    "CountrySubDivisionCode": "CA", "PostalCode": "87999", "Country": "US" }),
        )
    } else {
        (
            config.company_name.as_str(),
            "FR",
            json!({ "Id": "1", "Line1": "12 rue de la Paix", "City": "Paris",
                    "PostalCode": "75002", "Country": "FR" }),
        )
    };
    let plan = if active.has(Scenario::PlanWithoutBills) {
        PLAN_WITHOUT_BILLS
    } else {
        PLAN
    };
    json!({
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": address,
        "CustomerCommunicationAddr": address,
        "LegalAddr": address,
        "PrimaryPhone": {},
        "CompanyStartDate": "2024-01-01",
        "FiscalYearStartMonth": "January",
        "Country": country,
        "Email": { "Address": "compta@acme.example" },
        "WebAddr": {},
        "SupportedLanguages": if country == "FR" { "fr" } else { "en" },
        "NameValue": [
            { "Name": "NeoEnabled", "Value": "true" },
            { "Name": "IndustryType", "Value": "Services informatiques" },
            { "Name": "CompanyType", "Value": "SAS" },
            { "Name": "SubscriptionStatus", "Value": "PAID" },
            { "Name": "OfferingSku", "Value": plan },
            { "Name": "PayrollFeature", "Value": "false" },
            { "Name": "AccountantFeature", "Value": "false" },
        ],
        "domain": "QBO",
        "sparse": false,
        "Id": "1",
        "SyncToken": "4",
        "MetaData": meta(),
    })
}

/// (Id, AcctNum, Name, AccountType, AccountSubType, Classification, Active).
type AccountRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

const ACCOUNTS: &[AccountRow] = &[
    (
        "31",
        "401000",
        "Fournisseurs",
        "Accounts Payable",
        "AccountsPayable",
        "Liability",
        true,
    ),
    (
        "32",
        "445660",
        "TVA déductible sur autres biens et services",
        "Other Current Asset",
        "OtherCurrentAssets",
        "Asset",
        true,
    ),
    ("33", "512000", "Banque", "Bank", "Checking", "Asset", true),
    ("34", "512100", "Pleo", "Bank", "Checking", "Asset", true),
    (
        "35",
        "606400",
        "Fournitures administratives",
        "Expense",
        "SuppliesMaterials",
        "Expense",
        true,
    ),
    (
        "36",
        "625100",
        "Voyages et déplacements",
        "Expense",
        "Travel",
        "Expense",
        true,
    ),
    (
        "37",
        "625700",
        "Réceptions",
        "Expense",
        "EntertainmentMeals",
        "Expense",
        true,
    ),
    (
        "38",
        "625800",
        "Ancien compte de frais",
        "Expense",
        "OtherMiscellaneousServiceCost",
        "Expense",
        false,
    ),
    (
        "39",
        "627000",
        "Services bancaires",
        "Expense",
        "BankCharges",
        "Expense",
        true,
    ),
    (
        "40",
        "706000",
        "Prestations de services",
        "Income",
        "ServiceFeeIncome",
        "Revenue",
        true,
    ),
];

/// Account numbers the `accounts-missing` scenario removes: the expense and contra accounts
/// the demo configuration maps.
const MISSING_ACCOUNTS: &[&str] = &["625100", "512100"];

/// The chart of accounts, inactive accounts included.
fn accounts(active: &Active) -> Vec<Value> {
    let hide = active.has(Scenario::AccountsMissing);
    ACCOUNTS
        .iter()
        .filter(|row| !(hide && MISSING_ACCOUNTS.contains(&row.1)))
        .map(|&(id, number, name, kind, sub_type, class, is_active)| {
            json!({
                "Name": name,
                "SubAccount": false,
                "FullyQualifiedName": name,
                "Active": is_active,
                "Classification": class,
                "AccountType": kind,
                "AccountSubType": sub_type,
                "AcctNum": number,
                "CurrentBalance": 0,
                "CurrentBalanceWithSubAccounts": 0,
                "CurrencyRef": { "value": "EUR", "name": "Euro" },
                "domain": "QBO",
                "sparse": false,
                "Id": id,
                "SyncToken": "0",
                "MetaData": meta(),
            })
        })
        .collect()
}

/// (Id, Name, rate percent, applies to purchases, Active).
const TAX_CODES: &[(&str, &str, f64, bool, bool)] = &[
    ("3", "TVA 20 %", 20.0, true, true),
    ("4", "TVA 10 %", 10.0, true, true),
    ("5", "TVA 5,5 %", 5.5, true, true),
    ("6", "Exonéré", 0.0, true, true),
    ("7", "Ventes UE 0 %", 0.0, false, true),
    // France's standard rate until 2014, kept inactive as old companies have it.
    ("8", "TVA 19,6 %", 19.6, true, false),
];

/// The tax code the `tax-code-missing` scenario removes.
const MISSING_TAX_CODE: &str = "TVA 20 %";

fn tax_codes(active: &Active) -> Vec<Value> {
    let hide = active.has(Scenario::TaxCodeMissing);
    TAX_CODES
        .iter()
        .filter(|row| !(hide && row.1 == MISSING_TAX_CODE))
        .map(|&(id, name, rate, purchases, is_active)| {
            let detail = |kind: &str| {
                json!([{
                    "TaxRateRef": { "value": id, "name": format!("{name} ({kind})") },
                    "TaxTypeApplicable": "TaxOnAmount",
                    "TaxOrder": 0,
                    "RateValue": rate,
                }])
            };
            json!({
                "Name": name,
                "Description": name,
                "Active": is_active,
                "Hidden": false,
                "Taxable": rate > 0.0,
                "TaxGroup": true,
                "SalesTaxRateList": { "TaxRateDetail": detail("ventes") },
                "PurchaseTaxRateList": {
                    "TaxRateDetail": if purchases { detail("achats") } else { json!([]) }
                },
                "domain": "QBO",
                "sparse": false,
                "Id": id,
                "SyncToken": "0",
                "MetaData": meta(),
            })
        })
        .collect()
}

/// (Id, Name, Description, Type): the journal codes QuickBooks sets up for French
/// companies; `Type` is one of Expenses, Sales, Bank, Nouveaux, Wages, Cash, Others.
const JOURNAL_CODES: &[(&str, &str, &str, &str)] = &[
    ("1", "ACH", "Achats", "Expenses"),
    ("2", "VTE", "Ventes", "Sales"),
    ("3", "BQ", "Banque", "Bank"),
    ("4", "OD", "Opérations diverses", "Others"),
    ("5", "AN", "A nouveaux", "Nouveaux"),
];

/// The journal code the `journal-code-missing` scenario removes.
const MISSING_JOURNAL_CODE: &str = "ACH";

fn journal_codes(active: &Active) -> Vec<Value> {
    let hide = active.has(Scenario::JournalCodeMissing);
    JOURNAL_CODES
        .iter()
        .filter(|row| !(hide && row.1 == MISSING_JOURNAL_CODE))
        .map(|&(id, name, description, kind)| {
            json!({
                "Name": name,
                "Description": description,
                "Type": kind,
                "Active": true,
                "domain": "QBO",
                "sparse": false,
                "Id": id,
                "SyncToken": "0",
                "MetaData": meta(),
            })
        })
        .collect()
}

fn vendors() -> Vec<Value> {
    [("56", "SNCF Voyageurs"), ("57", "Orange Business")]
        .into_iter()
        .map(|(id, name)| {
            json!({
                "DisplayName": name,
                "CompanyName": name,
                "PrintOnCheckName": name,
                "Active": true,
                "Vendor1099": false,
                "Balance": 0,
                "CurrencyRef": { "value": "EUR", "name": "Euro" },
                "domain": "QBO",
                "sparse": false,
                "Id": id,
                "SyncToken": "0",
                "MetaData": meta(),
            })
        })
        .collect()
}

fn bills() -> Vec<Value> {
    vec![json!({
        "VendorRef": { "value": "57", "name": "Orange Business" },
        "APAccountRef": { "value": "31", "name": "Fournisseurs" },
        "TxnDate": "2026-01-05",
        "DueDate": "2026-02-04",
        "TotalAmt": 120.0,
        "Balance": 120.0,
        "CurrencyRef": { "value": "EUR", "name": "Euro" },
        "Line": [{
            "Id": "1",
            "Amount": 100.0,
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {
                "AccountRef": { "value": "39", "name": "Services bancaires" },
                "TaxCodeRef": { "value": "3" },
                "BillableStatus": "NotBillable",
            },
        }],
        "domain": "QBO",
        "sparse": false,
        "Id": "145",
        "SyncToken": "0",
        "MetaData": meta(),
    })]
}

fn journal_entries() -> Vec<Value> {
    let line = |id: &str, posting: &str, account: (&str, &str)| {
        json!({
            "Id": id,
            "Description": "Pleo: déplacement client",
            "Amount": 84.5,
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {
                "PostingType": posting,
                "AccountRef": { "value": account.0, "name": account.1 },
            },
        })
    };
    vec![json!({
        "DocNumber": "PLEO-0001",
        "TxnDate": "2026-01-05",
        "Adjustment": false,
        "JournalCodeRef": { "value": "1", "name": "ACH" },
        "CurrencyRef": { "value": "EUR", "name": "Euro" },
        "TotalAmt": 84.5,
        "Line": [
            line("0", "Debit", ("36", "Voyages et déplacements")),
            line("1", "Credit", ("34", "Pleo")),
        ],
        "domain": "QBO",
        "sparse": false,
        "Id": "201",
        "SyncToken": "0",
        "MetaData": meta(),
    })]
}

fn attachables() -> Vec<Value> {
    vec![json!({
        "FileName": "receipt-PLEO-0001.pdf",
        "ContentType": "application/pdf",
        "Size": 48213,
        "AttachableRef": [{
            "EntityRef": { "type": "JournalEntry", "value": "201" },
            "IncludeOnSend": false,
        }],
        "domain": "QBO",
        "sparse": false,
        "Id": "5000000000000012345",
        "SyncToken": "0",
        "MetaData": meta(),
    })]
}

/// The entities the query endpoint knows, under their canonical names. Real QuickBooks has
/// many more; these are the ones pre-export validation reads.
pub(super) const ENTITIES: &[&str] = &[
    "Account",
    "TaxCode",
    "JournalCode",
    "Vendor",
    "Bill",
    "JournalEntry",
    "Attachable",
];

/// Every stored `entity` (a name from [`ENTITIES`]), inactive ones included, as the active
/// scenarios show them.
pub(super) fn entities(entity: &str, active: &Active) -> Vec<Value> {
    match entity {
        "Account" => accounts(active),
        "TaxCode" => tax_codes(active),
        "JournalCode" => journal_codes(active),
        "Vendor" => vendors(),
        "Bill" => bills(),
        "JournalEntry" => journal_entries(),
        "Attachable" => attachables(),
        _ => Vec::new(),
    }
}
