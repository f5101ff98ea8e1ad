//! A delivery to `POST /webhooks/pleo`: its Standard Webhooks headers
//! checked against the body by `webhook::verify`, and the body read by
//! `webhook::Event::parse`; and the `whsec_…` secret by
//! `SigningKey::from_secret`.
//!
//! The input is `webhook-id`, `webhook-timestamp` and `webhook-signature`,
//! one a line (a line that is not UTF-8 is a header that cannot be read),
//! then the body.
//!
//! Beyond not panicking: an accepted delivery carries the id it was sent
//! with, a timestamp within the tolerance and a signature the key made over
//! exactly this id, timestamp and body; what `sign` makes for any id,
//! timestamp within the tolerance and body is accepted, alone or among
//! others, and refused for another body; a decoded secret is a key of at
//! least 16 bytes.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use libfuzzer_sys::fuzz_target;
use preflight::webhook::{self, Event, SigningKey, Verified, WebhookError};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_700_000_000;
const TOLERANCE: Duration = Duration::from_secs(300);

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW as u64)
}

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_secret(SECRET).expect("the fuzz secret decodes");
    let mut parts = data.splitn(4, |&byte| byte == b'\n');
    let mut line = || parts.next().and_then(|part| std::str::from_utf8(part).ok());
    let (id, timestamp, signatures) = (line(), line(), line());
    let body = data
        .splitn(4, |&byte| byte == b'\n')
        .nth(3)
        .unwrap_or_default();

    let headers = |name: &str| match name {
        "webhook-id" => id,
        "webhook-timestamp" => timestamp,
        "webhook-signature" => signatures,
        _ => None,
    };
    if let Ok(verified) = webhook::verify(headers, body, key.bytes(), TOLERANCE, now()) {
        assert_eq!(Some(verified.id.as_str()), id);
        assert!(verified.timestamp.abs_diff(NOW) <= TOLERANCE.as_secs());
        let expected = webhook::sign(&key, &verified.id, verified.timestamp, body);
        let expected = BASE64.decode(&expected["v1,".len()..]).expect("base64");
        assert!(
            signatures
                .unwrap_or_default()
                .split(' ')
                .filter_map(|part| part.strip_prefix("v1,"))
                .any(|tag| BASE64.decode(tag).is_ok_and(|tag| tag == expected)),
            "accepted without the key's signature: {signatures:?}"
        );
    }

    // What the key signs is accepted, and for this body only.
    if let Some(id) = id.filter(|id| !id.is_empty()) {
        let offset = i64::try_from(body.len() % 601).expect("small") - 300;
        let sent = NOW + offset;
        let signature = webhook::sign(&key, id, sent, body);
        let sent_text = sent.to_string();
        let rotated = format!("v1,AAAA {signature}");
        for header in [&signature, &rotated] {
            let check = |body: &[u8]| {
                webhook::verify(
                    |name| match name {
                        "webhook-id" => Some(id),
                        "webhook-timestamp" => Some(sent_text.as_str()),
                        "webhook-signature" => Some(header.as_str()),
                        _ => None,
                    },
                    body,
                    key.bytes(),
                    TOLERANCE,
                    now(),
                )
            };
            assert_eq!(
                check(body),
                Ok(Verified {
                    id: id.to_owned(),
                    timestamp: sent
                })
            );
            let mut other = body.to_vec();
            other.push(b'x');
            assert_eq!(check(&other), Err(WebhookError::Signature));
        }
    }

    match Event::parse(body) {
        Ok(event) => {
            assert!(serde_json::from_slice::<serde_json::Value>(body).is_ok());
            if event.is_export_job_created() {
                assert!(event.kind.starts_with("v1.export"), "{}", event.kind);
            }
        }
        Err(_) => assert!(serde_json::from_slice::<serde_json::Value>(body).is_err()),
    }

    if let Some(secret) = id
        && let Ok(key) = SigningKey::from_secret(secret)
    {
        assert!(key.bytes().len() >= 16);
        let signature = webhook::sign(&key, "msg", NOW, body);
        assert!(
            webhook::verify(
                |name| match name {
                    "webhook-id" => Some("msg"),
                    "webhook-timestamp" => Some("1700000000"),
                    "webhook-signature" => Some(signature.as_str()),
                    _ => None,
                },
                body,
                key.bytes(),
                TOLERANCE,
                now(),
            )
            .is_ok()
        );
    }
});
