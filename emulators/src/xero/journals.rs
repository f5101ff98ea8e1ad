//! `/ManualJournals`: listing, fetching and creating manual journals (xero_accounting.yaml,
//! operations `getManualJournals`, `getManualJournal`, `createManualJournals` and
//! `updateOrCreateManualJournals`; schemas `ManualJournal`, `ManualJournalLine`).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::attachments::StoredAttachment;
use super::filter::ListQuery;
use super::seed::{self, Account};
use super::state::{Active, Shared};
use super::{dates, responses, to_json};

/// Collection key of journal answers and requests.
const KEY: &str = "ManualJournals";

/// A stored manual journal. Attachments live here too but are only reported as
/// `HasAttachments`; their metadata is served by `/Attachments`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ManualJournal {
    #[serde(rename = "ManualJournalID")]
    pub(super) id: Uuid,
    pub(super) narration: String,
    pub(super) date: String,
    pub(super) status: String,
    pub(super) line_amount_types: String,
    #[serde(rename = "UpdatedDateUTC")]
    pub(super) updated_date_utc: String,
    pub(super) show_on_cash_basis_reports: bool,
    pub(super) journal_lines: Vec<JournalLine>,
    #[serde(rename = "HasAttachments", serialize_with = "serialize_has_any")]
    pub(super) attachments: Vec<StoredAttachment>,
}

fn serialize_has_any<S: Serializer>(
    attachments: &[StoredAttachment],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(!attachments.is_empty())
}

/// One line of a journal; debits are positive, credits negative.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct JournalLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    tax_type: String,
    line_amount: f64,
    account_code: String,
    #[serde(rename = "AccountID")]
    account_id: String,
    tax_amount: f64,
    tracking: Vec<Value>,
    is_blank: bool,
}

impl JournalLine {
    pub(super) fn new(
        cents: i64,
        code: &str,
        account_id: &str,
        description: Option<&str>,
        tax_type: &str,
    ) -> Self {
        Self {
            description: description.map(str::to_owned),
            tax_type: tax_type.to_owned(),
            line_amount: from_cents(cents),
            account_code: code.to_owned(),
            account_id: account_id.to_owned(),
            tax_amount: 0.0,
            tracking: Vec::new(),
            is_blank: false,
        }
    }
}

/// `GET /ManualJournals`: every stored journal, filtered by `where` and paged by `page`.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
) -> Response {
    let journals: Vec<Value> = shared.journals().iter().map(to_json).collect();
    let (page, pagination) = query.paginate(query.apply_where(journals));
    responses::envelope_with(KEY, page, pagination)
}

/// `GET /ManualJournals/{ManualJournalID}`: one journal, or 404 with an empty body.
pub(super) async fn get_one(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let journals = shared.journals();
    match find(&journals, &id) {
        Some(journal) => responses::envelope(KEY, vec![to_json(journal)]),
        None => responses::not_found(),
    }
}

/// The stored journal with id `id` (any GUID spelling), if there is one.
pub(super) fn find<'a>(journals: &'a [ManualJournal], id: &str) -> Option<&'a ManualJournal> {
    let id = Uuid::parse_str(id.trim()).ok()?;
    journals.iter().find(|journal| journal.id == id)
}

/// The mutable counterpart of [`find`].
pub(super) fn find_mut<'a>(
    journals: &'a mut [ManualJournal],
    id: &str,
) -> Option<&'a mut ManualJournal> {
    let id = Uuid::parse_str(id.trim()).ok()?;
    journals.iter_mut().find(|journal| journal.id == id)
}

/// `PUT /ManualJournals`: creates every journal in the body.
pub(super) async fn create(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    body: Bytes,
) -> Response {
    save(&shared, &active, &body, Mode::Create)
}

/// `POST /ManualJournals`: like PUT, but a known `ManualJournalID` updates that journal
/// ("POST = upsert, PUT = create", accounting-systems.md §1).
pub(super) async fn upsert(
    State(shared): State<Arc<Shared>>,
    Extension(active): Extension<Active>,
    body: Bytes,
) -> Response {
    save(&shared, &active, &body, Mode::Upsert)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Upsert,
}

