//! The OAuth model behind `POST /connect/token` and the bearer-token check: grants, their
//! rotating refresh tokens, the access tokens they issued and when those expire.
//!
//! Everything here takes the current [`Instant`] as an argument, so the rules can be tested
//! without waiting; [`super::state::Shared`] passes its (advanceable) clock.
//!
//! - A *grant* is one connection's chain of refresh tokens. The configured refresh token
//!   starts the grant named [`DEFAULT_GRANT`]; a never-seen token `<configured>:<name>`
//!   starts the grant `<name>` at its first use.
//! - Every successful use rotates the grant: a new access token and a new refresh token.
//! - The token the current refresh token replaced (the *previous* one) still works until
//!   `refresh_grace` after it was first used; re-using it rotates again, and the grace
//!   window is not extended by that. Every other older token is refused.
//! - Access tokens issued by a refresh work until `access_token_lifetime` after issue.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The name of the grant the configured refresh token starts.
pub const DEFAULT_GRANT: &str = "default";

/// What one successful refresh hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Issued {
    pub(super) access_token: String,
    pub(super) refresh_token: String,
}

/// What the emulator makes of a bearer token issued by a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AccessToken {
    /// Issued and still within its lifetime.
    Fresh,
    /// Issued, but its lifetime has passed.
    Expired,
    /// Never issued by a refresh (it may still be the configured token).
    Unknown,
}

/// One connection's refresh-token chain.
#[derive(Debug)]
struct Grant {
    /// The refresh token that works now.
    current: String,
    /// The token `current` replaced, usable until its grace period ends.
    previous: Option<Previous>,
    /// Successful refreshes of this grant.
    refreshes: u64,
}

#[derive(Debug)]
struct Previous {
    token: String,
    /// The end of the grace period, `refresh_grace` after the token was first used.
    until: Instant,
}

/// Every grant of one emulator, the access tokens they issued and the counters.
#[derive(Debug)]
pub(super) struct Tokens {
    /// The configured refresh token; `<seed>:<name>` starts a named grant.
    seed: String,
    lifetime: Duration,
    grace: Duration,
    grants: BTreeMap<String, Grant>,
    /// Access tokens issued by refreshes, with the moment each stops working.
    issued: HashMap<String, Instant>,
    /// The number of the last tokens issued, shared by all grants so tokens stay unique.
    serial: u64,
    calls: u64,
    refused: u64,
    /// Refreshes that spent a grant's previous token within its grace period.
    graced: u64,
}

impl Tokens {
    pub(super) fn new(seed: &str, lifetime: Duration, grace: Duration) -> Self {
        let mut grants = BTreeMap::new();
        grants.insert(
            DEFAULT_GRANT.to_owned(),
            Grant {
                current: seed.to_owned(),
                previous: None,
                refreshes: 0,
            },
        );
        Self {
            seed: seed.to_owned(),
            lifetime,
            grace,
            grants,
            issued: HashMap::new(),
            serial: 0,
            calls: 0,
            refused: 0,
            graced: 0,
        }
    }

    /// Exchanges a refresh token for new tokens, rotating its grant; `None` (counted as
    /// refused) for a token no grant accepts now.
    pub(super) fn rotate(&mut self, presented: &str, now: Instant) -> Option<Issued> {
        let Some(name) = self.grant_accepting(presented, now) else {
            self.refused += 1;
            return None;
        };
        self.serial += 1;
        let serial = self.serial;
        let issued = Issued {
            access_token: format!("xero-refreshed-access-token-{serial}"),
            refresh_token: format!("xero-rotated-refresh-token-{serial}"),
        };
        let grace = self.grace;
        let grant = self.grants.entry(name).or_insert_with(|| Grant {
            current: presented.to_owned(),
            previous: None,
            refreshes: 0,
        });
        let replaced = std::mem::replace(&mut grant.current, issued.refresh_token.clone());
        // Using the current token makes it the previous one; re-using the previous one
        // within its grace period keeps it (and its deadline) as the previous one.
        if replaced == presented {
            grant.previous = Some(Previous {
                token: replaced,
                until: now.checked_add(grace).unwrap_or(now),
            });
        } else if grant
            .previous
            .as_ref()
            .is_some_and(|p| p.token == presented)
        {
            self.graced += 1;
        }
        grant.refreshes += 1;
        self.calls += 1;
        let expires = now.checked_add(self.lifetime).unwrap_or(now);
        self.issued.insert(issued.access_token.clone(), expires);
        Some(issued)
    }

