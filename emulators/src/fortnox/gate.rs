//! The checks every routed request passes before a handler sees it: scenarios that fail
//! whole requests, the rate limit, the bearer token, the API licence, then the scope and
//! the licence the path needs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::state::Shared;
use super::{Scenario, responses};

/// Gate for `/3/…`, in the order the module documentation of [`crate::fortnox`] gives.
pub(super) async fn api(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let active = shared.active();
    if active.has(Scenario::Slow) {
        tokio::time::sleep(shared.config.slow_delay).await;
    }
    if active.has(Scenario::Unavailable) {
        return responses::unavailable();
    }
    if active.has(Scenario::RateLimited) || !shared.admit_request() {
        return responses::rate_limited();
    }
    match bearer_token(request.headers()) {
        None => return responses::missing_token(),
        Some(token) if token != shared.config.access_token => return responses::invalid_token(),
        Some(_) if active.has(Scenario::TokenExpired) => return responses::invalid_token(),
        Some(_) => {}
    }
    if active.has(Scenario::NoApiLicence) {
        return responses::no_api_licence();
    }
    if let Some(scope) = required_scope(request.uri().path()) {
        if active.lacks_scope(scope) {
            return responses::missing_scope(scope);
        }
        if active.lacks_licence(scope) {
            return responses::no_licence(scope);
        }
    }
    request.extensions_mut().insert(active);
    next.run(request).await
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 6750 §2.1).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
}

/// The scope a path needs, per Fortnox's scope list (docs/accounting-systems.md §3, "Scopes"):
/// bookkeeping covers accounts, financial years, vouchers and voucher series.
fn required_scope(path: &str) -> Option<&'static str> {
    let resource = path.strip_prefix("/3/")?.split('/').next()?;
    match resource.to_ascii_lowercase().as_str() {
        "companyinformation" => Some("companyinformation"),
        "accounts" | "financialyears" | "vouchers" | "voucherseries" => Some("bookkeeping"),
        "suppliers" => Some("supplier"),
        "supplierinvoices" => Some("supplierinvoice"),
        "inbox" => Some("inbox"),
        "voucherfileconnections" => Some("connectfile"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc "));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn paths_need_their_scope() {
        assert_eq!(
            required_scope("/3/companyinformation"),
            Some("companyinformation")
        );
        assert_eq!(required_scope("/3/accounts/6991"), Some("bookkeeping"));
        assert_eq!(required_scope("/3/voucherseries"), Some("bookkeeping"));
        assert_eq!(
            required_scope("/3/supplierinvoices"),
            Some("supplierinvoice")
        );
        assert_eq!(required_scope("/3/inbox"), Some("inbox"));
        assert_eq!(
            required_scope("/3/voucherfileconnections"),
            Some("connectfile")
        );
        assert_eq!(required_scope("/3/unknown"), None);
        assert_eq!(required_scope("/accounts"), None);
    }
}
