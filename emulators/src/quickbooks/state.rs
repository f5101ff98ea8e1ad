//! State shared by every request of one emulator, and the gate every routed request
//! passes before a handler sees it: request-wide scenarios, the bearer token, the realm and
//! the accounting scope.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::{QuickBooksConfig, Scenario, faults};

/// Everything the handlers of one emulator share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: QuickBooksConfig,
    scenarios: Mutex<Vec<Scenario>>,
}

impl Shared {
    pub(super) fn new(config: QuickBooksConfig) -> Self {
        Self {
            scenarios: Mutex::new(config.scenarios.clone()),
            config,
        }
    }

    /// The scenarios as they are right now; a request keeps this snapshot throughout.
    pub(super) fn active(&self) -> Active {
        Active(lock(&self.scenarios).clone())
    }

    pub(super) fn set_scenarios(&self, scenarios: &[Scenario]) {
        *lock(&self.scenarios) = scenarios.to_vec();
    }
}

/// A poisoned lock only means a panic in another request; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The scenarios active for one request, put into its extensions by the gate.
#[derive(Clone, Debug, Default)]
pub(super) struct Active(Vec<Scenario>);

impl Active {
    pub(super) fn has(&self, scenario: Scenario) -> bool {
        self.0.contains(&scenario)
    }
}

/// Applies the request-wide scenarios in the documented order (slow, unavailable,
/// rate-limited, token-expired), then checks the token, the realm in the path and the
/// scope, and hands the admitted request on with the active scenarios.
pub(super) async fn gate(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let active = shared.active();
    if active.has(Scenario::Slow) {
        tokio::time::sleep(shared.config.slow_delay).await;
    }
    if active.has(Scenario::Unavailable) {
        return faults::unavailable();
    }
    if active.has(Scenario::RateLimited) {
        return faults::throttled();
    }
    if active.has(Scenario::TokenExpired) {
        // Access tokens last one hour (docs/accounting-systems.md §2); the detail names the
        // token the way python-quickbooks#118 shows it.
        return faults::authentication_failed(
            "Token expired: access token expired after 3600 seconds",
        );
    }
    if bearer_token(request.headers()) != Some(shared.config.access_token.as_str()) {
        return faults::authentication_failed("Token invalid");
    }
    if realm(request.uri().path()) != Some(shared.config.realm_id.as_str()) {
        // A token is issued for one realm; any other company is refused \[I\].
        return faults::authorization_failed(
            "Authorization failed: the token was not issued for this company",
        );
    }
    if active.has(Scenario::MissingScope) {
        return faults::authorization_failed("The access token does not have sufficient scope");
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

/// The realm of a `/v3/company/{realmId}/…` path.
fn realm(path: &str) -> Option<&str> {
    path.strip_prefix("/v3/company/")?.split('/').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn realm_comes_from_the_company_path() {
        assert_eq!(realm("/v3/company/123/query"), Some("123"));
        assert_eq!(realm("/v3/company/123"), Some("123"));
        assert_eq!(realm("/v2/company/123/query"), None);
    }
}
