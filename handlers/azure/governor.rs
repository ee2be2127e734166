//! Client-side quota governor: token buckets per (API, principal) shaped after Azure's
//! documented quotas, so a large fan-out slows itself down before Azure throttles it.
//!
//! - Resource Graph: 15 queries per 5 s per user → bucket of 15 refilled at 3/s.
//! - Cost Management: 12 QPU / 10 s, 60 / min, 600 / h per tenant → three buckets; a query
//!   costs 1 QPU per month of its date range.
//! - ARM reads (subscriptions, Advisor, Monitor): 250 refilled at 25/s per principal.
//! - Retail Prices: no documented quota; not paced.
//!
//! Resource Graph also tells us when its window is spent (`x-ms-user-quota-remaining: 0`);
//! [`Governor::hold`] then closes the key until the reset time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::azure::Api;

/// One token bucket: `capacity` tokens, refilled continuously at `refill_per_sec`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(capacity: f64, refill_per_sec: f64, now: Instant) -> Self {
        Self { capacity, refill_per_sec, tokens: capacity, last: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        self.last = now;
    }

    /// How long until `cost` tokens are available (zero if they are now), without taking them.
    pub fn wait_for(&mut self, cost: f64, now: Instant) -> Duration {
        self.refill(now);
        let cost = cost.min(self.capacity);
        if self.tokens >= cost {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((cost - self.tokens) / self.refill_per_sec)
        }
    }

    /// Takes `cost` tokens (may go negative only if the caller skipped `wait_for`).
    pub fn take(&mut self, cost: f64, now: Instant) {
        self.refill(now);
        self.tokens -= cost.min(self.capacity);
    }

    /// Tokens available at `now`.
    pub fn available(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }
}

/// The bucket shapes (capacity, refill per second) of one API's quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    /// `(capacity, refill_per_sec)` of each bucket; a request must pass all of them.
    pub buckets: Vec<(f64, f64)>,
}

impl Quota {
    /// The documented quota of `api`.
    pub fn documented(api: Api) -> Self {
        let buckets = match api {
            Api::ResourceGraph => vec![(15.0, 3.0)],
            Api::CostManagement => vec![(12.0, 1.2), (60.0, 1.0), (600.0, 600.0 / 3600.0)],
            Api::Subscriptions | Api::Advisor | Api::Monitor => vec![(250.0, 25.0)],
            Api::RetailPrices => vec![],
        };
        Self { buckets }
    }

    /// The long-run rate (requests of cost 1 per second) this quota allows; `None` if unpaced.
    pub fn sustained_rate(&self) -> Option<f64> {
        self.buckets.iter().map(|&(_, r)| r).reduce(f64::min)
    }

    /// The least time `requests` unit-cost requests need under this quota, starting full.
    pub fn lower_bound(&self, requests: f64) -> Duration {
        let secs =
            self.buckets.iter().map(|&(cap, rate)| ((requests - cap).max(0.0)) / rate).fold(0.0, f64::max);
        Duration::from_secs_f64(secs)
    }
}

#[derive(Debug)]
struct KeyState {
    buckets: Vec<TokenBucket>,
    not_before: Option<Instant>,
}

/// Paces requests per (API, principal or tenant key).
#[derive(Debug)]
pub struct Governor {
    enabled: bool,
    state: Mutex<HashMap<(Api, String), KeyState>>,
}

impl Governor {
    /// A governor; when `enabled` is false, [`Governor::acquire`] never waits.
    pub fn new(enabled: bool) -> Self {
        Self { enabled, state: Mutex::new(HashMap::new()) }
    }

