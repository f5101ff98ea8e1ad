//! [`PleoClient`]: bearer token, API key or an organisation's OAuth 2.0
//! grant (refreshed ahead of expiry and once on a 401, through the one
//! refresh path of `preflight_runtime::oauth`), retries with exponential
//! backoff and jitter on 429, 5xx, timeouts and connection errors,
//! honouring `Retry-After`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{ExceptionInfo, PleoError};
use preflight_runtime::config::Secret;
use preflight_runtime::job::{ExportJob, JobStatus};
use preflight_runtime::report::FailureReason;
use preflight_runtime::sandbox::outbound::{ReadError, read_within};

/// How the client authenticates (docs/pleo-export-api.md §1.1).
#[derive(Clone)]
pub enum PleoAuth {
    /// `Authorization: Bearer <token>` (OAuth 2.0 access token).
    Bearer(Secret),
    /// `Authorization: Basic base64("<key>:")`.
    ApiKey(Secret),
    /// An organisation's OAuth 2.0 grant: its access token as a bearer
    /// token, refreshed at Pleo's token endpoint.
    OAuth2(std::sync::Arc<preflight_runtime::config::OAuth>),
}

impl std::fmt::Debug for PleoAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PleoAuth::Bearer(_) => f.write_str("Bearer(***)"),
            PleoAuth::ApiKey(_) => f.write_str("ApiKey(***)"),
            PleoAuth::OAuth2(oauth) => write!(
                f,
                "OAuth2({}, client {}, ***)",
                oauth.token_url, oauth.client_id
            ),
        }
    }
}

/// When and how often a call is retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Delay before the first retry; doubled each time, with jitter.
    pub base_delay: Duration,
    /// Longest delay between attempts, `Retry-After` included.
    pub max_delay: Duration,
    /// Timeout of one attempt.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): exponential, capped,
    /// with "equal jitter" so that many workers do not retry in lockstep.
    fn backoff(&self, retry: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1 << retry.saturating_sub(1).min(16));
        let capped = exponential.min(self.max_delay);
        capped / 2 + capped.mul_f64(fastrand::f64() / 2.0)
    }
}

/// An export job event (E4 body, `CreateExportJobEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEvent {
    /// The job.
    pub job_id: uuid::Uuid,
    /// `started`, `failed`, `completed` or `completed_with_errors`.
    pub event: &'static str,
    /// The user-facing text, only for `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The reason type, only for `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason_type: Option<FailureReason>,
}

impl JobEvent {
    /// The claim: `started`.
    pub fn started(job_id: uuid::Uuid) -> JobEvent {
        JobEvent {
            job_id,
            event: "started",
            failure_reason: None,
            failure_reason_type: None,
        }
    }

    /// Failing the job early.
    pub fn failed(job_id: uuid::Uuid, reason: FailureReason, message: &str) -> JobEvent {
        JobEvent {
            job_id,
            event: "failed",
            failure_reason: Some(message.to_owned()),
            failure_reason_type: Some(reason),
        }
    }
}

/// One page's worth of the job list: jobs that parsed, and those that did not
/// (named by id where the id could be read).
#[derive(Debug, Default)]
pub struct JobListing {
    /// Well-formed jobs, oldest first.
    pub jobs: Vec<ExportJob>,
    /// `(job id if readable, what is wrong)` for each malformed job.
    pub malformed: Vec<(Option<String>, String)>,
}

/// A client of Pleo's Export API v3.
#[derive(Debug, Clone)]
pub struct PleoClient {
    base: url::Url,
    auth: PleoAuth,
    http: reqwest::Client,
    retry: RetryPolicy,
}

