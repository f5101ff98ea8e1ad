//! The one path out of the sandbox: the contract's `http.send`.
//!
//! Every request is checked before anything is sent: its origin (RFC 6454:
//! scheme, host, port) must be the configured base URL's or one granted to the
//! plugin; plain `http` only to loopback; credential headers are the host's,
//! never the plugin's; the per-validation budget must not be spent. The host
//! attaches the company's credentials only for the home origin, never follows
//! redirects, and buffers at most the response-size limit.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

use super::record::{Captured, Failure};
use super::{Grants, PluginCtx};
use crate::bindings::wit_http::{self, HttpError};
use crate::config::Credentials;
use crate::limits::Limits;

/// Headers a plugin may not set: they carry credentials or belong to the
/// transport.
const FORBIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "expect",
];

/// A web origin: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`; only `http` and `https` URLs with a host have one.
    pub fn of(url: &url::Url) -> Result<Origin, String> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "scheme '{scheme}' is not allowed (only http and https)"
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("'{url}' has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("'{url}' has no port"))?;
        Ok(Origin {
            scheme: scheme.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Parses `scheme://host[:port]`.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url =
            url::Url::parse(text).map_err(|error| format!("'{text}' is not an origin: {error}"))?;
        if url.path() != "/" || url.query().is_some() {
            return Err(format!("'{text}' is not an origin: it has a path or query"));
        }
        Origin::of(&url)
    }

    /// The scheme, `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lower case.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// True for loopback hosts (127.0.0.0/8, ::1, localhost), the only ones
    /// plain `http` may reach: traffic to them never leaves the machine.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// One outbound exchange, as recorded for the outcome and the decision log.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Exchange {
    /// Request method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Response status; `None` when no response came.
    pub status: Option<u16>,
    /// The transport error, when no response came.
    pub error: Option<String>,
    /// Time from sending to the end of the body.
    pub elapsed: Duration,
    /// The headers the plugin set (credentials are attached by the host and
    /// never recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<(String, String)>,
    /// The request body, up to the recording cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Captured>,
    /// The response headers, redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    /// The response body, redacted, up to the recording cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Captured>,
    /// Why no response came, as the plugin was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Answered, but never shown to the plugin: a 401 the host answered by
    /// refreshing the token and sending the request again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub superseded: bool,
}

impl Exchange {
    /// The record of `request` and what came of it, bodies kept up to `cap`
    /// bytes.
    fn record(
        request: &wit_http::Request,
        method: String,
        result: &Result<wit_http::Response, HttpError>,
        elapsed: Duration,
        cap: usize,
    ) -> Exchange {
        let (status, error, response_headers, response_body, failure) = match result {
            Ok(response) => (
                Some(response.status),
                None,
                response.headers.clone(),
                Some(Captured::of(&response.body, cap)),
                None,
            ),
            Err(error) => (
                None,
                Some(format!("{error:?}")),
                Vec::new(),
                None,
                Some(Failure::from(error)),
            ),
        };
        Exchange {
            method,
            url: request.url.clone(),
            status,
            error,
            elapsed,
            request_headers: request.headers.clone(),
            request_body: request.body.as_deref().map(|body| Captured::of(body, cap)),
            response_headers,
            response_body,
            failure,
            superseded: false,
        }
    }
}

/// Outbound state of one validation.
pub(crate) struct Outbound {
    grants: Grants,
    client: reqwest::Client,
    budget: u32,
    request_timeout: Duration,
    response_bytes: usize,
    pub(crate) exchanges: Vec<Exchange>,
    /// Whether this validation already refreshed the OAuth token: at most
    /// once, so a token endpoint that hands out dead tokens cannot loop.
    refreshed: bool,
}

impl Outbound {
    pub(crate) fn new(grants: Grants, client: reqwest::Client, limits: &Limits) -> Self {
        Outbound {
            grants,
            client,
            budget: limits.requests,
            request_timeout: limits.request_timeout,
            response_bytes: limits.response_bytes,
            exchanges: Vec::new(),
            refreshed: false,
        }
    }

    /// Checks a request and turns it into a reqwest request. Nothing is sent
    /// when this fails.
    fn prepare(
        &mut self,
        request: &wit_http::Request,
    ) -> Result<(reqwest::Request, bool), HttpError> {
        let url = url::Url::parse(&request.url).map_err(|error| {
            HttpError::InvalidRequest(format!("'{}' is not a URL: {error}", request.url))
        })?;
        let origin = Origin::of(&url).map_err(HttpError::Denied)?;
        let home = origin == self.grants.home;
        if !home
            && !self
                .grants
                .extra
                .iter()
                .any(|pattern| pattern.matches(&origin))
        {
            return Err(HttpError::Denied(format!(
                "{origin} is not granted (granted: {})",
                std::iter::once(self.grants.home.to_string())
                    .chain(self.grants.extra.iter().map(ToString::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(allowed) = &self.grants.restrict
            && !home
            && !allowed.iter().any(|pattern| pattern.matches(&origin))
        {
            return Err(HttpError::Denied(format!(
                "{origin} is outside the operator's allow-list for this plugin"
            )));
        }
        if origin.scheme == "http" && !(origin.is_loopback() && self.grants.allow_http_loopback) {
            return Err(HttpError::Denied(format!(
                "{origin}: plain http is only allowed to loopback addresses, and only when the operator allows it"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(HttpError::InvalidRequest(
                "credentials in the URL are not allowed".to_owned(),
            ));
        }
        if self.budget == 0 {
            return Err(HttpError::BudgetExhausted);
        }
        let method = reqwest::Method::from_bytes(method_name(request.method).as_bytes())
            .expect("standard methods parse");
        let mut prepared = reqwest::Request::new(method, url);
        let credential_header = match &self.grants.credentials {
            Credentials::Header { name, .. } => Some(name.as_str()),
            _ => None,
        };
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("'{name}' is not a header name")))?;
            if FORBIDDEN_HEADERS.contains(&name.as_str())
                || credential_header == Some(name.as_str())
            {
                return Err(HttpError::InvalidRequest(format!(
                    "header '{name}' is set by the host"
                )));
            }
            let value = HeaderValue::from_str(value).map_err(|_| {
                HttpError::InvalidRequest(format!("header '{name}' has an invalid value"))
            })?;
            prepared.headers_mut().append(name, value);
        }
        if home {
            attach(&self.grants.credentials, prepared.headers_mut())?;
        }
        *prepared.timeout_mut() = Some(self.request_timeout);
        *prepared.body_mut() = request.body.clone().map(reqwest::Body::from);
        self.budget -= 1;
        Ok((prepared, home))
    }

    /// Sends a prepared request and buffers the response within the limit.
    async fn execute(&self, request: reqwest::Request) -> Result<wit_http::Response, HttpError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != reqwest::header::SET_COOKIE)
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limit = self.response_bytes;
        let length = response.content_length();
        if length.is_some_and(|length| length > limit as u64) {
            return Err(HttpError::TooLarge(limit as u64));
        }
        let mut body = Vec::with_capacity(length.map_or(0, |length| length as usize));
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > limit {
                return Err(HttpError::TooLarge(limit as u64));
            }
            body.extend_from_slice(&chunk);
        }
        // The secrets are read once per response (an OAuth refresh may have
        // changed them since the last one), not once per header.
        let secrets = self.secrets();
        let headers = headers
            .into_iter()
            .map(|(name, value)| (name, redact_with(&secrets, value)))
            .collect();
        Ok(wit_http::Response {
            status,
            headers,
            body: redact_bytes_with(&secrets, body),
        })
    }
}

impl Outbound {
    /// The secret values of the company's credentials.
    fn secrets(&self) -> Vec<String> {
        match &self.grants.credentials {
            Credentials::None => Vec::new(),
            Credentials::Bearer(token) => vec![token.expose().to_owned()],
            Credentials::Header { value, .. } => vec![value.expose().to_owned()],
            Credentials::OAuth2(oauth) => oauth.secrets(),
        }
    }

    /// `text` with every credential value replaced: a server that echoes the
    /// request (or an error that quotes it) must not hand the plugin a secret.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact_with(&self.secrets(), text.to_owned())
    }
}

/// `text` with every non-empty secret of `secrets` replaced; `text` itself,
/// without copying, when it holds none (the usual case).
fn redact_with(secrets: &[String], text: String) -> String {
    let secrets = secrets.iter().filter(|secret| !secret.is_empty());
    if !secrets.clone().any(|secret| text.contains(secret.as_str())) {
        return text;
    }
    secrets.fold(text, |text, secret| text.replace(secret.as_str(), REDACTED))
}

/// [`redact_with`] for a body that need not be text.
fn redact_bytes_with(secrets: &[String], body: Vec<u8>) -> Vec<u8> {
    let secrets: Vec<&[u8]> = secrets
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.iter().all(|secret| !contains(&body, secret)) {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body.as_slice();
    'scan: while let Some((&first, tail)) = rest.split_first() {
        for secret in &secrets {
            if let Some(after) = rest.strip_prefix(*secret) {
                out.extend_from_slice(REDACTED.as_bytes());
                rest = after;
                continue 'scan;
            }
        }
        out.push(first);
        rest = tail;
    }
    out
}

impl Outbound {
    /// Refreshes the OAuth access token (RFC 6749 §6) unless another
    /// validation of the company already did since `used` was sent.
    async fn refresh(&self, oauth: &crate::config::OAuth, used: &str) -> Result<(), String> {
        let _turn = oauth.refreshing.lock().await;
        if oauth.access_token().expose() != used {
            return Ok(());
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", oauth.refresh_token().expose())
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
            .map_err(|error| format!("token endpoint {}: {error}", oauth.token_url))?;
        if !response.status().is_success() {
            return Err(format!(
                "token endpoint {} answered {}",
                oauth.token_url,
                response.status()
            ));
        }
        #[derive(serde::Deserialize)]
        struct Tokens {
            access_token: String,
            #[serde(default)]
            refresh_token: Option<String>,
        }
        let tokens: Tokens = response
            .json()
            .await
            .map_err(|error| format!("token endpoint {}: {error}", oauth.token_url))?;
        oauth.store(
            crate::config::Secret::new(tokens.access_token),
            tokens.refresh_token.map(crate::config::Secret::new),
        );
        Ok(())
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

/// The method's name on the wire.
fn method_name(method: wit_http::Method) -> &'static str {
    match method {
        wit_http::Method::Get => "GET",
        wit_http::Method::Head => "HEAD",
        wit_http::Method::Post => "POST",
        wit_http::Method::Put => "PUT",
        wit_http::Method::Patch => "PATCH",
        wit_http::Method::Delete => "DELETE",
    }
}

/// What a credential is replaced by in anything the plugin receives.
const REDACTED: &str = "[redacted]";

/// Whether `needle` occurs in `haystack`. Bodies are nearly always UTF-8,
/// where the standard library's substring search skips ahead quickly; a
/// comparison at every offset (one `memcmp` call per byte of the body) took
/// about 2 % of the CPU of `preflight bench`'s throughput run.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    if let (Ok(haystack), Ok(needle)) = (std::str::from_utf8(haystack), std::str::from_utf8(needle))
    {
        return haystack.contains(needle);
    }
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut from = 0;
    while let Some(offset) = haystack[from..].iter().position(|&byte| byte == first) {
        let start = from + offset;
        if haystack[start + 1..].starts_with(rest) {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Sets the company's credentials on a request bound for the home origin.
fn attach(
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
        Credentials::Header { name, value } => {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("bad header {name}")))?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(invalid)?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    Ok(())
}

fn transport_error(error: reqwest::Error) -> HttpError {
    if error.is_timeout() {
        return HttpError::Timeout;
    }
    // reqwest's messages name the URL, never header values.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    HttpError::Unreachable(text)
}

impl PluginCtx {
    /// When the home origin answers 401 "expired" to OAuth credentials: record
    /// that exchange, refresh the token once, and send the request again, so
    /// the plugin sees only the answer to the retry.
    async fn refresh_once(
        &mut self,
        request: &wit_http::Request,
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
            == Some(self.outbound.grants.home.clone());
        let expired = matches!(&result, Ok(response) if says_expired(response));
        if !home || !expired || self.outbound.refreshed {
            return result;
        }
        self.outbound.refreshed = true;
        let oauth = std::sync::Arc::clone(oauth);
        let used = oauth.access_token();
        let mut superseded = Exchange::record(
            request,
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
        match self.outbound.prepare(request) {
            Ok((prepared, _)) => self.outbound.execute(prepared).await,
            Err(refused) => Err(refused),
        }
    }
}

impl wit_http::Host for PluginCtx {
    async fn send(&mut self, request: wit_http::Request) -> Result<wit_http::Response, HttpError> {
        let method = method_name(request.method).to_owned();
        let started = Instant::now();
        let result = match self.outbound.prepare(&request) {
            Ok(_) if let Some(tape) = &self.outbound.grants.replay => {
                tape.answer(&method, &request.url, request.body.as_deref())
            }
            Ok((prepared, _home)) => {
                self.outbound
                    .execute(prepared)
                    .await
                    .map_err(|error| match error {
                        HttpError::Unreachable(text) => {
                            HttpError::Unreachable(self.outbound.redact(&text))
                        }
                        other => other,
                    })
            }
            Err(refused) => {
                tracing::warn!(plugin = %self.label, job = %self.job_id, url = %request.url, error = ?refused, "outbound request refused");
                return Err(refused);
            }
        };
        let result = self.refresh_once(&request, result, &method, started).await;
        let elapsed = started.elapsed();
        let exchange = Exchange::record(
            &request,
            method,
            &result,
            elapsed,
            self.outbound.grants.record_bytes,
        );
        tracing::debug!(plugin = %self.label, job = %self.job_id, method = %exchange.method, url = %exchange.url, status = ?exchange.status, ?elapsed, "outbound request");
        self.outbound.exchanges.push(exchange);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::parse("https://api.xero.com").unwrap();
        assert_eq!(
            a,
            Origin::of(&url::Url::parse("https://API.xero.com:443/connections").unwrap()).unwrap()
        );
        assert_ne!(a, Origin::parse("http://api.xero.com").unwrap());
        assert_ne!(a, Origin::parse("https://api.xero.com:8443").unwrap());
        assert!(Origin::parse("https://api.xero.com/path").is_err());
        assert!(Origin::parse("file:///etc/passwd").is_err());
    }

    #[test]
    fn secrets_are_found_and_redacted_in_text_and_bytes() {
        let secrets = ["s3cret".to_owned(), String::new()];
        assert!(contains(b"a s3cret b", b"s3cret"));
        assert!(!contains(b"a s3cre b", b"s3cret"));
        // Not UTF-8: the byte-wise search.
        assert!(contains(b"\xff\xfes3cret", b"s3cret"));
        assert!(!contains(b"\xff\xfes3s3cre", b"s3cret"));
        assert_eq!(
            redact_bytes_with(&secrets, b"\xfftoken s3cret!".to_vec()),
            b"\xfftoken [redacted]!"
        );
        assert_eq!(
            redact_with(&secrets, "Bearer s3cret, again s3cret".to_owned()),
            "Bearer [redacted], again [redacted]"
        );
        assert_eq!(redact_with(&secrets, "nothing".to_owned()), "nothing");
    }

    #[test]
    fn loopback_is_recognised() {
        assert!(
            Origin::parse("http://127.0.0.1:4011")
                .unwrap()
                .is_loopback()
        );
        assert!(Origin::parse("http://127.8.0.1:1").unwrap().is_loopback());
        assert!(Origin::parse("http://[::1]:80").unwrap().is_loopback());
        assert!(Origin::parse("http://localhost:80").unwrap().is_loopback());
        assert!(
            !Origin::parse("http://169.254.169.254")
                .unwrap()
                .is_loopback()
        );
        assert!(!Origin::parse("http://10.0.0.1").unwrap().is_loopback());
    }
}
