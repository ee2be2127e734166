//! Fault, quota and latency configuration, the controllable clock, and the per-API counters
//! behind `GET /_sandbox/stats`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The APIs the sandbox serves (the keys of the stats and of fault filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `GET /subscriptions`, `GET /subscriptions/{id}`, `GET /tenants`.
    Subscriptions,
    /// Resource Graph.
    ResourceGraph,
    /// Cost Management query.
    CostManagement,
    /// Advisor recommendations.
    Advisor,
    /// Monitor metrics.
    Metrics,
    /// Retail Prices.
    RetailPrices,
    /// Managed-identity and Entra token endpoints.
    Token,
}

/// Injected failures, all off by default. Changed at runtime with `PUT /_sandbox/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Probability (0–1) that a request gets a random status from `error_statuses`.
    pub error_rate: f64,
    /// Statuses to draw from (500, 502, 503, 504).
    pub error_statuses: Vec<u16>,
    /// Probability that the connection is aborted mid-response (headers sent, body cut).
    pub reset_rate: f64,
    /// The N-th (1-based) paged response served after this config is set has its JSON body cut
    /// in half (status 200, valid headers), once.
    pub truncate_page: Option<u64>,
    /// Recurring 429 storms: while one lasts, every request gets its API's own throttling
    /// response.
    pub storm: Option<ThrottleStorm>,
    /// APIs the faults apply to; empty means every API except the token endpoints.
    pub apis: Vec<Api>,
    /// Seed of the fault RNG, so a run is repeatable.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_statuses: vec![500, 502, 503, 504],
            reset_rate: 0.0,
            truncate_page: None,
            storm: None,
            apis: Vec::new(),
            seed: 1,
        }
    }
}

impl FaultConfig {
    /// Whether faults apply to `api`.
    pub fn applies_to(&self, api: Api) -> bool {
        if self.apis.is_empty() { api != Api::Token } else { self.apis.contains(&api) }
    }
}

/// A throttling storm that recurs every `period_ms`, lasting `duration_ms`, timed from the
/// first request it applies to (so the first requests of a run always meet one). Unlike a
/// random 429, a storm refuses every attempt until it passes, which is what a shared quota
/// tripped by another client looks like: only a client that waits out `Retry-After` gets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleStorm {
    /// Time from the start of one storm to the next.
    pub period_ms: u64,
    /// How long each storm lasts.
    pub duration_ms: u64,
}

impl ThrottleStorm {
    /// Why this storm is unusable, if it is: one that never ends would refuse every request.
    pub fn problem(&self) -> Option<&'static str> {
        (self.duration_ms >= self.period_ms)
            .then_some("a storm's duration_ms must be shorter than its period_ms")
    }

    /// How long until the storm around `since_epoch` ends, or `None` between storms.
    pub fn remaining(&self, since_epoch: Duration) -> Option<Duration> {
        let period = self.period_ms.max(1) as u128;
        let phase = (since_epoch.as_millis() % period) as u64;
        (phase < self.duration_ms).then(|| Duration::from_millis(self.duration_ms - phase))
    }
}

/// Throttling quotas, all off by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaConfig {
    /// Resource Graph per-principal request quota.
    pub resource_graph: bool,
    /// Resource Graph requests per window.
    pub graph_limit: u32,
    /// Resource Graph window in seconds.
    pub graph_window_secs: u64,
    /// Cost Management QPU buckets per tenant (12 / 10 s, 60 / min, 600 / h).
    pub cost_management: bool,
    /// ARM read token bucket per principal and subscription (250, refill 25/s).
    pub arm_reads: bool,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            resource_graph: false,
            graph_limit: 15,
            graph_window_secs: 5,
            cost_management: false,
            arm_reads: false,
        }
    }
}

impl QuotaConfig {
    /// Every quota on, with the real limits.
    pub fn all_on() -> Self {
        Self { resource_graph: true, cost_management: true, arm_reads: true, ..Self::default() }
    }
}

