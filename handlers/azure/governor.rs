//! Client-side quota governor: limiters per (API, principal) shaped after Azure's documented
//! quotas, so a large fan-out slows itself down before Azure throttles it.
//!
//! Two shapes, because Azure documents two:
//! - **token bucket** (ARM reads: subscriptions, Advisor, Monitor): 250 tokens refilled at
//!   25/s per principal;
//! - **window** quotas, enforced as sliding windows so that no window of the documented length
//!   ever holds more than the limit (a token bucket with the same average would allow twice
//!   the limit in the first window):
//!   - Resource Graph: 15 queries per 5 s per user;
//! - Cost Management's QPU quotas (12 / 10 s, 60 / min, 600 / h per tenant) are fixed windows
//!   opened on the server's clock, modelled exactly in [`crate::azure::qpu`] and corrected by
//!   every response's QPU headers ([`Governor::observe`]); a caller can reserve a stage of
//!   queries at once ([`Governor::try_take`]) so none of them waits after the first is sent.
//! - Retail Prices: no documented quota; not paced.
//!
//! Resource Graph also tells us when its window is spent (`x-ms-user-quota-remaining: 0`), and a
//! Cost Management 429 names when the tripped window reopens; [`Governor::hold`] then closes the
//! key until then.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::azure::Api;
use crate::azure::qpu::{Charge, Observation, QpuWindows};

/// The longest a server-named wait holds a key: Cost Management's longest quota window.
const MAX_HOLD: Duration = Duration::from_secs(3600);
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

    /// Takes `cost` tokens.
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

/// A sliding window: at most `limit` units within any `period`.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: f64,
    period: Duration,
    granted: VecDeque<(Instant, f64)>,
}

impl SlidingWindow {
    /// An empty window.
    pub fn new(limit: f64, period: Duration) -> Self {
        Self { limit, period, granted: VecDeque::new() }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, _)) = self.granted.front() {
            if now.saturating_duration_since(at) >= self.period {
                self.granted.pop_front();
            } else {
                break;
            }
        }
    }

    /// How long until `cost` more units fit (zero if they do now).
    pub fn wait_for(&mut self, cost: f64, now: Instant) -> Duration {
        self.expire(now);
        let cost = cost.min(self.limit);
        let mut used: f64 = self.granted.iter().map(|&(_, c)| c).sum();
        if used + cost <= self.limit {
            return Duration::ZERO;
        }
        // Wait until enough of the oldest grants have left the window.
        for &(at, c) in &self.granted {
            used -= c;
            if used + cost <= self.limit {
                return (at + self.period).saturating_duration_since(now);
            }
        }
        self.period
    }

    /// Records a grant of `cost` units at `now`.
    pub fn take(&mut self, cost: f64, now: Instant) {
        self.granted.push_back((now, cost.min(self.limit)));
    }
}

/// One documented limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// `capacity` tokens refilled at `per_sec`.
    Bucket {
        /// Burst size.
        capacity: f64,
        /// Refill rate per second.
        per_sec: f64,
    },
    /// At most `limit` per `period`.
    Window {
        /// Units allowed per period.
        limit: f64,
        /// Window length.
        period: Duration,
    },
}

impl Limit {
    fn rate(self) -> f64 {
        match self {
            Limit::Bucket { per_sec, .. } => per_sec,
            Limit::Window { limit, period } => limit / period.as_secs_f64(),
        }
    }

    /// The least time in seconds `n` units need under this limit, starting unused.
    pub fn lower_bound(self, n: f64) -> f64 {
        match self {
            Limit::Bucket { capacity, per_sec } => (n - capacity).max(0.0) / per_sec,
            Limit::Window { limit, period } => ((n / limit).ceil() - 1.0).max(0.0) * period.as_secs_f64(),
        }
    }
}

/// The limits of one API; a request must pass all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    /// The documented limits.
    pub limits: Vec<Limit>,
}

impl Quota {
    /// The documented quota of `api`.
    pub fn documented(api: Api) -> Self {
        let window = |limit: f64, secs: u64| Limit::Window { limit, period: Duration::from_secs(secs) };
        let limits = match api {
            Api::ResourceGraph => vec![window(15.0, 5)],
            Api::CostManagement => vec![window(12.0, 10), window(60.0, 60), window(600.0, 3600)],
            Api::Subscriptions | Api::Advisor | Api::Monitor => {
                vec![Limit::Bucket { capacity: 250.0, per_sec: 25.0 }]
            }
            Api::RetailPrices => vec![],
        };
        Self { limits }
    }