    /// Computes the wait for `cost` tokens under `(api, key)`, taking them if no wait is needed.
    fn try_acquire(&self, api: Api, key: &str, cost: f64, now: Instant) -> Duration {
        let mut state = match self.state.lock() {
            Ok(guard) => guard,
            // A panic while holding the lock cannot leave the buckets inconsistent enough to matter.
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = state.entry((api, key.to_owned())).or_insert_with(|| KeyState {
            buckets: Quota::documented(api)
                .buckets
                .iter()
                .map(|&(c, r)| TokenBucket::new(c, r, now))
                .collect(),
            not_before: None,
        });
        if let Some(at) = entry.not_before {
            if at > now {
                return at - now;
            }
            entry.not_before = None;
        }
        let wait = entry.buckets.iter_mut().map(|b| b.wait_for(cost, now)).max().unwrap_or(Duration::ZERO);
        if wait.is_zero() {
            entry.buckets.iter_mut().for_each(|b| b.take(cost, now));
        }
        wait
    }

    /// Waits until `cost` tokens are available for `(api, key)` and takes them.
    /// Returns how long it waited.
    pub async fn acquire(&self, api: Api, key: &str, cost: f64) -> Duration {
        if !self.enabled {
            return Duration::ZERO;
        }
        let start = Instant::now();
        loop {
            let wait = self.try_acquire(api, key, cost, Instant::now());
            if wait.is_zero() {
                return start.elapsed();
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Closes `(api, key)` for `duration` (the service said its window is spent).
    pub fn hold(&self, api: Api, key: &str, duration: Duration) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let mut state = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = state.entry((api, key.to_owned())).or_insert_with(|| KeyState {
            buckets: Quota::documented(api)
                .buckets
                .iter()
                .map(|&(c, r)| TokenBucket::new(c, r, now))
                .collect(),
            not_before: None,
        });
        let until = now + duration;
        entry.not_before = Some(entry.not_before.map_or(until, |at| at.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_over_time() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(15.0, 3.0, t0);
        for _ in 0..15 {
            assert_eq!(b.wait_for(1.0, t0), Duration::ZERO);
            b.take(1.0, t0);
        }
        assert_eq!(b.wait_for(1.0, t0), Duration::from_secs_f64(1.0 / 3.0));
        let later = t0 + Duration::from_secs(1);
        assert!((b.available(later) - 3.0).abs() < 1e-9);
        assert!((b.available(t0 + Duration::from_secs(100)) - 15.0).abs() < 1e-9, "capped at capacity");
    }

    #[test]
    fn cost_management_quota_shape() {
        let q = Quota::documented(Api::CostManagement);
        assert_eq!(q.sustained_rate(), Some(600.0 / 3600.0));
        // 12 immediately, then the 10-second bucket (1.2/s) gates the next 48 …
        assert_eq!(q.lower_bound(12.0), Duration::ZERO);
        assert_eq!(q.lower_bound(24.0), Duration::from_secs(10));
        // … then the minute bucket (1/s), and past ~708 requests the hourly one (1/6 s).
        assert_eq!(q.lower_bound(606.0), Duration::from_secs(546));
        assert_eq!(q.lower_bound(1000.0), Duration::from_secs(2400));
        assert_eq!(Quota::documented(Api::RetailPrices).sustained_rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn governor_paces_resource_graph_to_three_per_second() {
        let g = Governor::new(true);
        let start = Instant::now();
        for _ in 0..21 {
            g.acquire(Api::ResourceGraph, "principal-a", 1.0).await;
        }
        // 15 from the full bucket, 6 more at 3/s.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // Another principal has its own bucket.
        let t = Instant::now();
        g.acquire(Api::ResourceGraph, "principal-b", 1.0).await;
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn hold_closes_a_key_until_reset() {
        let g = Governor::new(true);
        g.hold(Api::ResourceGraph, "p", Duration::from_secs(4));
        let t = Instant::now();
        g.acquire(Api::ResourceGraph, "p", 1.0).await;
        assert_eq!(t.elapsed(), Duration::from_secs(4));
        let off = Governor::new(false);
        off.hold(Api::ResourceGraph, "p", Duration::from_secs(4));
        assert_eq!(off.acquire(Api::ResourceGraph, "p", 1.0).await, Duration::ZERO);
    }
}
