//! What the decision log keeps of each outbound exchange, and the tape that
//! plays recorded exchanges back to a plugin (`preflight replay`).
//!
//! Bodies are kept up to a cap ([`Captured`]); credentials never reach a
//! recording (the host attaches them after the plugin's headers are copied,
//! and response bodies are redacted before the plugin or the log sees them).

use std::sync::Mutex;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::outbound::Exchange;
use crate::bindings::wit_http::{self, HttpError};

/// A body as recorded: UTF-8 text, or base64 of bytes that are not, cut at
/// the cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// The kept bytes, when they are UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The kept bytes in base64, when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// The whole body's size in bytes.
    pub size: usize,
    /// Whether the kept bytes are fewer than the body's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Captured {
    /// Keeps at most `cap` bytes of `body` (never splitting a UTF-8
    /// character of a text body).
    pub fn of(body: &[u8], cap: usize) -> Captured {
        let mut kept = &body[..body.len().min(cap)];
        match std::str::from_utf8(kept) {
            Ok(text) => Captured::text(text, body.len()),
            Err(error) if error.error_len().is_none() && std::str::from_utf8(body).is_ok() => {
                // The cap fell inside a character of a text body.
                kept = &kept[..error.valid_up_to()];
                Captured::text(
                    std::str::from_utf8(kept).expect("checked prefix"),
                    body.len(),
                )
            }
            Err(_) => Captured {
                text: None,
                base64: Some(base64::engine::general_purpose::STANDARD.encode(kept)),
                size: body.len(),
                truncated: kept.len() < body.len(),
            },
        }
    }

    fn text(text: &str, size: usize) -> Captured {
        Captured {
            text: Some(text.to_owned()),
            base64: None,
            size,
            truncated: text.len() < size,
        }
    }

    /// The kept bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match (&self.text, &self.base64) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        }
    }
}

/// Why a request got no response, as the plugin was told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Failure {
    /// `denied`.
    Denied(String),
    /// `timeout`.
    Timeout,
    /// `unreachable`.
    Unreachable(String),
    /// `too-large`.
    TooLarge(u64),
    /// `budget-exhausted`.
    BudgetExhausted,
    /// `invalid-request`.
    InvalidRequest(String),
}

impl Failure {
    /// The failure's name on the wire (`denied`, `invalid-request`, …): its
    /// `kind` in the decision log, and the `reason` label of refusals.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Denied(_) => "denied",
            Failure::Timeout => "timeout",
            Failure::Unreachable(_) => "unreachable",
            Failure::TooLarge(_) => "too-large",
            Failure::BudgetExhausted => "budget-exhausted",
            Failure::InvalidRequest(_) => "invalid-request",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Denied(detail) => write!(f, "denied: {detail}"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Unreachable(detail) => write!(f, "unreachable: {detail}"),
            Failure::TooLarge(limit) => write!(f, "too large: over {limit} bytes"),
            Failure::BudgetExhausted => f.write_str("request budget exhausted"),
            Failure::InvalidRequest(detail) => write!(f, "invalid request: {detail}"),
        }
    }
}

impl From<&HttpError> for Failure {
    fn from(error: &HttpError) -> Failure {
        match error {
            HttpError::Denied(text) => Failure::Denied(text.clone()),
            HttpError::Timeout => Failure::Timeout,
            HttpError::Unreachable(text) => Failure::Unreachable(text.clone()),
            HttpError::TooLarge(limit) => Failure::TooLarge(*limit),
            HttpError::BudgetExhausted => Failure::BudgetExhausted,
            HttpError::InvalidRequest(text) => Failure::InvalidRequest(text.clone()),
        }
    }
}

impl From<&Failure> for HttpError {
    fn from(failure: &Failure) -> HttpError {
        match failure {
            Failure::Denied(text) => HttpError::Denied(text.clone()),
            Failure::Timeout => HttpError::Timeout,
            Failure::Unreachable(text) => HttpError::Unreachable(text.clone()),
            Failure::TooLarge(limit) => HttpError::TooLarge(*limit),
            Failure::BudgetExhausted => HttpError::BudgetExhausted,
            Failure::InvalidRequest(text) => HttpError::InvalidRequest(text.clone()),
        }
    }
}

/// Recorded exchanges, played back in place of the network: each request
/// gets the first unused recording with the same method, URL and request
/// body, else the first unused one with the same method and URL (a body
/// masked in the log, or one the plugin now builds differently). Exchanges
/// the plugin never saw (a 401 the host answered by refreshing the token)
/// are skipped.
#[derive(Debug)]
pub struct Tape {
    entries: Mutex<Vec<(Exchange, bool)>>,
    misses: Mutex<Vec<String>>,
}

impl Tape {
    /// A tape of `exchanges`, in the order they were recorded.
    pub fn new(exchanges: Vec<Exchange>) -> Tape {
        Tape {
            entries: Mutex::new(
                exchanges
                    .into_iter()
                    .filter(|e| !e.superseded)
                    .map(|e| (e, false))
                    .collect(),
            ),
            misses: Mutex::new(Vec::new()),
        }
    }

