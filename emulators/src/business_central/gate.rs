//! The checks every API request passes before it is routed: scenarios that fail whole
//! requests, the bearer token, the Entra tenant and the environment of the path.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::Response;

use super::Scenario;
use super::responses;
use super::state::{Active, Shared};

/// Applies the request-wide scenarios in the documented order (slow, maintenance, outage,
/// rate-limited, token-expired, app-not-registered), then checks the token, the tenant and
/// the environment named in the path.
pub(super) async fn admit(
    shared: &Shared,
    tenant: &str,
    environment: &str,
    headers: &HeaderMap,
) -> Result<Active, Response> {
    let active = shared.active();
    let config = &shared.config;
    if active.has(Scenario::Slow) {
        tokio::time::sleep(config.slow_delay).await;
    }
    if active.has(Scenario::Maintenance) {
        return Err(responses::maintenance(config.retry_after_secs));
    }
    if active.has(Scenario::Outage) {
        return Err(responses::outage(config.retry_after_secs));
    }
    if active.has(Scenario::RateLimited) {
        return Err(responses::rate_limited());
    }
    if active.has(Scenario::TokenExpired) {
        return Err(responses::token_expired(&config.tenant_id));
    }
    if active.has(Scenario::AppNotRegistered)
        || bearer_token(headers) != Some(config.access_token.as_str())
        // A token is issued for one Entra tenant (its `tid` claim); any other tenant in the
        // path rejects it.
        || !tenant.eq_ignore_ascii_case(&config.tenant_id)
    {
        return Err(responses::invalid_credentials(&config.tenant_id));
    }
    if active.has(Scenario::UnknownEnvironment)
        || !environment.eq_ignore_ascii_case(&config.environment)
    {
        return Err(responses::unknown_environment(environment));
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
}
