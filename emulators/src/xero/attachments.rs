//! `/ManualJournals/{id}/Attachments…`: files attached to manual journals
//! (xero_accounting.yaml, operations `getManualJournalAttachments`,
//! `getManualJournalAttachmentByFileName`, `createManualJournalAttachmentByFileName`,
//! `updateManualJournalAttachmentByFileName`; schema `Attachment`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::journals::{self, ManualJournal};
use super::state::Shared;
use super::{ACCOUNTING_BASE, responses};

/// Collection key of attachment answers.
const KEY: &str = "Attachments";

/// Xero's per-file limit is 25 MB (docs/accounting-systems.md §1, unverified secondary source);
/// larger uploads are refused with 413 before they reach the handler.
pub(super) const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// Stored when the upload names no type; Xero's spec declares the body as octet-stream.
const DEFAULT_MIME_TYPE: &str = "application/octet-stream";

/// A file attached to a journal, with the bytes as uploaded.
#[derive(Clone, Debug)]
pub(super) struct StoredAttachment {
    pub(super) id: Uuid,
    pub(super) file_name: String,
    pub(super) mime_type: String,
    pub(super) content: Bytes,
}

impl StoredAttachment {
    /// The attachment's metadata; `Url` points back at this emulator, where the file can be
    /// downloaded, as Xero's points at api.xero.com.
    fn to_json(&self, origin: &str, journal_id: Uuid) -> Value {
        json!({
            "AttachmentID": self.id,
            "FileName": self.file_name,
            "Url": format!(
                "{origin}{ACCOUNTING_BASE}/ManualJournals/{journal_id}/Attachments/{}",
                encode_path_segment(&self.file_name)
            ),
            "MimeType": self.mime_type,
            "ContentLength": self.content.len(),
        })
    }
}

/// `GET /ManualJournals/{id}/Attachments`: the journal's attachments, or 404.
pub(super) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(journal_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let journals = shared.journals();
    let Some(journal) = journals::find(&journals, &journal_id) else {
        return responses::not_found();
    };
    let origin = origin(&headers);
    let attachments = journal
        .attachments
        .iter()
        .map(|attachment| attachment.to_json(&origin, journal.id))
        .collect();
    responses::envelope(KEY, attachments)
}

/// `GET /ManualJournals/{id}/Attachments/{FileName or AttachmentID}`: the file's bytes with
/// its stored content type, or 404. Both operations share this path shape in the spec.
pub(super) async fn download(
    State(shared): State<Arc<Shared>>,
    Path((journal_id, name)): Path<(String, String)>,
) -> Response {
    let journals = shared.journals();
    let Some(attachment) =
        journals::find(&journals, &journal_id).and_then(|journal| named(journal, &name))
    else {
        return responses::not_found();
    };
    let content_type = HeaderValue::from_str(&attachment.mime_type)
        .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_MIME_TYPE));
    ([(CONTENT_TYPE, content_type)], attachment.content.clone()).into_response()
}

/// `PUT` or `POST /ManualJournals/{id}/Attachments/{FileName}`: stores the raw body under
/// that name, replacing a file of the same name, and returns its metadata.
pub(super) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((journal_id, file_name)): Path<(String, String)>,
    headers: HeaderMap,
    content: Bytes,
) -> Response {
    let mut journals = shared.journals();
    let Some(journal) = journals::find_mut(&mut journals, &journal_id) else {
        return responses::not_found();
    };
    let mime_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .unwrap_or(DEFAULT_MIME_TYPE)
        .to_owned();
    let attachment = store(journal, file_name, mime_type, content);
    let metadata = attachment.to_json(&origin(&headers), journal.id);
    responses::envelope(KEY, vec![metadata])
}

/// Adds or replaces the file called `file_name`; a replaced file keeps its id.
fn store(
    journal: &mut ManualJournal,
    file_name: String,
    mime_type: String,
    content: Bytes,
) -> StoredAttachment {
    match journal
        .attachments
        .iter_mut()
        .find(|a| a.file_name == file_name)
    {
        Some(existing) => {
            existing.mime_type = mime_type;
            existing.content = content;
            existing.clone()
        }
        None => {
            let attachment = StoredAttachment {
                id: Uuid::new_v4(),
                file_name,
                mime_type,
                content,
            };
            journal.attachments.push(attachment.clone());
            attachment
        }
    }
}

/// The attachment called `name`, or whose id is `name`.
fn named<'a>(journal: &'a ManualJournal, name: &str) -> Option<&'a StoredAttachment> {
    let id = Uuid::parse_str(name).ok();
    journal
        .attachments
        .iter()
        .find(|attachment| attachment.file_name == name || Some(attachment.id) == id)
}

/// `http://<Host>`, the origin the client used to reach this emulator.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| !host.is_empty())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so file names with
/// spaces or non-ASCII letters make valid URLs.
fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(
            encode_path_segment("receipt-2025_11.pdf"),
            "receipt-2025_11.pdf"
        );
        assert_eq!(
            encode_path_segment("kvittering æ 1.pdf"),
            "kvittering%20%C3%A6%201.pdf"
        );
        assert_eq!(encode_path_segment("a/b?c"), "a%2Fb%3Fc");
    }
}
