//! Fault injection: making a share of `/v3` requests fail the ways a remote API does, so
//! clients' retries and backoff can be tested (docs/pleo-export-api.md §7; Pleo's own 429/5xx bodies are
//! undocumented, docs/pleo-export-api.md §8 q7, so they use `ExceptionInfo` like every other
//! error).
//!
//! Two kinds strike after the request was processed: the answer is lost or held back, so
//! the client does not know, or not yet, that Pleo applied it, e.g. that a `started` event
//! claimed the job (docs/pleo-export-api.md §4, "a claim is an event, not a lock").
//!
//! The choice is pseudo-random but deterministic: the same [`Faults::seed`] and the same
//! sequence of requests give the same faults. A [`FaultScope`] narrows the requests that
//! may get one.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method, StatusCode};
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
    /// Process the request normally, then close the connection without its answer.
    pub lost_answers: bool,
    /// Process the request normally, then hold its answer this long before sending it.
    pub held_answers: Option<Duration>,
    /// Which requests may get a fault; the others never do, and draw nothing from the
    /// pseudo-random sequence.
    pub scope: FaultScope,
    /// Seed of the pseudo-random choices.
    pub seed: u64,
}

/// The requests [`Faults`] apply to, by the operations of docs/pleo-export-api.md §2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultScope {
    /// Every `/v3` request.
    #[default]
    All,
    /// E1 `GET /v3/export-jobs`.
    Listings,
    /// E3 `GET /v3/export-jobs/{jobId}`; not its `/items`.
    Lookups,
    /// E4 `POST /v3/export-job-events`.
    Events,
}

impl FaultScope {
    /// Whether a request with this method and path (without the query) is in scope.
    pub(super) fn covers(self, method: &Method, path: &str) -> bool {
        match self {
            FaultScope::All => path.starts_with("/v3/"),
            FaultScope::Listings => method == Method::GET && path == "/v3/export-jobs",
            FaultScope::Lookups => {
                method == Method::GET
                    && path
                        .strip_prefix("/v3/export-jobs/")
                        .is_some_and(|job_id| !job_id.is_empty() && !job_id.contains('/'))
            }
            FaultScope::Events => method == Method::POST && path == "/v3/export-job-events",
        }
    }
}

/// One fault chosen for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    ServerError(StatusCode),
    RateLimited,
    Slow(Duration),
    Drop,
    LostAnswer,
    HeldAnswer(Duration),
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

    /// Decides whether a request with this method and path gets a fault: never outside
    /// [`Faults::scope`], without a draw; inside it as [`Injector::next_fault`] does.
    pub(super) fn fault_for(&mut self, method: &Method, path: &str) -> Option<Fault> {
        if self.faults.scope.covers(method, path) {
            self.next_fault()
        } else {
            None
        }
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
        let mut kinds = Vec::with_capacity(6);
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
        if self.faults.lost_answers {
            kinds.push(Fault::LostAnswer);
        }
        if let Some(delay) = self.faults.held_answers {
            kinds.push(Fault::HeldAnswer(delay));
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

/// Middleware in front of the whole router: `/v3` requests in [`Faults::scope`] may get a
/// fault before anything else (authentication included) looks at them, or, for a lost or
/// held answer, once the router has answered them.
pub(super) async fn inject(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    match shared.next_fault(request.method(), request.uri().path()) {
        None => next.run(request).await,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::ServerError(status)) => server_error(status),
        Some(Fault::RateLimited) => rate_limited(),
        Some(Fault::Drop) => dropped_connection(),
        Some(Fault::LostAnswer) => {
            drop(next.run(request).await);
            dropped_connection()
        }
        Some(Fault::HeldAnswer(delay)) => {
            let answer = next.run(request).await;
            tokio::time::sleep(delay).await;
            answer
        }
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
            ..Faults::default()
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

    #[test]
    fn answer_faults_are_chosen_like_the_others() {
        let held = Duration::from_millis(5);
        let all_six = Faults {
            lost_answers: true,
            held_answers: Some(held),
            ..faults(1.0)
        };
        let chosen = draws(all_six, 1_200);
        let count =
            |wanted: fn(&Fault) -> bool| chosen.iter().flatten().filter(|f| wanted(f)).count();
        assert!(count(|f| *f == Fault::LostAnswer) > 130);
        assert!(count(|f| matches!(f, Fault::HeldAnswer(_))) > 130);
        assert!(count(|f| *f == Fault::Drop) > 130);
        let only_lost = Faults {
            rate: 1.0,
            lost_answers: true,
            ..Faults::default()
        };
        assert!(
            draws(only_lost, 100)
                .iter()
                .all(|f| *f == Some(Fault::LostAnswer))
        );
        let only_held = Faults {
            rate: 1.0,
            held_answers: Some(held),
            ..Faults::default()
        };
        assert!(
            draws(only_held, 100)
                .iter()
                .all(|f| *f == Some(Fault::HeldAnswer(held)))
        );
    }

    #[test]
    fn scopes_cover_their_operations_only() {
        use FaultScope::{All, Events, Listings, Lookups};
        let job = "/v3/export-jobs/8eb648ab-464b-42a0-ba17-eda703657e33";
        let items = format!("{job}/items");
        let cases: [(Method, &str, &[FaultScope]); 11] = [
            (Method::GET, "/v3/export-jobs", &[All, Listings]),
            (Method::POST, "/v3/export-jobs", &[All]),
            (Method::GET, job, &[All, Lookups]),
            (Method::GET, "/v3/export-jobs/not-a-uuid", &[All, Lookups]),
            (Method::DELETE, job, &[All]),
            (Method::GET, &items, &[All]),
            (Method::PUT, &items, &[All]),
            (Method::POST, "/v3/export-job-events", &[All, Events]),
            (Method::GET, "/v3/export-job-events", &[All]),
            (Method::GET, "/v3/export-jobs/", &[All]),
            (Method::GET, "/health", &[]),
        ];
        for (method, path, covering) in cases {
            for scope in [All, Listings, Lookups, Events] {
                assert_eq!(
                    scope.covers(&method, path),
                    covering.contains(&scope),
                    "{scope:?} {method} {path}"
                );
            }
        }
        assert_eq!(Faults::default().scope, All);
    }

    #[test]
    fn requests_out_of_scope_draw_nothing() {
        let everything = draws(faults(0.5), 60);
        let mut scoped = Injector::new(Faults {
            scope: FaultScope::Events,
            ..faults(0.5)
        });
        let mut in_scope = Vec::new();
        for _ in 0..60 {
            assert_eq!(scoped.fault_for(&Method::GET, "/v3/export-jobs"), None);
            in_scope.push(scoped.fault_for(&Method::POST, "/v3/export-job-events"));
            assert_eq!(scoped.fault_for(&Method::GET, "/health"), None);
        }
        assert_eq!(in_scope, everything);
        let mut unscoped = Injector::new(faults(0.5));
        let all: Vec<_> = (0..60)
            .map(|_| unscoped.fault_for(&Method::GET, "/v3/export-jobs"))
            .collect();
        assert_eq!(all, everything);
    }

    fn count_status(chosen: &[Option<Fault>], status: StatusCode) -> usize {
        chosen
            .iter()
            .filter(|f| **f == Some(Fault::ServerError(status)))
            .count()
    }
}
