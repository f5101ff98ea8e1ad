//! Outbound HTTP through the host.
//!
//! The host checks every request against the origins granted to the plugin,
//! attaches the company's credentials, enforces timeouts and budgets, and
//! buffers the response. This module wraps the raw import in a small builder
//! ([`Request`]), offers a client of one API ([`Api`]: base URL, fixed headers,
//! error answers with a 2xx status), and maps what can go wrong ([`Fetch`]) to
//! the [`Check`] it means for the job, in messages that name the accounting
//! system by its display name.

use crate::bindings::preflight::plugin::http as wit;
use crate::{Check, FailureReason};

pub use wit::HttpError;

/// An outbound request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    inner: wit::Request,
}

impl Request {
    /// A request with `method` to `url`.
    pub fn new(method: wit::Method, url: impl Into<String>) -> Self {
        Request {
            inner: wit::Request {
                method,
                url: url.into(),
                headers: vec![("accept".to_owned(), "application/json".to_owned())],
                body: None,
            },
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(wit::Method::Get, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(wit::Method::Post, url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(wit::Method::Put, url)
    }

    /// Adds a header, replacing an earlier one of the same name.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.inner.headers.retain(|(existing, _)| *existing != name);
        self.inner.headers.push((name, value.into()));
        self
    }

    /// Sets the body as JSON.
    pub fn json<T: serde::Serialize>(self, value: &T) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_vec(value)?;
        let mut request = self.header("content-type", "application/json");
        request.inner.body = Some(body);
        Ok(request)
    }

    /// Sends the request and waits for the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        #[cfg(target_arch = "wasm32")]
        let response = wit::send(&self.inner)?;
        // Natively there is no host: a test harness answers.
        #[cfg(not(target_arch = "wasm32"))]
        let response = crate::testing::send(&self.inner)?;
        Ok(Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text, lossily, cut to `max` characters for messages.
    pub fn text_excerpt(&self, max: usize) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(max)
            .collect()
    }

    /// The `Retry-After` header in seconds (RFC 9110 §10.2.3): either
    /// delta-seconds or an HTTP date, which is turned into seconds from now.
    pub fn retry_after(&self) -> Option<u32> {
        let value = self.header("retry-after")?.trim();
        if let Ok(seconds) = value.parse::<u32>() {
            return Some(seconds);
        }
        let at = parse_http_date(value)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        Some(u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX))
    }
}

/// A client of one accounting system's API: a base URL, headers sent with
/// every request (a tenant header such as `xero-tenant-id`), and optionally a
/// test for answers that are errors despite a 2xx status.
///
/// ```no_run
/// use preflight_sdk::http::{Api, Fetch};
///
/// #[derive(serde::Deserialize)]
/// struct Organisation {
///     name: String,
/// }
///
/// let api = Api::new("https://api.example.com/v1/").header("tenant-id", "T1");
/// // GET https://api.example.com/v1/organisation with `tenant-id: T1`.
/// match api.get_json::<Organisation>("organisation") {
///     Ok(organisation) => println!("{}", organisation.name),
///     Err(Fetch::Status(response)) if response.status == 404 => println!("no organisation"),
///     Err(fetch) => println!("{:?}", fetch.check("example.organisation", "Example")),
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    headers: Vec<(String, String)>,
    error_when: Option<fn(&Response) -> bool>,
}

impl Api {
    /// A client of the API under `base_url` (trailing slashes are dropped).
    pub fn new(base_url: impl Into<String>) -> Self {
        let base: String = base_url.into();
        Api {
            base: base.trim_end_matches('/').to_owned(),
            headers: Vec::new(),
            error_when: None,
        }
    }