    /// The recorded answer to `method url` with `body`. A request nothing
    /// was recorded for is answered `unreachable` and remembered as a miss.
    pub fn answer(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<wit_http::Response, HttpError> {
        let mut entries = self.entries.lock().expect("tape lock");
        let unused = |(e, used): &(Exchange, bool)| !used && e.method == method && e.url == url;
        let position = entries
            .iter()
            .position(|entry| unused(entry) && same_body(entry.0.request_body.as_ref(), body))
            .or_else(|| entries.iter().position(unused));
        let Some((exchange, used)) = position.map(|at| &mut entries[at]) else {
            self.misses
                .lock()
                .expect("tape lock")
                .push(format!("{method} {url}"));
            return Err(HttpError::Unreachable(format!(
                "replay: nothing was recorded for {method} {url}"
            )));
        };
        *used = true;
        if let Some(failure) = &exchange.failure {
            return Err(failure.into());
        }
        Ok(wit_http::Response {
            status: exchange.status.unwrap_or(0),
            headers: exchange.response_headers.clone(),
            body: exchange
                .response_body
                .as_ref()
                .map(Captured::bytes)
                .unwrap_or_default(),
        })
    }

    /// Requests nothing was recorded for, in order.
    pub fn misses(&self) -> Vec<String> {
        self.misses.lock().expect("tape lock").clone()
    }

    /// `(used, recorded)`: how many recordings were played back, of how many.
    pub fn usage(&self) -> (usize, usize) {
        let entries = self.entries.lock().expect("tape lock");
        (
            entries.iter().filter(|(_, used)| *used).count(),
            entries.len(),
        )
    }

    /// Recordings whose bodies were cut at the cap and played back so.
    pub fn truncated(&self) -> usize {
        self.entries
            .lock()
            .expect("tape lock")
            .iter()
            .filter(|(e, used)| *used && e.response_body.as_ref().is_some_and(|b| b.truncated))
            .count()
    }
}

/// Whether `sent` is the body `recorded` was made of: as long, and
/// beginning with the bytes kept (all of them unless cut at the cap).
fn same_body(recorded: Option<&Captured>, sent: Option<&[u8]>) -> bool {
    match (recorded, sent) {
        (None, None) => true,
        (Some(recorded), Some(sent)) => {
            recorded.size == sent.len() && sent.starts_with(&recorded.bytes())
        }
        (Some(recorded), None) => recorded.size == 0,
        (None, Some(sent)) => sent.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failures_kind_is_its_name_in_the_decision_log() {
        for failure in [
            Failure::Denied("d".to_owned()),
            Failure::Timeout,
            Failure::Unreachable("u".to_owned()),
            Failure::TooLarge(1),
            Failure::BudgetExhausted,
            Failure::InvalidRequest("i".to_owned()),
        ] {
            let written = serde_json::to_value(&failure).unwrap();
            assert_eq!(written["kind"], failure.kind(), "{failure}");
        }
    }

    fn recorded(url: &str, body: &str, status: u16) -> Exchange {
        Exchange {
            method: "POST".to_owned(),
            url: url.to_owned(),
            status: Some(status),
            request_body: Some(Captured::of(body.as_bytes(), 4)),
            ..Exchange::default()
        }
    }

    #[test]
    fn requests_get_the_recording_with_their_body_else_the_first_unused() {
        let url = "https://api.test/query";
        let tape = Tape::new(vec![
            recorded(url, "select accounts", 200),
            recorded(url, "select vendors", 201),
            recorded(url, "select taxes", 202),
        ]);
        let status = |body: &str| {
            tape.answer("POST", url, Some(body.as_bytes()))
                .map(|response| response.status)
                .map_err(|error| format!("{error:?}"))
        };
        // Bodies cut at the cap (4 bytes) still tell the recordings apart
        // by their size and first bytes.
        assert_eq!(status("select vendors"), Ok(201));
        assert_eq!(status("select accounts"), Ok(200));
        // A body never recorded takes the first recording left.
        assert_eq!(status("select journals"), Ok(202));
        assert_eq!(tape.usage(), (3, 3));
        let missed = status("select vendors").expect_err("nothing left to play");
        assert!(missed.contains("Unreachable"), "{missed}");
        assert_eq!(tape.misses(), vec![format!("POST {url}")]);
    }

    #[test]
    fn bodies_are_kept_up_to_the_cap_as_text_or_base64() {
        let body = Captured::of("héllo".as_bytes(), 2);
        assert_eq!(body.text.as_deref(), Some("h"), "never splits a character");
        assert!(body.truncated);
        assert_eq!(body.size, 6);
        let whole = Captured::of(b"{\"a\":1}", 1024);
        assert_eq!(whole.bytes(), b"{\"a\":1}");
        assert!(!whole.truncated);
        let binary = Captured::of(&[0xff, 0x00, 0xfe], 1024);
        assert!(binary.text.is_none());
        assert_eq!(binary.bytes(), vec![0xff, 0x00, 0xfe]);
    }
}
