//! Pleo's signed `v1.export-job.created` webhook waking `preflight serve`:
//! the binary polls once an hour here, so a job seeded after its first poll
//! is only processed when a delivery that checks out wakes it. Deliveries
//! come from the Pleo emulator itself or are built by hand and signed with
//! `sign_webhook`; refusals (bad signature, stale timestamp, no secret
//! configured) wake nothing, and a redelivered id is accepted but ignored,
//! even after a restart.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use preflight_emulators::pleo::{PleoConfig, PleoEmulator, SeedJob, WebhookTarget, sign_webhook};
use preflight_emulators::xero::{Scenario, XeroEmulator};

use crate::serve::{OperatorToml, Serving, ready, spawn_serve};
use crate::support;

/// The endpoint's signing secret, as Pleo and the operator both hold it.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Another endpoint's secret: valid, but not the one `serve` is configured with.
const OTHER_SECRET: &str = "whsec_YSBkaWZmZXJlbnQgZW5kcG9pbnQga2V5IQ==";

/// Forwards the Pleo emulator's deliveries to `serve`'s API. The emulator
/// needs its webhook target when it starts, before `serve` (which needs the
/// emulator's URL) can tell where it listens; the relay is that target, and
/// is pointed at `serve` once it is up. It passes the request's path, the
/// Standard Webhooks headers and the body on unchanged, and answers with
/// `serve`'s status and body (503 until it knows where `serve` is).
struct Relay {
    url: String,
    target: Arc<OnceLock<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start() -> Relay {
        let target = Arc::new(OnceLock::new());
        let listener = tokio::net::TcpListener::bind(support::loopback())
            .await
            .expect("relay binds");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&target));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Relay { url, target, task }
    }

    /// From now on, deliveries go to `api`.
    fn forward_to(&self, api: &str) {
        self.target
            .set(api.to_owned())
            .expect("the relay is pointed once");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    State(target): State<Arc<OnceLock<String>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let Some(api) = target.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, Bytes::new());
    };
    let mut request = reqwest::Client::new().post(format!("{api}{}", uri.path()));
    for name in [
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, response.bytes().await.unwrap_or_default())
        }
        Err(_) => (StatusCode::BAD_GATEWAY, Bytes::new()),
    }
}

/// Now, in Unix seconds, as `webhook-timestamp` carries it.
fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

/// A `v1.export-job.created` body announcing `job`, as Pleo sends it.
fn job_created(job: uuid::Uuid, company: uuid::Uuid) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "eventId": uuid::Uuid::new_v4(),
        "eventType": "v1.export-job.created",
        "data": {
            "id": job,
            "companyId": company,
            "createdAt": "2026-11-25T09:00:00Z",
            "createdBy": null,
            "expiresIn": 3600,
            "numberOfItems": 2,
            "status": "pending"
        }
    }))
    .unwrap()
}

/// A delivery as it goes over the wire; `None` leaves a header out.
struct Delivery<'a> {
    id: Option<&'a str>,
    timestamp: Option<i64>,
    signature: Option<String>,
    body: Vec<u8>,
}

impl<'a> Delivery<'a> {
    /// `body` under `id`, stamped `timestamp` and signed with `secret`.
    fn signed(secret: &str, id: &'a str, timestamp: i64, body: Vec<u8>) -> Self {
        let signature = sign_webhook(secret, id, timestamp, &body).expect("a valid secret");
        Delivery {
            id: Some(id),
            timestamp: Some(timestamp),
            signature: Some(signature),
            body,
        }
    }
}

/// The Pleo emulator, a Xero emulator (accounts missing, so a validated job
/// fails with `missing_configuration`) and `serve` against them, ready (its
/// first poll is done).
struct Harness {
    pleo: PleoEmulator,
    _xero: XeroEmulator,
    company: uuid::Uuid,
    dir: PathBuf,
    config: PathBuf,
    serving: Serving,
    api: String,
    http: reqwest::Client,
}