    /// Sends header `name: value` with every request, unless the request sets
    /// `name` itself.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.into()));
        self
    }

    /// Treats a 2xx answer for which `is_error` holds as an error answer
    /// ([`Fetch::Status`]), for APIs that may answer 200 with an error body
    /// (QuickBooks Online's `Fault`).
    pub fn error_when(mut self, is_error: fn(&Response) -> bool) -> Self {
        self.error_when = Some(is_error);
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path` (with or without a leading slash, query
    /// included) below the base URL.
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if path.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{path}", self.base)
        }
    }

    /// `GET` of `path` below the base URL.
    pub fn get(&self, path: &str) -> Result<Response, Fetch> {
        self.send(Request::get(self.url(path)))
    }

    /// `GET` of `path` below the base URL, the answer parsed as JSON.
    pub fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, Fetch> {
        let response = self.get(path)?;
        match response.json() {
            Ok(value) => Ok(value),
            Err(error) => Err(Fetch::Body(response, error)),
        }
    }

    /// Sends `request` (build its URL with [`Api::url`]) with the client's
    /// headers. An answer that is not 2xx, or is an error by the
    /// [`Api::error_when`] test, is returned as [`Fetch::Status`] so the caller
    /// can read vendor-specific error bodies first and fall back to
    /// [`Fetch::check`].
    pub fn send(&self, mut request: Request) -> Result<Response, Fetch> {
        for (name, value) in &self.headers {
            if !request.inner.headers.iter().any(|(set, _)| set == name) {
                request.inner.headers.push((name.clone(), value.clone()));
            }
        }
        let response = request.send().map_err(Fetch::Transport)?;
        self.judge(response)
    }

    /// Whether `response` is a successful answer.
    fn judge(&self, response: Response) -> Result<Response, Fetch> {
        let error = !response.is_success() || self.error_when.is_some_and(|test| test(&response));
        if error {
            Err(Fetch::Status(response))
        } else {
            Ok(response)
        }
    }
}

/// Why a call of an [`Api`] produced no value.
#[derive(Debug)]
pub enum Fetch {
    /// No response (denied, timeout, unreachable, …).
    Transport(HttpError),
    /// A response with a non-2xx status, or a 2xx one that
    /// [`Api::error_when`] judged an error.
    Status(Response),
    /// A 2xx response whose body is not the expected JSON.
    Body(Response, serde_json::Error),
}

impl Fetch {
    /// The check this failure means for rule `id`, talking to `system` (the
    /// accounting system's display name, `plugin-info.display-name`), when
    /// nothing more specific applies.
    pub fn check(&self, id: &str, system: &str) -> Check {
        match self {
            Fetch::Transport(error) => error_check(id, system, error),
            Fetch::Status(response) => status_check(id, system, response),
            Fetch::Body(response, error) => Check::failed(
                id,
                FailureReason::AccountingSystemUnreachable,
                format!(
                    "{system} answered with something Pleo's integration could not read. \
                     Try the export again later; if it keeps failing, contact support."
                ),
            )
            .with_hint(format!(
                "unexpected body from {system} (status {}): {error}; body starts: {}",
                response.status,
                response.text_excerpt(200)
            )),
        }
    }
}

/// The check a transport error means for rule `id`, talking to `system` (the
/// display name).
pub fn error_check(id: &str, system: &str, error: &HttpError) -> Check {
    match error {
        HttpError::Timeout => Check::unverified(
            id,
            FailureReason::AccountingSystemTimeout,
            format!(
                "{system} did not answer in time. This is usually temporary: try the export \
                 again in a few minutes."
            ),
        )
        .with_hint("per-request timeout reached"),
        HttpError::Unreachable(detail) => Check::unverified(
            id,
            FailureReason::AccountingSystemUnreachable,
            format!(
                "Pleo's integration could not reach {system}. Check {system}'s status page and \
                 try the export again later."
            ),
        )
        .with_hint(format!("connection failed: {detail}")),
        HttpError::TooLarge(limit) => Check::failed(
            id,
            FailureReason::AccountingSystemUnreachable,
            format!(
                "{system} sent a larger answer than Pleo's integration accepts. Contact support \
                 if this keeps happening."
            ),
        )
        .with_hint(format!("response body over the {limit}-byte limit")),
        HttpError::Denied(detail) => {
            plugin_fault(id, system, format!("request denied by the host: {detail}"))
        }
        HttpError::BudgetExhausted => plugin_fault(
            id,
            system,
            "per-validation request budget exhausted".to_owned(),
        ),
        HttpError::InvalidRequest(detail) => {
            plugin_fault(id, system, format!("invalid request: {detail}"))
        }
    }
}

fn plugin_fault(id: &str, system: &str, hint: String) -> Check {
    Check::failed(
        id,
        FailureReason::IntegrationUnusable,
        format!(
            "Pleo's {system} integration could not complete its checks. This is not caused by \
             your {system} setup; contact support."
        ),
    )
    .with_hint(hint)
}

/// The check an unexpected status means for rule `id`, talking to `system`
/// (the display name): 429 is a rate limit, 5xx an outage, 401 an
/// authentication failure, 403 missing access.
pub fn status_check(id: &str, system: &str, response: &Response) -> Check {
    let status = response.status;
    let hint = format!("{system} answered {status}: {}", response.text_excerpt(300));
    match status {
        429 => Check::unverified(
            id,
            FailureReason::AccountingSystemRateLimit,
            format!(
                "{system} is limiting how many requests Pleo's integration may make right now. \
                 Try the export again in a few minutes."
            ),
        )
        .with_retry_after(response.retry_after()),
        500..=599 => Check::unverified(
            id,
            FailureReason::AccountingSystemUnreachable,
            format!(
                "{system} is unavailable at the moment (it answered {status}). Try the export \
                 again later."
            ),
        )
        .with_retry_after(response.retry_after()),
        401 => Check::failed(
            id,
            FailureReason::AccountingSystemAuthenticationFailure,
            format!(
                "{system} no longer accepts Pleo's connection. Reconnect {system} in Pleo's \
                 integration settings, then export again."
            ),
        ),
        403 => Check::failed(
            id,
            FailureReason::AuthorizationFailure,
            format!(
                "The {system} user connected to Pleo is not allowed to do this. Ask a {system} \
                 administrator to grant access, or reconnect with another user."
            ),
        ),
        _ => Check::failed(
            id,
            FailureReason::AccountingSystemUnreachable,
            format!(
                "{system} answered with an unexpected error ({status}). Try the export again later."
            ),
        ),
    }
    .with_hint(hint)
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7)
/// into seconds since the Unix epoch.
fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts
        .next()?
        .split(':')
        .map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    u64::try_from(days)
        .ok()
        .map(|days| days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil` algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn api_urls_join_the_base_and_the_path() {
        let api = Api::new("https://api.example.com/v2.0/");
        assert_eq!(api.base_url(), "https://api.example.com/v2.0");
        assert_eq!(
            api.url("companies?$top=1"),
            "https://api.example.com/v2.0/companies?$top=1"
        );
        assert_eq!(
            api.url("/companies"),
            "https://api.example.com/v2.0/companies"
        );
        assert_eq!(api.url(""), "https://api.example.com/v2.0");
    }

    #[test]
    fn api_headers_are_lower_case_and_replace_each_other() {
        let api = Api::new("https://x")
            .header("Xero-Tenant-Id", "T1")
            .header("xero-tenant-id", "T2");
        assert_eq!(
            api.headers,
            [("xero-tenant-id".to_owned(), "T2".to_owned())]
        );
    }

    #[test]
    fn api_judges_statuses_and_error_bodies() {
        let plain = Api::new("https://x");
        assert!(plain.judge(response(200, "{}")).is_ok());
        assert!(matches!(
            plain.judge(response(404, "")),
            Err(Fetch::Status(r)) if r.status == 404
        ));

        let faulty = Api::new("https://x").error_when(|r| r.text_excerpt(100).contains("Fault"));
        assert!(
            faulty
                .judge(response(200, r#"{"QueryResponse":{}}"#))
                .is_ok()
        );
        assert!(matches!(
            faulty.judge(response(200, r#"{"Fault":{}}"#)),
            Err(Fetch::Status(r)) if r.status == 200
        ));
    }

    #[test]
    fn status_checks_name_the_system() {
        let check = status_check(
            "demo.connection",
            "Microsoft Dynamics 365 Business Central",
            &response(502, "bad gateway"),
        );
        assert_eq!(check.status, crate::CheckStatus::Unverified);
        assert!(
            check.message.starts_with(
                "Microsoft Dynamics 365 Business Central is unavailable at the moment (it answered 502)"
            ),
            "{}",
            check.message
        );
        let fault = error_check("demo.connection", "Fortnox", &HttpError::BudgetExhausted);
        assert_eq!(fault.reason, Some(FailureReason::IntegrationUnusable));
        assert!(
            fault
                .message
                .starts_with("Pleo's Fortnox integration could not complete")
        );
    }

    #[test]
    fn http_dates_parse_to_epoch_seconds() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
