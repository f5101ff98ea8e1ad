//! The demo organisation's data: a Danish company on Xero's GLOBAL edition.
//!
//! Ids are fixed so that answers are the same on every run. Field names and enum values
//! follow the schemas of xero_accounting.yaml (and `Connection` in xero-identity.yaml).

use axum::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::attachments::StoredAttachment;
use super::journals::{JournalLine, ManualJournal};
use super::state::Active;
use super::{Scenario, XeroConfig, dates};

// ---------------------------------------------------------------------------------------
// Identity: connections
// ---------------------------------------------------------------------------------------

/// One authorised tenant (xero-identity.yaml, schema `Connection`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Connection {
    id: &'static str,
    auth_event_id: &'static str,
    tenant_id: String,
    tenant_type: &'static str,
    tenant_name: String,
    created_date_utc: &'static str,
    updated_date_utc: &'static str,
}

impl Connection {
    pub(super) fn auth_event_id(&self) -> &str {
        self.auth_event_id
    }
}

/// Both organisations were connected in the same consent, so they share an `authEventId`.
const AUTH_EVENT_ID: &str = "9446732c-751d-45ba-9f72-5985ddcedf02";

/// The second organisation the demo user connected, so that validators have to pick the
/// configured tenant out of a list (accounting-systems.md §1, "Tenant selection").
const OTHER_TENANT_ID: &str = "d4f1825d-47fe-4e29-8737-84cf454928e4";
const OTHER_TENANT_NAME: &str = "Nordlys Consulting AS";

/// The connections the token reaches, shaped by `tenant-not-connected` and `practice-tenant`.
pub(super) fn connections(config: &XeroConfig, active: &Active) -> Vec<Connection> {
    let mut connections = Vec::with_capacity(2);
    if !active.has(Scenario::TenantNotConnected) {
        let tenant_type = if active.has(Scenario::PracticeTenant) {
            "PRACTICE"
        } else {
            "ORGANISATION"
        };
        connections.push(Connection {
            id: "46f63303-57c0-47b8-823f-069f82530b2a",
            auth_event_id: AUTH_EVENT_ID,
            tenant_id: config.tenant_id.clone(),
            tenant_type,
            tenant_name: config.organisation_name.clone(),
            // The identity API's own format: no zone designator, seven fraction digits.
            created_date_utc: "2025-12-01T10:12:44.5165400",
            updated_date_utc: "2025-12-01T10:12:44.5187840",
        });
    }
    connections.push(Connection {
        id: "c5725fdd-a78b-483b-83a3-bcfba190a86e",
        auth_event_id: AUTH_EVENT_ID,
        tenant_id: OTHER_TENANT_ID.into(),
        tenant_type: "ORGANISATION",
        tenant_name: OTHER_TENANT_NAME.into(),
        created_date_utc: "2025-12-01T10:12:44.6021300",
        updated_date_utc: "2025-12-01T10:12:44.6033910",
    });
    connections
}

// ---------------------------------------------------------------------------------------
// Organisation
// ---------------------------------------------------------------------------------------

/// The organisation behind the configured tenant (schema `Organisation`). Its
/// `OrganisationID` is the tenant id, as in real Xero.
pub(super) fn organisation(config: &XeroConfig, active: &Active) -> Value {
    // "Will be set to ACTIVE if you can connect to organisation via the Xero API".
    let status = if active.has(Scenario::OrganisationInactive) {
        "SUSPENDED"
    } else {
        "ACTIVE"
    };
    json!({
        "OrganisationID": config.tenant_id,
        "Name": config.organisation_name,
        "LegalName": config.organisation_name,
        "PaysTax": true,
        "Version": "GLOBAL",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "DKK",
        "CountryCode": "DK",
        "IsDemoCompany": false,
        "OrganisationStatus": status,
        "TaxNumber": "DK31415926",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Inclusive",
        "CreatedDateUTC": dates::ms_date(1_622_539_800_000),
        "OrganisationEntityType": "COMPANY",
        "Timezone": "ROMANCESTANDARDTIME",
        "ShortCode": "!k7Pq2",
        "Class": "PREMIUM",
        "Edition": "BUSINESS",
        "LineOfBusiness": "Software development",
        "Addresses": [{
            "AddressType": "STREET",
            "AddressLine1": "Vesterbrogade 1",
            "City": "København V",
            "PostalCode": "1620",
            "Country": "Denmark",
        }],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    })
}

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

/// The chart of accounts as the active scenarios show it.
pub(super) fn chart(active: &Active) -> Vec<&'static Account> {
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

// ---------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------

/// One contact (schema `Contact`); only the fields validators look at plus a few details.
#[derive(Clone, Copy, Debug)]
pub(super) struct Contact {
    id: &'static str,
    name: &'static str,
    pub(super) status: &'static str,
    is_supplier: bool,
    is_customer: bool,
    email: &'static str,
    tax_number: &'static str,
    currency: &'static str,
    city: &'static str,
    country: &'static str,
}

