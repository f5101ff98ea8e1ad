//! The one path out of the sandbox: the contract's `http.send`.
//!
//! Every request is checked before anything is sent: its origin (RFC 6454:
//! scheme, host, port) must be the configured base URL's or one granted to the
//! plugin; plain `http` only to loopback; credential headers are the host's,
//! never the plugin's; the per-validation budget must not be spent. The host
//! attaches the company's credentials only for the home origin, never follows
//! redirects, and buffers at most the response-size limit.
//!
//! Sizes are bounded both ways: the URL, the header count and each header
//! ([`crate::limits::request`]), the request body (`requestBytes`) and the
//! response body (`responseBytes`). The host holds one copy of a request body
//! (the one lifted from the plugin's memory, shared with the transport and
//! the exchange record) and reads responses unencoded only: a
//! `Content-Encoding` it did not ask for is refused rather than handed on, so
//! redaction always sees the bytes the plugin would.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

use reqwest::header::{HeaderName, HeaderValue};

use super::credentials::attach;
use super::policy::{Origin, Reach};
use super::record::{Captured, Failure};
use super::redact::{redact_bytes_with, redact_with};
use super::{Grants, PluginCtx};
use crate::bindings::wit_http::{self, HttpError};
use crate::config::Credentials;
use crate::limits::Limits;

/// Headers a plugin may not set because they carry credentials.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Headers that belong to the transport: neither a plugin nor a company's
/// credentials may set them.
pub(crate) const TRANSPORT_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "expect",
];

/// Headers a plugin may not set either, each with why: they would let it
/// choose how a response body is cut or encoded (so a reflected credential
/// could reach it in pieces or compressed, past redaction), or claim a client
/// address to the accounting system with the company's credentials attached.
const REFUSED_HEADERS: &[(&str, &str)] = &[
    ("range", "the host reads whole bodies"),
    ("if-range", "the host reads whole bodies"),
    ("accept-encoding", "the host reads bodies unencoded"),
    ("forwarded", "forwarding headers are not a plugin's to set"),
    (
        "x-forwarded-for",
        "forwarding headers are not a plugin's to set",
    ),
    (
        "x-forwarded-host",
        "forwarding headers are not a plugin's to set",
    ),
    (
        "x-forwarded-proto",
        "forwarding headers are not a plugin's to set",
    ),
    (
        "x-real-ip",
        "client-address headers are not a plugin's to set",
    ),
    (
        "true-client-ip",
        "client-address headers are not a plugin's to set",
    ),
    (
        "x-client-ip",
        "client-address headers are not a plugin's to set",
    ),
];

/// One outbound exchange, as recorded for the outcome and the decision log.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Exchange {
    /// Request method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Response status; `None` when no response came.
    pub status: Option<u16>,
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
    /// Why no response came, as the plugin was told: the one failure field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Answered, but never shown to the plugin: a 401 the host answered by
    /// refreshing the token and sending the request again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub superseded: bool,
}

impl Exchange {
    /// The record of `request` (its body in `body`) and what came of it,
    /// bodies kept up to `cap` bytes.
    pub(super) fn record(
        request: &wit_http::Request,
        body: Option<&[u8]>,
        method: String,
        result: &Result<wit_http::Response, HttpError>,
        elapsed: Duration,
        cap: usize,
    ) -> Exchange {
        let (status, response_headers, response_body, failure) = match result {
            Ok(response) => (
                Some(response.status),
                response.headers.clone(),
                Some(Captured::of(&response.body, cap)),
                None,
            ),
            Err(error) => (None, Vec::new(), None, Some(Failure::from(error))),
        };
        Exchange {
            method,
            url: request.url.clone(),
            status,
            elapsed,
            request_headers: request.headers.clone(),
            request_body: body.map(|body| Captured::of(body, cap)),
            response_headers,
            response_body,
            failure,
            superseded: false,
        }
    }
}

