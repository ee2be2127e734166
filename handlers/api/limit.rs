//! Rate limiting: an in-memory token bucket per caller (`tid` + `oid`) under a ceiling per
//! tenant (`tid`). One noisy user cannot use up a whole tenant's budget, and a tenant with many
//! users still cannot exceed its ceiling. Platform admins draw only on their own caller bucket:
//! they act for every tenant, so charging them to one shared bucket would let one admin block the
//! others.
//!
//! In-memory means per instance: with several Function App instances the effective limit is a
//! multiple of the settings, which is acceptable for protecting the database from one noisy
//! tenant; a shared limit would need a shared store. Each bucket map holds at most
//! [`MAX_KEYS`] keys, so a flood of distinct callers cannot grow memory without bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Keys kept at most per bucket map (callers, tenants) before buckets are evicted.
pub const MAX_KEYS: usize = 10_000;

/// Who a request is charged to.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// The tenant's ceiling key (the token's `tid`); `None` for platform admins.
    pub tenant: Option<&'a str>,
    /// The caller's own key (`tid` and `oid`).
    pub caller: &'a str,
}

/// Token buckets by key, each refilled at `per_minute` a minute and holding at most that many.
#[derive(Debug)]
struct Buckets {
    per_minute: u32,
    max_keys: usize,
    map: HashMap<String, (f64, Instant)>,
}

impl Buckets {
    fn new(per_minute: u32, max_keys: usize) -> Self {
        Self { per_minute, max_keys: max_keys.max(1), map: HashMap::new() }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.per_minute)
    }

    /// The tokens `key` holds at `now`, after refill.
    fn tokens_at(&self, key: &str, now: Instant) -> f64 {
        let capacity = self.capacity();
        self.map.get(key).map_or(capacity, |(tokens, last)| {
            (tokens + now.saturating_duration_since(*last).as_secs_f64() * capacity / 60.0).min(capacity)
        })
    }

    /// `Err(seconds)` until a token is available for `key`; `Ok` when one is.
    fn available(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let tokens = self.tokens_at(key, now);
        if tokens >= 1.0 {
            Ok(())
        } else {
            let per_second = self.capacity() / 60.0;
            Err(((1.0 - tokens) / per_second).ceil().max(1.0) as u64)
        }
    }

    /// Takes a token for `key` (checked available by the caller).
    fn take(&mut self, key: &str, now: Instant) {
        if self.per_minute == 0 {
            return;
        }
        let tokens = self.tokens_at(key, now) - 1.0;
        if !self.map.contains_key(key) && self.map.len() >= self.max_keys {
            self.evict(now);
        }
        self.map.insert(key.to_owned(), (tokens, now));
    }

    /// Makes room: full buckets go first (dropping one changes nothing, a new bucket starts
    /// full), then the longest idle ones until a tenth of the room is free.
    fn evict(&mut self, now: Instant) {
        let capacity = self.capacity();
        let full: Vec<String> =
            self.map.keys().filter(|k| self.tokens_at(k, now) >= capacity).cloned().collect();
        for key in full {
            self.map.remove(&key);
        }
        if self.map.len() < self.max_keys {
            return;
        }
        let mut by_idle: Vec<(Instant, String)> =
            self.map.iter().map(|(k, (_, last))| (*last, k.clone())).collect();
        by_idle.sort();
        let excess = self.map.len() + 1 - self.max_keys;
        let remove = excess.max(self.max_keys / 10);
        for (_, key) in by_idle.into_iter().take(remove) {
            self.map.remove(&key);
        }
    }
}

/// The per-caller and per-tenant buckets.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<(Buckets, Buckets)>,
}

impl RateLimiter {
    /// A limiter allowing `per_caller` requests a minute per caller under `per_tenant` a minute
    /// per tenant (0 disables either limit).
    pub fn new(per_caller: u32, per_tenant: u32) -> Self {
        Self::with_max_keys(per_caller, per_tenant, MAX_KEYS)
    }

    /// As [`RateLimiter::new`], keeping at most `max_keys` buckets per map.
    pub fn with_max_keys(per_caller: u32, per_tenant: u32, max_keys: usize) -> Self {
        Self { buckets: Mutex::new((Buckets::new(per_caller, max_keys), Buckets::new(per_tenant, max_keys))) }
    }

