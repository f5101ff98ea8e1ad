//! The bodies and headers of Xero's answers: the success envelope and every error shape.

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::dates;
use super::state::Remaining;

/// Shown as `ProviderName`; real Xero echoes the name of the calling app there.
const PROVIDER_NAME: &str = "Preflight Xero emulator";

const X_DAY_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-daylimit-remaining");
const X_MIN_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-minlimit-remaining");
const X_APP_MIN_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-appminlimit-remaining");
const X_RATE_LIMIT_PROBLEM: HeaderName = HeaderName::from_static("x-rate-limit-problem");

/// A 200 accounting answer: `{"Id","Status":"OK","ProviderName","DateTimeUTC", key: items}`,
/// the envelope every example in xero_accounting.yaml shows.
pub(super) fn envelope(key: &str, items: Vec<Value>) -> Response {
    envelope_with(key, items, None)
}

/// Like [`envelope`], plus the `pagination` object that paged list calls return
/// (OpenAPI schema `Pagination`).
pub(super) fn envelope_with(key: &str, items: Vec<Value>, pagination: Option<Value>) -> Response {
    let mut body = Map::new();
    body.insert("Id".into(), Value::String(Uuid::new_v4().to_string()));
    body.insert("Status".into(), Value::String("OK".into()));
    body.insert("ProviderName".into(), Value::String(PROVIDER_NAME.into()));
    body.insert(
        "DateTimeUTC".into(),
        Value::String(dates::ms_date(dates::now_ms())),
    );
    if let Some(pagination) = pagination {
        body.insert("pagination".into(), pagination);
    }
    body.insert(key.into(), Value::Array(items));
    Json(Value::Object(body)).into_response()
}

/// 404 with an empty body, as observed for unknown ids (docs/accounting-systems.md §1).
pub(super) fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// Xero's problem envelope `{"Type":null,"Title","Status","Detail","Instance","Extensions":{}}`
/// (docs/accounting-systems.md §1, "Errors").
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({
        "Type": null,
        "Title": title,
        "Status": status.as_u16(),
        "Detail": detail,
        "Instance": Uuid::new_v4().to_string(),
        "Extensions": {},
    });
    (status, Json(body)).into_response()
}

fn with_header(mut response: Response, name: HeaderName, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// 401 for a missing or wrong bearer token.
pub(super) fn authentication_failed() -> Response {
    with_header(
        problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "AuthenticationUnsuccessful",
        ),
        WWW_AUTHENTICATE,
        r#"Bearer error="invalid_token""#,
    )
}

/// 401 for an expired access token; it expired 30 minutes before `now_ms`, i.e. one full
/// access-token lifetime ago (docs/accounting-systems.md §1: access tokens last 30 min).
pub(super) fn token_expired(now_ms: i64) -> Response {
    const THIRTY_MINUTES_MS: i64 = 30 * 60 * 1_000;
    let detail = format!(
        "TokenExpired: token expired at {}",
        dates::us_timestamp(now_ms - THIRTY_MINUTES_MS)
    );
    with_header(
        problem(StatusCode::UNAUTHORIZED, "Unauthorized", &detail),
        WWW_AUTHENTICATE,
        r#"Bearer error="invalid_token", error_description="The access token expired""#,
    )
}

/// 403 for a tenant header that is missing, wrong or not connected.
pub(super) fn forbidden() -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "AuthenticationUnsuccessful",
    )
}

/// 401 for a token lacking the endpoint's scope; the status is unverified, the header is
/// reported (docs/accounting-systems.md §1: "have the fake return 401 with that header").
pub(super) fn insufficient_scope() -> Response {
    with_header(
        problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "AuthorizationUnsuccessful",
        ),
        WWW_AUTHENTICATE,
        r#"Bearer error="insufficient_scope""#,
    )
}

/// 429 for an exhausted minute limit, with `Retry-After` and `X-Rate-Limit-Problem`
/// (developer.xero.com/faq/limits via docs/accounting-systems.md §1).
pub(super) fn rate_limited(retry_after_secs: u32, remaining: Remaining) -> Response {
    let response = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "Rate limit exceeded",
    );
    let mut response = with_header(response, RETRY_AFTER, &retry_after_secs.to_string());
    Remaining {
        minute: 0,
        ..remaining
    }
    .apply(&mut response);
    with_header(response, X_RATE_LIMIT_PROBLEM, "minute")
}

/// 503 `Not Available`, Xero's answer during scheduled outages (docs/accounting-systems.md §1).
pub(super) fn unavailable() -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "Not Available",
    )
}

/// 400 `ValidationException` (Xero error number 10); each element is the rejected object
/// with its `ValidationErrors` (OpenAPI schemas `Error`, `Element`, `ValidationError`).
pub(super) fn validation_failed(elements: Vec<Value>) -> Response {
    let body = json!({
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// 400 for a body that is not JSON at all (Xero error number 14, `PostDataInvalidException`).
pub(super) fn invalid_json(reason: &str) -> Response {
    let body = json!({
        "ErrorNumber": 14,
        "Type": "PostDataInvalidException",
        "Message": format!("Invalid Json data: {reason}"),
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

impl Remaining {
    /// Sets the three limit headers every Xero response carries
    /// (developer.xero.com/faq/limits via docs/accounting-systems.md §1).
    pub(super) fn apply(self, response: &mut Response) {
        let headers = response.headers_mut();
        headers.insert(X_DAY_LIMIT_REMAINING, HeaderValue::from(self.day));
        headers.insert(X_MIN_LIMIT_REMAINING, HeaderValue::from(self.minute));
        headers.insert(
            X_APP_MIN_LIMIT_REMAINING,
            HeaderValue::from(self.app_minute),
        );
    }
}
