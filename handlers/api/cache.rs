//! A small time-bounded cache of serialised responses for the dashboard's hottest reads
//! (`/costs/summary`, `/resources` pages). Cost and inventory data change only when ingestion
//! runs (daily, or on a manual trigger), so answering the same query from memory for a few
//! seconds is invisible to users while sparing the database a grouped scan per page view.
//!
//! Keys are built by the handlers from the parsed, normalised query (never the raw query
//! string), so spellings of one query share an entry. The cache is bounded by entries and by
//! total bytes; eviction takes the oldest entry first, which, with one lifetime for all, is also
//! the first to expire. Concurrent misses for one key share one load (single flight); a failed
//! load is not cached and the next caller loads again. A zero lifetime turns it all off.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::OnceCell;

/// Entries kept at most, whatever their size.
pub const MAX_ENTRIES: usize = 4096;

#[derive(Debug)]
struct Entry {
    expires: Instant,
    seq: u64,
    body: Bytes,
}

/// The entries, their insertion order (for eviction) and their total size.
#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, Entry>,
    order: VecDeque<(u64, String)>,
    bytes: usize,
    seq: u64,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.map.remove(key) {
            self.bytes -= old.body.len();
        }
    }

    /// Drops the oldest entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((seq, key)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|e| e.seq == seq) {
                self.remove(&key);
                return true;
            }
        }
        false
    }
}

/// Takes a finished (or abandoned) flight out of the map when dropped, unless a newer flight for
/// the same key has replaced it.
struct Landing<'a> {
    flights: &'a Mutex<HashMap<String, Arc<OnceCell<Bytes>>>>,
    key: &'a str,
    flight: Arc<OnceCell<Bytes>>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if flights.get(self.key).is_some_and(|f| Arc::ptr_eq(f, &self.flight)) {
            flights.remove(self.key);
        }
    }
}

/// Serialised responses by key, each with its expiry.
#[derive(Debug)]
pub struct ResponseCache {
    ttl: Duration,
    max_entries: usize,
    max_bytes: usize,
    entries: Mutex<Entries>,
    flights: Mutex<HashMap<String, Arc<OnceCell<Bytes>>>>,
    loads: AtomicU64,
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(Duration::from_secs(15), 32 << 20)
    }
}

