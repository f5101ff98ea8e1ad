//! Fault injection: making a share of `/v3` requests fail the ways a remote API does, so
//! clients' retries and backoff can be tested (docs/pleo-export-api.md §7; Pleo's own 429/5xx bodies are
//! undocumented, docs/pleo-export-api.md §8 q7, so they use `ExceptionInfo` like every other
//! error).
//!
//! The choice is pseudo-random but deterministic: the same [`Faults::seed`] and the same
//! sequence of requests give the same faults.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;

use super::responses::ApiError;
use super::state::Shared;

/// Which faults to inject, and how often.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Chance per request, from 0.0 (never) to 1.0 (every request), that a fault hits;
    /// values outside that range are clamped.
    pub rate: f64,
    /// Answer 500, 502 or 503 with an `ExceptionInfo` body.
    pub server_errors: bool,
    /// Answer 429 with `Retry-After: 1`.
    pub rate_limits: bool,
    /// Wait this long, then process the request normally.
    pub slow: Option<Duration>,
    /// Close the connection without any response.
    pub drops: bool,
    /// Seed of the pseudo-random choices.
    pub seed: u64,
}

/// One fault chosen for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    ServerError(StatusCode),
    RateLimited,
    Slow(Duration),
    Drop,
}

const SERVER_ERRORS: [StatusCode; 3] = [
    StatusCode::INTERNAL_SERVER_ERROR,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
];

/// The configured faults with the state of their random choices.
#[derive(Debug)]
pub(super) struct Injector {
    faults: Faults,
    random: SplitMix64,
}

impl Injector {
    pub(super) fn new(faults: Faults) -> Self {
        let random = SplitMix64::new(faults.seed);
        Self { faults, random }
    }

    /// Decides whether the next request gets a fault: first whether one hits at all (with
    /// probability `rate`), then which of the enabled kinds, each equally likely.
    pub(super) fn next_fault(&mut self) -> Option<Fault> {
        let rate = if self.faults.rate.is_nan() {
            0.0
        } else {
            self.faults.rate.clamp(0.0, 1.0)
        };
        if self.random.next_f64() >= rate {
            return None;
        }
        let kinds = self.enabled_kinds();
        let kind = *kinds.get(self.random.below(kinds.len())?)?;
        Some(match kind {
            Fault::ServerError(_) => {
                Fault::ServerError(SERVER_ERRORS[self.random.below(SERVER_ERRORS.len())?])
            }
            other => other,
        })
    }

    fn enabled_kinds(&self) -> Vec<Fault> {
        let mut kinds = Vec::with_capacity(4);
        if self.faults.server_errors {
            kinds.push(Fault::ServerError(StatusCode::INTERNAL_SERVER_ERROR));
        }
        if self.faults.rate_limits {
            kinds.push(Fault::RateLimited);
        }
        if let Some(delay) = self.faults.slow {
            kinds.push(Fault::Slow(delay));
        }
        if self.faults.drops {
            kinds.push(Fault::Drop);
        }
        kinds
    }
}

/// Sebastiano Vigna's SplitMix64: tiny, fast, and good enough to pick faults; every seed,
/// zero included, gives a full-period sequence.
#[derive(Debug)]
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub(super) fn next_f64(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }

    /// Uniform in `0..n` (the tiny modulo bias is irrelevant here); `None` for `n == 0`.
    pub(super) fn below(&mut self, n: usize) -> Option<usize> {
        let n = u64::try_from(n).ok().filter(|&n| n > 0)?;
        usize::try_from(self.next_u64() % n).ok()
    }
}

/// Middleware in front of the whole router: `/v3` requests may get a fault before anything
/// else (authentication included) looks at them.
pub(super) async fn inject(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/v3/") {
        return next.run(request).await;
    }
    match shared.next_fault() {
        None => next.run(request).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::ServerError(status)) => server_error(status),
        Some(Fault::RateLimited) => rate_limited(),
        Some(Fault::Drop) => dropped_connection(),
    }
}

fn server_error(status: StatusCode) -> Response {
    let (kind, message) = match status {
        StatusCode::BAD_GATEWAY => ("BAD_GATEWAY", "Bad gateway."),
        StatusCode::SERVICE_UNAVAILABLE => ("SERVICE_UNAVAILABLE", "Service unavailable."),
        _ => ("INTERNAL_SERVER_ERROR", "Internal server error."),
    };
    ApiError::new(status, kind, message).into_response()
}

fn rate_limited() -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_REQUESTS",
        "Too many requests.",
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// A response hyper never sends: its body fails before yielding anything, so hyper
/// aborts the connection while the status line is still unwritten, and the client
/// sees the connection close without a reply.
fn dropped_connection() -> Response {
    Response::new(Body::new(FailingBody))
}

/// A body whose first poll is an error.
struct FailingBody;

impl HttpBody for FailingBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "fault injection: drop the connection",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(rate: f64) -> Faults {
        Faults {
            rate,
            server_errors: true,
            rate_limits: true,
            slow: Some(Duration::from_millis(5)),
            drops: true,
            seed: 42,
        }
    }

    fn draws(faults: Faults, count: usize) -> Vec<Option<Fault>> {
        let mut injector = Injector::new(faults);
        (0..count).map(|_| injector.next_fault()).collect()
    }

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // First outputs of the reference implementation seeded with 1234567.
        let mut random = SplitMix64::new(1_234_567);
        assert_eq!(random.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(random.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn same_seed_same_faults() {
        assert_eq!(draws(faults(0.5), 200), draws(faults(0.5), 200));
        let other = Faults {
            seed: 7,
            ..faults(0.5)
        };
        assert_ne!(draws(faults(0.5), 200), draws(other, 200));
    }

    #[test]
    fn rate_bounds_are_never_and_always() {
        assert!(draws(faults(0.0), 500).iter().all(Option::is_none));
        assert!(draws(faults(1.0), 500).iter().all(Option::is_some));
        assert!(draws(faults(f64::NAN), 50).iter().all(Option::is_none));
        assert!(draws(Faults::default(), 50).iter().all(Option::is_none));
    }

    #[test]
    fn every_enabled_kind_is_chosen_and_only_those() {
        let chosen = draws(faults(1.0), 1_000);
        let count =
            |wanted: fn(&Fault) -> bool| chosen.iter().flatten().filter(|f| wanted(f)).count();
        assert!(count(|f| matches!(f, Fault::ServerError(_))) > 150);
        assert!(count(|f| *f == Fault::RateLimited) > 150);
        assert!(count(|f| matches!(f, Fault::Slow(_))) > 150);
        assert!(count(|f| *f == Fault::Drop) > 150);
        for status in SERVER_ERRORS {
            assert!(count_status(&chosen, status) > 30, "{status}");
        }
        let only_drops = Faults {
            rate: 1.0,
            drops: true,
            ..Faults::default()
        };
        assert!(
            draws(only_drops, 100)
                .iter()
                .all(|f| *f == Some(Fault::Drop))
        );
        let nothing_enabled = Faults {
            rate: 1.0,
            ..Faults::default()
        };
        assert!(draws(nothing_enabled, 20).iter().all(Option::is_none));
    }

    fn count_status(chosen: &[Option<Fault>], status: StatusCode) -> usize {
        chosen
            .iter()
            .filter(|f| **f == Some(Fault::ServerError(status)))
            .count()
    }
}
