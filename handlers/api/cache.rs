//! A small time-bounded cache of serialised responses for the dashboard's hottest aggregate
//! (`/costs/summary`). Cost data changes only when ingestion runs (daily, or on a manual
//! trigger), so answering the same (tenant, window) from memory for a few seconds is invisible
//! to users while sparing the database a grouped scan of thousands of rows per page view.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// How long an entry is served.
pub const TTL: Duration = Duration::from_secs(15);

/// Entries kept at most; the cache is emptied when full (simple, and bounded).
const CAPACITY: usize = 4096;

/// Serialised responses by key, each with its expiry.
#[derive(Debug, Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (Instant, Bytes)>>,
}

impl ResponseCache {
    /// The cached body for `key`, if fresh at `now`.
    pub fn get_at(&self, key: &str, now: Instant) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(key).filter(|(expires, _)| *expires > now).map(|(_, body)| body.clone())
    }

    /// Stores `body` for `key` until `now + TTL`.
    pub fn put_at(&self, key: String, body: Bytes, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (now + TTL, body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_stay_bounded() {
        let cache = ResponseCache::default();
        let t0 = Instant::now();
        cache.put_at("a".into(), Bytes::from_static(b"1"), t0);
        assert_eq!(cache.get_at("a", t0 + Duration::from_secs(1)).as_deref(), Some(&b"1"[..]));
        assert_eq!(cache.get_at("a", t0 + TTL), None);
        assert_eq!(cache.get_at("b", t0), None);
        for i in 0..(CAPACITY + 10) {
            cache.put_at(format!("k{i}"), Bytes::new(), t0);
        }
        assert!(cache.entries.lock().unwrap().len() <= CAPACITY);
    }
}