/// Validates every submitted journal and stores them only if all are valid, like Xero's
/// default `summarizeErrors=true`.
fn save(shared: &Shared, active: &Active, body: &[u8], mode: Mode) -> Response {
    let submitted = match parse_submission(body) {
        Ok(submitted) => submitted,
        Err(error) => return responses::invalid_json(&error.to_string()),
    };
    let chart = seed::chart(active);
    let mut drafts = Vec::with_capacity(submitted.len());
    let mut rejected = Vec::new();
    for journal in submitted {
        match validate(&journal, &chart) {
            Ok(draft) => drafts.push(draft),
            Err(errors) => rejected.push(with_validation_errors(journal, errors)),
        }
    }
    if !rejected.is_empty() {
        return responses::validation_failed(rejected);
    }
    let mut journals = shared.journals();
    let saved = drafts
        .into_iter()
        .map(|draft| to_json(store(&mut journals, draft, mode)))
        .collect();
    responses::envelope(KEY, saved)
}

/// The journals of a body: `{"ManualJournals":[…]}`, a bare array, or one journal object.
fn parse_submission(body: &[u8]) -> Result<Vec<Value>, serde_json::Error> {
    let value: Value = serde_json::from_slice(body)?;
    Ok(match value {
        Value::Object(mut object) => match object.remove(KEY) {
            Some(Value::Array(journals)) => journals,
            Some(other) => vec![other],
            None => vec![Value::Object(object)],
        },
        Value::Array(journals) => journals,
        other => vec![other],
    })
}

/// A submitted journal that passed validation.
struct Draft {
    id: Option<Uuid>,
    narration: String,
    date_ms: i64,
    status: String,
    line_amount_types: String,
    lines: Vec<JournalLine>,
}

/// Checks a submitted journal the way Xero does for the fields modelled here; messages
/// are Xero's where known (the debit/credit one is from the OpenAPI example).
fn validate(journal: &Value, chart: &[&'static Account]) -> Result<Draft, Vec<String>> {
    let mut errors = Vec::new();
    let narration = text_field(journal, "Narration").unwrap_or_default();
    if narration.is_empty() {
        errors.push("Narration must not be empty".to_owned());
    }
    let date_ms = match journal.get("Date") {
        None | Some(Value::Null) => dates::now_ms(),
        Some(date) => date
            .as_str()
            .and_then(dates::parse_date)
            .unwrap_or_else(|| {
                errors.push(format!("The date '{}' is not a valid date", display(date)));
                0
            }),
    };
    let status = choice(journal, "Status", &["DRAFT", "POSTED"], &mut errors);
    let line_amount_types = choice(
        journal,
        "LineAmountTypes",
        &["NoTax", "Exclusive", "Inclusive"],
        &mut errors,
    );
    let lines = validate_lines(journal, &line_amount_types, chart, &mut errors);
    let id = text_field(journal, "ManualJournalID").and_then(|id| Uuid::parse_str(&id).ok());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Draft {
        id,
        narration,
        date_ms: date_ms.div_euclid(DAY_MS) * DAY_MS,
        status,
        line_amount_types,
        lines,
    })
}

const DAY_MS: i64 = 86_400_000;

/// The value of an optional enumerated field, defaulting to the first allowed value.
fn choice(journal: &Value, field: &str, allowed: &[&str], errors: &mut Vec<String>) -> String {
    let Some(value) = text_field(journal, field) else {
        return allowed[0].to_owned();
    };
    match allowed
        .iter()
        .find(|option| option.eq_ignore_ascii_case(&value))
    {
        Some(option) => (*option).to_owned(),
        None => {
            errors.push(format!(
                "{field} '{value}' is not valid; use one of {}",
                allowed.join(", ")
            ));
            allowed[0].to_owned()
        }
    }
}