impl Harness {
    /// `secret` goes into `[webhooks]`; with `relay`, the Pleo emulator
    /// announces every seeded job through it, signed with [`SECRET`].
    async fn start(name: &str, secret: Option<&str>, relay: Option<&Relay>) -> Harness {
        let pleo_config = PleoConfig {
            webhook: relay.map(|relay| WebhookTarget {
                url: format!("{}/webhooks/pleo", relay.url),
                secret: SECRET.to_owned(),
            }),
            ..PleoConfig::default()
        };
        let pleo = PleoEmulator::start(pleo_config, support::loopback())
            .await
            .expect("Pleo emulator starts");
        let xero = support::xero_emulator(&[Scenario::AccountsMissing]).await;
        let company = uuid::Uuid::new_v4();
        let dir = support::temp_dir(name);
        let config = dir.join("preflight.toml");
        // A poll an hour: only a webhook gets a new job processed soon.
        let operator = OperatorToml {
            poll_interval_secs: 3600,
            extra: secret.map_or_else(String::new, |secret| {
                format!("\n[webhooks]\nsecret = \"{secret}\"\n")
            }),
            ..OperatorToml::new(
                pleo.url(),
                Some(dir.join("state")),
                vec![(company, xero.url())],
            )
        };
        std::fs::write(&config, operator.to_string()).unwrap();
        let (serving, api) = spawn_serve(&config);
        if let Some(relay) = relay {
            relay.forward_to(&api);
        }
        let harness = Harness {
            pleo,
            _xero: xero,
            company,
            dir,
            config,
            serving,
            api,
            http: reqwest::Client::new(),
        };
        ready(&harness.http, &harness.api).await;
        harness.first_poll().await;
        harness
    }

    /// Waits for the poll `serve` makes when it starts, which may come
    /// after its API answers: the tests count the polls after it.
    async fn first_poll(&self) {
        support::eventually("serve's first poll", async || {
            (self.listings() >= 1).then_some(())
        })
        .await;
    }

    /// Stops `serve` cleanly and starts it again on the same state.
    async fn restart(&mut self) {
        assert_eq!(self.serving.stop(), Some(0), "a clean stop on SIGTERM");
        let (serving, api) = spawn_serve(&self.config);
        self.serving = serving;
        self.api = api;
        ready(&self.http, &self.api).await;
    }

    /// A new pending job of the company.
    fn seed(&self) -> uuid::Uuid {
        self.pleo.seed_job(SeedJob {
            number_of_items: 2,
            ..SeedJob::pending(self.company)
        })
    }

