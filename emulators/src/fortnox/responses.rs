//! The bodies of Fortnox's answers: the resource envelopes, paging and the
//! `ErrorInformation` every error shares (docs/accounting-systems.md §3, "Errors").

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Invalid (or expired) access token.
pub(super) const INVALID_TOKEN: u64 = 2_000_310;
/// Missing access token.
pub(super) const MISSING_TOKEN: u64 = 2_000_311;
/// Not authorised for the scope.
pub(super) const MISSING_SCOPE: u64 = 2_000_663;
/// No active licence for the scope.
pub(super) const NO_LICENCE: u64 = 2_001_101;
/// No API licence.
pub(super) const NO_API_LICENCE: u64 = 2_001_103;
/// Account not found.
pub(super) const ACCOUNT_NOT_FOUND: u64 = 2_001_304;

/// Fortnox's page size when `limit` is absent, and the largest it accepts.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 500;

/// `{key: value}`, the envelope of every single-resource answer (`{"CompanyInformation":…}`).
pub(super) fn single(key: &str, value: Value) -> Response {
    let mut body = Map::new();
    body.insert(key.to_owned(), value);
    Json(Value::Object(body)).into_response()
}

/// A list answer: `{"MetaInformation":{"@TotalResources","@TotalPages","@CurrentPage"},
/// key: items}`, paged by `limit` (default 100, at most 500) and `page` (from 1).
pub(super) fn list(
    key: &str,
    items: Vec<Value>,
    limit: Option<usize>,
    page: Option<usize>,
) -> Response {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let page = page.unwrap_or(1).max(1);
    let total = items.len();
    let total_pages = total.div_ceil(limit).max(1);
    let items: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .collect();
    let mut body = Map::new();
    body.insert(
        "MetaInformation".to_owned(),
        json!({
            "@TotalResources": total,
            "@TotalPages": total_pages,
            "@CurrentPage": page,
        }),
    );
    body.insert(key.to_owned(), Value::Array(items));
    Json(Value::Object(body)).into_response()
}

/// `{"ErrorInformation":{"error":1,"message":…,"code":…}}` with `status`; `code` is left
/// out where Fortnox documents none.
pub(super) fn error(status: StatusCode, code: Option<u64>, message: &str) -> Response {
    let mut information = Map::new();
    information.insert("error".to_owned(), json!(1));
    information.insert("message".to_owned(), json!(message));
    if let Some(code) = code {
        information.insert("code".to_owned(), json!(code));
    }
    let body = json!({ "ErrorInformation": Value::Object(information) });
    (status, Json(body)).into_response()
}

/// 401 code 2000311: no bearer token at all.
pub(super) fn missing_token() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        Some(MISSING_TOKEN),
        "Kan inte logga in, access-token saknas.",
    )
}

/// 401 code 2000310: a token Fortnox does not accept, wrong or expired; clients see 401
/// although Fortnox documents 403 for failed authentication (docs/accounting-systems.md §3).
pub(super) fn invalid_token() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        Some(INVALID_TOKEN),
        "Ogiltig eller utgången access-token.",
    )
}

/// Code 2000663 for a token without the path's scope. It comes as a 400, as clients
/// report for permission errors, so validators must key on the code.
pub(super) fn missing_scope(scope: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        Some(MISSING_SCOPE),
        &format!("Har inte behörighet för scope {scope}."),
    )
}

/// 403 code 2001101: the company holds no licence for the path's scope.
pub(super) fn no_licence(scope: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        Some(NO_LICENCE),
        &format!("Det finns ingen aktiv licens för önskat scope ({scope})."),
    )
}

/// 403 code 2001103: the company has no licence for the API.
pub(super) fn no_api_licence() -> Response {
    error(
        StatusCode::FORBIDDEN,
        Some(NO_API_LICENCE),
        "Kontot saknar licens för integrationer.",
    )
}

/// 429 without `Retry-After`, which Fortnox does not document (docs/accounting-systems.md §3);
/// Fortnox documents no error code for it either.
pub(super) fn rate_limited() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        "Too many requests: at most 25 requests per 5 seconds.",
    )
}

/// 503 with an empty body: an outage in front of the API, not an answer of the API.
pub(super) fn unavailable() -> Response {
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// 404 for a resource that does not exist.
pub(super) fn not_found(code: Option<u64>, message: &str) -> Response {
    error(StatusCode::NOT_FOUND, code, message)
}

/// 400 for a query parameter Fortnox cannot read.
pub(super) fn bad_parameter(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, None, message)
}