/// Validates `JournalLines` and checks that debits equal credits. Every readable amount
/// counts towards the totals, even on lines rejected for another reason, so the balance
/// message shows what was actually sent.
fn validate_lines(
    journal: &Value,
    line_amount_types: &str,
    chart: &[&'static Account],
    errors: &mut Vec<String>,
) -> Vec<JournalLine> {
    let submitted = journal
        .get("JournalLines")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if submitted.len() < 2 {
        errors.push("A manual journal must have at least two journal lines".to_owned());
    }
    let mut lines = Vec::with_capacity(submitted.len());
    let (mut debits, mut credits) = (0_i64, 0_i64);
    for line in submitted {
        let cents = line.get("LineAmount").and_then(cents_of);
        match cents {
            Some(cents) if cents >= 0 => debits += cents,
            Some(cents) => credits += cents,
            None => errors.push("Journal lines must have a valid LineAmount".to_owned()),
        }
        if let Some(line) = validate_line(line, cents, line_amount_types, chart, errors) {
            lines.push(line);
        }
    }
    if debits + credits != 0 {
        errors.push(format!(
            "The total debits ({}) must equal total credits ({})",
            money(debits),
            money(credits)
        ));
    }
    lines
}

/// One line: an active account and, if given, an active tax type. `cents` is the line's
/// amount if it was readable.
fn validate_line(
    line: &Value,
    cents: Option<i64>,
    line_amount_types: &str,
    chart: &[&'static Account],
    errors: &mut Vec<String>,
) -> Option<JournalLine> {
    let account = account_of(line, chart, errors);
    let tax_type = match text_field(line, "TaxType") {
        Some(tax_type) if !is_usable_tax_type(&tax_type) => {
            errors.push(format!(
                "The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction."
            ));
            None
        }
        Some(tax_type) => Some(tax_type),
        // Xero falls back to the account's default tax type.
        None => account.map(|account| account.tax_type.to_owned()),
    };
    let (cents, account, tax_type) = (cents?, account?, tax_type?);
    let description = text_field(line, "Description");
    let mut journal_line = JournalLine::new(
        cents,
        account.code,
        account.id,
        description.as_deref(),
        &tax_type,
    );
    journal_line.tax_amount = from_cents(tax_cents(cents, &tax_type, line_amount_types));
    if let Some(Value::Array(tracking)) = line.get("Tracking") {
        journal_line.tracking = tracking.clone();
    }
    Some(journal_line)
}

/// The tax in a line (schema `ManualJournalLine.TaxAmount`): added on top of the amount for
/// `Exclusive`, contained in it for `Inclusive`, none for `NoTax`.
fn tax_cents(cents: i64, tax_type: &str, line_amount_types: &str) -> i64 {
    let rate = seed::TAX_RATES
        .iter()
        .find(|rate| rate.tax_type.eq_ignore_ascii_case(tax_type))
        .map_or(0.0, |rate| rate.rate);
    let amount = cents as f64;
    let tax = match line_amount_types {
        "Exclusive" => amount * rate / 100.0,
        "Inclusive" => amount - amount * 100.0 / (100.0 + rate),
        _ => 0.0,
    };
    tax.round() as i64
}

/// The active account a line refers to by `AccountCode` or `AccountID`.
fn account_of(
    line: &Value,
    chart: &[&'static Account],
    errors: &mut Vec<String>,
) -> Option<&'static Account> {
    let (found, reference) =
        if let Some(code) = line.get("AccountCode").filter(|code| !code.is_null()) {
            let code = display(code);
            (
                chart.iter().copied().find(|account| account.code == code),
                code,
            )
        } else if let Some(id) = text_field(line, "AccountID") {
            (
                chart
                    .iter()
                    .copied()
                    .find(|account| account.id.eq_ignore_ascii_case(&id)),
                id,
            )
        } else {
            errors.push("Journal lines must have an AccountCode".to_owned());
            return None;
        };
    match found {
        Some(account) if account.is_active() => Some(account),
        Some(_) => {
            errors.push(format!(
                "Account code '{reference}' has been archived, or has been deleted. Each line item must reference a valid account."
            ));
            None
        }
        None => {
            errors.push(format!(
                "Account code '{reference}' is not a valid code for this document."
            ));
            None
        }
    }
}

fn is_usable_tax_type(tax_type: &str) -> bool {
    seed::TAX_RATES
        .iter()
        .any(|rate| rate.tax_type.eq_ignore_ascii_case(tax_type) && rate.status == "ACTIVE")
}

/// Stores a validated journal and returns it as stored.
fn store(journals: &mut Vec<ManualJournal>, draft: Draft, mode: Mode) -> &ManualJournal {
    let now = dates::now_ms();
    let existing = match (mode, draft.id) {
        (Mode::Upsert, Some(id)) => journals.iter().position(|journal| journal.id == id),
        _ => None,
    };
    let journal = ManualJournal {
        id: Uuid::new_v4(),
        narration: draft.narration,
        date: dates::ms_date_utc(draft.date_ms),
        status: draft.status,
        line_amount_types: draft.line_amount_types,
        updated_date_utc: dates::ms_date_utc(now),
        show_on_cash_basis_reports: true,
        journal_lines: draft.lines,
        attachments: Vec::new(),
    };
    let index = match existing {
        Some(index) => {
            let stored = &mut journals[index];
            // An update keeps the identity and the files of the journal it replaces.
            let attachments = std::mem::take(&mut stored.attachments);
            *stored = ManualJournal {
                id: stored.id,
                attachments,
                ..journal
            };
            index
        }
        None => {
            journals.push(journal);
            journals.len() - 1
        }
    };
    &journals[index]
}

/// The rejected journal as submitted, plus its `ValidationErrors` (schema `Element`).
fn with_validation_errors(journal: Value, errors: Vec<String>) -> Value {
    let mut element = match journal {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    let messages = errors
        .into_iter()
        .map(|message| serde_json::json!({ "Message": message }))
        .collect();
    element.insert("ValidationErrors".into(), Value::Array(messages));
    Value::Object(element)
}

/// A non-empty text field; numbers are accepted too because account codes are often sent
/// as numbers (the OpenAPI example itself writes `AccountCode: 720`).
fn text_field(object: &Value, field: &str) -> Option<String> {
    let value = object.get(field)?;
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// A JSON value as it would read in a message: strings without quotes.
fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim().to_owned(),
        other => other.to_string(),
    }
}

/// An amount in whole cents; Xero amounts have two decimals. Numeric strings are accepted.
fn cents_of(amount: &Value) -> Option<i64> {
    let amount = match amount {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    // Far beyond any real amount, and well inside i64 cents.
    const LIMIT: f64 = 1e15;
    (amount.is_finite() && amount.abs() < LIMIT).then(|| (amount * 100.0).round() as i64)
}

fn from_cents(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Cents as Xero prints money in messages: `100.00`, `-10.00`.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_has_two_decimals_and_a_sign() {
        assert_eq!(money(10_000), "100.00");
        assert_eq!(money(-1_000), "-10.00");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(money(0), "0.00");
    }

    #[test]
    fn tax_follows_line_amount_types() {
        assert_eq!(tax_cents(10_000, "INPUT", "Exclusive"), 2_500);
        assert_eq!(tax_cents(12_500, "input", "Inclusive"), 2_500);
        assert_eq!(tax_cents(10_000, "INPUT", "NoTax"), 0);
        assert_eq!(tax_cents(10_000, "NONE", "Exclusive"), 0);
    }

    #[test]
    fn amounts_become_whole_cents() {
        assert_eq!(cents_of(&json!(100)), Some(10_000));
        assert_eq!(cents_of(&json!(-0.1)), Some(-10));
        assert_eq!(cents_of(&json!(0.1 + 0.2)), Some(30));
        assert_eq!(cents_of(&json!("12.34")), Some(1_234));
        assert_eq!(cents_of(&json!("abc")), None);
        assert_eq!(cents_of(&json!(null)), None);
    }

    #[test]
    fn submissions_come_wrapped_bare_or_single() {
        let wrapped =
            parse_submission(br#"{"ManualJournals":[{"Narration":"a"},{"Narration":"b"}]}"#);
        assert_eq!(wrapped.map(|journals| journals.len()).ok(), Some(2));
        let single = parse_submission(br#"{"Narration":"a"}"#);
        assert_eq!(single.ok(), Some(vec![json!({"Narration": "a"})]));
        assert!(parse_submission(b"not json").is_err());
    }
}
