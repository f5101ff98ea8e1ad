//! `/ManualJournals`: listing, fetching and creating manual journals (xero_accounting.yaml,
//! operations `getManualJournals`, `getManualJournal`, `createManualJournals` and
//! `updateOrCreateManualJournals`; schemas `ManualJournal`, `ManualJournalLine`).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use super::attachments::StoredAttachment;
use super::chart;
use super::filter::ListQuery;
use super::state::{Active, Shared};
use super::validation::{self, Draft};
use super::{dates, responses, to_json};

/// Collection key of journal answers and requests.
pub(super) const KEY: &str = "ManualJournals";

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

    /// Sets the line's `TaxAmount`.
    pub(super) fn with_tax_cents(mut self, cents: i64) -> Self {
        self.tax_amount = from_cents(cents);
        self
    }

    /// Sets the line's tracking categories, kept as submitted.
    pub(super) fn with_tracking(mut self, tracking: Vec<Value>) -> Self {
        self.tracking = tracking;
        self
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
/// ("POST = upsert, PUT = create", docs/accounting-systems.md §1).
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
    let submitted = match validation::parse_submission(body) {
        Ok(submitted) => submitted,
        Err(error) => return responses::invalid_json(&error.to_string()),
    };
    let accounts = chart::accounts(active);
    let mut drafts = Vec::with_capacity(submitted.len());
    let mut rejected = Vec::new();
    for journal in submitted {
        match validation::validate(&journal, &accounts) {
            Ok(draft) => drafts.push(draft),
            Err(errors) => rejected.push(validation::with_validation_errors(journal, errors)),
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

/// Cents as the JSON number Xero sends, e.g. `100.5`.
pub(super) fn from_cents(cents: i64) -> f64 {
    cents as f64 / 100.0
}
