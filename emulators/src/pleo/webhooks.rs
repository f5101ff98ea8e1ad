//! Pleo's `v1.export-job.created` webhook (docs/pleo-export-api.md §4.1, §7), delivered the
//! Standard Webhooks way: a JSON `POST` signed with HMAC-SHA256 in the `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` headers.
//!
//! Every new job, seeded or created through E2, is announced to the configured
//! [`WebhookTarget`] in a background task. An attempt counts as delivered when the
//! receiver answers 2xx; otherwise the message is sent again, with the same `webhook-id`,
//! up to [`ATTEMPTS`] times. Each attempt is signed afresh with its own timestamp, so a
//! receiver's timestamp tolerance applies to every attempt. Every attempt is recorded as
//! a [`WebhookDelivery`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::base64::Engine as _;
use ::base64::engine::DecodePaddingMode;
use ::base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, Mac};
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use sha2::Sha256;
use tokio::runtime::Handle;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::model::Job;
use super::state::lock;
use super::timestamps::{self, UnixSeconds};

/// The event type of the webhook (docs/pleo-export-api.md §4.1; `v1.export.job-created` is
/// deprecated).
pub(super) const EVENT_TYPE: &str = "v1.export-job.created";

/// How many times one message is sent at most.
const ATTEMPTS: u32 = 3;

/// The pause after failed attempt 1, 2, …; short, because receivers are local.
const BACKOFF: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];
const _: () = assert!(BACKOFF.len() + 1 == ATTEMPTS as usize);

/// How long one attempt may take before it counts as a transport failure.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The prefix of a Standard Webhooks secret.
const SECRET_PREFIX: &str = "whsec_";

/// The base64 of a secret's key: the standard alphabet, with or without padding.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &::base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Where the emulator sends its webhooks, and the secret it signs them with.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The receiver's URL, `http` or `https`; every message is a `POST` to it.
    pub url: String,
    /// A Standard Webhooks secret: `whsec_` followed by the base64 (standard alphabet,
    /// padding optional) of the HMAC key. A secret without the prefix, or whose key is
    /// not valid base64 or is empty, is refused by [`WebhookTarget::validate`] and by
    /// [`PleoEmulator::start`](super::PleoEmulator::start); its bytes are never used as
    /// the key as they are.
    pub secret: String,
}

impl WebhookTarget {
    /// Checks that the URL is an absolute `http` or `https` URL and that the secret is a
    /// Standard Webhooks secret; the error says what is wrong without quoting the secret.
    pub fn validate(&self) -> Result<(), String> {
        target_url(&self.url)?;
        signing_key(&self.secret)?;
        Ok(())
    }
}

impl fmt::Debug for WebhookTarget {
    /// Shows the URL, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One attempt to deliver a webhook, as the emulator made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookDelivery {
    /// The message's `webhook-id`, `msg_` and 32 hex digits; the same for every attempt
    /// of one message.
    pub id: String,
    /// The job the message announces.
    pub job_id: Uuid,
    /// Which attempt this was, counting from 1.
    pub attempt: u32,
    /// The receiver's HTTP status; `None` when no answer arrived.
    pub status: Option<u16>,
    /// Why no answer arrived (connection refused, timeout, …); `None` when one did, whatever
    /// its status.
    pub error: Option<String>,
}

/// The `webhook-signature` header value for a message: `v1,` and the base64 (standard
/// alphabet, padded) of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the key
/// of `secret` (see [`WebhookTarget::secret`]).
///
/// Fails, without quoting the secret, when `secret` is not a Standard Webhooks secret.
pub fn sign_webhook(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    Ok(sign(&signing_key(secret)?, id, timestamp, body))
}

/// The HMAC key of a Standard Webhooks secret, ready to sign with.
fn signing_key(secret: &str) -> Result<Hmac<Sha256>, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        format!(
            "the webhook secret must start with `{SECRET_PREFIX}` followed by the base64 of the key"
        )
    })?;
    let key = SECRET_BASE64.decode(encoded).map_err(|error| {
        format!("the webhook secret's key (after `{SECRET_PREFIX}`) is not valid base64: {error}")
    })?;
    if key.is_empty() {
        return Err("the webhook secret's key is empty".to_owned());
    }
    Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|error| format!("the webhook secret's key: {error}"))
}