#[derive(Deserialize)]
struct Page {
    data: Vec<serde_json::Value>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pagination {
    #[serde(default)]
    has_next_page: bool,
    #[serde(default)]
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Single {
    data: serde_json::Value,
}

/// Page size of list calls; the most the API takes.
const PAGE_LIMIT: u32 = 100;
/// Pages read in one listing at most: a safety net against a cursor loop.
const MAX_PAGES: usize = 1_000;

impl PleoClient {
    /// A client of the API at `base` (e.g. [`super::PRODUCTION_URL`]).
    pub fn new(
        base: url::Url,
        auth: PleoAuth,
        retry: RetryPolicy,
    ) -> Result<PleoClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("preflight/", env!("CARGO_PKG_VERSION")))
            // The environment's proxy (HTTP_PROXY, ALL_PROXY…) never sees
            // the Pleo credentials.
            .no_proxy()
            .timeout(retry.request_timeout)
            .build()?;
        Ok(PleoClient {
            base,
            auth,
            http,
            retry,
        })
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &url::Url {
        &self.base
    }

    /// Every job of `company_id` (or of the credentials' company) in one of
    /// `statuses`, across all pages, oldest first (E1).
    pub async fn list_jobs(
        &self,
        company_id: Option<uuid::Uuid>,
        statuses: &[JobStatus],
    ) -> Result<JobListing, PleoError> {
        let mut listing = JobListing::default();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url("v3/export-jobs");
            {
                let mut query = url.query_pairs_mut();
                if let Some(company) = company_id {
                    query.append_pair("company_id", &company.to_string());
                }
                for status in statuses {
                    query.append_pair("statuses", status.as_str());
                }
                query.append_pair("limit", &PAGE_LIMIT.to_string());
                if let Some(cursor) = &after {
                    query.append_pair("after", cursor);
                }
            }
            let what = format!("GET {}", url.path());
            let (response, _) = self.send(&what, || self.http.get(url.clone())).await?;
            let response = expect_status(&what, response, 200, false).await?;
            let page: Page = read_json(&what, response).await?;
            for value in page.data {
                match ExportJob::from_value(value.clone()) {
                    Ok(job) => listing.jobs.push(job),
                    Err(error) => {
                        let id = value
                            .get("id")
                            .and_then(|id| id.as_str())
                            .map(str::to_owned);
                        listing.malformed.push((id, error.to_string()));
                    }
                }
            }
            match page.pagination {
                Some(Pagination {
                    has_next_page: true,
                    end_cursor: Some(cursor),
                }) if Some(&cursor) != after.as_ref() => after = Some(cursor),
                _ => break,
            }
        }
        listing.jobs.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(listing)
    }

    /// One job (E3).
    pub async fn get_job(&self, job_id: uuid::Uuid) -> Result<ExportJob, PleoError> {
        let url = self.url(&format!("v3/export-jobs/{job_id}"));
        let what = format!("GET {}", url.path());
        let (response, _) = self.send(&what, || self.http.get(url.clone())).await?;
        let response = expect_status(&what, response, 200, false).await?;
        let single: Single = read_json(&what, response).await?;
        ExportJob::from_value(single.data).map_err(|error| PleoError::Malformed {
            what,
            detail: error.to_string(),
        })
    }

    /// Posts a job event (E4); Pleo answers 202 with no body.
    pub async fn post_event(&self, event: &JobEvent) -> Result<(), PleoError> {
        let url = self.url("v3/export-job-events");
        let what = format!("POST {} ({} {})", url.path(), event.event, event.job_id);
        let (response, unanswered) = self
            .send(&what, || self.http.post(url.clone()).json(event))
            .await?;
        expect_status(&what, response, 202, unanswered)
            .await
            .map(drop)
    }

    fn url(&self, path: &str) -> url::Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}/{path}"));
        url
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            PleoAuth::Bearer(token) => request.bearer_auth(token.expose()),
            PleoAuth::ApiKey(key) => request.basic_auth(key.expose(), Some("")),
            PleoAuth::OAuth2(oauth) => request.bearer_auth(oauth.access_token().expose()),
        }
    }

    /// Refreshes the organisation's access token, unless it was refreshed
    /// since `used` went out; a failure is logged, and the next answer
    /// (a 401) says what it means.
    async fn refresh(&self, oauth: &preflight_runtime::config::OAuth, used: &str) {
        let via = preflight_runtime::oauth::TokenClient {
            client: &self.http,
            timeout: self.retry.request_timeout,
            // The token URL was held to the transport rule at load: plain
            // http only to a loopback address.
            allow_http_loopback: true,
        };
        match preflight_runtime::oauth::refresh(&via, oauth, used).await {
            Ok(()) => tracing::debug!(token_url = %oauth.token_url, "Pleo access token refreshed"),
            Err(problem) => {
                tracing::warn!(token_url = %oauth.token_url, %problem, "refreshing the Pleo access token failed")
            }
        }
    }

    /// One request, authorised; with an OAuth grant, refreshed first when
    /// its token is due, and once more (then sent again) on a 401.
    async fn send_authorized(
        &self,
        build: &impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let PleoAuth::OAuth2(oauth) = &self.auth else {
            return self.authorize(build()).send().await;
        };
        if oauth.tokens().due(std::time::SystemTime::now()) {
            self.refresh(oauth, oauth.access_token().expose()).await;
        }
        let used = oauth.access_token();
        let response = self.authorize(build()).send().await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        self.refresh(oauth, used.expose()).await;
        if oauth.access_token() == used {
            return Ok(response);
        }
        self.authorize(build()).send().await
    }

    /// Sends with retries. Returns the first response that is not worth
    /// retrying, and whether an earlier attempt went unanswered (it may have
    /// been applied).
    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, bool), PleoError> {
        let mut unanswered = false;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            if attempt > 1 {
                tracing::debug!(request = what, attempt, problem = %last, "retrying a Pleo call");
            }
            let delay = match self.send_authorized(&build).await {
                Ok(response) if response.status().as_u16() == 429 => {
                    last = "429 Too Many Requests".to_owned();
                    retry_after(&response).unwrap_or_else(|| self.retry.backoff(attempt))
                }
                Ok(response) if response.status().is_server_error() => {
                    last = format!("{} from Pleo", response.status());
                    self.retry.backoff(attempt)
                }
                Ok(response) => return Ok((response, unanswered)),
                Err(error) => {
                    unanswered = true;
                    last = describe(&error);
                    self.retry.backoff(attempt)
                }
            };
            if attempt < self.retry.attempts {
                tokio::time::sleep(delay.min(self.retry.max_delay)).await;
            }
        }
        Err(PleoError::Unavailable {
            what: what.to_owned(),
            attempts: self.retry.attempts.max(1),
            last,
            unanswered,
        })
    }
}

