//! Per-API request counters (`cost_management.throttle_429` and friends), shared by every
//! clone of a client and readable while requests run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::azure::Api;

/// Per-API counters, readable by callers while requests run.
#[derive(Debug, Default)]
pub struct ApiCounters {
    pub(crate) requests: [AtomicU64; 6],
    pub(crate) throttle_429: [AtomicU64; 6],
    pub(crate) retries: [AtomicU64; 6],
    pub(crate) failures: [AtomicU64; 6],
}

impl ApiCounters {
    pub(crate) fn bump(counter: &[AtomicU64; 6], api: Api) -> u64 {
        counter[api.index()].fetch_add(1, Ordering::Relaxed) + 1
    }

    /// HTTP attempts sent to `api`.
    pub fn requests(&self, api: Api) -> u64 {
        self.requests[api.index()].load(Ordering::Relaxed)
    }

    /// 429 responses from `api`.
    pub fn throttles(&self, api: Api) -> u64 {
        self.throttle_429[api.index()].load(Ordering::Relaxed)
    }

    /// Attempts that were retried.
    pub fn retries(&self, api: Api) -> u64 {
        self.retries[api.index()].load(Ordering::Relaxed)
    }

    /// Calls that ended in an error.
    pub fn failures(&self, api: Api) -> u64 {
        self.failures[api.index()].load(Ordering::Relaxed)
    }

    /// Every counter as `"{api}.{name}" → value` (e.g. `cost_management.throttle_429`).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for api in Api::ALL {
            out.insert(format!("{api}.requests"), self.requests(api));
            out.insert(format!("{api}.throttle_429"), self.throttles(api));
            out.insert(format!("{api}.retries"), self.retries(api));
            out.insert(format!("{api}.failures"), self.failures(api));
        }
        out
    }
}
