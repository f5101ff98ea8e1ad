//! The demo organisation's settings: chart of accounts, tax rates and currencies of a
//! Danish company on Xero's GLOBAL edition (xero_accounting.yaml, schemas `Account`,
//! `TaxRate`, `TaxComponent`, `Currency`). Ids are fixed so answers are stable across runs.

use serde::Serialize;
use serde_json::{Value, json};

use super::Scenario;
use super::state::Active;

// ---------------------------------------------------------------------------------------
// Chart of accounts
// ---------------------------------------------------------------------------------------

/// One account of the chart (schema `Account`). Non-system accounts omit `SystemAccount`,
/// which the schema allows ("either “” or null").
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Account {
    #[serde(rename = "AccountID")]
    pub(super) id: &'static str,
    pub(super) code: &'static str,
    name: &'static str,
    #[serde(rename = "Type")]
    kind: &'static str,
    pub(super) status: &'static str,
    description: &'static str,
    pub(super) tax_type: &'static str,
    class: &'static str,
    enable_payments_to_account: bool,
    show_in_expense_claims: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_account: Option<&'static str>,
    bank_account_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_account_number: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency_code: Option<&'static str>,
    has_attachments: bool,
    #[serde(rename = "UpdatedDateUTC")]
    updated_date_utc: &'static str,
    add_to_watchlist: bool,
}

impl Account {
    const fn new(
        code: &'static str,
        name: &'static str,
        kind: &'static str,
        class: &'static str,
        tax_type: &'static str,
        id: &'static str,
    ) -> Self {
        Self {
            id,
            code,
            name,
            kind,
            status: "ACTIVE",
            description: "",
            tax_type,
            class,
            enable_payments_to_account: false,
            show_in_expense_claims: false,
            system_account: None,
            bank_account_type: "",
            bank_account_number: None,
            currency_code: None,
            has_attachments: false,
            updated_date_utc: "/Date(1764583964000+0000)/",
            add_to_watchlist: false,
        }
    }

