//! The bodies and headers of Business Central's answers: OData collections and the OData
//! error envelope (docs/accounting-systems.md §5, "Errors").

use axum::Json;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// OData's JSON media type with the metadata level Business Central answers with.
const ODATA_JSON: &str = "application/json; odata.metadata=minimal; odata.streaming=true";

/// `OData-Version`, sent on every API answer.
const ODATA_VERSION: HeaderName = HeaderName::from_static("odata-version");

/// A 200 collection: `{"@odata.context": "<context>", "value": [ … ]}`.
pub(super) fn collection(context: String, items: Vec<Value>) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    body.insert("value".into(), Value::Array(items));
    odata(StatusCode::OK, Value::Object(body))
}

/// A 200 single entity: its fields plus `@odata.context`.
pub(super) fn entity(context: String, item: Value) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    if let Value::Object(fields) = item {
        body.extend(fields);
    }
    odata(StatusCode::OK, Value::Object(body))
}

fn odata(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    headers.insert(ODATA_VERSION, HeaderValue::from_static("4.0"));
    response
}

/// `{"error":{"code","message"}}`; messages end with a correlation id, as Business
/// Central's do.
pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let message = format!("{message}  CorrelationId:  {}.", Uuid::new_v4());
    odata(
        status,
        json!({ "error": { "code": code, "message": message } }),
    )
}

fn with_header(mut response: Response, name: HeaderName, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// The challenge Business Central sends with a 401; `error_description` is only set for an
/// expired token \[I\].
fn challenge(tenant: &str, description: Option<&str>) -> String {
    let mut value = format!(
        r#"Bearer authorization_uri="https://login.microsoftonline.com/{tenant}/oauth2/authorize", resource_id="https://api.businesscentral.dynamics.com""#
    );
    if let Some(description) = description {
        value.push_str(&format!(
            r#", error="invalid_token", error_description="{description}""#
        ));
    }
    value
}

/// 401 `Authentication_InvalidCredentials`, "The server has rejected the client
/// credentials" (docs/accounting-systems.md §5, "Base / auth"): a wrong or revoked token, a token
/// for another tenant, or an app not registered in Business Central.
pub(super) fn invalid_credentials(tenant: &str) -> Response {
    with_header(
        error(
            StatusCode::UNAUTHORIZED,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        ),
        WWW_AUTHENTICATE,
        &challenge(tenant, None),
    )
}

/// 401 for an expired Entra access token: the same code, with the expiry in the challenge.
pub(super) fn token_expired(tenant: &str) -> Response {
    with_header(
        error(
            StatusCode::UNAUTHORIZED,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        ),
        WWW_AUTHENTICATE,
        &challenge(tenant, Some("The access token expired")),
    )
}

/// 404 for an environment that does not exist in the tenant (docs/accounting-systems.md §5,
/// "Fake-server notes"; the code is the OData not-found code \[I\]).
pub(super) fn unknown_environment(environment: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "BadRequest_NotFound",
        &format!("The environment '{environment}' does not exist."),
    )
}

/// 404 for a path no API page serves, as Business Central words it.
pub(super) fn no_resource(uri: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "BadRequest_NotFound",
        &format!("No HTTP resource was found that matches the request URI '{uri}'."),
    )
}

/// 404 for an id no entity of the set has.
pub(super) fn no_entity(entity: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "BadRequest_NotFound",
        &format!("The {entity} does not exist. Identification fields and values: Id='{id}'"),
    )
}

/// `Internal_CompanyNotFound` for a company id the environment does not hold (the status is
/// not documented \[I\]).
pub(super) fn company_not_found() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Internal_CompanyNotFound",
        "The company does not exist.",
    )
}

/// A permission-set refusal: code `Internal_ServerError`, "Sorry, the current permissions
/// prevented the action. (TableData …)" (docs/accounting-systems.md §5, "Permissions"; the
/// status was not shown there, 403 is the HTTP table's "Forbidden" \[I\]).
pub(super) fn permission_denied(object: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Internal_ServerError",
        &format!(
            "Sorry, the current permissions prevented the action. ({object}: Base Application)"
        ),
    )
}

/// A licence refusal: "Your license does not grant you the following permissions on …" \[I\].
pub(super) fn not_licensed(object: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Internal_ServerError",
        &format!("Your license does not grant you the following permissions on {object}."),
    )
}

/// 429 when throttled (6,000 requests per 5 minutes per user, docs/accounting-systems.md §5); a
/// `Retry-After` on 429 is not documented, so none is sent.
pub(super) fn rate_limited() -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "Application_TooManyRequests",
        "Too many requests reached. Actual (6001). Maximum (6000).",
    )
}

/// 503 with `retry-after`: maintenance or overload (docs/accounting-systems.md §5, "HTTP
/// semantics").
pub(super) fn maintenance(retry_after_secs: u32) -> Response {
    with_header(
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Internal_TenantUnavailable",
            "The environment is being updated. Try again later.",
        ),
        RETRY_AFTER,
        &retry_after_secs.to_string(),
    )
}

/// 502 with `retry-after`, from the gateway in front of the service, so not an OData body.
pub(super) fn outage(retry_after_secs: u32) -> Response {
    with_header(
        (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response(),
        RETRY_AFTER,
        &retry_after_secs.to_string(),
    )
}
