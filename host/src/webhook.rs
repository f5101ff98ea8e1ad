//! Pleo's webhooks, Standard Webhooks style (docs/pleo-export-api.md §4.1): the
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, and an
//! HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the endpoint's
//! secret (`whsec_` followed by the key in base64).
//!
//! [`verify`] checks a delivery before anything in it is trusted: the headers
//! are present, the timestamp is within the tolerance of now (so a captured
//! delivery cannot be replayed later), and one of the signatures matches, in
//! constant time. Replays within the tolerance are caught by the id (the
//! store remembers the ids it has seen).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The event that announces a new export job.
pub const EXPORT_JOB_CREATED: &str = "v1.export-job.created";
/// Its deprecated spelling, still accepted.
pub const EXPORT_JOB_CREATED_DEPRECATED: &str = "v1.export.job-created";

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A Standard Webhooks header is missing or unreadable.
    #[error("missing or unreadable header {0}")]
    Header(&'static str),
    /// The timestamp is too far from now.
    #[error(
        "webhook-timestamp {timestamp} is {off} s from now, beyond the tolerance of {tolerance} s"
    )]
    Stale {
        /// The delivery's timestamp.
        timestamp: i64,
        /// Seconds between it and now.
        off: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// No signature matches.
    #[error("no webhook-signature matches the configured secret")]
    Signature,
}

/// The HMAC key of a `whsec_…` secret.
fn key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix("whsec_").ok_or_else(|| {
        "expected a Standard Webhooks secret, whsec_ followed by base64".to_owned()
    })?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|error| format!("the part after whsec_ is not base64: {error}"))?;
    if key.len() < 16 {
        return Err(format!(
            "the key is {} bytes; at least 16 are needed",
            key.len()
        ));
    }
    Ok(key)
}

/// The HMAC key of a configured secret, decoded once; its `Debug` never
/// shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// The key of a `whsec_…` secret.
    pub fn from_secret(secret: &str) -> Result<SigningKey, String> {
        key(secret).map(SigningKey)
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for message `id` sent at `timestamp`
/// (seconds since the epoch) with `body`: `v1,` and the base64 of the
/// HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn sign(key: &SigningKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(key.bytes(), id, timestamp, body)
        .finalize()
        .into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

/// `webhook-timestamp` as the specification writes it: integer seconds in
/// decimal digits, no sign, no leading zero, no spaces. The signature covers
/// the number as printed, so a second spelling of the same number
/// (`+1614265330`, `01614265330`) is refused rather than taken for it.
fn canonical_seconds(text: &str) -> Option<i64> {
    let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// A delivery whose signature and timestamp checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `webhook-id`: the same for every retry of one message.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
}

/// Checks a delivery's headers against `body`, `key` and the clock.
/// `header` looks a header up by its lower-case name.
pub fn verify<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
    key: &[u8],
    tolerance: Duration,
    now: SystemTime,
) -> Result<Verified, WebhookError> {
    let id = header("webhook-id")
        .filter(|id| !id.is_empty())
        .ok_or(WebhookError::Header("webhook-id"))?;
    let timestamp = header("webhook-timestamp")
        .and_then(canonical_seconds)
        .ok_or(WebhookError::Header("webhook-timestamp"))?;
    let signatures =
        header("webhook-signature").ok_or(WebhookError::Header("webhook-signature"))?;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let off = now.abs_diff(timestamp);
    if off > tolerance.as_secs() {
        return Err(WebhookError::Stale {
            timestamp,
            off,
            tolerance: tolerance.as_secs(),
        });
    }
    // Several space-separated signatures may come (during a key rotation);
    // one that matches is enough. The body is hashed once, each signature
    // compared in constant time.
    let mac = mac(key, id, timestamp, body);
    let matches = signatures.split(' ').any(|signature| {
        let Some(encoded) = signature.strip_prefix("v1,") else {
            return false;
        };
        let Ok(tag) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        mac.clone().verify_slice(&tag).is_ok()
    });
    if !matches {
        return Err(WebhookError::Signature);
    }
    Ok(Verified {
        id: id.to_owned(),
        timestamp,
    })
}

/// What the body of a verified delivery announces: the fields of Pleo's
/// event that `POST /webhooks/pleo` acts on (docs/pleo-export-api.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `eventType`; empty when absent or not a string.
    pub kind: String,
    /// `data.id`, the job, when it is a string.
    pub job: Option<String>,
    /// `data.companyId`, when it is a UUID.
    pub company: Option<uuid::Uuid>,
}

impl Event {
    /// Reads a delivery's body: any JSON document; the fields it does not
    /// have, or has in another shape, are absent. The error says why the body
    /// is not JSON.
    ///
    /// The one reading of the body, used by the endpoint and by the fuzz
    /// target of deliveries (`fuzz/fuzz_targets/webhook.rs`).
    pub fn parse(body: &[u8]) -> Result<Event, serde_json::Error> {
        let event: serde_json::Value = serde_json::from_slice(body)?;
        Ok(Event {
            kind: event
                .get("eventType")
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_owned(),
            job: event
                .pointer("/data/id")
                .and_then(|id| id.as_str())
                .map(str::to_owned),
            company: event
                .pointer("/data/companyId")
                .and_then(|id| id.as_str())
                .and_then(|id| id.parse::<uuid::Uuid>().ok()),
        })
    }