fn sign(key: &Hmac<Sha256>, id: &str, timestamp: UnixSeconds, body: &[u8]) -> String {
    let mut mac = key.clone();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The receiver's URL, if it is an absolute `http` or `https` one.
fn target_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|error| format!("webhook URL `{url}`: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("webhook URL `{url}`: must be http or https"));
    }
    Ok(parsed)
}

/// The `data` of the webhook: the job as it is once created, in the fields of
/// docs/pleo-export-api.md §4.1, formatted as E3 formats them.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JobCreated {
    id: Uuid,
    company_id: Uuid,
    created_at: String,
    created_by: Option<Uuid>,
    expires_in: u32,
    number_of_items: usize,
    status: &'static str,
}

impl JobCreated {
    pub(super) fn new(job: &Job) -> Self {
        Self {
            id: job.id,
            company_id: job.company_id,
            created_at: timestamps::format(job.created_at),
            created_by: job.created_by,
            expires_in: job.expires_in,
            number_of_items: job.items.len(),
            status: job.status.as_str(),
        }
    }
}

/// The webhook body, fields in the order of docs/pleo-export-api.md §4.1.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    event_id: Uuid,
    event_type: &'static str,
    data: &'a JobCreated,
}

/// One message, ready to send as often as needed.
struct Message {
    id: String,
    job_id: Uuid,
    body: Vec<u8>,
}

/// Sends the webhooks of one emulator and remembers every attempt. Deliveries still under
/// way when it is dropped (the emulator stopped) are abandoned.
pub(super) struct Webhooks {
    url: Url,
    key: Hmac<Sha256>,
    client: reqwest::Client,
    runtime: Handle,
    deliveries: Arc<Mutex<Vec<WebhookDelivery>>>,
    tasks: Mutex<JoinSet<()>>,
}

impl fmt::Debug for Webhooks {
    /// Leaves out the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// Sends to `target` from tasks on `runtime`; fails on an invalid target.
    pub(super) fn new(target: &WebhookTarget, runtime: Handle) -> Result<Self, String> {
        let url = target_url(&target.url)?;
        let key = signing_key(&target.secret)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("preflight-emulators/", env!("CARGO_PKG_VERSION")))
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .map_err(|error| format!("webhook HTTP client: {error}"))?;
        Ok(Self {
            url,
            key,
            client,
            runtime,
            deliveries: Arc::new(Mutex::new(Vec::new())),
            tasks: Mutex::new(JoinSet::new()),
        })
    }

    /// Announces a new job in the background; returns at once.
    pub(super) fn job_created(&self, data: &JobCreated) {
        let event_id = Uuid::new_v4();
        let envelope = Envelope {
            event_id,
            event_type: EVENT_TYPE,
            data,
        };
        let body = match serde_json::to_vec(&envelope) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(job_id = %data.id, %error, "Pleo emulator: cannot encode webhook");
                return;
            }
        };
        let message = Message {
            id: format!("msg_{}", event_id.simple()),
            job_id: data.id,
            body,
        };
        let delivery = deliver(
            self.client.clone(),
            self.url.clone(),
            self.key.clone(),
            message,
            Arc::clone(&self.deliveries),
        );
        let mut tasks = lock(&self.tasks);
        // Forget finished deliveries so a long-running emulator does not accumulate them.
        while tasks.try_join_next().is_some() {}
        tasks.spawn_on(delivery, &self.runtime);
    }

    /// Every attempt so far, in the order they ended.
    pub(super) fn deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.deliveries).clone()
    }
}

/// Sends `message` until the receiver answers 2xx or the attempts run out, recording each
/// attempt.
async fn deliver(
    client: reqwest::Client,
    url: Url,
    key: Hmac<Sha256>,
    message: Message,
    deliveries: Arc<Mutex<Vec<WebhookDelivery>>>,
) {
    let mut pauses = BACKOFF.iter();
    for attempt in 1..=ATTEMPTS {
        let timestamp = timestamps::now();
        let sent = client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                sign(&key, &message.id, timestamp, &message.body),
            )
            .body(message.body.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(error_chain(&error))),
        };
        let delivered = status.is_some_and(|status| (200..300).contains(&status));
        tracing::debug!(
            webhook_id = %message.id, job_id = %message.job_id, attempt, ?status, ?error,
            "Pleo emulator: webhook attempt"
        );
        lock(&deliveries).push(WebhookDelivery {
            id: message.id.clone(),
            job_id: message.job_id,
            attempt,
            status,
            error,
        });
        if delivered {
            return;
        }
        if let Some(pause) = pauses.next() {
            tokio::time::sleep(*pause).await;
        }
    }
    tracing::warn!(
        webhook_id = %message.id, job_id = %message.job_id, %url,
        "Pleo emulator: webhook not delivered after {ATTEMPTS} attempts"
    );
}

