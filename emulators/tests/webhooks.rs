//! The Pleo emulator's `v1.export-job.created` webhook (docs/pleo-export-api.md §4.1) as a
//! receiver sees it: a real emulator and a real receiver, both on `127.0.0.1:0`. Signatures
//! are checked with an HMAC computed here, independently of the emulator's own code.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use preflight_emulators::pleo::{
    DEMO_ORG_TOKEN, PleoConfig, PleoEmulator, SeedJob, WebhookDelivery, WebhookTarget, sign_webhook,
};
use preflight_emulators::server::{self, Running};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

/// The HMAC key of the tests' secret.
const KEY: &[u8; 32] = b"preflight webhook test key 32 b.";

fn secret() -> String {
    format!("whsec_{}", STANDARD.encode(KEY))
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn unix_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since.as_secs()).expect("seconds fit")
}

/// One webhook as the receiver got it.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name} in {:?}", self.headers))
            .to_str()
            .expect("ASCII header")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Checks `webhook-signature` against an HMAC-SHA256 computed here over
    /// `{webhook-id}.{webhook-timestamp}.{body}` with [`KEY`].
    fn assert_signed(&self) {
        let id = self.header("webhook-id");
        let timestamp = self.header("webhook-timestamp");
        let signature = self.header("webhook-signature");
        let encoded = signature
            .strip_prefix("v1,")
            .unwrap_or_else(|| panic!("a v1 signature: {signature}"));
        let decoded = STANDARD.decode(encoded).expect("base64 signature");
        let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(&self.body);
        mac.verify_slice(&decoded)
            .unwrap_or_else(|_| panic!("signature {signature} does not verify"));
    }
}

/// A webhook receiver answering with scripted statuses, then 204.
struct Receiver {
    server: Running,
    received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state
        .received
        .lock()
        .expect("receiver lock")
        .push(Received { headers, body });
    let answer = state
        .answers
        .lock()
        .expect("receiver lock")
        .pop_front()
        .unwrap_or(204);
    StatusCode::from_u16(answer).expect("valid status")
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let state = ReceiverState {
            received: Arc::default(),
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
        };
        let received = Arc::clone(&state.received);
        let router = Router::new()
            .route("/hooks/pleo", post(receive))
            .with_state(state);
        let server = server::serve(router, loopback())
            .await
            .expect("receiver starts");
        Self { server, received }
    }

    fn target(&self) -> WebhookTarget {
        WebhookTarget {
            url: format!("{}/hooks/pleo", self.server.url()),
            secret: secret(),
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("receiver lock").clone()
    }
}

async fn emulator(target: WebhookTarget) -> PleoEmulator {
    let config = PleoConfig {
        webhook: Some(target),
        ..PleoConfig::default()
    };
    PleoEmulator::start(config, loopback())
        .await
        .expect("emulator starts")
}

/// Polls `done` until it holds; panics naming `what` after a generous deadline.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the emulator has recorded `count` attempts and returns them.
async fn deliveries(emulator: &PleoEmulator, count: usize) -> Vec<WebhookDelivery> {
    wait_until(&format!("{count} delivery attempts"), || {
        emulator.webhook_deliveries().len() >= count
    })
    .await;
    emulator.webhook_deliveries()
}

const SPEC_FIELDS: [&str; 7] = [
    "id",
    "companyId",
    "createdAt",
    "createdBy",
    "expiresIn",
    "numberOfItems",
    "status",
];