    /// Whether it announces a new export job, under either spelling.
    pub fn is_export_job_created(&self) -> bool {
        self.kind == EXPORT_JOB_CREATED || self.kind == EXPORT_JOB_CREATED_DEPRECATED
    }
}

/// The webhook endpoint's key and replay window (the operator file's
/// `[webhooks]`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The endpoint's signing key, from its secret (`whsec_…`).
    pub key: SigningKey,
    /// How far `webhook-timestamp` may be from now.
    pub tolerance: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    /// The Standard Webhooks specification's published example: this
    /// secret, id, timestamp and body give this signature, computed by a
    /// sender that has nothing to do with this verifier.
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn check(
        headers: &[(&str, String)],
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let key = key(SECRET).unwrap();
        verify(
            |name| {
                headers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.as_str())
            },
            body,
            &key,
            Duration::from_secs(300),
            now,
        )
    }

    #[test]
    fn only_the_canonical_spelling_of_a_timestamp_is_read() {
        assert_eq!(canonical_seconds("1614265330"), Some(TIMESTAMP));
        assert_eq!(canonical_seconds("0"), Some(0));
        for text in [
            "+1614265330",
            "01614265330",
            " 1614265330",
            "1614265330 ",
            "-5",
            "",
            "1e9",
            "99999999999999999999",
        ] {
            assert_eq!(canonical_seconds(text), None, "{text:?}");
        }
        let signed = |timestamp: &str| {
            check(
                &[
                    ("webhook-id", ID.to_owned()),
                    ("webhook-timestamp", timestamp.to_owned()),
                    ("webhook-signature", SIGNATURE.to_owned()),
                ],
                BODY,
                UNIX_EPOCH + Duration::from_secs(TIMESTAMP as u64),
            )
        };
        assert!(signed("1614265330").is_ok());
        assert!(matches!(
            signed("+1614265330"),
            Err(WebhookError::Header("webhook-timestamp"))
        ));
    }

    #[test]
    fn signing_gives_the_specification_example() {
        let key = SigningKey::from_secret(SECRET).unwrap();
        assert_eq!(sign(&key, ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn signatures_timestamps_and_headers_are_checked() {
        let at = |seconds: i64| UNIX_EPOCH + Duration::from_secs(seconds as u64);
        let now = at(TIMESTAMP + 10);
        let headers = |sig: &str, id: &str| {
            vec![
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", TIMESTAMP.to_string()),
                ("webhook-signature", sig.to_owned()),
            ]
        };
        assert_eq!(
            check(&headers(SIGNATURE, ID), BODY, now),
            Ok(Verified {
                id: ID.into(),
                timestamp: TIMESTAMP
            })
        );
        // A rotated key: one of several signatures is enough.
        let both = format!("v1,AAAA {SIGNATURE}");
        assert!(check(&headers(&both, ID), BODY, now).is_ok());
        assert_eq!(
            check(&headers(SIGNATURE, ID), b"{}", now),
            Err(WebhookError::Signature),
            "a changed body"
        );
        assert_eq!(
            check(&headers(SIGNATURE, "msg_other"), BODY, now),
            Err(WebhookError::Signature),
            "another id: the id is signed too"
        );
        assert!(matches!(
            check(&headers(SIGNATURE, ID), BODY, at(TIMESTAMP + 301)),
            Err(WebhookError::Stale { off: 301, .. })
        ));
        assert_eq!(
            check(&headers(SIGNATURE, ID)[..2], BODY, now),
            Err(WebhookError::Header("webhook-signature"))
        );
    }

    #[test]
    fn bodies_are_read_for_the_event_type_job_and_company() {
        let event = Event::parse(
            br#"{"eventType": "v1.export-job.created", "data": {"id": "job-1", "companyId": "12abc3d4-e567-490e-9234-abc56e78fabc"}}"#,
        )
        .unwrap();
        assert!(event.is_export_job_created());
        assert_eq!(event.job.as_deref(), Some("job-1"));
        assert_eq!(
            event.company,
            Some(uuid::Uuid::from_u128(
                0x12abc3d4_e567_490e_9234_abc56e78fabc
            ))
        );
        let deprecated =
            Event::parse(br#"{"eventType": "v1.export.job-created", "data": {"companyId": 7}}"#)
                .unwrap();
        assert!(deprecated.is_export_job_created());
        assert_eq!((deprecated.job, deprecated.company), (None, None));
        let other = Event::parse(b"[1, 2]").unwrap();
        assert_eq!(other.kind, "");
        assert!(!other.is_export_job_created());
        assert!(Event::parse(b"{\"eventType\":").is_err());
    }

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(key(SECRET).is_ok());
        assert!(key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(key("whsec_not base64!").is_err());
        assert!(key("whsec_c2hvcnQ=").unwrap_err().contains("at least 16"));
    }
}
