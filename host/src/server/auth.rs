//! The operator token: with `server.token` set, every `/v1` request carries
//! `Authorization: Bearer <token>`; without one, the API's reads are open and
//! its changes are refused, so a registry is never changed by whoever can
//! reach the port.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;

/// Lets a request through if it carries the token (or none is configured).
pub async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    match &state.token {
        None => next.run(request).await,
        Some(token) if presented(&request).is_some_and(|t| same(t, token.expose())) => {
            next.run(request).await
        }
        Some(_) => {
            let mut response = super::error(
                StatusCode::UNAUTHORIZED,
                "this API needs the operator token: Authorization: Bearer <server.token>",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// Refuses changes when no token is configured.
pub async fn changes_need_a_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    if state.token.is_none() {
        return super::error(
            StatusCode::FORBIDDEN,
            "changes through the API are disabled: set server.token (or server.tokenEnv) in the operator configuration",
        )
        .into_response();
    }
    next.run(request).await
}

fn presented(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Compares without an early exit, so timing does not tell how much of a
/// guess was right.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_whole() {
        assert!(super::same("s3cret", "s3cret"));
        assert!(!super::same("s3cret", "s3creT"));
        assert!(!super::same("s3cret", "s3cre"));
        assert!(!super::same("", "x"));
    }
}