    /// The name of the grant `presented` belongs to and may rotate now: an existing grant's
    /// current token, its previous token within the grace period, or the never-seen
    /// `<seed>:<name>` of a grant not started yet.
    fn grant_accepting(&self, presented: &str, now: Instant) -> Option<String> {
        let existing = self.grants.iter().find(|(_, grant)| {
            grant.current == presented
                || grant
                    .previous
                    .as_ref()
                    .is_some_and(|previous| previous.token == presented && now < previous.until)
        });
        if let Some((name, _)) = existing {
            return Some(name.clone());
        }
        let name = presented
            .strip_prefix(self.seed.as_str())?
            .strip_prefix(':')?;
        // A grant that exists has seen its starting token already.
        (!name.is_empty() && !self.grants.contains_key(name)).then(|| name.to_owned())
    }

    /// Counts a token call refused before any token was looked at (a malformed request).
    pub(super) fn refuse(&mut self) {
        self.refused += 1;
    }

    /// Whether `token` was issued by a refresh and whether it still works at `now`.
    pub(super) fn access(&self, token: &str, now: Instant) -> AccessToken {
        match self.issued.get(token) {
            Some(expires) if now < *expires => AccessToken::Fresh,
            Some(_) => AccessToken::Expired,
            None => AccessToken::Unknown,
        }
    }

    /// `expires_in` of the token answer: the lifetime in whole seconds, at least 1.
    pub(super) fn expires_in(&self) -> u64 {
        self.lifetime.as_secs().max(1)
    }

    pub(super) fn calls(&self) -> u64 {
        self.calls
    }

    pub(super) fn refused(&self) -> u64 {
        self.refused
    }

    pub(super) fn graced(&self) -> u64 {
        self.graced
    }

