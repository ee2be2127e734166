//! Units drawn from each quota bucket (counted whether or not quotas are enforced), and from
//! them the shortest time in which any client could have drawn them: the lower bound a run
//! against the sandbox is measured against.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::control::{ARM_READ_CAPACITY, ARM_READ_REFILL_PER_SEC, QPU_WINDOWS, QuotaConfig};
use crate::azure::governor::Limit;

/// ARM's read bucket (per principal and subscription), as the sandbox enforces it.
const ARM_READS: Limit = Limit::Bucket { capacity: ARM_READ_CAPACITY, per_sec: ARM_READ_REFILL_PER_SEC };

/// Units drawn per bucket key.
#[derive(Debug, Default)]
pub struct QuotaUse {
    graph: BTreeMap<String, u64>,
    qpu: BTreeMap<String, u64>,
    arm_reads: BTreeMap<String, u64>,
}

/// The tightest bucket and how long its draws take at the documented limits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LowerBound {
    /// Seconds from the first to the last draw, at least.
    pub seconds: f64,
    /// The bucket that sets the bound (`resource_graph:<principal>`, `cost_management:<tenant>`,
    /// `arm_reads:<principal|subscription>`), empty when nothing was drawn.
    pub bucket: String,
    /// Units that bucket gave out.
    pub units: u64,
}

/// Windows of `limit` per `secs` starting at the first draw: `n` units span at least
/// `ceil(n / limit) - 1` whole windows (the client governor's own bound).
fn window_bound(n: u64, limit: u32, secs: u64) -> f64 {
    Limit::Window { limit: f64::from(limit.max(1)), period: Duration::from_secs(secs) }.lower_bound(n as f64)
}

impl QuotaUse {
    /// A Resource Graph query by `principal` passed its quota.
    pub fn graph(&mut self, principal: &str) {
        *self.graph.entry(principal.to_owned()).or_default() += 1;
    }

    /// A Cost Management query charged `qpu` to `tenant`.
    pub fn qpu(&mut self, tenant: &str, qpu: u32) {
        *self.qpu.entry(tenant.to_owned()).or_default() += u64::from(qpu);
    }

    /// An ARM read drew on the bucket `key` (principal and subscription).
    pub fn arm_read(&mut self, key: &str) {
        *self.arm_reads.entry(key.to_owned()).or_default() += 1;
    }

    /// Total units per kind of bucket, with the number of keys.
    pub fn totals(&self) -> BTreeMap<&'static str, (u64, usize)> {
        let sum = |m: &BTreeMap<String, u64>| (m.values().sum(), m.len());
        BTreeMap::from([
            ("resource_graph", sum(&self.graph)),
            ("cost_management_qpu", sum(&self.qpu)),
            ("arm_reads", sum(&self.arm_reads)),
        ])
    }

    /// The longest time any single bucket needs for what it gave out, at `cfg`'s Resource Graph
    /// window and the documented Cost Management and ARM limits.
    pub fn lower_bound(&self, cfg: &QuotaConfig) -> LowerBound {
        let graph = self.graph.iter().map(|(k, &n)| {
            (window_bound(n, cfg.graph_limit, cfg.graph_window_secs), format!("resource_graph:{k}"), n)
        });
        let qpu = self.qpu.iter().map(|(k, &n)| {
            let secs =
                QPU_WINDOWS.iter().map(|&(_, len, limit)| window_bound(n, limit, len)).fold(0.0, f64::max);
            (secs, format!("cost_management:{k}"), n)
        });
        let arm = self
            .arm_reads
            .iter()
            .map(|(k, &n)| (ARM_READS.lower_bound(n as f64), format!("arm_reads:{k}"), n));
        graph.chain(qpu).chain(arm).fold(
            LowerBound { seconds: 0.0, bucket: String::new(), units: 0 },
            |best, (seconds, bucket, units)| {
                if seconds > best.seconds || best.bucket.is_empty() {
                    LowerBound { seconds, bucket, units }
                } else {
                    best
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tightest_bucket_sets_the_bound() {
        let mut q = QuotaUse::default();
        for _ in 0..500 {
            q.graph("p");
        }
        // 80 QPU in one tenant: 7 windows of 12 per 10 s (60 s) and 2 of 60 per minute (60 s).
        for _ in 0..10 {
            q.qpu("t1", 8);
        }
        q.qpu("t2", 12);
        for _ in 0..300 {
            q.arm_read("p|s");
        }
        let cfg = QuotaConfig::all_on();
        let bound = q.lower_bound(&cfg);
        // 500 queries at 15 per 5 s: 34 windows, the last opening 165 s after the first.
        assert_eq!(bound, LowerBound { seconds: 165.0, bucket: "resource_graph:p".into(), units: 500 });
        q.qpu("t1", 2000);
        let bound = q.lower_bound(&cfg);
        assert_eq!((bound.bucket.as_str(), bound.seconds), ("cost_management:t1", 3.0 * 3600.0));
        assert_eq!(q.totals()["cost_management_qpu"], (2092, 2));
        assert_eq!(window_bound(12, 12, 10), 0.0, "one window's worth is free");
        assert_eq!(window_bound(0, 12, 10), 0.0);
    }
}