    const fn described(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    const fn system(mut self, system_account: &'static str) -> Self {
        self.system_account = Some(system_account);
        self
    }

    const fn in_expense_claims(mut self) -> Self {
        self.show_in_expense_claims = true;
        self
    }

    const fn archived(mut self) -> Self {
        self.status = "ARCHIVED";
        self
    }

    const fn bank(mut self, number: &'static str) -> Self {
        self.bank_account_type = "BANK";
        self.bank_account_number = Some(number);
        self.currency_code = Some("DKK");
        self.add_to_watchlist = true;
        self
    }

    pub(super) fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// Xero's default chart for a new organisation, trimmed, plus one archived expense account.
const ACCOUNTS: &[Account] = &[
    Account::new("090", "Business Bank Account", "BANK", "ASSET", "NONE", "5657327c-5597-45ce-a82e-f2101900a187")
        .bank("5470-0001234567"),
    Account::new("091", "Business Savings Account", "BANK", "ASSET", "NONE", "c49c94a1-494c-49c0-ad2b-22ba9feaeaec")
        .bank("5470-0007654321"),
    Account::new("200", "Sales", "REVENUE", "REVENUE", "OUTPUT", "13baf7ed-8ddb-4b6f-9280-6aa9e4c1cc7b")
        .described("Income from any normal business activity"),
    Account::new("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT", "a8114598-9f1b-447b-8b3b-191cc7b0b756")
        .described("Any other income that does not relate to normal business activities"),
    Account::new("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", "INPUT", "06823bff-dda7-424b-b714-ead8943741d6"),
    Account::new("400", "Advertising", "EXPENSE", "EXPENSE", "INPUT", "1dd0d385-5032-4d85-8982-eea036f3637a")
        .described("Expenses incurred for advertising while trying to increase sales")
        .in_expense_claims(),
    Account::new("404", "Bank Fees", "EXPENSE", "EXPENSE", "NONE", "4002bdb6-db48-497a-8119-baeb1d1d65e8")
        .described("Fees charged by your bank for transactions regarding your bank account(s)."),
    Account::new("412", "Consulting & Accounting", "EXPENSE", "EXPENSE", "INPUT", "7f77923e-df22-4677-99af-eef0f846a1d4"),
    Account::new("420", "Entertainment", "EXPENSE", "EXPENSE", "NONE", "3245ab56-bd7e-45e4-801e-5aa3660eb018")
        .in_expense_claims(),
    Account::new("429", "General Expenses", "EXPENSE", "EXPENSE", "INPUT", "bc755da7-5570-40d2-8ce8-11cf803de7e6")
        .described("General expenses related to the running of the business.")
        .in_expense_claims(),
    Account::new("453", "Office Expenses", "EXPENSE", "EXPENSE", "INPUT", "4b720e1a-17a5-4e02-923b-89eefc5308bf")
        .in_expense_claims(),
    Account::new("485", "Subscriptions", "EXPENSE", "EXPENSE", "INPUT", "06785f30-2eed-496f-8f81-cfb9c2fb3224")
        .in_expense_claims(),
    Account::new("493", "Travel - National", "EXPENSE", "EXPENSE", "INPUT", "d10d580f-6a31-4ee4-af49-9b65dc5d5816")
        .in_expense_claims(),
    Account::new("494", "Travel - International", "EXPENSE", "EXPENSE", "NONE", "af7aa5ad-f517-46ce-bf11-b82735f73335")
        .in_expense_claims(),
    Account::new("499", "Old Expenses", "EXPENSE", "EXPENSE", "INPUT", "c67f7681-b538-4cd2-b9f7-c0ec783cd902")
        .described("Replaced by 429 General Expenses.")
        .archived(),
    Account::new("610", "Accounts Receivable", "CURRENT", "ASSET", "NONE", "b562a4ec-b800-4f55-a32e-9d06923d8906")
        .described("Outstanding invoices the company has issued out to the client but has not yet received in cash at balance date.")
        .system("DEBTORS"),
    Account::new("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "NONE", "044a5b0c-d44b-4a22-b264-d13c302dcce4")
        .described("Outstanding invoices the company has received from suppliers but has not yet paid at balance date")
        .system("CREDITORS"),
    Account::new("820", "Sales Tax", "CURRLIAB", "LIABILITY", "NONE", "4a188b47-abdf-45cb-acc0-09c48410cef5")
        .described("The balance of VAT collected and paid; Danish \"moms\".")
        .system("GST"),
    Account::new("840", "Historical Adjustment", "CURRLIAB", "LIABILITY", "NONE", "66395262-3532-439d-8e26-2aedbf96f160")
        .system("HISTORICAL"),
    Account::new("860", "Rounding", "CURRLIAB", "LIABILITY", "NONE", "57363f69-a1fc-4b8f-990f-f97f73c04eef")
        .system("ROUNDING"),
    Account::new("960", "Retained Earnings", "EQUITY", "EQUITY", "NONE", "c5b2aa6c-c3c1-45f5-8606-7885624ef7e0")
        .system("RETAINEDEARNINGS"),
];

/// Codes the `accounts-missing` scenario removes: the expense and payables accounts a Pleo
/// export usually maps to.
const MISSING_ACCOUNT_CODES: &[&str] = &["429", "800"];

/// Any account of the full chart, whatever the scenarios.
pub(super) fn by_code(code: &str) -> Option<&'static Account> {
    ACCOUNTS.iter().find(|account| account.code == code)
}

/// The chart of accounts as the active scenarios show it.
pub(super) fn accounts(active: &Active) -> Vec<&'static Account> {
    let hide_some = active.has(Scenario::AccountsMissing);
    ACCOUNTS
        .iter()
        .filter(|account| !(hide_some && MISSING_ACCOUNT_CODES.contains(&account.code)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tax rates and currencies
// ---------------------------------------------------------------------------------------

/// One tax rate with a single component (schemas `TaxRate`, `TaxComponent`).
#[derive(Clone, Copy, Debug)]
pub(super) struct TaxRate {
    name: &'static str,
    pub(super) tax_type: &'static str,
    pub(super) status: &'static str,
    report_tax_type: &'static str,
    pub(super) rate: f64,
    /// Which account classes it applies to: assets, equity, expenses, liabilities, revenue.
    applies_to: [bool; 5],
}

impl TaxRate {
    pub(super) fn to_json(self) -> Value {
        let [assets, equity, expenses, liabilities, revenue] = self.applies_to;
        json!({
            "Name": self.name,
            "TaxType": self.tax_type,
            "ReportTaxType": self.report_tax_type,
            "Status": self.status,
            "TaxComponents": [{
                "Name": "VAT",
                "Rate": self.rate,
                "IsCompound": false,
                "IsNonRecoverable": false,
            }],
            "CanApplyToAssets": assets,
            "CanApplyToEquity": equity,
            "CanApplyToExpenses": expenses,
            "CanApplyToLiabilities": liabilities,
            "CanApplyToRevenue": revenue,
            "DisplayTaxRate": self.rate,
            "EffectiveRate": self.rate,
        })
    }
}

/// Danish VAT (25 %) as a GLOBAL-edition organisation sets it up; `TAX…` types are the
/// ones Xero assigns to user-created rates.
pub(super) const TAX_RATES: &[TaxRate] = &[
    TaxRate {
        name: "Input VAT",
        tax_type: "INPUT",
        status: "ACTIVE",
        report_tax_type: "INPUT",
        rate: 25.0,
        applies_to: [true, true, true, true, false],
    },
    TaxRate {
        name: "Output VAT",
        tax_type: "OUTPUT",
        status: "ACTIVE",
        report_tax_type: "OUTPUT",
        rate: 25.0,
        applies_to: [true, true, false, true, true],
    },
    TaxRate {
        name: "No VAT",
        tax_type: "NONE",
        status: "ACTIVE",
        report_tax_type: "NONE",
        rate: 0.0,
        applies_to: [true; 5],
    },
    TaxRate {
        name: "EU Reverse Charge (services)",
        tax_type: "TAX001",
        status: "ACTIVE",
        report_tax_type: "INPUT",
        rate: 25.0,
        applies_to: [true, true, true, true, false],
    },
    TaxRate {
        name: "Old Input VAT 20%",
        tax_type: "TAX002",
        status: "DELETED",
        report_tax_type: "INPUT",
        rate: 20.0,
        applies_to: [true, true, true, true, false],
    },
];

/// The organisation's currencies (schema `Currency`): the base currency first.
pub(super) const CURRENCIES: &[(&str, &str)] = &[
    ("DKK", "Danish Krone"),
    ("EUR", "Euro"),
    ("USD", "United States Dollar"),
];
