//! Response bodies: Pleo's media type, the `{"data": …}` wrapper and the `ExceptionInfo`
//! error body (docs/pleo-export-api.md §1, §1.2).

use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The media type of every Pleo request and response body (docs/pleo-export-api.md §1).
pub(super) const MEDIA_TYPE: &str = "application/json;charset=UTF-8";

/// `body` with `status` and Pleo's media type.
pub(super) fn json_body(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

/// `{"data": value}`, the wrapper of single-object answers (docs/pleo-export-api.md §1).
pub(super) fn data(status: StatusCode, value: Value) -> Response {
    json_body(status, &json!({ "data": value }))
}

/// An error answer with an `ExceptionInfo` body `{"type", "message"}`. Types are the
/// UPPER_SNAKE form the spec's examples use (docs/pleo-export-api.md §1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) kind: &'static str,
    pub(super) message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 400 for a request the emulator cannot make sense of; the exact body Pleo sends is
    /// undocumented (docs/pleo-export-api.md §7, §8 q7).
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 400 for a missing required parameter or field (ERRS `required_parameter_missing`).
    pub(super) fn required_parameter_missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "REQUIRED_PARAMETER_MISSING",
            format!("Required parameter '{name}' is missing."),
        )
    }

    /// 401 for a missing, malformed or unknown credential (docs/pleo-export-api.md §1.1).
    pub(super) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Missing or invalid credentials.",
        )
    }

    /// 403 for a credential that may not do what was asked (docs/pleo-export-api.md §1.1).
    pub(super) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 404 for an unknown job, or one of a company the credential cannot see (E3, E5, E6).
    pub(super) fn export_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "EXPORT_NOT_FOUND",
            "Export job not found.",
        )
    }

    /// 404 for a path the API does not have (ERRS `not_found`).
    pub(super) fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Resource not found.")
    }

    /// 405 for a known path with the wrong method.
    pub(super) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "Method not allowed.",
        )
    }

    /// 409 when the company already has a pending or in-progress job (E2).
    pub(super) fn already_in_progress() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "EXPORT_ALREADY_IN_PROGRESS",
            "Export Job already in progress for this company.",
        )
    }

    /// 413 for more than 100 item updates in one call (E6).
    pub(super) fn items_update_limit() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "EXPORT_JOB_ITEMS_UPDATE_LIMIT",
            "Number of items to update is more than 100.",
        )
    }

    /// 422 for an event the job's status does not allow (E4, docs/pleo-export-api.md §3.1).
    pub(super) fn invalid_status_change() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_EXPORT_JOB_STATUS_CHANGE",
            "Export Job status change failed",
        )
    }

    /// 422 for item updates on a finished job (E6).
    pub(super) fn job_finished() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "EXPORT_JOB_STATUS_UNPROCESSABLE",
            "Export job is finished.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "type": self.kind, "message": self.message });
        let mut response = json_body(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names the schemes it accepts (docs/pleo-export-api.md
            // §1.1).
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="pleo", Basic realm="pleo""#),
            );
        }
        response
    }
}

/// Fallback for paths the emulator does not serve.
pub(super) async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}

/// Fallback for served paths called with another method.
pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
