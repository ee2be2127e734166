//! Per-tenant rate limiting: an in-memory token bucket per key (the caller's Entra tenant).
//!
//! In-memory means per instance: with several Function App instances the effective limit is a
//! multiple of the setting, which is acceptable for protecting the database from one noisy
//! tenant; a shared limit would need a shared store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// A token bucket per key refilled at `per_minute` tokens a minute, holding at most `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per key (0 disables limiting).
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key` at `now`.
    ///
    /// # Errors
    /// The whole seconds until a token is available.
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * per_second;
        *tokens = (*tokens + refill).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_second).ceil().max(1.0) as u64)
        }
    }

    /// Takes one token for `key` now.
    ///
    /// # Errors
    /// As [`RateLimiter::check_at`].
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_drains_refills_and_is_per_key() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("a", start).is_ok());
        }
        assert_eq!(limiter.check_at("a", start), Err(1));
        assert!(limiter.check_at("b", start).is_ok());
        assert!(limiter.check_at("a", start + Duration::from_secs(1)).is_ok());
        assert!(limiter.check_at("a", start + Duration::from_secs(1)).is_err());
        assert!(RateLimiter::new(0).check_at("a", start).is_ok());
    }
}
