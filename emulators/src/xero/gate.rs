//! The checks every routed request passes before a handler sees it: scenarios that fail
//! whole requests, the bearer token, the tenant header and OAuth scopes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::oauth::AccessToken;
use super::state::{Active, Shared};
use super::{Scenario, dates, responses};

/// Header selecting the organisation on accounting calls (docs/accounting-systems.md §1).
const TENANT_HEADER: &str = "xero-tenant-id";

/// The version segment that ends the accounting base path `/api.xro/2.0/`.
const ACCOUNTING_VERSION: &str = "/2.0/";

/// Gate for the identity API (`/connections`): scenarios and token, no tenant header.
pub(super) async fn identity(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let active = match admit(&shared, request.headers()).await {
        Ok(active) => active,
        Err(refusal) => return refusal,
    };
    request.extensions_mut().insert(active);
    next.run(request).await
}

/// Gate for `/api.xro/2.0/…`: everything [`identity`] checks, then the tenant header and
/// the scopes the path needs; admitted answers carry the rate-limit headers.
pub(super) async fn accounting(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let active = match admit(&shared, request.headers()).await {
        Ok(active) => active,
        Err(refusal) => return refusal,
    };
    let Some(tenant) = tenant(&shared, &active, request.headers()) else {
        return responses::forbidden();
    };
    request.extensions_mut().insert(tenant);
    if lacks_scope(&active, request.uri().path()) {
        return responses::insufficient_scope();
    }
    let remaining = shared.consume_quota();
    request.extensions_mut().insert(active);
    let mut response = next.run(request).await;
    remaining.apply(&mut response);
    response
}

/// Applies the request-wide scenarios in the documented order (slow, unavailable,
/// rate-limited, token-expired), then checks the bearer token; a token issued by a refresh
/// is judged by its own lifetime instead of the `token-expired` scenario.
async fn admit(shared: &Shared, headers: &HeaderMap) -> Result<Active, Response> {
    let active = shared.active();
    if active.has(Scenario::Slow) {
        tokio::time::sleep(shared.config.slow_delay).await;
    }
    if active.has(Scenario::Unavailable) {
        return Err(responses::unavailable());
    }
    if active.has(Scenario::RateLimited) {
        return Err(responses::rate_limited(
            shared.config.retry_after_secs,
            shared.remaining_quota(),
        ));
    }
    let token = bearer_token(headers);
    // A token issued by a refresh works for its lifetime, whatever the scenarios say, and
    // is then refused exactly as an expired token is under `token-expired`. The
    // connection's original token is the one that scenario expires.
    match token.map_or(AccessToken::Unknown, |token| shared.access(token)) {
        AccessToken::Fresh => return Ok(active),
        AccessToken::Expired => return Err(responses::token_expired(dates::now_ms())),
        AccessToken::Unknown => {}
    }
    if active.has(Scenario::TokenExpired) {
        return Err(responses::token_expired(dates::now_ms()));
    }
    if token != Some(shared.config.access_token.as_str()) {
        return Err(responses::authentication_failed());
    }
    Ok(active)
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
}

/// The connected organisation the `Xero-tenant-id` header names: every tenant
/// `/connections` lists is usable.
fn tenant(shared: &Shared, active: &Active, headers: &HeaderMap) -> Option<super::seed::Tenant> {
    let id = headers.get(TENANT_HEADER)?.to_str().ok()?;
    super::seed::Tenant::named(&shared.config, active, id)
}

/// Whether the path needs a scope an active missing-scope scenario removed.
fn lacks_scope(active: &Active, path: &str) -> bool {
    let needed = required_scopes(path);
    active.missing_scopes().any(|scope| needed.contains(&scope))
}

/// The classic scopes a path needs, per the `security` entries of xero_accounting.yaml:
/// transactions for journals, invoices and bank transactions, contacts for contacts, and
/// attachments for `/{Resource}/{id}/Attachments…` (on top of the parent resource's scope).
fn required_scopes(path: &str) -> Vec<&'static str> {
    let relative = path
        .split_once(ACCOUNTING_VERSION)
        .map_or(path, |(_, rest)| rest);
    let segments: Vec<&str> = relative.trim_start_matches('/').split('/').collect();
    let mut scopes = Vec::new();
    match segments.first().copied() {
        Some("ManualJournals" | "Invoices" | "BankTransactions") => {
            scopes.push("accounting.transactions")
        }
        Some("Contacts") => scopes.push("accounting.contacts"),
        _ => {}
    }
    // Only the third segment names the attachments collection; a file name may be anything.
    if segments.get(2) == Some(&"Attachments") {
        scopes.push("accounting.attachments");
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers_with_authorization(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(
            bearer_token(&headers_with_authorization("bearer abc")),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers_with_authorization("Bearer  abc ")),
            Some("abc")
        );
        assert_eq!(bearer_token(&headers_with_authorization("Basic abc")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn attachment_paths_need_the_parent_scope_too() {
        assert_eq!(required_scopes("/api.xro/2.0/Accounts"), Vec::<&str>::new());
        assert_eq!(
            required_scopes("/api.xro/2.0/Contacts"),
            ["accounting.contacts"]
        );
        assert_eq!(
            required_scopes("/api.xro/2.0/ManualJournals/x/Attachments/a.pdf"),
            ["accounting.transactions", "accounting.attachments"]
        );
        assert_eq!(
            required_scopes("/api.xro/2.0/ManualJournals/x/Attachments/Contacts"),
            ["accounting.transactions", "accounting.attachments"]
        );
    }
}