    /// The long-run rate (unit requests per second) this quota allows; `None` if unpaced.
    pub fn sustained_rate(&self) -> Option<f64> {
        self.limits.iter().map(|l| l.rate()).reduce(f64::min)
    }

    /// The least time `requests` unit-cost requests need under this quota, starting unused.
    pub fn lower_bound(&self, requests: f64) -> Duration {
        Duration::from_secs_f64(self.limits.iter().map(|l| l.lower_bound(requests)).fold(0.0, f64::max))
    }
}

#[derive(Debug)]
enum Limiter {
    Bucket(TokenBucket),
    Window(SlidingWindow),
}

impl Limiter {
    fn new(limit: Limit, now: Instant) -> Self {
        match limit {
            Limit::Bucket { capacity, per_sec } => Limiter::Bucket(TokenBucket::new(capacity, per_sec, now)),
            Limit::Window { limit, period } => Limiter::Window(SlidingWindow::new(limit, period)),
        }
    }

    fn wait_for(&mut self, cost: f64, now: Instant) -> Duration {
        match self {
            Limiter::Bucket(b) => b.wait_for(cost, now),
            Limiter::Window(w) => w.wait_for(cost, now),
        }
    }

    fn take(&mut self, cost: f64, now: Instant) {
        match self {
            Limiter::Bucket(b) => b.take(cost, now),
            Limiter::Window(w) => w.take(cost, now),
        }
    }
}

#[derive(Debug)]
struct KeyState {
    limiters: Vec<Limiter>,
    /// Cost Management's fixed QPU windows (instead of `limiters`).
    qpu: Option<QpuWindows>,
    not_before: Option<Instant>,
    /// When the response of the request that opened the server's current window arrived
    /// (Resource Graph: the one that left `limit - 1`).
    window_opened: Option<Instant>,
}

impl KeyState {
    fn new(api: Api, now: Instant) -> Self {
        if api == Api::CostManagement {
            return Self {
                limiters: Vec::new(),
                qpu: Some(QpuWindows::new()),
                not_before: None,
                window_opened: None,
            };
        }
        Self {
            limiters: Quota::documented(api).limits.into_iter().map(|l| Limiter::new(l, now)).collect(),
            qpu: None,
            not_before: None,
            window_opened: None,
        }
    }
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

    fn with_state<R>(&self, api: Api, key: &str, now: Instant, f: impl FnOnce(&mut KeyState) -> R) -> R {
        let mut state = match self.state.lock() {
            Ok(guard) => guard,
            // A panic while holding the lock cannot leave the limiters inconsistent enough to matter.
            Err(poisoned) => poisoned.into_inner(),
        };
        f(state.entry((api, key.to_owned())).or_insert_with(|| KeyState::new(api, now)))
    }

    /// Takes `cost` units of `(api, key)` at `now` if they are available (with the charge a
    /// Cost Management response is later observed against), or says how long until they are.
    ///
    /// # Errors
    /// The wait, when the units are not available now.
    pub fn try_take(&self, api: Api, key: &str, cost: f64, now: Instant) -> Result<Option<Charge>, Duration> {
        if !self.enabled {
            return Ok(None);
        }
        self.with_state(api, key, now, |entry| {
            if let Some(at) = entry.not_before {
                if at > now {
                    return Err(at - now);
                }
                entry.not_before = None;
            }
            if let Some(qpu) = entry.qpu.as_mut() {
                let units = cost.max(0.0).ceil() as u32;
                let wait = qpu.wait_for(units, now);
                return if wait.is_zero() { Ok(Some(qpu.take(units, now))) } else { Err(wait) };
            }
            let wait =
                entry.limiters.iter_mut().map(|l| l.wait_for(cost, now)).max().unwrap_or(Duration::ZERO);
            if wait.is_zero() {
                entry.limiters.iter_mut().for_each(|l| l.take(cost, now));
                Ok(None)
            } else {
                Err(wait)
            }
        })
    }

    /// Waits until `cost` units are available for `(api, key)` and takes them.
    /// Returns how long it waited.
    pub async fn acquire(&self, api: Api, key: &str, cost: f64) -> Duration {
        self.acquire_charged(api, key, cost).await.0
    }

