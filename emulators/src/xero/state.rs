//! State shared by every request of one Xero emulator.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::journals::ManualJournal;
use super::oauth::{AccessToken, Issued, Tokens};
use super::{Scenario, XeroConfig, seed};

/// Xero's per-tenant limits: 5,000 calls a day and 60 a minute, plus 10,000 a minute per app
/// (developer.xero.com/faq/limits via docs/accounting-systems.md §1).
const DAY_LIMIT: u32 = 5_000;
const MINUTE_LIMIT: u32 = 60;
const APP_MINUTE_LIMIT: u32 = 10_000;

const DAY: Duration = Duration::from_secs(86_400);
const MINUTE: Duration = Duration::from_secs(60);

/// Everything the handlers of one emulator share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: XeroConfig,
    scenarios: Mutex<Vec<Scenario>>,
    quota: Mutex<Quota>,
    journals: Mutex<Vec<ManualJournal>>,
    /// Grants, issued access tokens and the token-call counters.
    tokens: Mutex<Tokens>,
    clock: Clock,
}

impl Shared {
    pub(super) fn new(config: XeroConfig) -> Self {
        Self {
            scenarios: Mutex::new(config.scenarios.clone()),
            tokens: Mutex::new(Tokens::new(
                &config.refresh_token,
                config.access_token_lifetime,
                config.refresh_grace,
            )),
            config,
            quota: Mutex::new(Quota::new(Instant::now())),
            journals: Mutex::new(seed::journals()),
            clock: Clock::default(),
        }
    }

    /// The scenarios as they are right now; a request keeps this snapshot throughout.
    pub(super) fn active(&self) -> Active {
        Active(lock(&self.scenarios).clone())
    }

    pub(super) fn set_scenarios(&self, scenarios: &[Scenario]) {
        *lock(&self.scenarios) = scenarios.to_vec();
    }

    /// Counts one accounting call against the limits and reports what is left.
    pub(super) fn consume_quota(&self) -> Remaining {
        lock(&self.quota).consume(self.clock.now())
    }

    /// What is left without counting a call, for answers that were refused.
    pub(super) fn remaining_quota(&self) -> Remaining {
        lock(&self.quota).remaining(self.clock.now())
    }

    /// The stored manual journals, for reading or changing.
    pub(super) fn journals(&self) -> MutexGuard<'_, Vec<ManualJournal>> {
        lock(&self.journals)
    }

    /// Exchanges a refresh token for new tokens (see [`Tokens::rotate`]).
    pub(super) fn rotate(&self, presented: &str) -> Option<Issued> {
        let now = self.clock.now();
        lock(&self.tokens).rotate(presented, now)
    }

    /// Counts a token call refused for its form rather than its token.
    pub(super) fn refuse_token_call(&self) {
        lock(&self.tokens).refuse();
    }

    /// Whether a bearer token was issued by a refresh, and whether it still works.
    pub(super) fn access(&self, token: &str) -> AccessToken {
        let now = self.clock.now();
        lock(&self.tokens).access(token, now)
    }

    /// The token answer's `expires_in`.
    pub(super) fn expires_in(&self) -> u64 {
        lock(&self.tokens).expires_in()
    }

    /// Successful token calls.
    pub(super) fn token_calls(&self) -> u64 {
        lock(&self.tokens).calls()
    }

    /// Refused token calls.
    pub(super) fn refused_token_calls(&self) -> u64 {
        lock(&self.tokens).refused()
    }

    /// Token calls that spent a previous refresh token within its grace.
    pub(super) fn graced_token_calls(&self) -> u64 {
        lock(&self.tokens).graced()
    }

    /// Successful token calls per grant.
    pub(super) fn token_calls_by_grant(&self) -> BTreeMap<String, u64> {
        lock(&self.tokens).calls_by_grant()
    }

    /// Moves the emulator's clock forward by `by`.
    pub(super) fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// The emulator's monotonic clock: the real one plus however far it was moved forward,
/// so tests can let tokens expire and grace periods end without waiting.
#[derive(Debug, Default)]
struct Clock {
    skew: Mutex<Duration>,
}

impl Clock {
    fn now(&self) -> Instant {
        let real = Instant::now();
        real.checked_add(*lock(&self.skew)).unwrap_or(real)
    }

    fn advance(&self, by: Duration) {
        let mut skew = lock(&self.skew);
        *skew = skew.saturating_add(by);
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

    /// The OAuth scopes the token lacks under the active missing-scope scenarios.
    pub(super) fn missing_scopes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0
            .iter()
            .filter_map(|scenario| scenario.missing_scope())
    }
}

/// Calls left in the current windows, as sent in the `X-…Limit-Remaining` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Remaining {
    pub(super) day: u32,
    pub(super) minute: u32,
    pub(super) app_minute: u32,
}

/// Fixed-window counters; the emulator reports the limits but never enforces them, which
/// is what the `rate-limited` scenario is for.
#[derive(Debug)]
struct Quota {
    day_start: Instant,
    day_used: u32,
    minute_start: Instant,
    minute_used: u32,
}

impl Quota {
    fn new(now: Instant) -> Self {
        Self {
            day_start: now,
            day_used: 0,
            minute_start: now,
            minute_used: 0,
        }
    }

    fn roll_windows(&mut self, now: Instant) {
        if now.duration_since(self.day_start) >= DAY {
            self.day_start = now;
            self.day_used = 0;
        }
        if now.duration_since(self.minute_start) >= MINUTE {
            self.minute_start = now;
            self.minute_used = 0;
        }
    }

    fn consume(&mut self, now: Instant) -> Remaining {
        self.roll_windows(now);
        self.day_used = self.day_used.saturating_add(1);
        self.minute_used = self.minute_used.saturating_add(1);
        self.remaining(now)
    }

    fn remaining(&mut self, now: Instant) -> Remaining {
        self.roll_windows(now);
        Remaining {
            day: DAY_LIMIT.saturating_sub(self.day_used),
            minute: MINUTE_LIMIT.saturating_sub(self.minute_used),
            app_minute: APP_MINUTE_LIMIT.saturating_sub(self.minute_used),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_counts_down_and_resets_each_minute() {
        let start = Instant::now();
        let mut quota = Quota::new(start);
        assert_eq!(
            quota.consume(start),
            Remaining {
                day: 4_999,
                minute: 59,
                app_minute: 9_999
            }
        );
        let later = start + MINUTE;
        assert_eq!(
            quota.consume(later),
            Remaining {
                day: 4_998,
                minute: 59,
                app_minute: 9_999
            }
        );
    }

    #[test]
    fn quota_never_goes_below_zero() {
        let start = Instant::now();
        let mut quota = Quota::new(start);
        for _ in 0..100 {
            quota.consume(start);
        }
        assert_eq!(quota.remaining(start).minute, 0);
    }
}