/// `Retry-After` in delta-seconds (RFC 9110 §10.2.3).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Maps a response with a status other than `expected` to its typed error.
async fn expect_status(
    what: &str,
    response: reqwest::Response,
    expected: u16,
    after_unanswered_attempt: bool,
) -> Result<reqwest::Response, PleoError> {
    let status = response.status().as_u16();
    if status == expected {
        return Ok(response);
    }
    // An error body is read for its message only: what fits is enough.
    let body = match read_within(response, ERROR_BODY_BYTES).await {
        Ok(body) | Err(ReadError::TooLarge(body)) => body,
        Err(ReadError::Transport(_)) => Vec::new(),
    };
    let info: ExceptionInfo = serde_json::from_slice(&body).unwrap_or_else(|_| ExceptionInfo {
        kind: format!("HTTP_{status}"),
        message: Some(String::from_utf8_lossy(&body).chars().take(200).collect()),
    });
    let what = what.to_owned();
    Err(match status {
        404 => PleoError::NotFound { what, info },
        409 => PleoError::Conflict { what, info },
        422 => PleoError::InvalidTransition {
            what,
            info,
            after_unanswered_attempt,
        },
        401 | 403 => PleoError::Auth { what, status, info },
        _ => PleoError::Rejected { what, status, info },
    })
}

async fn read_json<T: serde::de::DeserializeOwned>(
    what: &str,
    response: reqwest::Response,
) -> Result<T, PleoError> {
    let bytes = read_within(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(|error| PleoError::Malformed {
            what: what.to_owned(),
            detail: match error {
                ReadError::TooLarge(_) => format!(
                    "the response is over the limit of {} MiB",
                    MAX_RESPONSE_BYTES >> 20
                ),
                ReadError::Transport(error) => describe(&error),
            },
        })?;
    serde_json::from_slice(&bytes).map_err(|error| PleoError::Malformed {
        what: what.to_owned(),
        detail: error.to_string(),
    })
}

/// The largest response body read from Pleo (a page of jobs or items is far
/// smaller); a larger one is a malformed answer.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// How much of an error response's body is read for its message.
const ERROR_BODY_BYTES: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_response_over_the_bound_is_malformed_and_not_read_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let huge = format!("{{\"data\": \"{}\"}}", "x".repeat(MAX_RESPONSE_BYTES));
        let app = axum::Router::new().route(
            "/v3/export-jobs/{id}",
            axum::routing::get(move || std::future::ready(huge.clone())),
        );
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = PleoClient::new(
            base,
            PleoAuth::Bearer(preflight_runtime::config::Secret::new("t")),
            RetryPolicy::default(),
        )
        .unwrap();
        let error = client.get_job(uuid::Uuid::from_u128(1)).await.unwrap_err();
        assert!(
            matches!(&error, PleoError::Malformed { detail, .. } if detail == "the response is over the limit of 16 MiB"),
            "{error}"
        );
        server.abort();
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            ..RetryPolicy::default()
        };
        for _ in 0..100 {
            let first = policy.backoff(1);
            assert!(
                first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            let fourth = policy.backoff(4);
            assert!(
                fourth >= Duration::from_millis(400) && fourth <= Duration::from_millis(800),
                "{fourth:?}"
            );
            assert!(policy.backoff(30) <= Duration::from_millis(1_000));
        }
    }

    #[test]
    fn events_serialise_as_the_spec_names_them() {
        let job = uuid::Uuid::from_u128(7);
        let started = serde_json::to_value(JobEvent::started(job)).unwrap();
        assert_eq!(
            started,
            serde_json::json!({"jobId": job, "event": "started"})
        );
        let failed = serde_json::to_value(JobEvent::failed(
            job,
            FailureReason::MissingConfiguration,
            "Set it up",
        ))
        .unwrap();
        assert_eq!(
            failed,
            serde_json::json!({"jobId": job, "event": "failed", "failureReason": "Set it up", "failureReasonType": "missing_configuration"})
        );
    }
}
