//! The part every emulator shares: starting an axum router on a TCP port, stopping it again,
//! and remembering every request it received.
//!
//! An emulator builds its [`axum::Router`], wraps it with [`RequestLog::wrap`] so that even
//! rejected or unrouted requests are recorded, and hands it to [`serve`]. The returned
//! [`Running`] owns the server: drop it or call [`Running::shutdown`] to stop it.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`Running::shutdown`] waits for in-flight requests before it aborts the server.
///
/// A graceful stop waits for open connections, and a request held by a "slow" scenario could
/// otherwise keep a test waiting for the whole artificial delay.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server started by [`serve`].
///
/// Dropping it asks the server to stop gracefully without waiting; [`Running::shutdown`]
/// also waits until it has stopped.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// The address the server is bound to, with the real port when port 0 was requested.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients should use, e.g. `http://127.0.0.1:4011`.
    ///
    /// A wildcard bind address (`0.0.0.0`, `::`) is reported as the loopback address of the
    /// same family, because the wildcard itself cannot be connected to.
    pub fn url(&self) -> String {
        format!("http://{}", connectable(self.addr))
    }

    /// Stops accepting connections, lets in-flight requests finish (for at most a few
    /// seconds) and waits until the server task has ended.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        let Some(mut task) = self.task.take() else {
            return;
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            tracing::warn!(addr = %self.addr, "emulator did not stop in time; aborting it");
            task.abort();
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The receiver is gone only when the server already ended, which is what we want.
            let _ = stop.send(());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves `router` on it in a background task.
///
/// Returns once the socket is bound, so the server accepts connections as soon as this
/// returns. Must be called inside a Tokio runtime.
pub async fn serve(router: Router, listen: SocketAddr) -> io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            // A dropped sender counts as a stop request too.
            let _ = stopped.await;
        };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%addr, %error, "emulator server failed");
        }
    });
    Ok(Running {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Maps a wildcard address to the loopback address of its family.
fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// One request as an emulator received it, before any authentication or routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path without the query string, still percent-encoded as sent.
    pub path: String,
    /// Raw query string without the leading `?`, if there was one.
    pub query: Option<String>,
    /// Every header in arrival order; names are lower-case, values decoded lossily as UTF-8.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of header `name` (compared case-insensitively), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn from_request(request: &Request) -> Self {
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        Self {
            method: request.method().as_str().to_owned(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(str::to_owned),
            headers,
        }
    }
}

/// A shared, bounded log of received requests; clones share the same log.
///
/// Only the newest [`RequestLog::DEFAULT_CAPACITY`] entries are kept so a long-running
/// `preflight emulate` process does not grow without bound.
#[derive(Clone, Debug)]
pub struct RequestLog {
    entries: Arc<Mutex<VecDeque<RecordedRequest>>>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl RequestLog {
    /// How many requests [`RequestLog::new`] keeps.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// An empty log keeping the newest [`RequestLog::DEFAULT_CAPACITY`] requests.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log keeping the newest `capacity` requests (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Arc::new(Mutex::new(VecDeque::new())),
            capacity: capacity.max(1),
        }
    }

    /// Appends `request`, forgetting the oldest entry when the log is full.
    pub fn record(&self, request: RecordedRequest) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.pop_front();
        }
        entries.push_back(request);
    }

    /// Every recorded request, oldest first.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets every recorded request.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many requests are currently recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no request is recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Wraps `router` so that every request reaching it, routed or not, is recorded here.
    ///
    /// Apply it last, so it sits outside every other layer and also sees requests those
    /// layers reject.
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(
            self.clone(),
            record_requests,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<RecordedRequest>> {
        // A poisoned lock only means a panic elsewhere; the log itself is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Axum middleware recording the request in `log`, then passing it on unchanged.
///
/// Use it with [`axum::middleware::from_fn_with_state`], or simply call [`RequestLog::wrap`].
pub async fn record_requests(
    State(log): State<RequestLog>,
    request: Request,
    next: Next,
) -> Response {
    log.record(RecordedRequest::from_request(&request));
    next.run(request).await
}

/// Finds the item of `all` whose `name` is `text`, ignoring case, spaces
/// around it, and `_` versus `-`; the error names `what` and lists the valid
/// names. Every emulator's `Scenario::from_str` is this.
pub fn parse_named<T: Copy>(
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<T, String> {
    let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
    all.iter()
        .copied()
        .find(|item| name(*item) == wanted)
        .ok_or_else(|| {
            let valid: Vec<&str> = all.iter().map(|item| name(*item)).collect();
            format!(
                "unknown {what} scenario `{}`; valid scenarios: {}",
                text.trim(),
                valid.join(", ")
            )
        })
}

/// Checks an emulator's name table: every item's name parses back to it and
/// is what `Display` prints, and the `count` names are distinct.
#[cfg(test)]
pub(crate) fn check_named<T>(all: &[T], name: fn(T) -> &'static str, count: usize)
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr<Err = String>,
{
    for &item in all {
        assert_eq!(name(item).parse::<T>(), Ok(item));
        assert_eq!(item.to_string(), name(item));
    }
    let mut names: Vec<&str> = all.iter().map(|item| name(*item)).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "{names:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["token-expired", "slow"];

    #[test]
    fn names_parse_regardless_of_case_underscores_and_spaces() {
        assert_eq!(
            parse_named(" Token_Expired ", NAMES, |n| n, "Xero"),
            Ok("token-expired")
        );
        assert_eq!(parse_named("SLOW", NAMES, |n| n, "Xero"), Ok("slow"));
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let error = parse_named("nope", NAMES, |n| n, "Fortnox").unwrap_err();
        assert_eq!(
            error,
            "unknown Fortnox scenario `nope`; valid scenarios: token-expired, slow"
        );
    }

    fn request(path: &str) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            path: path.into(),
            query: None,
            headers: vec![("xero-tenant-id".into(), "abc".into())],
        }
    }

    #[test]
    fn log_keeps_only_the_newest_entries() {
        let log = RequestLog::with_capacity(2);
        for path in ["/a", "/b", "/c"] {
            log.record(request(path));
        }
        let paths: Vec<_> = log.snapshot().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["/b", "/c"]);
        log.clear();
        assert!(log.is_empty());
    }

    #[test]
    fn header_lookup_ignores_case() {
        assert_eq!(request("/").header("Xero-Tenant-Id"), Some("abc"));
        assert_eq!(request("/").header("authorization"), None);
    }

    #[test]
    fn wildcard_addresses_become_loopback() {
        let v4: SocketAddr = "0.0.0.0:4011".parse().expect("valid address");
        let v6: SocketAddr = "[::]:4011".parse().expect("valid address");
        let fixed: SocketAddr = "127.0.0.2:9".parse().expect("valid address");
        assert_eq!(connectable(v4).to_string(), "127.0.0.1:4011");
        assert_eq!(connectable(v6).to_string(), "[::1]:4011");
        assert_eq!(connectable(fixed), fixed);
    }
}
