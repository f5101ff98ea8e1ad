//! Validation of submitted manual journals, with Xero's `ValidationException` messages
//! where they are known (xero_accounting.yaml, schemas `ManualJournal`,
//! `ManualJournalLine`, `Element`, `ValidationError`).

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::chart::{self, Account};
use super::dates;
use super::journals::{JournalLine, KEY};

/// The journals of a body: `{"ManualJournals":[…]}`, a bare array, or one journal object.
pub(super) fn parse_submission(body: &[u8]) -> Result<Vec<Value>, serde_json::Error> {
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
pub(super) struct Draft {
    pub(super) id: Option<Uuid>,
    pub(super) narration: String,
    pub(super) date_ms: i64,
    pub(super) status: String,
    pub(super) line_amount_types: String,
    pub(super) lines: Vec<JournalLine>,
}

/// Checks a submitted journal the way Xero does for the fields modelled here; messages
/// are Xero's where known (the debit/credit one is from the OpenAPI example).
pub(super) fn validate(
    journal: &Value,
    accounts: &[&'static Account],
) -> Result<Draft, Vec<String>> {
    let mut errors = Vec::new();
    let narration = text_field(journal, "Narration").unwrap_or_default();
    if narration.is_empty() {
        errors.push("Narration must not be empty".to_owned());
    }
    let date_ms = match journal.get("Date") {
        None | Some(Value::Null) => dates::start_of_day(dates::now_ms()),
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
    let lines = validate_lines(journal, &line_amount_types, accounts, &mut errors);
    let id = text_field(journal, "ManualJournalID").and_then(|id| Uuid::parse_str(&id).ok());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Draft {
        id,
        narration,
        date_ms,
        status,
        line_amount_types,
        lines,
    })
}

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
    accounts: &[&'static Account],
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
        if let Some(line) = validate_line(line, cents, line_amount_types, accounts, errors) {
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
    accounts: &[&'static Account],
    errors: &mut Vec<String>,
) -> Option<JournalLine> {
    let account = account_of(line, accounts, errors);
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
    let tracking = match line.get("Tracking") {
        Some(Value::Array(tracking)) => tracking.clone(),
        _ => Vec::new(),
    };
    let journal_line = JournalLine::new(
        cents,
        account.code,
        account.id,
        description.as_deref(),
        &tax_type,
    );
    Some(
        journal_line
            .with_tax_cents(tax_cents(cents, &tax_type, line_amount_types))
            .with_tracking(tracking),
    )
}

/// The tax in a line (schema `ManualJournalLine.TaxAmount`): added on top of the amount for
/// `Exclusive`, contained in it for `Inclusive`, none for `NoTax`.
fn tax_cents(cents: i64, tax_type: &str, line_amount_types: &str) -> i64 {
    let rate = chart::TAX_RATES
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
    accounts: &[&'static Account],
    errors: &mut Vec<String>,
) -> Option<&'static Account> {
    let (found, reference) =
        if let Some(code) = line.get("AccountCode").filter(|code| !code.is_null()) {
            let code = display(code);
            (
                accounts
                    .iter()
                    .copied()
                    .find(|account| account.code == code),
                code,
            )
        } else if let Some(id) = text_field(line, "AccountID") {
            (
                accounts
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
    chart::TAX_RATES
        .iter()
        .any(|rate| rate.tax_type.eq_ignore_ascii_case(tax_type) && rate.status == "ACTIVE")
}

/// The rejected journal as submitted, plus its `ValidationErrors` (schema `Element`).
pub(super) fn with_validation_errors(journal: Value, errors: Vec<String>) -> Value {
    let mut element = match journal {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    let messages = errors
        .into_iter()
        .map(|message| json!({ "Message": message }))
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

/// Cents as Xero prints money in messages: `100.00`, `-10.00`.
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

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