    /// Sends `delivery` to `POST /webhooks/pleo`; its status and body.
    async fn deliver(&self, delivery: Delivery<'_>) -> (u16, String) {
        let response = self.send(delivery).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Posts `delivery` and returns the response whole.
    async fn send(&self, delivery: Delivery<'_>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/webhooks/pleo", self.api))
            .header("content-type", "application/json");
        if let Some(id) = delivery.id {
            request = request.header("webhook-id", id);
        }
        if let Some(timestamp) = delivery.timestamp {
            request = request.header("webhook-timestamp", timestamp.to_string());
        }
        if let Some(signature) = delivery.signature {
            request = request.header("webhook-signature", signature);
        }
        request.body(delivery.body).send().await.unwrap()
    }

    /// The job's status in Pleo.
    fn status(&self, job: uuid::Uuid) -> String {
        self.pleo.job(job).expect("a seeded job")["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The events posted for the job, by name, in order.
    fn events(&self, job: uuid::Uuid) -> Vec<String> {
        self.pleo
            .events()
            .into_iter()
            .filter(|event| event.job_id == job.to_string() && event.status == 202)
            .map(|event| event.event)
            .collect()
    }

    /// How many times the job list was fetched: one per poll (one company).
    fn listings(&self) -> usize {
        self.pleo
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/v3/export-jobs")
            .count()
    }

    /// Waits until the job has failed in Pleo (what a validation against
    /// the accounts-missing Xero ends in) and returns it.
    async fn failed(&self, job: uuid::Uuid) -> serde_json::Value {
        support::eventually("the job failed in Pleo", async || {
            let state = self.pleo.job(job)?;
            (state["status"] == "failed").then_some(state)
        })
        .await
    }

    /// `preflight_webhooks_total{result="…"}` in `/metrics`; 0 when absent.
    async fn webhooks_counted(&self, result: &str) -> u64 {
        let metrics = self.metrics().await;
        let series = format!("preflight_webhooks_total{{result=\"{result}\"}} ");
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(&series))
            .map_or(0, |value| value.trim().parse().expect("a counter value"))
    }

    async fn metrics(&self) -> String {
        support::text(&self.http, &format!("{}/metrics", self.api)).await
    }

    /// Stops `serve` (it must stop cleanly) and removes the state.
    fn finish(mut self) {
        assert_eq!(self.serving.stop(), Some(0), "a clean stop on SIGTERM");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Asserts the failure Pleo recorded for a job validated against the
/// accounts-missing Xero.
fn assert_failed_for_missing_accounts(job: &serde_json::Value) {
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["failureReasonType"], "missing_configuration", "{job}");
    assert!(
        job["failureReason"]
            .as_str()
            .unwrap()
            .contains("Xero account 429"),
        "{job}"
    );
}

#[tokio::test]
async fn a_webhook_from_pleo_wakes_serve_to_process_the_new_job_at_once() {
    let relay = Relay::start().await;
    let harness = Harness::start("webhook-wake", Some(SECRET), Some(&relay)).await;
    let polls_before = harness.listings();
    assert!(polls_before >= 1, "serve polled once at start");

    // Seeding announces the job; the next poll is an hour away.
    let job = harness.seed();
    let failed = harness.failed(job).await;
    assert_failed_for_missing_accounts(&failed);
    assert_eq!(harness.events(job), ["started", "failed"]);

    let deliveries = support::eventually("the delivery recorded", async || {
        let deliveries: Vec<_> = harness
            .pleo
            .webhook_deliveries()
            .into_iter()
            .filter(|d| d.job_id == job)
            .collect();
        (!deliveries.is_empty()).then_some(deliveries)
    })
    .await;
    assert_eq!(deliveries.len(), 1, "accepted at once: {deliveries:?}");
    assert_eq!(deliveries[0].attempt, 1);
    assert_eq!(deliveries[0].status, Some(204), "{deliveries:?}");
    assert!(deliveries[0].id.starts_with("msg_"), "{deliveries:?}");
    assert_eq!(
        harness.listings(),
        polls_before + 1,
        "one poll, the one the webhook asked for"
    );
    assert_eq!(harness.webhooks_counted("wake").await, 1);
    assert_eq!(harness.webhooks_counted("refused").await, 0);
    harness.finish();
}

#[tokio::test]
async fn a_badly_signed_webhook_is_refused_and_only_a_valid_one_wakes_serve() {
    let harness = Harness::start("webhook-bad-signature", Some(SECRET), None).await;
    let polls_before = harness.listings();
    let job = harness.seed();
    let body = job_created(job, harness.company);

    // Signed with another endpoint's secret.
    let (status, answer) = harness
        .deliver(Delivery::signed(
            OTHER_SECRET,
            "msg_forged",
            now(),
            body.clone(),
        ))
        .await;
    assert_eq!(status, 401, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON error");
    assert!(
        answer["error"].as_str().unwrap().contains("signature"),
        "{answer}"
    );
    // Signed with the right secret, but the body was changed on the way.
    let tampered = Delivery {
        body: job_created(uuid::Uuid::new_v4(), harness.company),
        ..Delivery::signed(SECRET, "msg_tampered", now(), body.clone())
    };
    let (status, answer) = harness.deliver(tampered).await;
    assert_eq!(status, 401, "{answer}");
    // No signature at all.
    let unsigned = Delivery {
        signature: None,
        ..Delivery::signed(SECRET, "msg_unsigned", now(), body.clone())
    };
    let (status, answer) = harness.deliver(unsigned).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("webhook-signature"), "{answer}");
    // Signed, but over the body bound: refused before its signature is
    // checked, and counted as an oversized input, not a bad signature.
    let oversized = format!(
        "{{\"padding\": \"{}\"}}",
        "x".repeat(preflight::server::WEBHOOK_BODY_BYTES)
    )
    .into_bytes();
    let response = harness
        .send(Delivery::signed(SECRET, "msg_oversized", now(), oversized))
        .await;
    assert_eq!(
        response.headers()["connection"],
        "close",
        "the unread rest of the body ends the connection"
    );
    let (status, answer) = (response.status(), response.text().await.unwrap());
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("over the limit of 64 KiB"), "{answer}");
    assert!(
        harness
            .metrics()
            .await
            .contains("preflight_inputs_refused_total{input=\"webhook\"} 1"),
        "counted"
    );

    assert_eq!(harness.status(job), "pending");
    assert!(harness.events(job).is_empty());
    assert_eq!(harness.webhooks_counted("refused").await, 3);
    assert_eq!(harness.webhooks_counted("wake").await, 0);

    // The genuine delivery wakes it.
    let (status, answer) = harness
        .deliver(Delivery::signed(SECRET, "msg_genuine", now(), body))
        .await;
    assert_eq!(status, 204, "{answer}");
    assert_failed_for_missing_accounts(&harness.failed(job).await);
    assert_eq!(harness.events(job), ["started", "failed"]);
    assert_eq!(
        harness.listings(),
        polls_before + 1,
        "the refused deliveries asked for no poll"
    );
    assert_eq!(harness.webhooks_counted("wake").await, 1);
    harness.finish();
}

#[tokio::test]
async fn a_correctly_signed_webhook_outside_the_tolerance_is_refused() {
    let harness = Harness::start("webhook-stale", Some(SECRET), None).await;
    let job = harness.seed();
    let body = job_created(job, harness.company);

    // Captured an hour ago and played again: signed, but stale.
    let stale = now() - 3600;
    let (status, answer) = harness
        .deliver(Delivery::signed(
            SECRET,
            "msg_replayed",
            stale,
            body.clone(),
        ))
        .await;
    assert_eq!(status, 401, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON error");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains(&stale.to_string()) && error.contains("tolerance of 300 s"),
        "{error}"
    );
    // As far in the future.
    let (status, answer) = harness
        .deliver(Delivery::signed(
            SECRET,
            "msg_future",
            now() + 3600,
            body.clone(),
        ))
        .await;
    assert_eq!(status, 401, "{answer}");
    // Signed and fresh, but not JSON: refused as a bad request.
    let (status, answer) = harness
        .deliver(Delivery::signed(
            SECRET,
            "msg_not_json",
            now(),
            b"export job created".to_vec(),
        ))
        .await;
    assert_eq!(status, 400, "{answer}");

    assert_eq!(harness.status(job), "pending");
    assert!(harness.events(job).is_empty());
    assert_eq!(harness.webhooks_counted("refused").await, 2);
    assert_eq!(harness.webhooks_counted("wake").await, 0);

    // The refused id was not remembered: the same message, sent now, wakes.
    let (status, answer) = harness
        .deliver(Delivery::signed(SECRET, "msg_replayed", now(), body))
        .await;
    assert_eq!(status, 204, "{answer}");
    assert_failed_for_missing_accounts(&harness.failed(job).await);
    assert_eq!(harness.webhooks_counted("wake").await, 1);
    assert_eq!(harness.webhooks_counted("duplicate").await, 0);
    harness.finish();
}

#[tokio::test]
async fn a_webhook_id_delivered_twice_is_accepted_both_times_and_acted_on_once() {
    let mut harness = Harness::start("webhook-duplicate", Some(SECRET), None).await;
    let job = harness.seed();
    let body = job_created(job, harness.company);

    let (status, answer) = harness
        .deliver(Delivery::signed(SECRET, "msg_twice", now(), body.clone()))
        .await;
    assert_eq!(status, 204, "{answer}");
    assert_failed_for_missing_accounts(&harness.failed(job).await);
    // Pleo's retry of the same message: signed afresh, same id.
    let (status, answer) = harness
        .deliver(Delivery::signed(SECRET, "msg_twice", now(), body.clone()))
        .await;
    assert_eq!(status, 204, "the sender must not retry it: {answer}");

    let metrics = harness.metrics().await;
    assert!(
        metrics.contains("preflight_webhooks_total{result=\"duplicate\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("preflight_webhooks_total{result=\"wake\"} 1"),
        "{metrics}"
    );
    assert_eq!(harness.events(job), ["started", "failed"]);

    // Another event type is accepted and ignored.
    let other = serde_json::to_vec(&serde_json::json!({
        "eventId": uuid::Uuid::new_v4(),
        "eventType": "v1.export-job.completed",
        "data": { "id": job }
    }))
    .unwrap();
    let (status, answer) = harness
        .deliver(Delivery::signed(SECRET, "msg_other_event", now(), other))
        .await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(harness.webhooks_counted("ignored").await, 1);
    assert_eq!(harness.webhooks_counted("wake").await, 1);

    // The store remembers the id across a restart.
    harness.restart().await;
    let (status, answer) = harness
        .deliver(Delivery::signed(SECRET, "msg_twice", now(), body))
        .await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(harness.webhooks_counted("duplicate").await, 1);
    assert_eq!(harness.webhooks_counted("wake").await, 0);
    assert_eq!(harness.events(job), ["started", "failed"]);
    harness.finish();
}

#[tokio::test]
async fn without_a_webhook_secret_the_endpoint_is_not_found() {
    let harness = Harness::start("webhook-unconfigured", None, None).await;
    let job = harness.seed();
    let (status, answer) = harness
        .deliver(Delivery::signed(
            SECRET,
            "msg_nobody_listens",
            now(),
            job_created(job, harness.company),
        ))
        .await;
    assert_eq!(status, 404, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("a JSON error");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no webhook secret"),
        "{answer}"
    );
    assert_eq!(harness.status(job), "pending");
    assert!(
        !harness.metrics().await.contains("preflight_webhooks_total"),
        "nothing counted"
    );
    harness.finish();
}
