//! `GET /Contacts` (xero_accounting.yaml, operation `getContacts`, scope
//! `accounting.contacts`): suppliers are contacts with `IsSupplier` set.

use axum::extract::Query;
use axum::response::Response;

use super::filter::ListQuery;
use super::{responses, seed};

/// Active contacts (archived ones only with `includeArchived=true`), filtered by `where`
/// (e.g. `IsSupplier==true`), paged by `page`, trimmed by `summaryOnly=true`.
pub(super) async fn list(Query(query): Query<ListQuery>) -> Response {
    let include_archived = query.include_archived();
    let contacts = seed::CONTACTS
        .iter()
        .filter(|contact| include_archived || contact.status != "ARCHIVED")
        .map(|contact| contact.to_json(query.summary_only()))
        .collect();
    let (page, pagination) = query.paginate(query.apply_where(contacts));
    responses::envelope_with("Contacts", page, pagination)
}
