//! The demo organisation's data besides its settings (those are in `chart`): the
//! connections, the organisation, contacts and the journals an emulator starts with.
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
use super::{Scenario, XeroConfig, chart, dates};

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
/// configured tenant out of a list (docs/accounting-systems.md §1, "Tenant selection").
const OTHER_TENANT_ID: &str = "d4f1825d-47fe-4e29-8737-84cf454928e4";
const OTHER_TENANT_NAME: &str = "Nordlys Consulting AS";

/// Which of the connected organisations a request names in `Xero-tenant-id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tenant {
    /// The configured one, which the scenarios shape.
    Configured,
    /// The second organisation of the same consent: usable too, and never
    /// touched by a scenario.
    Other,
}

impl Tenant {
    /// The tenant `id` names, if the token reaches it (ids are GUIDs: case
    /// does not matter).
    pub(super) fn named(config: &XeroConfig, active: &Active, id: &str) -> Option<Tenant> {
        let id = id.trim();
        if id.eq_ignore_ascii_case(OTHER_TENANT_ID) {
            Some(Tenant::Other)
        } else if id.eq_ignore_ascii_case(&config.tenant_id)
            && !active.has(Scenario::TenantNotConnected)
        {
            Some(Tenant::Configured)
        } else {
            None
        }
    }
}

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
pub(super) fn organisation(config: &XeroConfig, active: &Active, tenant: Tenant) -> Value {
    // "Will be set to ACTIVE if you can connect to organisation via the Xero API".
    let status = if tenant == Tenant::Configured && active.has(Scenario::OrganisationInactive) {
        "SUSPENDED"
    } else {
        "ACTIVE"
    };
    let (id, name) = match tenant {
        Tenant::Configured => (config.tenant_id.as_str(), config.organisation_name.as_str()),
        Tenant::Other => (OTHER_TENANT_ID, OTHER_TENANT_NAME),
    };
    json!({
        "OrganisationID": id,
        "Name": name,
        "LegalName": name,
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
    let account = chart::by_code(code);
    JournalLine::new(
        cents,
        code,
        account.map_or("", |account| account.id),
        Some(description),
        "NONE",
    )
}
