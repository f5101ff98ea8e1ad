//! The API v2.0 entity sets of a company, with the permission-set and licence refusals the
//! scenarios switch on (docs/accounting-systems.md §5, "Permissions" and "Endpoints").

use serde_json::Value;

use super::odata::Target;
use super::state::{Active, Shared};
use super::{Scenario, responses, seed};
use axum::response::Response;

/// What one admitted request asks for.
pub(super) struct Ask<'a> {
    /// The parsed path.
    pub(super) target: Target<'a>,
    /// `$top`, if given.
    pub(super) top: Option<usize>,
    /// `{origin}/v2.0/{tenant}/{environment}/api/v2.0`, for `@odata.context`.
    pub(super) root: String,
    /// The request URI, for not-found messages.
    pub(super) uri: String,
}

/// Answers an admitted request.
pub(super) fn answer(shared: &Shared, active: &Active, ask: Ask<'_>) -> Response {
    let config = &shared.config;
    let metadata = format!("{}/$metadata#", ask.root);
    let company = match ask.target {
        Target::Companies => {
            let items = limit(seed::companies(config, active), ask.top);
            return responses::collection(format!("{metadata}companies"), items);
        }
        Target::Company(company) | Target::Set { company, .. } | Target::Nested { company, .. } => {
            company
        }
    };
    let named = seed::Company::named(config, active, company);
    let known = seed::companies(config, active).into_iter().find(|item| {
        item["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(company))
    });
    let (Some(named), Some(known)) = (named, known) else {
        return responses::company_not_found();
    };
    // Every listed company holds data; the scenarios shape the configured one's only.
    let data = named.shaping(active);
    let context = |set: &str| format!("{metadata}companies({company})/{set}");
    match ask.target {
        Target::Companies => responses::no_resource(&ask.uri),
        Target::Company(_) => responses::entity(format!("{metadata}companies/$entity"), known),
        Target::Set { set, .. } => {
            if let Some(refusal) = refusal(active, set) {
                return refusal;
            }
            let Some(items) = set_items(&data, set) else {
                return responses::no_resource(&ask.uri);
            };
            responses::collection(context(set), limit(items, ask.top))
        }
        Target::Nested {
            parent,
            parent_id,
            set,
            ..
        } => {
            if parent != "journals" || set != "journalLines" {
                return responses::no_resource(&ask.uri);
            }
            if let Some(refusal) = refusal(active, parent).or_else(|| refusal(active, set)) {
                return refusal;
            }
            let batches = seed::journals(&data);
            let exists = batches.iter().any(|journal| {
                journal["id"]
                    .as_str()
                    .is_some_and(|id| id.eq_ignore_ascii_case(parent_id))
            });
            if !exists {
                return responses::no_entity("Gen. Journal Batch", parent_id);
            }
            responses::collection(
                context(&format!("journals({parent_id})/journalLines")),
                Vec::new(),
            )
        }
    }
}

/// The entities of `set` in a company whose data the scenarios `data` shape, or `None` for a
/// set the API does not have.
fn set_items(data: &Active, set: &str) -> Option<Vec<Value>> {
    Some(match set {
        "journals" => seed::journals(data),
        "accounts" => seed::accounts(data),
        "taxGroups" => seed::tax_groups(data),
        "vendors" => seed::vendors(),
        "purchaseInvoices" => seed::purchase_invoices(),
        "attachments" => seed::attachments(),
        _ => return None,
    })
}

/// The refusal the active scenarios give for reading `set`, naming the table behind it.
fn refusal(active: &Active, set: &str) -> Option<Response> {
    match set {
        "journals" if active.has(Scenario::MissingPermission) => Some(
            responses::permission_denied("TableData 232 Gen. Journal Batch Read"),
        ),
        "journalLines" if active.has(Scenario::MissingPermission) => Some(
            responses::permission_denied("TableData 81 Gen. Journal Line Read"),
        ),
        "attachments" if active.has(Scenario::MissingAttachmentsPermission) => Some(
            responses::permission_denied("TableData 130 Incoming Document Read"),
        ),
        "vendors" if active.has(Scenario::PurchasingNotLicensed) => {
            Some(responses::not_licensed("TableData 23 Vendor: Read"))
        }
        "purchaseInvoices" if active.has(Scenario::PurchasingNotLicensed) => Some(
            responses::not_licensed("TableData 38 Purchase Header: Read"),
        ),
        _ => None,
    }
}

/// Applies `$top`.
fn limit(mut items: Vec<Value>, top: Option<usize>) -> Vec<Value> {
    if let Some(top) = top {
        items.truncate(top);
    }
    items
}
