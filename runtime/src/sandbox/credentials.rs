//! The company's credentials on the wire: attached by the host to requests
//! bound for the home origin (never chosen or seen by the plugin), and an
//! OAuth 2.0 access token refreshed once, transparently, when the home
//! origin says it expired (RFC 6749 §6, RFC 6750 §3.1).

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

use super::PluginCtx;
use super::outbound::{Exchange, Outbound};
use super::policy::Origin;
use crate::bindings::wit_http::{self, HttpError};
use crate::config::{Credentials, OAuth, Secret, Tokens};

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

/// How long a replica may hold a company's refresh lease: past it (the
/// holder crashed), another replica refreshes.
pub const REFRESH_LEASE: Duration = Duration::from_secs(30);

/// Why an access token could not be refreshed.
#[derive(Debug)]
pub(crate) enum RefreshError {
    /// The token endpoint refused the refresh token (`invalid_grant`), now
    /// or earlier: the customer must reconnect.
    Revoked,
    /// Anything else (transport, the keeper, the lease held too long).
    Failed(String),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshError::Revoked => f.write_str(
                "the token endpoint refused the refresh token (invalid_grant): the company must reconnect",
            ),
            RefreshError::Failed(problem) => f.write_str(problem),
        }
    }
}

impl Outbound {
    /// Refreshes the OAuth access token (RFC 6749 §6) unless another
    /// validation of the company (in this process, or another replica
    /// through the keeper) already did since `used` was sent. With a keeper,
    /// one replica refreshes at a time under its lease, and the result is
    /// kept before it is used.
    pub(super) async fn refresh(&self, oauth: &OAuth, used: &str) -> Result<(), RefreshError> {
        let _turn = oauth.refreshing.lock().await;
        if oauth.access_token().expose() != used {
            return Ok(());
        }
        let Some(keeper) = oauth.keeper() else {
            if oauth.tokens().revoked {
                return Err(RefreshError::Revoked);
            }
            let tokens = self.token_endpoint(oauth, &oauth.tokens()).await;
            return match tokens {
                Ok(tokens) => {
                    oauth.adopt(tokens);
                    Ok(())
                }
                Err(error) => {
                    if matches!(error, RefreshError::Revoked) {
                        let mut tokens = oauth.tokens();
                        tokens.revoked = true;
                        oauth.adopt(tokens);
                    }
                    Err(error)
                }
            };
        };
        let keeper_error =
            |problem: String| RefreshError::Failed(format!("token store: {problem}"));
        let give_up = Instant::now() + REFRESH_LEASE;
        let current = loop {
            if let Some(kept) = keeper.load().await.map_err(keeper_error)? {
                let moved_on = kept.access.expose() != used;
                let revoked = kept.revoked;
                oauth.adopt(kept);
                if revoked {
                    return Err(RefreshError::Revoked);
                }
                if moved_on {
                    return Ok(());
                }
            }
            if keeper.lease(REFRESH_LEASE).await.map_err(keeper_error)? {
                break oauth.tokens();
            }
            if Instant::now() >= give_up {
                return Err(RefreshError::Failed(
                    "another replica held the refresh lease too long".to_owned(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        match self.token_endpoint(oauth, &current).await {
            Ok(tokens) => {
                // Kept before it is used: a refresh token rotates, and one
                // kept only in memory is lost with the process.
                if let Err(problem) = keeper.save(&tokens).await {
                    let _ = keeper.release(false).await;
                    return Err(keeper_error(problem));
                }
                oauth.adopt(tokens);
                Ok(())
            }
            Err(error) => {
                let revoked = matches!(error, RefreshError::Revoked);
                keeper.release(revoked).await.map_err(keeper_error)?;
                if revoked {
                    let mut tokens = oauth.tokens();
                    tokens.revoked = true;
                    oauth.adopt(tokens);
                }
                Err(error)
            }
        }
    }

    /// Spends `current`'s refresh token at the token endpoint; the new
    /// tokens, the refresh token kept when none came back.
    async fn token_endpoint(
        &self,
        oauth: &OAuth,
        current: &Tokens,
    ) -> Result<Tokens, RefreshError> {
        // The token endpoint is held to the runtime's transport rule like
        // every origin: plain `http` only to loopback, and only when the
        // operator allowed it.
        if oauth.token_url.scheme() == "http" && !self.grants.origins.allow_http_loopback {
            return Err(RefreshError::Failed(format!(
                "token endpoint {}: plain http is not allowed (sandbox.allowHttpLoopback is off)",
                oauth.token_url
            )));
        }
        let failed = |error: &dyn std::fmt::Display| {
            RefreshError::Failed(format!("token endpoint {}: {error}", oauth.token_url))
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", current.refresh.expose())
            .finish();
        let response = self
            .client
            .post(oauth.token_url.clone())
            .basic_auth(&oauth.client_id, Some(oauth.client_secret().expose()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|error| failed(&error))?;
        let status = response.status();
        let text = super::outbound::read_within(response, TOKEN_RESPONSE_BYTES)
            .await
            .map_err(|_| failed(&"the answer could not be read within 64 KiB"))?;
        if !status.is_success() {
            #[derive(serde::Deserialize)]
            struct Refusal {
                error: String,
            }
            // RFC 6749 §5.2: an invalid, expired or revoked refresh token is
            // `invalid_grant`.
            let refusal = serde_json::from_slice::<Refusal>(&text).ok();
            if status == reqwest::StatusCode::BAD_REQUEST
                && refusal.is_some_and(|refusal| refusal.error == "invalid_grant")
            {
                return Err(RefreshError::Revoked);
            }
            return Err(failed(&format!("answered {status}")));
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            access_token: String,
            #[serde(default)]
            refresh_token: Option<String>,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let answer: Answer = serde_json::from_slice(&text).map_err(|error| failed(&error))?;
        if answer.access_token.is_empty() {
            return Err(failed(&"the answer holds an empty access_token"));
        }
        let now = std::time::SystemTime::now();
        Ok(Tokens {
            access: Secret::new(answer.access_token),
            refresh: answer
                .refresh_token
                .filter(|token| !token.is_empty())
                .map_or_else(|| current.refresh.clone(), Secret::new),
            expires_at: answer
                .expires_in
                .map(|seconds| now + Duration::from_secs(seconds.min(10 * 365 * 86_400))),
            refreshed_at: Some(now),
            revoked: false,
        })
    }
}

/// The largest token endpoint answer read.
const TOKEN_RESPONSE_BYTES: usize = 64 << 10;

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
        if self.outbound.refreshed
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
        self.outbound.refreshed = true;
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
        if let Err(problem) = self.outbound.refresh(&oauth, used.expose()).await {
            tracing::warn!(plugin = %self.label, job = %self.job_id, %problem, "refreshing the access token failed");
            return result;
        }
        tracing::info!(plugin = %self.label, job = %self.job_id, "access token refreshed");
        match self.outbound.prepare(request, body) {
            Ok((prepared, _)) => self.outbound.execute(prepared).await,
            Err(refused) => Err(refused),
        }
    }
}