/// Added response latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LatencyConfig {
    /// No added latency.
    #[default]
    None,
    /// The same delay every time.
    Fixed {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound in milliseconds.
        min_ms: u64,
        /// Upper bound in milliseconds.
        max_ms: u64,
    },
    /// Lognormal-ish: `median × exp(sigma × z)` with z from a seeded approximate normal.
    LogNormal {
        /// Median in milliseconds.
        median_ms: u64,
        /// Spread.
        sigma: f64,
    },
}

impl LatencyConfig {
    /// Draws one delay.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let ms = match *self {
            Self::None => 0.0,
            Self::Fixed { ms } => ms as f64,
            Self::Uniform { min_ms, max_ms } => rng.random_range(min_ms as f64..=max_ms.max(min_ms) as f64),
            Self::LogNormal { median_ms, sigma } => {
                // Irwin–Hall: the sum of 12 uniforms minus 6 is close enough to a standard normal.
                let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                median_ms as f64 * (sigma * z).exp()
            }
        };
        Duration::from_micros((ms.clamp(0.0, 600_000.0) * 1000.0) as u64)
    }
}

/// Counters for one API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiStats {
    /// Requests received.
    pub requests: u64,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests refused by a quota (429).
    pub throttled: u64,
    /// Injected faults by kind (`status_500`, `reset`, `truncated`).
    pub faults: BTreeMap<String, u64>,
    /// Total injected latency in milliseconds.
    pub latency_ms: u64,
}

/// A clock for quota windows: tokio time (so `tokio::time::pause` works) or a manual clock that
/// only moves when a test advances it.
#[derive(Debug, Clone)]
pub struct Clock {
    start: tokio::time::Instant,
    manual: Option<Arc<Mutex<Duration>>>,
}

impl Clock {
    /// A clock on tokio time.
    pub fn tokio() -> Self {
        Self { start: tokio::time::Instant::now(), manual: None }
    }

    /// A clock that stands still until [`Clock::advance`].
    pub fn manual() -> Self {
        Self { start: tokio::time::Instant::now(), manual: Some(Arc::new(Mutex::new(Duration::ZERO))) }
    }

    /// Time since the clock started.
    pub fn now(&self) -> Duration {
        match &self.manual {
            Some(m) => *m.lock().unwrap_or_else(PoisonError::into_inner),
            None => self.start.elapsed(),
        }
    }

    /// Moves a manual clock forward (no effect on a tokio clock: use `tokio::time::advance`).
    pub fn advance(&self, by: Duration) {
        if let Some(m) = &self.manual {
            *m.lock().unwrap_or_else(PoisonError::into_inner) += by;
        }
    }
}

/// Why a quota refused a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttled {
    /// How long until the request would succeed.
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Duration,
    used: u32,
}

/// A fixed window: `limit` units per `len`, starting at the first use.
fn window_take(
    w: &mut Window,
    now: Duration,
    len: Duration,
    limit: u32,
    cost: u32,
    commit: bool,
) -> Result<u32, Duration> {
    if now >= w.start + len {
        *w = Window { start: now, used: 0 };
    }
    if w.used + cost > limit {
        return Err(w.start + len - now);
    }
    if commit {
        w.used += cost;
    }
    Ok(limit - w.used - if commit { 0 } else { cost })
}

/// Quota state for every principal, tenant and subscription.
#[derive(Debug, Default)]
pub struct Quotas {
    graph: HashMap<String, Window>,
    qpu: HashMap<String, [Window; 3]>,
    arm: HashMap<String, (f64, Duration)>,
}

/// ARM read bucket per principal and subscription: burst size.
pub const ARM_READ_CAPACITY: f64 = 250.0;
/// ARM read bucket: tokens refilled per second.
pub const ARM_READ_REFILL_PER_SEC: f64 = 25.0;

/// QPU windows: (name in headers, length, limit).
pub const QPU_WINDOWS: [(&str, u64, u32); 3] =
    [("QueriesPer10Sec", 10, 12), ("QueriesPerMin", 60, 60), ("QueriesPerHour", 3600, 600)];