    /// Takes one token from the caller's bucket and one from its tenant's at `now`; when either
    /// is empty nothing is taken, so a refused request costs neither budget.
    ///
    /// # Errors
    /// The whole seconds until both buckets hold a token.
    pub fn check_at(&self, charge: Charge<'_>, now: Instant) -> Result<(), u64> {
        let mut guard = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (callers, tenants) = &mut *guard;
        let caller = callers.available(charge.caller, now);
        let tenant = charge.tenant.map_or(Ok(()), |t| tenants.available(t, now));
        match (caller, tenant) {
            (Ok(()), Ok(())) => {
                callers.take(charge.caller, now);
                if let Some(t) = charge.tenant {
                    tenants.take(t, now);
                }
                Ok(())
            }
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), Ok(())) | (Ok(()), Err(wait)) => Err(wait),
        }
    }

    /// Takes one token for `charge` now.
    ///
    /// # Errors
    /// As [`RateLimiter::check_at`].
    pub fn check(&self, charge: Charge<'_>) -> Result<(), u64> {
        self.check_at(charge, Instant::now())
    }

    /// How many (caller, tenant) buckets are held: the memory the limiter uses.
    pub fn len(&self) -> (usize, usize) {
        let guard = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (guard.0.map.len(), guard.1.map.len())
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn charge<'a>(tenant: &'a str, caller: &'a str) -> Charge<'a> {
        Charge { tenant: Some(tenant), caller }
    }

    #[test]
    fn caller_bucket_drains_refills_and_is_per_caller() {
        let limiter = RateLimiter::new(60, 0);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at(charge("t", "a"), start).is_ok());
        }
        assert_eq!(limiter.check_at(charge("t", "a"), start), Err(1));
        assert!(limiter.check_at(charge("t", "b"), start).is_ok());
        assert!(limiter.check_at(charge("t", "a"), start + Duration::from_secs(1)).is_ok());
        assert!(limiter.check_at(charge("t", "a"), start + Duration::from_secs(1)).is_err());
        assert!(RateLimiter::new(0, 0).check_at(charge("t", "a"), start).is_ok());
    }

    #[test]
    fn the_tenant_ceiling_caps_all_callers_and_refusals_cost_nothing() {
        let limiter = RateLimiter::new(3, 5);
        let now = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at(charge("t", "a"), now).is_ok());
        }
        // a's refusals do not spend the tenant's remaining two tokens.
        for _ in 0..10 {
            assert_eq!(limiter.check_at(charge("t", "a"), now), Err(20));
        }
        assert!(limiter.check_at(charge("t", "b"), now).is_ok());
        assert!(limiter.check_at(charge("t", "b"), now).is_ok());
        assert_eq!(limiter.check_at(charge("t", "c"), now), Err(12), "the tenant ceiling is reached");
        assert!(limiter.check_at(charge("u", "d"), now).is_ok(), "other tenants are unaffected");
        let admin = Charge { tenant: None, caller: "admin" };
        assert!(limiter.check_at(admin, now).is_ok(), "platform admins draw on no tenant ceiling");
    }

    #[test]
    fn memory_is_bounded_by_max_keys() {
        let limiter = RateLimiter::with_max_keys(10, 1_000_000, 100);
        let now = Instant::now();
        for i in 0..5_000 {
            let caller = format!("caller-{i}");
            assert!(limiter.check_at(charge("t", &caller), now + Duration::from_millis(i)).is_ok());
            let (callers, tenants) = limiter.len();
            assert!(callers <= 100 && tenants <= 100, "{callers} {tenants}");
        }
        // The most recent callers keep their (spent) buckets; the idlest were evicted.
        let recent = now + Duration::from_millis(4_999);
        for _ in 0..9 {
            assert!(limiter.check_at(charge("t", "caller-4999"), recent).is_ok());
        }
        assert!(limiter.check_at(charge("t", "caller-4999"), recent).is_err());
    }

    #[test]
    fn full_buckets_are_evicted_before_busy_ones() {
        let limiter = RateLimiter::with_max_keys(2, 0, 3);
        let t0 = Instant::now();
        assert!(limiter.check_at(charge("t", "busy"), t0).is_ok());
        assert!(limiter.check_at(charge("t", "busy"), t0).is_ok());
        assert!(limiter.check_at(charge("t", "idle-1"), t0).is_ok());
        assert!(limiter.check_at(charge("t", "idle-2"), t0).is_ok());
        // After 30 s the idle buckets (one token spent) are full again; busy's (two spent) is not.
        let later = t0 + Duration::from_secs(30);
        assert!(limiter.check_at(charge("t", "new"), later).is_ok());
        assert_eq!(limiter.len().0, 2, "both full buckets went, the busy one stayed");
        assert!(limiter.check_at(charge("t", "busy"), later).is_ok());
        assert!(limiter.check_at(charge("t", "busy"), later).is_err(), "busy kept its spent bucket");
    }
}