/// An error and its causes, e.g. `error sending request …: connection refused`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    const REFERENCE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        let signature = sign_webhook(
            REFERENCE_SECRET,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn every_part_of_the_message_is_signed() {
        let sign = |id: &str, timestamp: i64, body: &[u8]| {
            sign_webhook(REFERENCE_SECRET, id, timestamp, body).expect("valid secret")
        };
        let original = sign("msg_1", 10, b"{}");
        assert_ne!(original, sign("msg_2", 10, b"{}"));
        assert_ne!(original, sign("msg_1", 11, b"{}"));
        assert_ne!(original, sign("msg_1", 10, b"{ }"));
        let other = sign_webhook("whsec_AQ==", "msg_1", 10, b"{}").expect("valid secret");
        assert_ne!(original, other);
    }

    #[test]
    fn padding_of_the_key_is_optional() {
        assert_eq!(
            sign_webhook("whsec_AQ==", "msg_1", 1, b"x"),
            sign_webhook("whsec_AQ", "msg_1", 1, b"x")
        );
    }

    #[test]
    fn only_standard_webhooks_secrets_are_accepted() {
        for secret in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_",
            "whsec_A",
        ] {
            let error = sign_webhook(secret, "msg_1", 1, b"{}").expect_err(secret);
            assert!(error.contains("webhook secret"), "{secret}: {error}");
            let key = secret.trim_start_matches(SECRET_PREFIX);
            assert!(
                key.is_empty() || !error.contains(key),
                "{error} quotes the secret"
            );
        }
    }

    #[test]
    fn targets_need_an_http_url_and_a_valid_secret() {
        let target = |url: &str, secret: &str| WebhookTarget {
            url: url.to_owned(),
            secret: secret.to_owned(),
        };
        assert_eq!(
            target("http://127.0.0.1:9/hooks", REFERENCE_SECRET).validate(),
            Ok(())
        );
        assert_eq!(
            target("https://example.com", REFERENCE_SECRET).validate(),
            Ok(())
        );
        for url in ["ftp://example.com", "/hooks", "not a url"] {
            let error = target(url, REFERENCE_SECRET).validate().expect_err(url);
            assert!(error.contains("webhook URL"), "{url}: {error}");
        }
        assert!(target("http://127.0.0.1:9", "secret").validate().is_err());
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let target = WebhookTarget {
            url: "http://127.0.0.1:9".to_owned(),
            secret: REFERENCE_SECRET.to_owned(),
        };
        let shown = format!("{target:?}");
        assert!(
            shown.contains("127.0.0.1:9") && !shown.contains("MfKQ9r8"),
            "{shown}"
        );
    }

    #[test]
    fn the_body_has_the_fields_of_the_spec_in_its_order() {
        let data = JobCreated {
            id: Uuid::nil(),
            company_id: Uuid::max(),
            created_at: timestamps::format(0),
            created_by: None,
            expires_in: 3_600,
            number_of_items: 2,
            status: "pending",
        };
        let envelope = Envelope {
            event_id: Uuid::nil(),
            event_type: EVENT_TYPE,
            data: &data,
        };
        let body = serde_json::to_string(&envelope).expect("serialisable");
        assert_eq!(
            body,
            concat!(
                r#"{"eventId":"00000000-0000-0000-0000-000000000000","#,
                r#""eventType":"v1.export-job.created","data":{"#,
                r#""id":"00000000-0000-0000-0000-000000000000","#,
                r#""companyId":"ffffffff-ffff-ffff-ffff-ffffffffffff","#,
                r#""createdAt":"1970-01-01T00:00:00Z","createdBy":null,"#,
                r#""expiresIn":3600,"numberOfItems":2,"status":"pending"}}"#
            )
        );
    }
}