impl Quotas {
    /// Takes one Resource Graph request for `principal`: `Ok((remaining, resets_after))`.
    ///
    /// # Errors
    /// The window is exhausted.
    pub fn graph(
        &mut self,
        principal: &str,
        now: Duration,
        cfg: &QuotaConfig,
    ) -> Result<(u32, Duration), Throttled> {
        let len = Duration::from_secs(cfg.graph_window_secs.max(1));
        let w = self.graph.entry(principal.to_owned()).or_insert(Window { start: now, used: 0 });
        match window_take(w, now, len, cfg.graph_limit, 1, true) {
            Ok(remaining) => Ok((remaining, w.start + len - now)),
            Err(retry_after) => Err(Throttled { retry_after }),
        }
    }

    /// Charges `cost` QPU to `tenant`: `Ok(remaining per window)`.
    ///
    /// # Errors
    /// Any window lacks the QPU.
    pub fn qpu(&mut self, tenant: &str, cost: u32, now: Duration) -> Result<[u32; 3], Throttled> {
        let windows = self.qpu.entry(tenant.to_owned()).or_insert([Window { start: now, used: 0 }; 3]);
        let mut wait = Duration::ZERO;
        for (w, (_, len, limit)) in windows.iter_mut().zip(QPU_WINDOWS) {
            if let Err(d) = window_take(w, now, Duration::from_secs(len), limit, cost.min(limit), false) {
                wait = wait.max(d);
            }
        }
        if wait > Duration::ZERO {
            return Err(Throttled { retry_after: wait });
        }
        let mut remaining = [0; 3];
        for (i, (w, (_, len, limit))) in windows.iter_mut().zip(QPU_WINDOWS).enumerate() {
            remaining[i] =
                window_take(w, now, Duration::from_secs(len), limit, cost.min(limit), true).unwrap_or(0);
        }
        Ok(remaining)
    }

    /// Takes one ARM read from the bucket of (principal, subscription): `Ok(remaining)`.
    ///
    /// # Errors
    /// The bucket is empty.
    pub fn arm_read(&mut self, key: &str, now: Duration) -> Result<u32, Throttled> {
        let (tokens, last) = self.arm.entry(key.to_owned()).or_insert((ARM_READ_CAPACITY, now));
        *tokens = (*tokens + (now.saturating_sub(*last)).as_secs_f64() * ARM_READ_REFILL_PER_SEC)
            .min(ARM_READ_CAPACITY);
        *last = now;
        if *tokens < 1.0 {
            return Err(Throttled {
                retry_after: Duration::from_secs_f64((1.0 - *tokens) / ARM_READ_REFILL_PER_SEC),
            });
        }
        *tokens -= 1.0;
        Ok(*tokens as u32)
    }
}

/// Mutable runtime control state: config, RNG, counters, quotas.
#[derive(Debug)]
pub struct Control {
    /// Current fault config.
    pub faults: FaultConfig,
    /// Quota config.
    pub quotas_cfg: QuotaConfig,
    /// Latency config.
    pub latency: LatencyConfig,
    /// Fault and latency RNG.
    pub rng: ChaCha8Rng,
    /// Paged responses seen since the fault config was set.
    pub pages: u64,
    /// Whether the truncation fault already fired.
    pub truncated: bool,
    /// When the first request a storm applies to arrived (storms are timed from it).
    pub storm_epoch: Option<Duration>,
    /// Per-API counters.
    pub stats: BTreeMap<Api, ApiStats>,
    /// Quota state.
    pub quotas: Quotas,
    /// Units drawn per quota bucket, enforced or not.
    pub quota_use: super::quota_use::QuotaUse,
    /// Subscriptions moved to another tenant at run time: subscription id → tenant id.
    pub moved: BTreeMap<String, String>,
}

