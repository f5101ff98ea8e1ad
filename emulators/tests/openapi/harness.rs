//! A real emulator on `127.0.0.1:0` and a client whose every answer is checked against the
//! spec of the operation it called.

use std::net::SocketAddr;
use std::time::Duration;

use preflight_emulators::pleo::{DEMO_ORG_TOKEN, PleoConfig, PleoEmulator, SeedJob};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::spec::{Expected, MEDIA_TYPE, assert_valid, spec};

/// The operations of docs/pleo-export-api.md §2 the emulator serves, by spec method and path.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    ListJobs,
    CreateJob,
    GetJob,
    CreateEvent,
    ListItems,
    UpdateItems,
}

impl Op {
    pub(crate) fn method(self) -> Method {
        match self {
            Op::ListJobs | Op::GetJob | Op::ListItems => Method::GET,
            Op::CreateJob | Op::CreateEvent => Method::POST,
            Op::UpdateItems => Method::PUT,
        }
    }

    pub(crate) fn template(self) -> &'static str {
        match self {
            Op::ListJobs | Op::CreateJob => "/v3/export-jobs",
            Op::GetJob => "/v3/export-jobs/{jobId}",
            Op::CreateEvent => "/v3/export-job-events",
            Op::ListItems | Op::UpdateItems => "/v3/export-jobs/{jobId}/items",
        }
    }
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Auth<'a> {
    Token(&'a str),
    ApiKey(&'a str),
    None,
}

pub(crate) const ORG: Auth<'static> = Auth::Token(DEMO_ORG_TOKEN);

/// A checked answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) retry_after: Option<String>,
}

impl Reply {
    pub(crate) fn error_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }

    pub(crate) fn data(&self) -> &Value {
        &self.body["data"]
    }
}

/// A running emulator and a client for it; the emulator stops when the harness is dropped.
pub(crate) struct Harness {
    pub(crate) emulator: PleoEmulator,
    pub(crate) client: reqwest::Client,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::with(PleoConfig::default()).await
    }

    pub(crate) async fn with(config: PleoConfig) -> Self {
        let emulator = PleoEmulator::start(config, loopback())
            .await
            .expect("emulator starts");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Self { emulator, client }
    }

    pub(crate) fn request(&self, op: Op, path: &str, auth: Auth<'_>) -> RequestBuilder {
        let request = self
            .client
            .request(op.method(), format!("{}{path}", self.emulator.url()));
        match auth {
            Auth::Token(token) => request.bearer_auth(token),
            Auth::ApiKey(key) => request.basic_auth(key, Some("")),
            Auth::None => request,
        }
    }

    /// Sends the request and checks the answer against the spec of `op`.
    pub(crate) async fn send(&self, op: Op, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("an HTTP answer");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.expect("a complete body");
        let what = format!("{} {} → {status}", op.method(), op.template());
        let body = match spec().expected(
            op.method().as_str().to_lowercase().as_str(),
            op.template(),
            status,
        ) {
            Expected::Empty => {
                assert!(bytes.is_empty(), "{what}: expected no body, got {bytes:?}");
                Value::Null
            }
            Expected::Body(schema) => {
                assert_eq!(content_type.as_deref(), Some(MEDIA_TYPE), "{what}");
                let body: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {bytes:?}"));
                assert_valid(&schema, &body, &what);
                body
            }
        };
        Reply {
            status,
            body,
            retry_after,
        }
    }

    pub(crate) async fn list_jobs(&self, query: &str, auth: Auth<'_>) -> Reply {
        let request = self.request(Op::ListJobs, &format!("/v3/export-jobs?{query}"), auth);
        self.send(Op::ListJobs, request).await
    }

    pub(crate) async fn create_job(&self, body: &Value, auth: Auth<'_>) -> Reply {
        let request = self
            .request(Op::CreateJob, "/v3/export-jobs", auth)
            .json(body);
        self.send(Op::CreateJob, request).await
    }

    pub(crate) async fn get_job(&self, id: &str, auth: Auth<'_>) -> Reply {
        let request = self.request(Op::GetJob, &format!("/v3/export-jobs/{id}"), auth);
        self.send(Op::GetJob, request).await
    }

    pub(crate) async fn event(&self, body: Value, auth: Auth<'_>) -> Reply {
        let request = self
            .request(Op::CreateEvent, "/v3/export-job-events", auth)
            .json(&body);
        self.send(Op::CreateEvent, request).await
    }

    pub(crate) async fn raw_event(&self, body: &'static str) -> Reply {
        let request = self
            .request(Op::CreateEvent, "/v3/export-job-events", ORG)
            .header(CONTENT_TYPE, MEDIA_TYPE)
            .body(body);
        self.send(Op::CreateEvent, request).await
    }

    pub(crate) async fn list_items(&self, id: Uuid, query: &str) -> Reply {
        let path = format!("/v3/export-jobs/{id}/items?{query}");
        let request = self.request(Op::ListItems, &path, ORG);
        self.send(Op::ListItems, request).await
    }

    pub(crate) async fn update_items(&self, id: Uuid, body: &Value) -> Reply {
        let path = format!("/v3/export-jobs/{id}/items");
        let request = self.request(Op::UpdateItems, &path, ORG).json(body);
        self.send(Op::UpdateItems, request).await
    }

    pub(crate) fn seed(&self, company: Uuid) -> Uuid {
        self.emulator.seed_job(SeedJob::pending(company))
    }

    pub(crate) async fn start_job(&self, id: Uuid) {
        let reply = self
            .event(json!({"jobId": id, "event": "started"}), ORG)
            .await;
        assert_eq!(reply.status, 202, "{reply:?}");
    }
}

pub(crate) fn ids(reply: &Reply) -> Vec<String> {
    reply
        .data()
        .as_array()
        .expect("data array")
        .iter()
        .map(|job| job["id"].as_str().expect("id").to_owned())
        .collect()
}
