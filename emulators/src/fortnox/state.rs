//! State shared by every request of one Fortnox emulator: the active scenarios and the
//! rate limiter.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::{FortnoxConfig, Scenario};

/// Fortnox allows 300 requests a minute per client id and company, enforced as a 5-second
/// sliding window of 25 requests (docs/accounting-systems.md §3, "Errors").
pub(super) const WINDOW_LIMIT: usize = 25;
/// The length of the sliding window.
pub(super) const WINDOW: Duration = Duration::from_secs(5);

/// Everything the handlers of one emulator share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: FortnoxConfig,
    scenarios: Mutex<Vec<Scenario>>,
    limiter: Mutex<SlidingWindow>,
    /// The emulator's base URL, known once the socket is bound.
    url: OnceLock<String>,
}

impl Shared {
    pub(super) fn new(config: FortnoxConfig) -> Self {
        Self {
            scenarios: Mutex::new(config.scenarios.clone()),
            config,
            limiter: Mutex::new(SlidingWindow::new(WINDOW_LIMIT, WINDOW)),
            url: OnceLock::new(),
        }
    }

    /// Records the base URL the emulator answers on, for the `@url` links of answers.
    pub(super) fn set_url(&self, url: String) {
        // Set once, right after binding; a second call cannot happen.
        let _ = self.url.set(url);
    }

    /// The API root `{base}/3` the `@url` links of answers point into.
    pub(super) fn api_url(&self) -> String {
        let base = self
            .url
            .get()
            .map_or("https://api.fortnox.se", String::as_str);
        format!("{base}/3")
    }

    /// The scenarios as they are right now; a request keeps this snapshot throughout.
    pub(super) fn active(&self) -> Active {
        Active(lock(&self.scenarios).clone())
    }

    pub(super) fn set_scenarios(&self, scenarios: &[Scenario]) {
        *lock(&self.scenarios) = scenarios.to_vec();
    }

    /// Counts one request against the window; false when the window is full. The emulator
    /// serves one company for one client, so one window stands for Fortnox's per client id
    /// and company limit.
    pub(super) fn admit_request(&self) -> bool {
        lock(&self.limiter).admit(Instant::now())
    }
}

/// A poisoned lock only means a panic in another request; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The scenarios active for one request, put into its extensions by the gate.
#[derive(Clone, Debug, Default)]
pub(super) struct Active(Vec<Scenario>);

impl Active {
    pub(super) fn has(&self, scenario: Scenario) -> bool {
        self.0.contains(&scenario)
    }

    /// Whether an active scenario removed `scope` from the token.
    pub(super) fn lacks_scope(&self, scope: &str) -> bool {
        self.0
            .iter()
            .any(|scenario| scenario.missing_scopes().contains(&scope))
    }

    /// Whether an active scenario removed the licence behind `scope` from the company.
    pub(super) fn lacks_licence(&self, scope: &str) -> bool {
        self.0
            .iter()
            .any(|scenario| scenario.missing_licences().contains(&scope))
    }
}

impl From<Vec<Scenario>> for Active {
    fn from(scenarios: Vec<Scenario>) -> Self {
        Self(scenarios)
    }
}

/// At most `limit` admitted requests in any `window`; refused requests are not counted, so
/// a client that waits one window is admitted again.
#[derive(Debug)]
struct SlidingWindow {
    limit: usize,
    window: Duration,
    admitted: VecDeque<Instant>,
}

impl SlidingWindow {
    fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            admitted: VecDeque::with_capacity(limit),
        }
    }

    fn admit(&mut self, now: Instant) -> bool {
        while self
            .admitted
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.window)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() >= self.limit {
            return false;
        }
        self.admitted.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_admits_twenty_five_requests_per_five_seconds() {
        let start = Instant::now();
        let mut window = SlidingWindow::new(WINDOW_LIMIT, WINDOW);
        for n in 0..25 {
            assert!(
                window.admit(start + Duration::from_millis(n)),
                "request {n}"
            );
        }
        assert!(!window.admit(start + Duration::from_secs(1)), "the 26th");
        // The window slides: the first request leaves it five seconds after it came.
        assert!(window.admit(start + WINDOW));
        assert!(!window.admit(start + WINDOW));
        assert!(window.admit(start + WINDOW + Duration::from_millis(1)));
    }

    #[test]
    fn scopes_and_licences_follow_the_scenarios() {
        let active = Active(vec![
            Scenario::MissingSupplierScope,
            Scenario::NoSupplierInvoiceLicence,
        ]);
        assert!(active.lacks_scope("supplier"));
        assert!(active.lacks_scope("supplierinvoice"));
        assert!(!active.lacks_scope("bookkeeping"));
        assert!(active.lacks_licence("supplierinvoice"));
        assert!(!active.lacks_licence("supplier"));
    }
}