impl ResponseCache {
    /// A cache serving entries for `ttl` (zero: disabled) and holding at most `max_bytes`.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self::with_limits(ttl, MAX_ENTRIES, max_bytes)
    }

    /// As [`ResponseCache::new`] with an explicit entry cap.
    pub fn with_limits(ttl: Duration, max_entries: usize, max_bytes: usize) -> Self {
        Self {
            ttl,
            max_entries,
            max_bytes,
            entries: Mutex::new(Entries::default()),
            flights: Mutex::new(HashMap::new()),
            loads: AtomicU64::new(0),
        }
    }

    /// Whether anything is cached at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_entries > 0 && self.max_bytes > 0
    }

    /// The cached body for `key`, if fresh at `now`.
    pub fn get_at(&self, key: &str, now: Instant) -> Option<Bytes> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match entries.map.get(key) {
            Some(entry) if entry.expires > now => Some(entry.body.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `body` for `key` until `now` plus the lifetime, evicting the oldest entries while
    /// either cap would be exceeded. A body larger than the byte cap is not stored.
    pub fn put_at(&self, key: String, body: Bytes, now: Instant) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(&key);
        if body.len() > self.max_bytes {
            return;
        }
        while (entries.map.len() >= self.max_entries || entries.bytes + body.len() > self.max_bytes)
            && entries.evict_oldest()
        {}
        entries.seq += 1;
        let seq = entries.seq;
        entries.bytes += body.len();
        entries.order.push_back((seq, key.clone()));
        entries.map.insert(key, Entry { expires: now + self.ttl, seq, body });
        // Replaced keys leave stale order records; compact before they outgrow the entries.
        if entries.order.len() > 2 * entries.map.len() + 64 {
            let Entries { map, order, .. } = &mut *entries;
            order.retain(|(seq, key)| map.get(key).is_some_and(|e| e.seq == *seq));
        }
    }

    /// The cached body for `key`, or the result of `load` (run once for all concurrent callers
    /// of the same key), which is cached when it succeeds.
    ///
    /// # Errors
    /// `load`'s error, which is not cached.
    pub async fn get_or_load<E, F, Fut>(&self, key: &str, load: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if !self.enabled() {
            self.loads.fetch_add(1, Ordering::Relaxed);
            return load().await;
        }
        if let Some(body) = self.get_at(key, Instant::now()) {
            return Ok(body);
        }
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            flights.entry(key.to_owned()).or_default().clone()
        };
        // Removes the flight however this call ends, a request cancelled mid-load included, so
        // abandoned keys never accumulate in the map.
        let _landing = Landing { flights: &self.flights, key, flight: Arc::clone(&flight) };
        flight
            .get_or_try_init(|| async {
                // A flight that finished just before this one joined may have filled the cache.
                if let Some(body) = self.get_at(key, Instant::now()) {
                    return Ok(body);
                }
                self.loads.fetch_add(1, Ordering::Relaxed);
                let body = load().await?;
                self.put_at(key.to_owned(), body.clone(), Instant::now());
                Ok(body)
            })
            .await
            .cloned()
    }

    /// Entries held (fresh or not yet evicted).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).map.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total bytes of the entries held.
    pub fn bytes(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).bytes
    }

    /// How many loads ran (cache misses that reached the database), for tests and diagnostics.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// How many callers wait on the load in flight for `key` (0 when none is).
    pub fn waiting(&self, key: &str) -> usize {
        let flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        flights.get(key).map_or(0, |f| Arc::strong_count(f).saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(15);

    #[test]
    fn entries_expire_and_stay_bounded_by_count() {
        let cache = ResponseCache::with_limits(TTL, 8, 1 << 20);
        let t0 = Instant::now();
        cache.put_at("a".into(), Bytes::from_static(b"1"), t0);
        assert_eq!(cache.get_at("a", t0 + Duration::from_secs(1)).as_deref(), Some(&b"1"[..]));
        assert_eq!(cache.get_at("a", t0 + TTL), None);
        assert_eq!(cache.get_at("b", t0), None);
        for i in 0..100 {
            cache.put_at(format!("k{i}"), Bytes::from_static(b"x"), t0);
            assert!(cache.len() <= 8);
        }
        assert!(cache.get_at("k99", t0).is_some() && cache.get_at("k91", t0).is_none());
    }

    #[test]
    fn the_byte_cap_evicts_oldest_first_and_refuses_oversized_bodies() {
        let cache = ResponseCache::with_limits(TTL, 100, 1000);
        let t0 = Instant::now();
        for i in 0..10u64 {
            cache.put_at(format!("k{i}"), Bytes::from(vec![b'x'; 300]), t0 + Duration::from_millis(i));
            assert!(cache.bytes() <= 1000, "{}", cache.bytes());
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.bytes(), 900);
        let now = t0 + Duration::from_millis(10);
        assert!(cache.get_at("k9", now).is_some() && cache.get_at("k6", now).is_none());
        cache.put_at("huge".into(), Bytes::from(vec![b'x'; 1001]), now);
        assert!(cache.get_at("huge", now).is_none());
        assert_eq!(cache.len(), 3, "an oversized body evicts nothing");
        // Replacing a key frees its old bytes and keeps the order records compact.
        for _ in 0..1000 {
            cache.put_at("k9".into(), Bytes::from(vec![b'y'; 10]), now);
        }
        assert_eq!(cache.bytes(), 610);
        assert!(cache.entries.lock().unwrap().order.len() <= 2 * 3 + 64 + 1);
    }

    #[tokio::test]
    async fn a_zero_lifetime_turns_the_cache_off() {
        let cache = ResponseCache::new(Duration::ZERO, 1 << 20);
        for _ in 0..3 {
            let body = cache.get_or_load("k", || async { Ok::<_, ()>(Bytes::from_static(b"v")) }).await;
            assert_eq!(body.unwrap(), "v");
        }
        assert_eq!(cache.loads(), 3);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache = ResponseCache::new(TTL, 1 << 20);
        assert_eq!(cache.get_or_load("k", || async { Err::<Bytes, _>("down") }).await, Err("down"));
        assert!(cache.is_empty());
        let body = cache.get_or_load("k", || async { Ok::<_, &str>(Bytes::from_static(b"v")) }).await;
        assert_eq!(body.unwrap(), "v");
        let again = cache.get_or_load("k", || async { Err::<Bytes, _>("not called") }).await;
        assert_eq!(again.unwrap(), "v");
        assert_eq!(cache.loads(), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_misses_share_one_load() {
        const CALLERS: usize = 16;
        let cache = Arc::new(ResponseCache::new(TTL, 1 << 20));
        let (release, gate) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..CALLERS {
            let (cache, mut gate) = (cache.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_load("k", || async move {
                        let _ = gate.wait_for(|open| *open).await;
                        Ok::<_, ()>(Bytes::from_static(b"shared"))
                    })
                    .await
            }));
        }
        // Every caller has joined the flight before the one load may finish.
        while cache.waiting("k") < CALLERS {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), "shared");
        }
        assert_eq!(cache.loads(), 1);
        assert_eq!(cache.waiting("k"), 0, "the finished flight is forgotten");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_load_abandoned_mid_flight_leaves_no_flight_behind() {
        use futures::FutureExt as _;
        let cache = ResponseCache::new(Duration::from_secs(15), 1 << 20);
        for n in 0..100 {
            let key = format!("k{n}");
            let load = || std::future::pending::<Result<Bytes, ()>>();
            // Polled once (the load starts and waits), then dropped: a cancelled request.
            assert!(cache.get_or_load(&key, load).now_or_never().is_none());
        }
        assert!(cache.flights.lock().unwrap().is_empty(), "abandoned keys accumulate");
    }
}