/// Outbound state of one validation.
pub(crate) struct Outbound {
    pub(super) grants: Grants,
    pub(super) client: reqwest::Client,
    budget: u32,
    pub(super) request_timeout: Duration,
    response_bytes: usize,
    request_bytes: usize,
    pub(crate) exchanges: Vec<Exchange>,
    refusals: std::sync::Arc<Refusals>,
    /// Whether this validation already refreshed the OAuth token: at most
    /// once, so a token endpoint that hands out dead tokens cannot loop.
    pub(super) refreshed: bool,
    /// Whether this validation already refreshed ahead of expiry: at most
    /// once too, apart from the refresh a 401 may still need (the token
    /// may expire during a long validation).
    pub(super) refreshed_ahead: bool,
}

impl Outbound {
    pub(crate) fn new(
        grants: Grants,
        client: reqwest::Client,
        limits: &Limits,
        refusals: std::sync::Arc<Refusals>,
    ) -> Self {
        Outbound {
            grants,
            client,
            budget: limits.requests,
            request_timeout: limits.request_timeout,
            response_bytes: limits.response_bytes,
            request_bytes: limits.request_bytes,
            exchanges: Vec::new(),
            refusals,
            refreshed: false,
            refreshed_ahead: false,
        }
    }

    /// Checks a request (its body in `body`) and turns it into a reqwest
    /// request. Nothing is sent when this fails.
    pub(super) fn prepare(
        &mut self,
        request: &wit_http::Request,
        body: Option<&Bytes>,
    ) -> Result<(reqwest::Request, bool), HttpError> {
        check_size(request, body, self.request_bytes)?;
        let url = url::Url::parse(&request.url).map_err(|error| {
            HttpError::InvalidRequest(format!("'{}' is not a URL: {error}", request.url))
        })?;
        let origin = Origin::of(&url).map_err(HttpError::Denied)?;
        let home = self
            .grants
            .origins
            .check(&origin)
            .map_err(HttpError::Denied)?
            == Reach::Home;
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
        let credential_headers: &[(String, crate::config::Secret)] = match &self.grants.credentials
        {
            Credentials::Headers(headers) => headers,
            _ => &[],
        };
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("'{name}' is not a header name")))?;
            if CREDENTIAL_HEADERS.contains(&name.as_str())
                || TRANSPORT_HEADERS.contains(&name.as_str())
                || credential_headers
                    .iter()
                    .any(|(own, _)| own == name.as_str())
            {
                return Err(HttpError::InvalidRequest(format!(
                    "header '{name}' is set by the host"
                )));
            }
            if let Some((_, why)) = REFUSED_HEADERS.iter().find(|(n, _)| *n == name.as_str()) {
                return Err(HttpError::InvalidRequest(format!(
                    "header '{name}' is refused: {why}"
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
        // A `Bytes` clone shares the one copy of the body.
        *prepared.body_mut() = body.cloned().map(reqwest::Body::from);
        self.budget -= 1;
        Ok((prepared, home))
    }

    /// Sends a prepared request and buffers the response within the limit.
    pub(super) async fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<wit_http::Response, HttpError> {
        let response = self
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
        if let Some(encoding) = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .filter(|encoding| !encoding.as_bytes().eq_ignore_ascii_case(b"identity"))
        {
            return Err(HttpError::Unreachable(format!(
                "the response came encoded as '{}', which was not asked for: the host reads bodies unencoded",
                String::from_utf8_lossy(encoding.as_bytes())
            )));
        }
        let limit = self.response_bytes;
        let body = read_within(response, limit)
            .await
            .map_err(|error| match error {
                ReadError::TooLarge(_) => HttpError::TooLarge(limit as u64),
                ReadError::Transport(error) => transport_error(error),
            })?;
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

/// Why [`read_within`] returned no whole body.
#[derive(Debug)]
pub enum ReadError {
    /// The body is over the limit: the bytes read up to it (none when its
    /// `Content-Length` said so before anything was read).
    TooLarge(Vec<u8>),
    /// The transport failed.
    Transport(reqwest::Error),
}

/// The body of `response`, refused once it outgrows `limit`: by its
/// `Content-Length` before anything is read, or as it arrives. Every client
/// of preflight reads bodies through this (the plugins' and Pleo's).
pub async fn read_within(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ReadError> {
    let length = response.content_length();
    if length.is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge(Vec::new()));
    }
    let mut body = Vec::with_capacity(length.map_or(0, |length| length as usize));
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            body.extend_from_slice(&chunk[..limit - body.len()]);
            return Err(ReadError::TooLarge(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

fn transport_error(error: reqwest::Error) -> HttpError {
    if error.is_timeout() {
        return HttpError::Timeout;
    }
    // reqwest's messages name the URL, never header values.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<super::resolver::AddressRefused>() {
            return HttpError::Denied(refused.to_string());
        }
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    HttpError::Unreachable(text)
}

impl wit_http::Host for PluginCtx {
    async fn send(
        &mut self,
        mut request: wit_http::Request,
    ) -> Result<wit_http::Response, HttpError> {
        let method = method_name(request.method).to_owned();
        let started = Instant::now();
        // The body lifted from the plugin's memory is the only copy: the
        // transport, a resend after a refresh and the record share it.
        let body = request.body.take().map(Bytes::from);
        self.refresh_ahead(&request.url).await;
        let result = match self.outbound.prepare(&request, body.as_ref()) {
            Ok(_) if let Some(tape) = &self.outbound.grants.replay => {
                tape.answer(&method, &request.url, body.as_deref())
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
                self.outbound.refusals.count(&self.label, &refused);
                tracing::warn!(plugin = %self.label, job = %self.job_id, url = %shorten(&request.url), error = ?refused, "outbound request refused");
                return Err(refused);
            }
        };
        let result = self
            .refresh_once(&request, body.as_ref(), result, &method, started)
            .await;
        let elapsed = started.elapsed();
        let exchange = Exchange::record(
            &request,
            body.as_deref(),
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

/// Refuses a request over the size bounds, naming the bound, before any of it
/// is parsed further.
fn check_size(
    request: &wit_http::Request,
    body: Option<&Bytes>,
    request_bytes: usize,
) -> Result<(), HttpError> {
    use crate::limits::request::{HEADER_BYTES, HEADERS, URL_BYTES};
    let refuse = |what: String| Err(HttpError::InvalidRequest(what));
    if request.url.len() > URL_BYTES {
        return refuse(format!(
            "the URL is {} bytes, over the limit of {} KiB",
            request.url.len(),
            URL_BYTES >> 10
        ));
    }
    if request.headers.len() > HEADERS {
        return refuse(format!(
            "{} headers, over the limit of {HEADERS}",
            request.headers.len()
        ));
    }
    if let Some((name, value)) = request
        .headers
        .iter()
        .find(|(name, value)| name.len() + value.len() > HEADER_BYTES)
    {
        return refuse(format!(
            "header '{}' is {} bytes, over the limit of {} KiB",
            shorten(name),
            name.len() + value.len(),
            HEADER_BYTES >> 10
        ));
    }
    match body {
        Some(body) if body.len() > request_bytes => refuse(format!(
            "the body is {} bytes, over the request-body limit of {request_bytes} bytes",
            body.len()
        )),
        _ => Ok(()),
    }
}

/// At most the first 200 characters of `text`, for logs and messages about
/// oversized input.
fn shorten(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Requests the sandbox refused before sending, per plugin and reason: what
/// `preflight_plugin_requests_refused_total` shows.
#[derive(Debug, Default)]
pub struct Refusals {
    counts: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl Refusals {
    fn count(&self, plugin: &str, refused: &HttpError) {
        let reason = Failure::from(refused).kind();
        *self
            .counts
            .lock()
            .expect("refusals lock")
            .entry((plugin.to_owned(), reason))
            .or_default() += 1;
    }

    /// Every count so far: `((plugin, reason), requests)`.
    pub fn snapshot(&self) -> Vec<((String, &'static str), u64)> {
        let counts = self.counts.lock().expect("refusals lock");
        counts.iter().map(|(key, n)| (key.clone(), *n)).collect()
    }
}