impl Contact {
    /// The contact as JSON; `summary_only` drops the heavy detail fields, as Xero's
    /// `summaryOnly=true` does.
    pub(super) fn to_json(self, summary_only: bool) -> Value {
        let mut contact = json!({
            "ContactID": self.id,
            "ContactStatus": self.status,
            "Name": self.name,
            "EmailAddress": self.email,
            "TaxNumber": self.tax_number,
            "IsSupplier": self.is_supplier,
            "IsCustomer": self.is_customer,
            "DefaultCurrency": self.currency,
            "UpdatedDateUTC": "/Date(1764583964000+0000)/",
            "HasAttachments": false,
            "HasValidationErrors": false,
        });
        if !summary_only && let Value::Object(fields) = &mut contact {
            fields.insert(
                "Addresses".into(),
                json!([{"AddressType": "STREET", "City": self.city, "Country": self.country}]),
            );
            fields.insert("Phones".into(), json!([]));
            fields.insert("ContactGroups".into(), json!([]));
            fields.insert("ContactPersons".into(), json!([]));
        }
        contact
    }
}

/// Defaults for the contacts below: an active Danish supplier.
const DANISH_SUPPLIER: Contact = Contact {
    id: "",
    name: "",
    status: "ACTIVE",
    is_supplier: true,
    is_customer: false,
    email: "",
    tax_number: "",
    currency: "DKK",
    city: "København",
    country: "Denmark",
};

/// Suppliers Pleo card spend typically goes to, a customer, a contact that is both, and
/// an archived supplier (hidden unless `includeArchived=true`).
pub(super) const CONTACTS: &[Contact] = &[
    Contact {
        id: "8106abc2-cf60-4ac9-84d2-bb1b2a54cc80",
        name: "Nordisk Kontorforsyning ApS",
        email: "faktura@kontorforsyning.dk",
        tax_number: "DK28173645",
        city: "Aarhus",
        ..DANISH_SUPPLIER
    },
    Contact {
        id: "2c9ab78b-774d-45d8-aade-c2a34c859f57",
        name: "Copenhagen Cloud Hosting A/S",
        email: "billing@cphcloud.dk",
        tax_number: "DK39281746",
        ..DANISH_SUPPLIER
    },
    Contact {
        id: "e04cfb79-2394-4bce-ad71-2cf9bc60c378",
        name: "LinkedIn Ireland Unlimited Company",
        email: "billing@linkedin.com",
        tax_number: "IE9740425P",
        currency: "EUR",
        city: "Dublin",
        country: "Ireland",
        ..DANISH_SUPPLIER
    },
    Contact {
        id: "8fe63db3-bc85-41ef-b3df-50ca7aef6785",
        name: "Fjord Analytics ApS",
        is_supplier: false,
        is_customer: true,
        email: "accounts@fjordanalytics.dk",
        tax_number: "DK41526374",
        city: "Odense",
        ..DANISH_SUPPLIER
    },
    Contact {
        id: "ccac02ea-4871-4769-9b09-af37a32a0dcf",
        name: "Danske Rejser A/S",
        is_customer: true,
        email: "kontakt@danskerejser.dk",
        tax_number: "DK17283940",
        city: "Aalborg",
        ..DANISH_SUPPLIER
    },
    Contact {
        id: "36c642e9-a1f4-4ac4-a9f3-8e9f1abfd746",
        name: "Gammel Leverandør ApS",
        status: "ARCHIVED",
        email: "info@gammel-leverandor.dk",
        tax_number: "DK10293847",
        city: "Vejle",
        ..DANISH_SUPPLIER
    },
];

// ---------------------------------------------------------------------------------------
// Manual journals
// ---------------------------------------------------------------------------------------

/// The journals an emulator starts with: a posted card-spend journal with a receipt
/// attached, and a posted reclassification without attachments.
pub(super) fn journals() -> Vec<ManualJournal> {
    let card_spend = ManualJournal {
        id: Uuid::from_u128(0xed6b67ff_8288_46e5_a4ca_3307560fbb77),
        narration: "Pleo card spend November 2025".into(),
        date: dates::ms_date_utc(1_764_460_800_000),
        status: "POSTED".into(),
        line_amount_types: "NoTax".into(),
        updated_date_utc: dates::ms_date_utc(1_764_583_964_000),
        show_on_cash_basis_reports: true,
        journal_lines: vec![
            seeded_line("429", 125_000, "Office supplies"),
            seeded_line("400", 75_000, "LinkedIn campaign"),
            seeded_line("090", -200_000, "Pleo card settlement"),
        ],
        attachments: vec![StoredAttachment {
            id: Uuid::from_u128(0x07ccca64_5009_4744_9c7c_11e8b20bb587),
            file_name: "receipt-2025-11.pdf".into(),
            mime_type: "application/pdf".into(),
            content: Bytes::from_static(b"%PDF-1.4\n% Preflight demo receipt\n%%EOF\n"),
        }],
    };
    let reclassification = ManualJournal {
        id: Uuid::from_u128(0xdd258650_2e45_43e1_bffe_d6206a357dbd),
        narration: "Reclassify conference tickets booked as advertising".into(),
        date: dates::ms_date_utc(1_767_139_200_000),
        status: "POSTED".into(),
        line_amount_types: "NoTax".into(),
        updated_date_utc: dates::ms_date_utc(1_764_583_964_000),
        show_on_cash_basis_reports: true,
        journal_lines: vec![
            seeded_line("400", -50_000, "Conference tickets, wrongly coded"),
            seeded_line("429", 50_000, "Conference tickets"),
        ],
        attachments: Vec::new(),
    };
    vec![card_spend, reclassification]
}

fn seeded_line(code: &str, cents: i64, description: &str) -> JournalLine {
    let account = ACCOUNTS.iter().find(|account| account.code == code);
    JournalLine::new(
        cents,
        code,
        account.map_or("", |account| account.id),
        Some(description),
        "NONE",
    )
}