    /// Successful refreshes per grant, for grants refreshed at least once.
    pub(super) fn calls_by_grant(&self) -> BTreeMap<String, u64> {
        self.grants
            .iter()
            .filter(|(_, grant)| grant.refreshes > 0)
            .map(|(name, grant)| (name.clone(), grant.refreshes))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "seed";
    const LIFETIME: Duration = Duration::from_secs(1_800);
    const GRACE: Duration = Duration::from_secs(1_800);

    fn tokens() -> Tokens {
        Tokens::new(SEED, LIFETIME, GRACE)
    }

    fn refresh(tokens: &mut Tokens, presented: &str, now: Instant) -> String {
        tokens
            .rotate(presented, now)
            .unwrap_or_else(|| panic!("{presented} is accepted"))
            .refresh_token
    }

    #[test]
    fn the_configured_token_rotates_and_only_the_newest_chain_works() {
        let now = Instant::now();
        let mut tokens = tokens();
        let first = tokens
            .rotate(SEED, now)
            .expect("the configured token works");
        assert_eq!(first.access_token, "xero-refreshed-access-token-1");
        assert_eq!(first.refresh_token, "xero-rotated-refresh-token-1");
        let second = refresh(&mut tokens, &first.refresh_token, now);
        // The configured token is now two rotations old: neither current nor previous.
        assert_eq!(tokens.rotate(SEED, now), None);
        refresh(&mut tokens, &second, now);
        assert_eq!(tokens.rotate("never-issued", now), None);
        assert_eq!(tokens.calls(), 3);
        assert_eq!(tokens.refused(), 2);
    }

    #[test]
    fn a_named_grant_rotates_independently_of_the_default_one() {
        let now = Instant::now();
        let mut tokens = tokens();
        let default = refresh(&mut tokens, SEED, now);
        let company = refresh(&mut tokens, "seed:company-7", now);
        let other = refresh(&mut tokens, "seed:company-8", now);
        assert_ne!(default, company);
        assert_ne!(company, other);
        // Each chain goes on by itself.
        let company = refresh(&mut tokens, &company, now);
        let company = refresh(&mut tokens, &company, now);
        let default = refresh(&mut tokens, &default, now);
        refresh(&mut tokens, &company, now);
        refresh(&mut tokens, &default, now);
        assert_eq!(
            tokens.calls_by_grant(),
            BTreeMap::from([
                ("company-7".to_owned(), 4),
                ("company-8".to_owned(), 1),
                (DEFAULT_GRANT.to_owned(), 3),
            ])
        );
        assert_eq!(tokens.calls(), 8);
    }

    #[test]
    fn a_named_grant_starts_once_and_only_from_the_configured_prefix() {
        let now = Instant::now();
        let mut tokens = tokens();
        let first = refresh(&mut tokens, "seed:a", now);
        refresh(&mut tokens, &first, now);
        // Seen before and two rotations old: refused, not a new grant.
        assert_eq!(tokens.rotate("seed:a", now), None);
        assert_eq!(tokens.rotate("other:a", now), None);
        assert_eq!(tokens.rotate("seed:", now), None);
        assert_eq!(tokens.rotate("seeda", now), None);
        // The default grant exists from the start, so its name cannot start another.
        assert_eq!(tokens.rotate("seed:default", now), None);
        assert_eq!(
            tokens.calls_by_grant(),
            BTreeMap::from([("a".to_owned(), 2)])
        );
        assert_eq!(tokens.refused(), 5);
    }

    #[test]
    fn issued_tokens_are_unique_across_grants() {
        let now = Instant::now();
        let mut tokens = tokens();
        let mut seen = std::collections::HashSet::new();
        for company in 0..20 {
            let mut refresh_token = format!("seed:company-{company}");
            for _ in 0..3 {
                let issued = tokens.rotate(&refresh_token, now).expect("accepted");
                assert!(seen.insert(issued.access_token));
                assert!(seen.insert(issued.refresh_token.clone()));
                refresh_token = issued.refresh_token;
            }
        }
        assert_eq!(tokens.calls(), 60);
    }

    #[test]
    fn an_access_token_works_for_its_lifetime_only() {
        let now = Instant::now();
        let mut tokens = tokens();
        let issued = tokens.rotate(SEED, now).expect("accepted");
        let token = issued.access_token.as_str();
        assert_eq!(tokens.access(token, now), AccessToken::Fresh);
        assert_eq!(
            tokens.access(token, now + LIFETIME - Duration::from_millis(1)),
            AccessToken::Fresh
        );
        assert_eq!(tokens.access(token, now + LIFETIME), AccessToken::Expired);
        assert_eq!(tokens.access("unknown", now), AccessToken::Unknown);
        // A later token of the same grant has its own lifetime.
        let later = tokens
            .rotate(&issued.refresh_token, now + LIFETIME)
            .expect("accepted");
        assert_eq!(
            tokens.access(&later.access_token, now + LIFETIME),
            AccessToken::Fresh
        );
    }

    #[test]
    fn expires_in_is_whole_seconds_and_at_least_one() {
        assert_eq!(tokens().expires_in(), 1_800);
        assert_eq!(
            Tokens::new(SEED, Duration::from_millis(2_500), GRACE).expires_in(),
            2
        );
        assert_eq!(Tokens::new(SEED, Duration::ZERO, GRACE).expires_in(), 1);
    }

    #[test]
    fn the_previous_refresh_token_works_within_the_grace_period() {
        let start = Instant::now();
        let mut tokens = tokens();
        // The answer carrying `lost` never reached the host, which retries with the seed.
        let lost = refresh(&mut tokens, SEED, start);
        let within = start + GRACE - Duration::from_secs(1);
        let kept = refresh(&mut tokens, SEED, within);
        assert_ne!(kept, lost);
        // The retry's token is current; the one never stored is gone.
        assert_eq!(tokens.rotate(&lost, within), None);
        // The grace period runs from the first use and is not extended by the retry.
        assert_eq!(tokens.rotate(SEED, start + GRACE), None);
        let next = refresh(&mut tokens, &kept, start + GRACE);
        assert_eq!(tokens.calls_by_grant()[DEFAULT_GRANT], 3);
        // Using `kept` made it the previous token, with a grace period of its own.
        let after_kept = start + GRACE + GRACE - Duration::from_secs(1);
        let newest = refresh(&mut tokens, &kept, after_kept);
        assert_ne!(newest, next);
        assert_eq!(tokens.rotate(&kept, start + GRACE + GRACE), None);
        refresh(&mut tokens, &newest, start + GRACE + GRACE);
    }

    #[test]
    fn refreshes_with_the_previous_token_are_counted_apart() {
        let mut tokens = tokens();
        let now = Instant::now();
        let first = refresh(&mut tokens, SEED, now);
        assert_eq!(tokens.graced(), 0);
        let second = refresh(&mut tokens, SEED, now);
        assert_eq!(tokens.graced(), 1, "the seed, spent again within its grace");
        refresh(&mut tokens, &second, now);
        assert_eq!((tokens.graced(), tokens.calls()), (1, 3));
        assert!(
            tokens.rotate(&first, now).is_none(),
            "older than the previous one"
        );
    }

    #[test]
    fn the_previous_refresh_token_is_refused_after_the_grace_period() {
        let start = Instant::now();
        let mut tokens = tokens();
        let current = refresh(&mut tokens, SEED, start);
        assert_eq!(tokens.rotate(SEED, start + GRACE), None);
        // The current token is unaffected by the refusal.
        refresh(&mut tokens, &current, start + GRACE);
        assert_eq!(tokens.refused(), 1);
    }

    #[test]
    fn a_named_grants_starting_token_has_a_grace_period_too() {
        let start = Instant::now();
        let mut tokens = tokens();
        refresh(&mut tokens, "seed:company-7", start);
        refresh(&mut tokens, "seed:company-7", start + GRACE / 2);
        assert_eq!(tokens.rotate("seed:company-7", start + GRACE), None);
        assert_eq!(
            tokens.calls_by_grant(),
            BTreeMap::from([("company-7".to_owned(), 2)])
        );
    }
}
