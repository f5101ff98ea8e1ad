//! The company's credentials on the wire: attached by the host to requests
//! bound for the home origin (never chosen or seen by the plugin), and an
//! OAuth 2.0 access token refreshed once, transparently, when the home
//! origin says it expired (RFC 6749 §6, RFC 6750 §3.1).

use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue};

use super::PluginCtx;
use super::outbound::{Exchange, Outbound};
use super::policy::Origin;
use crate::bindings::wit_http::{self, HttpError};
use crate::config::{Credentials, OAuth};
use crate::oauth::{RefreshError, TokenClient};

/// Sets the company's credentials on a request bound for the home origin.
pub(crate) fn attach(
    credentials: &Credentials,
    headers: &mut reqwest::header::HeaderMap,
) -> Result<(), HttpError> {
    let invalid = |_| {
        HttpError::InvalidRequest(
            "the configured credentials are not a valid header value".to_owned(),
        )
    };
    let bearer = |token: &str, headers: &mut reqwest::header::HeaderMap| -> Result<(), HttpError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(invalid)?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
        Ok(())
    };
    match credentials {
        Credentials::None => {}
        Credentials::Bearer(token) => bearer(token.expose(), headers)?,
        Credentials::OAuth2(oauth) => bearer(oauth.access_token().expose(), headers)?,
        Credentials::Headers(credentials) => {
            for (name, value) in credentials {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| HttpError::InvalidRequest(format!("bad header {name}")))?;
                let mut value = HeaderValue::from_str(value.expose()).map_err(invalid)?;
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
    }
    Ok(())
}

impl Outbound {
    /// Refreshes the company's OAuth access token through the one refresh
    /// path ([`crate::oauth::refresh`]), with this validation's client,
    /// timeout and loopback rule.
    pub(super) async fn refresh(&self, oauth: &OAuth, used: &str) -> Result<(), RefreshError> {
        let via = TokenClient {
            client: &self.client,
            timeout: self.request_timeout,
            allow_http_loopback: self.grants.origins.allow_http_loopback,
        };
        crate::oauth::refresh(&via, oauth, used).await
    }
}

/// True for a 401 that says the access token expired (RFC 6750 §3.1
/// `invalid_token`, or the vendor's own words), as opposed to a missing scope.
fn says_expired(response: &wit_http::Response) -> bool {
    if response.status != 401 {
        return false;
    }
    let challenge = response
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
        .any(|(_, value)| value.contains("invalid_token"));
    let body = String::from_utf8_lossy(&response.body).to_ascii_lowercase();
    challenge || body.contains("expired")
}

impl PluginCtx {
    /// Before a request to the home origin with OAuth credentials whose
    /// access token is about to expire: refresh it first (once per
    /// validation, never in a replay), so the request goes out with a live
    /// token rather than collecting a 401.
    pub(crate) async fn refresh_ahead(&mut self, url: &str) {
        let Credentials::OAuth2(oauth) = &self.outbound.grants.credentials else {
            return;
        };
        if self.outbound.refreshed_ahead
            || self.outbound.grants.replay.is_some()
            || !oauth.tokens().due(std::time::SystemTime::now())
        {
            return;
        }
        let home = url::Url::parse(url)
            .ok()
            .and_then(|url| Origin::of(&url).ok())
            .is_some_and(|origin| origin == self.outbound.grants.origins.home);
        if !home {
            return;
        }
        self.outbound.refreshed_ahead = true;
        let oauth = std::sync::Arc::clone(oauth);
        let used = oauth.access_token();
        match self.outbound.refresh(&oauth, used.expose()).await {
            Ok(()) => {
                tracing::info!(plugin = %self.label, job = %self.job_id, "access token refreshed ahead of its expiry");
            }
            Err(problem) => {
                tracing::warn!(plugin = %self.label, job = %self.job_id, %problem, "refreshing the access token ahead of its expiry failed");
            }
        }
    }

    /// When the home origin answers 401 "expired" to OAuth credentials: record
    /// that exchange, refresh the token once, and send the request again, so
    /// the plugin sees only the answer to the retry.
    pub(crate) async fn refresh_once(
        &mut self,
        request: &wit_http::Request,
        body: Option<&bytes::Bytes>,
        result: Result<wit_http::Response, HttpError>,
        method: &str,
        started: Instant,
    ) -> Result<wit_http::Response, HttpError> {
        let Credentials::OAuth2(oauth) = &self.outbound.grants.credentials else {
            return result;
        };
        let home = url::Url::parse(&request.url)
            .ok()
            .and_then(|url| Origin::of(&url).ok())
            .is_some_and(|origin| origin == self.outbound.grants.origins.home);
        let expired = matches!(&result, Ok(response) if says_expired(response));
        // A replay sends nothing, the token endpoint included: the recorded
        // answer stands.
        if !home || !expired || self.outbound.refreshed || self.outbound.grants.replay.is_some() {
            return result;
        }
        self.outbound.refreshed = true;
        let oauth = std::sync::Arc::clone(oauth);
        let used = oauth.access_token();
        let mut superseded = Exchange::record(
            request,
            body.map(|body| &body[..]),
            method.to_owned(),
            &result,
            started.elapsed(),
            self.outbound.grants.record_bytes,
        );
        superseded.superseded = true;
        self.outbound.exchanges.push(superseded);
        match self.outbound.refresh(&oauth, used.expose()).await {
            Ok(()) => {}
            // The grant is gone: the plugin reads the 401 and asks the
            // customer to reconnect.
            Err(RefreshError::Revoked) => {
                tracing::warn!(plugin = %self.label, job = %self.job_id, "the refresh token was refused; the company must reconnect");
                return result;
            }
            // The token endpoint (or the store) failed: trouble of the
            // moment, not the customer's credentials, so the plugin is told
            // the system could not be reached and the job is retried.
            Err(problem @ RefreshError::Failed(_)) => {
                tracing::warn!(plugin = %self.label, job = %self.job_id, %problem, "refreshing the access token failed");
                return Err(HttpError::Unreachable(self.outbound.redact(&format!(
                    "the access token expired and refreshing it failed: {problem}"
                ))));
            }
        }
        tracing::info!(plugin = %self.label, job = %self.job_id, "access token refreshed");
        match self.outbound.prepare(request, body) {
            Ok((prepared, _)) => self.outbound.execute(prepared).await,
            Err(refused) => Err(refused),
        }
    }
}