impl Control {
    /// Fresh control state.
    pub fn new(faults: FaultConfig, quotas_cfg: QuotaConfig, latency: LatencyConfig) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(faults.seed);
        Self {
            faults,
            quotas_cfg,
            latency,
            rng,
            pages: 0,
            truncated: false,
            storm_epoch: None,
            stats: BTreeMap::new(),
            quotas: Quotas::default(),
            quota_use: super::quota_use::QuotaUse::default(),
            moved: BTreeMap::new(),
        }
    }

    /// Replaces the fault config and restarts its RNG and page counter.
    pub fn set_faults(&mut self, faults: FaultConfig) {
        self.rng = ChaCha8Rng::seed_from_u64(faults.seed);
        self.faults = faults;
        self.pages = 0;
        self.truncated = false;
        self.storm_epoch = None;
    }

    /// How long the storm in progress at `now` still lasts, if `api` is caught in one.
    pub fn storm_remaining(&mut self, api: Api, now: Duration) -> Option<Duration> {
        let storm = self.faults.storm.filter(|_| self.faults.applies_to(api))?;
        let epoch = *self.storm_epoch.get_or_insert(now);
        storm.remaining(now.saturating_sub(epoch))
    }

    /// Counts an injected fault.
    pub fn count_fault(&mut self, api: Api, kind: &str) {
        *self.stats.entry(api).or_default().faults.entry(kind.to_owned()).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_window_allows_limit_then_resets() {
        let mut q = Quotas::default();
        let cfg = QuotaConfig::all_on();
        let t0 = Duration::from_secs(100);
        for i in 0..15 {
            assert_eq!(q.graph("p", t0, &cfg).unwrap().0, 14 - i);
        }
        let err = q.graph("p", t0 + Duration::from_secs(2), &cfg).unwrap_err();
        assert_eq!(err.retry_after, Duration::from_secs(3));
        assert!(q.graph("other", t0, &cfg).is_ok());
        assert_eq!(q.graph("p", t0 + Duration::from_secs(5), &cfg).unwrap().0, 14);
    }

    #[test]
    fn qpu_and_arm_buckets_refuse_then_recover() {
        let mut q = Quotas::default();
        let t0 = Duration::ZERO;
        assert_eq!(q.qpu("t", 12, t0).unwrap(), [0, 48, 588]);
        assert_eq!(q.qpu("t", 1, t0).unwrap_err().retry_after, Duration::from_secs(10));
        assert!(q.qpu("t", 1, Duration::from_secs(10)).is_ok());
        for _ in 0..250 {
            q.arm_read("k", t0).unwrap();
        }
        assert!(q.arm_read("k", t0).is_err());
        assert!(q.arm_read("k", Duration::from_millis(40)).is_ok());
    }

    #[test]
    fn storms_recur_from_the_first_request_they_meet() {
        let mut c = Control::new(
            FaultConfig {
                storm: Some(ThrottleStorm { period_ms: 4000, duration_ms: 1500 }),
                apis: vec![Api::CostManagement],
                ..FaultConfig::default()
            },
            QuotaConfig::default(),
            LatencyConfig::None,
        );
        let at = Duration::from_secs(100);
        assert_eq!(c.storm_remaining(Api::Advisor, at), None, "other APIs are spared");
        assert_eq!(c.storm_remaining(Api::CostManagement, at), Some(Duration::from_millis(1500)));
        assert_eq!(
            c.storm_remaining(Api::CostManagement, at + Duration::from_millis(1499)),
            Some(Duration::from_millis(1))
        );
        assert_eq!(c.storm_remaining(Api::CostManagement, at + Duration::from_millis(1500)), None);
        assert_eq!(
            c.storm_remaining(Api::CostManagement, at + Duration::from_millis(4200)),
            Some(Duration::from_millis(1300))
        );
    }

    #[test]
    fn latency_samples_are_seeded() {
        let cfg = LatencyConfig::LogNormal { median_ms: 50, sigma: 0.5 };
        let a: Vec<_> = (0..5).scan(ChaCha8Rng::seed_from_u64(3), |r, _| Some(cfg.sample(r))).collect();
        let b: Vec<_> = (0..5).scan(ChaCha8Rng::seed_from_u64(3), |r, _| Some(cfg.sample(r))).collect();
        assert_eq!(a, b);
        assert_eq!(
            LatencyConfig::Fixed { ms: 7 }.sample(&mut ChaCha8Rng::seed_from_u64(1)),
            Duration::from_millis(7)
        );
    }
}
