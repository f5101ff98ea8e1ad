//! The bodies of QuickBooks Online's answers: the success envelope and every fault shape
//! (docs/accounting-systems.md §2, "Errors").

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::time;

/// A 200 answer: `{key: value, "time": …}`, the shape of every entity read.
pub(super) fn entity(key: &str, value: Value) -> Response {
    let mut body = Map::new();
    body.insert(key.to_owned(), value);
    body.insert("time".to_owned(), now());
    Json(Value::Object(body)).into_response()
}

fn now() -> Value {
    Value::String(time::timestamp(time::now_ms()))
}

/// The usual fault envelope,
/// `{"Fault":{"Error":[{"Message","Detail","code","element"}],"type"},"time"}`.
fn fault(status: StatusCode, kind: &str, code: &str, message: &str, detail: &str) -> Response {
    fault_at(status, kind, code, message, detail, "")
}

fn fault_at(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    detail: &str,
    element: &str,
) -> Response {
    let body = json!({
        "Fault": {
            "Error": [{ "Message": message, "Detail": detail, "code": code, "element": element }],
            "type": kind,
        },
        "time": now(),
    });
    (status, Json(body)).into_response()
}

/// 401 fault 3200 in the lowercase envelope that 401s have been seen with
/// (python-quickbooks#118, #250 via docs/accounting-systems.md §2), `time` in epoch ms.
pub(super) fn authentication_failed(detail: &str) -> Response {
    let body = json!({
        "warnings": null,
        "intuitObject": null,
        "fault": {
            "error": [{
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": detail,
                "code": "3200",
                "element": null,
            }],
            "type": "AUTHENTICATION",
        },
        "report": null,
        "queryResponse": null,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": null,
        "requestId": null,
        "time": time::now_ms(),
        "status": null,
        "cdcresponse": [],
    });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// 403 fault 3100 `AuthorizationFailed`, type `SERVICE` (node-quickbooks#154 and
/// QBOConceptsTutorial-PHP#13 via docs/accounting-systems.md §2).
pub(super) fn authorization_failed(detail: &str) -> Response {
    fault(
        StatusCode::FORBIDDEN,
        "SERVICE",
        "3100",
        "message=AuthorizationFailed; errorCode=003100; statusCode=403",
        detail,
    )
}

/// 429 fault 3001 `ThrottleExceeded`, deliberately without `Retry-After` or rate-limit
/// headers: QuickBooks sends none (docs/accounting-systems.md §2).
pub(super) fn throttled() -> Response {
    fault(
        StatusCode::TOO_MANY_REQUESTS,
        "SERVICE",
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached: at most 500 requests a minute per company.",
    )
}

/// 503 during an outage: a bare page from the edge rather than a fault \[I\].
pub(super) fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
    )
        .into_response()
}

/// 400 fault 5020: the plan does not include the feature (intuit/oauth-jsclient#89; the
/// IPP error-code list via docs/accounting-systems.md §2). `element` names the entity.
pub(super) fn feature_not_in_plan(element: &str) -> Response {
    fault_at(
        StatusCode::BAD_REQUEST,
        "ValidationFault",
        "5020",
        "Permission Denied Error",
        "Permission Denied Error : You do not have the access rights to use this feature.",
        element,
    )
}

/// 400 fault 4000 for a statement the query parser refuses.
pub(super) fn query_parser_error(detail: &str) -> Response {
    fault(
        StatusCode::BAD_REQUEST,
        "ValidationFault",
        "4000",
        "Error parsing query",
        &format!("QueryParserError: {detail}"),
    )
}

/// 400 fault 610 `Object Not Found`, returned as a 400 (docs/accounting-systems.md §2).
pub(super) fn object_not_found(detail: &str) -> Response {
    fault(
        StatusCode::BAD_REQUEST,
        "ValidationFault",
        "610",
        "Object Not Found",
        detail,
    )
}

/// 400 fault 2020 `Required param missing` for an upload that is not the two-part
/// multipart body `/upload` wants.
pub(super) fn required_param_missing(detail: &str) -> Response {
    fault(
        StatusCode::BAD_REQUEST,
        "ValidationFault",
        "2020",
        "Required param missing, need to supply the required value for the API",
        detail,
    )
}