    /// As [`Governor::acquire`], also returning the charge to observe the response against.
    pub async fn acquire_charged(&self, api: Api, key: &str, cost: f64) -> (Duration, Option<Charge>) {
        let start = Instant::now();
        loop {
            match self.try_take(api, key, cost, Instant::now()) {
                Ok(charge) => return (start.elapsed(), charge),
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Learns from a Cost Management response to a request sent under `charge`.
    pub fn observe(&self, api: Api, key: &str, charge: Charge, observation: &Observation) {
        if !self.enabled {
            return;
        }
        self.with_state(api, key, observation.received, |entry| {
            if let Some(qpu) = entry.qpu.as_mut() {
                qpu.observe(charge, observation);
            }
        });
    }

    /// Gives back `units` of `charge` that were never sent.
    pub fn refund(&self, api: Api, key: &str, charge: Charge, units: u32) {
        if !self.enabled {
            return;
        }
        self.with_state(api, key, Instant::now(), |entry| {
            if let Some(qpu) = entry.qpu.as_mut() {
                qpu.refund(charge, units);
            }
        });
    }

    /// Learns from a window quota's response headers (Resource Graph's `remaining` and
    /// `resets-after`, received at `received`) and closes the key when the window is spent.
    ///
    /// `resets-after` comes in whole seconds, rounded up, so holding for it alone lost up to a
    /// second of every 5-second window (measured: windows 5.3-5.5 s apart on the 500-subscription
    /// night, ~8% of its Resource Graph throughput). The response that left `limit - 1` answered
    /// the request that opened the window, which the server counted before that response
    /// arrived: the window ends by then plus its length, the tighter of the two bounds.
    pub fn observe_window(&self, api: Api, key: &str, remaining: i64, resets: Duration, received: Instant) {
        if !self.enabled {
            return;
        }
        let Some(Limit::Window { limit, period }) = Quota::documented(api).limits.first().copied() else {
            return;
        };
        self.with_state(api, key, received, |entry| {
            if remaining == limit as i64 - 1 {
                entry.window_opened = Some(received);
            }
            if remaining > 0 {
                return;
            }
            let mut until = received.checked_add(resets.min(MAX_HOLD)).unwrap_or(received);
            // An opening seen a whole window ago belongs to an earlier window.
            if let Some(opened) = entry.window_opened.filter(|opened| *opened + period > received) {
                until = until.min(opened + period);
            }
            entry.not_before = Some(entry.not_before.map_or(until, |at| at.max(until)));
        });
    }

    /// Closes `(api, key)` for `duration` (the service said its window is spent).
    pub fn hold(&self, api: Api, key: &str, duration: Duration) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        // The server names the wait; no window is longer than an hour, so neither is a hold
        // (and a huge `Retry-After` cannot overflow the clock).
        let until = now.checked_add(duration.min(MAX_HOLD)).unwrap_or(now);
        self.with_state(api, key, now, |entry| {
            entry.not_before = Some(entry.not_before.map_or(until, |at| at.max(until)));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_over_time() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(250.0, 25.0, t0);
        for _ in 0..250 {
            assert_eq!(b.wait_for(1.0, t0), Duration::ZERO);
            b.take(1.0, t0);
        }
        assert_eq!(b.wait_for(1.0, t0), Duration::from_millis(40));
        assert!((b.available(t0 + Duration::from_secs(1)) - 25.0).abs() < 1e-9);
        assert!((b.available(t0 + Duration::from_secs(100)) - 250.0).abs() < 1e-9, "capped at capacity");
    }

    #[test]
    fn window_never_holds_more_than_its_limit() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(15.0, Duration::from_secs(5));
        for i in 0..15 {
            let t = t0 + Duration::from_millis(100 * i);
            assert_eq!(w.wait_for(1.0, t), Duration::ZERO);
            w.take(1.0, t);
        }
        let t = t0 + Duration::from_millis(1500);
        assert_eq!(w.wait_for(1.0, t), Duration::from_millis(3500), "until the first grant leaves");
        assert_eq!(w.wait_for(3.0, t), Duration::from_millis(3700), "until three have left");
        assert_eq!(w.wait_for(1.0, t0 + Duration::from_secs(5)), Duration::ZERO);
    }

    #[test]
    fn documented_quota_shapes() {
        let cm = Quota::documented(Api::CostManagement);
        assert_eq!(cm.sustained_rate(), Some(600.0 / 3600.0));
        assert_eq!(cm.lower_bound(12.0), Duration::ZERO);
        assert_eq!(cm.lower_bound(24.0), Duration::from_secs(10));
        assert_eq!(cm.lower_bound(120.0), Duration::from_secs(90));
        assert_eq!(cm.lower_bound(606.0), Duration::from_secs(3600));
        let rg = Quota::documented(Api::ResourceGraph);
        assert_eq!(rg.sustained_rate(), Some(3.0));
        assert_eq!(rg.lower_bound(50.0), Duration::from_secs(15));
        assert_eq!(Quota::documented(Api::Advisor).lower_bound(300.0), Duration::from_secs(2));
        assert_eq!(Quota::documented(Api::RetailPrices).sustained_rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn governor_keeps_resource_graph_to_fifteen_per_five_seconds() {
        let g = Governor::new(true);
        let start = Instant::now();
        for _ in 0..31 {
            g.acquire(Api::ResourceGraph, "principal-a", 1.0).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        let t = Instant::now();
        g.acquire(Api::ResourceGraph, "principal-b", 1.0).await;
        assert_eq!(t.elapsed(), Duration::ZERO, "another principal has its own window");
    }

    #[tokio::test(start_paused = true)]
    async fn cost_management_windows_are_fixed_and_reopen_after_their_certain_end() {
        let g = Governor::new(true);
        let start = Instant::now();
        let charge = g.try_take(Api::CostManagement, "tenant", 12.0, start).unwrap();
        assert!(charge.is_some(), "Cost Management grants carry a charge to observe responses against");
        // Unanswered, the window opened at most the arrival bound (250 ms) after the send.
        g.acquire(Api::CostManagement, "tenant", 1.0).await;
        assert_eq!(start.elapsed(), Duration::from_millis(10_250));
        assert_eq!(
            g.try_take(Api::CostManagement, "other-tenant", 12.0, Instant::now()).map(|c| c.is_some()),
            Ok(true)
        );
        assert_eq!(Governor::new(false).try_take(Api::CostManagement, "tenant", 99.0, start), Ok(None));
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

    #[tokio::test(start_paused = true)]
    async fn a_spent_window_reopens_one_length_after_its_opening_answer() {
        let g = Governor::new(true);
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        for _ in 0..15 {
            assert!(g.try_take(Api::ResourceGraph, "p", 1.0, t0).is_ok());
        }
        g.observe_window(Api::ResourceGraph, "p", 14, Duration::from_secs(5), ms(50));
        // Spent at 0.3 s; the header rounds the 4.8 s left up to 5.
        g.observe_window(Api::ResourceGraph, "p", 0, Duration::from_secs(5), ms(300));
        assert_eq!(g.try_take(Api::ResourceGraph, "p", 1.0, ms(5_049)), Err(Duration::from_millis(1)));
        assert!(g.try_take(Api::ResourceGraph, "p", 1.0, ms(5_050)).is_ok(), "not the header's 5.3 s");
    }

    #[tokio::test(start_paused = true)]
    async fn without_its_opening_answer_the_header_names_the_wait() {
        let g = Governor::new(true);
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // The opening answer came a whole window before this one: another window's.
        g.observe_window(Api::ResourceGraph, "p", 14, Duration::from_secs(5), ms(0));
        g.observe_window(Api::ResourceGraph, "p", 0, Duration::from_secs(3), ms(6_000));
        assert_eq!(g.try_take(Api::ResourceGraph, "p", 1.0, ms(8_999)), Err(Duration::from_millis(1)));
        assert!(g.try_take(Api::ResourceGraph, "p", 1.0, ms(9_000)).is_ok());
        // Quota left: no hold.
        g.observe_window(Api::ResourceGraph, "q", 3, Duration::from_secs(3), ms(0));
        assert!(g.try_take(Api::ResourceGraph, "q", 1.0, ms(1)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_named_hold_is_capped_at_an_hour() {
        let g = Governor::new(true);
        g.hold(Api::ResourceGraph, "p", Duration::MAX);
        let t = Instant::now();
        g.acquire(Api::ResourceGraph, "p", 1.0).await;
        assert_eq!(t.elapsed(), MAX_HOLD);
    }
}