#[tokio::test]
async fn a_seeded_job_is_announced_signed_with_its_fields() {
    let receiver = Receiver::start(&[]).await;
    let emulator = emulator(receiver.target()).await;
    let before = unix_now();
    let company = Uuid::new_v4();
    let job_id = emulator.seed_job(SeedJob {
        number_of_items: 5,
        expires_in: Some(900),
        ..SeedJob::pending(company)
    });

    let attempts = deliveries(&emulator, 1).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let hook = &received[0];
    assert_eq!(hook.header("content-type"), "application/json");
    let id = hook.header("webhook-id");
    let hex = id.strip_prefix("msg_").expect("msg_ prefix");
    assert!(
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let timestamp: i64 = hook
        .header("webhook-timestamp")
        .parse()
        .expect("unix seconds");
    assert!((before..=unix_now()).contains(&timestamp), "{timestamp}");
    hook.assert_signed();
    assert_eq!(
        sign_webhook(&secret(), id, timestamp, &hook.body).as_deref(),
        Ok(hook.header("webhook-signature"))
    );

    let body = hook.json();
    let event_id: Uuid = serde_json::from_value(body["eventId"].clone()).expect("uuid eventId");
    assert_eq!(event_id.simple().to_string(), hex);
    assert_eq!(body["eventType"], "v1.export-job.created");
    let object = body.as_object().expect("object");
    assert_eq!(object.len(), 3, "{body}");
    let data = body["data"].as_object().expect("data object");
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = SPEC_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let job = emulator.job(job_id).expect("seeded job");
    for field in SPEC_FIELDS {
        assert_eq!(data[field], job[field], "{field}");
    }
    assert_eq!(data["id"], json!(job_id));
    assert_eq!(data["companyId"], json!(company));
    assert_eq!(data["numberOfItems"], 5);
    assert_eq!(data["expiresIn"], 900);
    assert_eq!(data["status"], "pending");

    assert_eq!(
        attempts,
        [WebhookDelivery {
            id: id.to_owned(),
            job_id,
            attempt: 1,
            status: Some(204),
            error: None,
        }]
    );
}

#[tokio::test]
async fn failed_attempts_are_retried_with_the_same_id() {
    let receiver = Receiver::start(&[500, 500]).await;
    let emulator = emulator(receiver.target()).await;
    let job_id = emulator.seed_job(SeedJob::pending(Uuid::new_v4()));

    let attempts = deliveries(&emulator, 3).await;
    let received = receiver.received();
    assert_eq!(received.len(), 3, "{received:?}");
    let id = received[0].header("webhook-id");
    for hook in &received {
        assert_eq!(hook.header("webhook-id"), id);
        assert_eq!(hook.body, received[0].body, "the same message every time");
        hook.assert_signed();
    }
    let summary: Vec<_> = attempts
        .iter()
        .map(|a| {
            (
                a.id.as_str(),
                a.job_id,
                a.attempt,
                a.status,
                a.error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (id, job_id, 1, Some(500), None),
            (id, job_id, 2, Some(500), None),
            (id, job_id, 3, Some(204), None),
        ]
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_gets_three_attempts() {
    // Accepts every connection and closes it at once: no HTTP answer ever arrives.
    let listener = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let hang_up = tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            drop(connection);
        }
    });
    let emulator = emulator(WebhookTarget {
        url: format!("http://{addr}/hooks"),
        secret: secret(),
    })
    .await;
    let job_id = emulator.seed_job(SeedJob::pending(Uuid::new_v4()));

    let attempts = deliveries(&emulator, 3).await;
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    for (number, attempt) in (1..).zip(&attempts) {
        assert_eq!((attempt.attempt, attempt.job_id), (number, job_id));
        assert_eq!(attempt.id, attempts[0].id);
        assert_eq!(attempt.status, None);
        assert!(
            attempt.error.as_deref().is_some_and(|e| !e.is_empty()),
            "{attempt:?}"
        );
    }
    hang_up.abort();
}

#[tokio::test]
async fn jobs_created_through_the_api_and_seed_files_are_announced() {
    let receiver = Receiver::start(&[]).await;
    let emulator = emulator(receiver.target()).await;
    let company = Uuid::new_v4();
    let employee = Uuid::new_v4();
    let created: Value = reqwest::Client::new()
        .post(format!("{}/v3/export-jobs", emulator.url()))
        .bearer_auth(DEMO_ORG_TOKEN)
        .json(&json!({
            "companyId": company,
            "accountingEntryIds": [Uuid::new_v4(), Uuid::new_v4()],
            "employeeId": employee,
        }))
        .send()
        .await
        .expect("an answer")
        .error_for_status()
        .expect("201")
        .json()
        .await
        .expect("JSON");
    let seeded = emulator
        .seed_from_json(&format!(
            r#"{{"jobs": [{{"companyId": "{}"}}, {{"companyId": "{}", "status": "in_progress"}}]}}"#,
            Uuid::new_v4(),
            Uuid::new_v4()
        ))
        .expect("valid seed file");

    deliveries(&emulator, 3).await;
    let received = receiver.received();
    assert_eq!(received.len(), 3, "{received:?}");
    let mut ids = Vec::new();
    for hook in &received {
        hook.assert_signed();
        let data = hook.json()["data"].clone();
        let job_id: Uuid = serde_json::from_value(data["id"].clone()).expect("uuid");
        let job = emulator.job(job_id).expect("announced job exists");
        for field in SPEC_FIELDS {
            assert_eq!(data[field], job[field], "{field}");
        }
        ids.push(job_id);
    }
    let api_job = &created["data"];
    let from_api: Uuid = serde_json::from_value(api_job["id"].clone()).expect("uuid");
    let mut expected = vec![from_api, seeded[0], seeded[1]];
    expected.sort_unstable();
    ids.sort_unstable();
    assert_eq!(ids, expected);
    let api_hook = received
        .iter()
        .map(Received::json)
        .find(|body| body["data"]["id"] == api_job["id"])
        .expect("the API job's webhook");
    assert_eq!(api_hook["data"]["createdBy"], json!(employee));
    assert_eq!(api_hook["data"]["numberOfItems"], 2);
    let distinct: std::collections::HashSet<_> = received
        .iter()
        .map(|hook| hook.header("webhook-id").to_owned())
        .collect();
    assert_eq!(distinct.len(), 3, "one message id per job");
}

#[tokio::test]
async fn invalid_targets_are_refused_at_start() {
    let cases = [
        (
            "http://127.0.0.1:9/hooks",
            "c2VjcmV0LWtleQ==".to_owned(),
            "whsec_",
        ),
        ("http://127.0.0.1:9/hooks", "whsec_!!!".to_owned(), "base64"),
        ("mailto:hooks@example.com", secret(), "http or https"),
    ];
    for (url, secret, says) in cases {
        let config = PleoConfig {
            webhook: Some(WebhookTarget {
                url: url.to_owned(),
                secret: secret.clone(),
            }),
            ..PleoConfig::default()
        };
        let error = PleoEmulator::start(config, loopback())
            .await
            .expect_err(url);
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
        let message = error.to_string();
        assert!(message.contains(says), "{message}");
        assert!(!message.contains(&secret), "{message} quotes the secret");
    }
}

#[tokio::test]
async fn without_a_target_nothing_is_sent() {
    let emulator = PleoEmulator::start(PleoConfig::default(), loopback())
        .await
        .expect("emulator starts");
    emulator.seed_job(SeedJob::pending(Uuid::new_v4()));
    assert!(emulator.webhook_deliveries().is_empty());
}
