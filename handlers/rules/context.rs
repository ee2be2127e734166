//! [`EvaluationContext`]: one subscription's snapshot with its costs, prices and settings,
//! indexed once so every rule looks things up in constant time.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::prices::{HOURS_PER_MONTH, PriceBook};
use super::settings::RuleSettings;
use super::snapshot::SubscriptionSnapshot;
use crate::model::ResourceMetric;
use crate::model::{ResourceRow, VmMetricsRow};
use crate::rules::facts::{ResourceFacts, TYPED, extract};

/// A hash map with a fast non-cryptographic hasher: the rule engine's maps are keyed by long
/// resource ids from our own inventory (no untrusted keys), and SipHash dominated evaluation
/// time over a million resources.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set with the same hasher as [`FastMap`].
pub type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// Observed cost per lower-cased resource id.
pub type CostMap = FastMap<String, ObservedCost>;

/// Rows [`warm`] reads ahead of the index pass at a time.
const WARM_CHUNK: usize = 32;

/// Reads one byte of each heap allocation the index pass reads for `rows` — type name, tags,
/// property names and their string or object values — in a loop that does nothing else.
///
/// Indexing is bound by memory latency, not work: every row's strings, tags and properties
/// are separate allocations on their own pages. Interleaved with the per-row work, the
/// processor waits for one row's cache and TLB misses at a time; in this tight loop it has a
/// whole chunk's in flight at once, and the index pass then finds them cached. (Safe Rust
/// has no prefetch instruction; reading the byte does the same.)
fn warm(rows: &[ResourceRow]) {
    fn first(s: &str) -> u8 {
        s.as_bytes().first().copied().unwrap_or(0)
    }
    let mut acc = 0u8;
    for r in rows {
        acc ^= first(&r.resource_type);
        for (k, v) in &r.tags {
            acc ^= first(k) ^ first(v);
        }
        for (k, v) in r.properties.as_object().into_iter().flatten() {
            acc ^= first(k);
            acc ^= match v {
                serde_json::Value::String(s) => first(s),
                serde_json::Value::Object(o) => o.keys().next().map_or(0, |k| first(k)),
                _ => 0,
            };
        }
    }
    std::hint::black_box(acc);
}

/// Reads the first and last byte of each string (ids span two cache lines), as [`warm`].
fn warm_strs<'s>(strs: impl Iterator<Item = &'s str>) {
    let mut acc = 0u8;
    for s in strs {
        let b = s.as_bytes();
        acc ^= b.first().copied().unwrap_or(0) ^ b.last().copied().unwrap_or(0);
    }
    std::hint::black_box(acc);
}

/// A resource's observed spend over the cost window, normalised to a month.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ObservedCost {
    /// Actual (billed) cost per month.
    pub monthly_actual: f64,
    /// Amortized cost per month.
    pub monthly_amortized: f64,
    /// Days of the window the resource existed (from its first cost row to the window's end).
    pub days_observed: i64,
    /// Days with a charge.
    pub days_with_cost: i64,
}

impl ObservedCost {
    /// Normalises sums over `days_observed` days to a 730-hour month.
    pub fn from_window(actual: f64, amortized: f64, days_observed: i64, days_with_cost: i64) -> Self {
        let per_month = HOURS_PER_MONTH / 24.0 / days_observed.max(1) as f64;
        Self {
            monthly_actual: actual * per_month,
            monthly_amortized: amortized * per_month,
            days_observed,
            days_with_cost,
        }
    }
}

/// What every rule reads.
#[derive(Debug)]
pub struct EvaluationContext<'a> {
    /// The subscription's snapshot.
    pub snapshot: &'a SubscriptionSnapshot,
    /// The tenant's thresholds.
    pub settings: &'a RuleSettings,
    /// Observed cost per lower-cased resource id (absent: no cost rows).
    pub costs: &'a CostMap,
    /// Retail prices the rules asked for.
    pub prices: &'a PriceBook,
    /// The evaluation instant (ages are measured against it).
    pub now: DateTime<Utc>,
    facts: Vec<(&'a ResourceRow, ResourceFacts<'a>)>,
    typed: [Vec<usize>; TYPED.len()],
    untyped: FastMap<&'a str, Vec<&'a ResourceRow>>,
    untagged: Vec<&'a ResourceRow>,
    vm_metrics: FastMap<&'a str, &'a VmMetricsRow>,
    metrics: FastMap<&'a str, (usize, usize)>,
    next_metric: Vec<usize>,
}

impl<'a> EvaluationContext<'a> {
    /// Indexes `snapshot` for evaluation.
    pub fn new(
        snapshot: &'a SubscriptionSnapshot,
        settings: &'a RuleSettings,
        costs: &'a CostMap,
        prices: &'a PriceBook,
        now: DateTime<Utc>,
    ) -> Self {
        // Facts are extracted once here, not once per rule that reads them, into one vector
        // sized for every row (growing a vector per type copied and first-touched twice the
        // memory). `extract` already tells the row's type apart from the few with typed facts,
        // so those rows go to a fixed slot without hashing their (long) type names again.
        let mut facts = Vec::with_capacity(snapshot.resources.len());
        let mut typed: [Vec<usize>; TYPED.len()] = Default::default();
        let mut untyped: FastMap<&str, Vec<&ResourceRow>> = FastMap::default();
        // The cost-center tag is checked in the same pass: each row's data lies on its own
        // pages, and a second walk over a million rows for the governance rule cost as much
        // as all the other rules together.
        let cost_center_tag = settings.cost_center_tag.trim();
        let mut untagged = Vec::new();
        for chunk in snapshot.resources.chunks(WARM_CHUNK) {
            warm(chunk);
            for r in chunk {
                if tag(r, cost_center_tag).is_none() {
                    untagged.push(r);
                }
                let f = extract(r);
                match f.slot() {
                    Some(i) => {
                        typed[i].push(facts.len());
                        facts.push((r, f));
                    }
                    None => untyped.entry(r.resource_type.as_str()).or_default().push(r),
                }
            }
        }
        let mut vm_metrics = FastMap::default();
        vm_metrics.reserve(snapshot.vm_metrics.len());
        for chunk in snapshot.vm_metrics.chunks(WARM_CHUNK) {
            warm_strs(chunk.iter().map(|m| m.resource_id.as_str()));
            vm_metrics.extend(chunk.iter().map(|m| (m.resource_id.as_str(), m)));
        }
        // A resource's metrics are chained through `next_metric` (first and last position per
        // resource) rather than collected in a vector per resource: one allocation instead of
        // one per resource.
        let mut metrics: FastMap<&str, (usize, usize)> = FastMap::default();
        metrics.reserve(snapshot.resource_metrics.len());
        let mut next_metric = vec![usize::MAX; snapshot.resource_metrics.len()];
        for (c, chunk) in snapshot.resource_metrics.chunks(WARM_CHUNK).enumerate() {
            warm_strs(chunk.iter().map(|m| m.resource_id.as_str()));
            for (j, m) in chunk.iter().enumerate() {
                let i = c * WARM_CHUNK + j;
                match metrics.entry(m.resource_id.as_str()) {
                    Entry::Occupied(mut e) => {
                        let (_, last) = e.get_mut();
                        next_metric[*last] = i;
                        *last = i;
                    }
                    Entry::Vacant(e) => {
                        e.insert((i, i));
                    }
                }
            }
        }
        Self {
            snapshot,
            settings,
            costs,
            prices,
            now,
            facts,
            typed,
            untyped,
            untagged,
            vm_metrics,
            metrics,
            next_metric,
        }
    }

    /// Positions in `facts` of the rows of `resource_type` (empty for a type without facts).
    fn positions(&self, resource_type: &str) -> &[usize] {
        TYPED.iter().position(|t| *t == resource_type).map_or(&[], |i| self.typed[i].as_slice())
    }

    /// Resources of one (lower-cased) type, in inventory order.
    pub fn resources_of(&self, resource_type: &str) -> impl Iterator<Item = &'a ResourceRow> + '_ {
        let typed = self.positions(resource_type).iter().map(|&i| self.facts[i].0);
        typed.chain(self.untyped.get(resource_type).into_iter().flatten().copied())
    }

    /// Resources of one (lower-cased) type with their typed facts, in inventory order (none
    /// for a type without typed facts).
    pub fn typed(
        &self,
        resource_type: &str,
    ) -> impl Iterator<Item = (&'a ResourceRow, &ResourceFacts<'a>)> + '_ {
        // Rules look rows up by id (costs, metrics): their ids are warmed a chunk ahead.
        self.positions(resource_type).chunks(WARM_CHUNK).flat_map(|chunk| {
            warm_strs(chunk.iter().map(|&i| self.facts[i].0.resource_id.as_str()));
            chunk.iter().map(|&i| {
                let (row, facts) = &self.facts[i];
                (*row, facts)
            })
        })
    }

    /// Resources without a non-empty tag named `settings.cost_center_tag` (trimmed,
    /// case-insensitive; see [`tag`]), in inventory order.
    pub fn untagged(&self) -> &[&'a ResourceRow] {
        &self.untagged
    }

    /// Every resource.
    pub fn resources(&self) -> &'a [ResourceRow] {
        &self.snapshot.resources
    }

    /// VM utilisation of `resource_id`.
    pub fn vm_metrics(&self, resource_id: &str) -> Option<&'a VmMetricsRow> {
        self.vm_metrics.get(resource_id).copied()
    }

    /// Every metric of `resource_id`, in snapshot order.
    pub fn metrics_of(&self, resource_id: &str) -> impl Iterator<Item = &'a ResourceMetric> + '_ {
        let first = self.metrics.get(resource_id).map(|&(first, _)| first);
        // A chain ends at `usize::MAX`, which is no metric's position.
        std::iter::successors(first, |&i| self.next_metric.get(i).copied())
            .map_while(|i| self.snapshot.resource_metrics.get(i))
    }

    /// Statistics of `metric` (case-insensitive) for `resource_id`.
    pub fn metric(&self, resource_id: &str, metric: &str) -> Option<&'a ResourceMetric> {
        self.metrics_of(resource_id).find(|m| m.metric.eq_ignore_ascii_case(metric))
    }

    /// Observed cost of `resource_id`.
    pub fn cost(&self, resource_id: &str) -> Option<ObservedCost> {
        self.costs.get(resource_id).copied()
    }
}

/// Savings of removing a resource entirely: its observed monthly cost (`observed`, from
/// [`EvaluationContext::cost`]) when it has cost rows, else `retail` (its list price per
/// month), else `heuristic`.
pub fn whole_cost_savings(
    observed: Option<ObservedCost>,
    retail: Option<f64>,
    heuristic: f64,
) -> (f64, super::SavingsBasis) {
    use super::SavingsBasis;
    if let Some(c) = observed {
        return (c.monthly_amortized.max(c.monthly_actual), SavingsBasis::ObservedCost);
    }
    match retail {
        Some(p) => (p, SavingsBasis::RetailPrice),
        None => (heuristic, SavingsBasis::Heuristic),
    }
}

/// Savings of moving a resource from a price of `current` to `target` per unit-month: the
/// observed cost (`observed`, from [`EvaluationContext::cost`]) scaled by the price ratio when
/// both are known (so partial months and discounts carry over), else the list difference ×
/// `units`, else `heuristic_share` of the observed cost.
pub fn step_savings(
    observed: Option<ObservedCost>,
    current: Option<f64>,
    target: Option<f64>,
    units: f64,
    heuristic_share: f64,
) -> (f64, super::SavingsBasis) {
    use super::SavingsBasis;
    let observed = observed.map(|c| c.monthly_amortized.max(c.monthly_actual));
    match (observed, current, target) {
        (Some(o), Some(c), Some(t)) if c > 0.0 => (o * (1.0 - t / c).max(0.0), SavingsBasis::ObservedCost),
        (_, Some(c), Some(t)) => (((c - t) * units).max(0.0), SavingsBasis::RetailPrice),
        (Some(o), _, _) => (o * heuristic_share, SavingsBasis::Heuristic),
        (None, _, _) => (0.0, SavingsBasis::Heuristic),
    }
}

/// The value of tag `name` (case-insensitive), trimmed; `None` when absent or blank.
pub fn tag<'r>(row: &'r ResourceRow, name: &str) -> Option<&'r str> {
    row.tags
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::{Fixture, metric, resource};
    use serde_json::json;

    #[test]
    fn index_keeps_inventory_order_per_type_and_chains_metrics() {
        let mut rows = vec![
            resource("microsoft.compute/disks", "d1", json!({})),
            resource("microsoft.storage/storageaccounts", "s1", json!({})),
            resource("microsoft.compute/disks", "d2", json!({"diskState": "Unattached"})),
            resource("microsoft.storage/storageaccounts", "s2", json!({})),
            resource("microsoft.web/serverfarms", "p1", json!({})),
        ];
        rows[1].tags.clear();
        rows[3].tags.insert("COST-CENTER".into(), "cc".into());
        rows[3].tags.remove("cost-center");
        rows[4].tags.insert("cost-center".into(), " ".into());
        let mut f = Fixture::new(rows);
        let plan = f.snapshot.resources[4].resource_id.clone();
        let other = f.snapshot.resources[0].resource_id.clone();
        f.snapshot.resource_metrics = vec![
            metric(&plan, "CpuPercentage", 10.0, 336),
            metric(&other, "CpuPercentage", 90.0, 336),
            metric(&plan, "MemoryPercentage", 20.0, 336),
            metric(&plan, "memorypercentage", 30.0, 336),
        ];
        let ctx = EvaluationContext::new(&f.snapshot, &f.settings, &f.costs, &f.prices, f.now);
        let names = |rows: Vec<&ResourceRow>| rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(ctx.resources_of("microsoft.compute/disks").collect()), ["d1", "d2"]);
        assert_eq!(names(ctx.resources_of("microsoft.storage/storageaccounts").collect()), ["s1", "s2"]);
        assert_eq!(ctx.resources_of("microsoft.network/virtualnetworks").count(), 0);
        let disks: Vec<_> = ctx.typed("microsoft.compute/disks").collect();
        assert!(matches!(disks[1].1, ResourceFacts::Disk(d) if d.is_unattached() && disks[1].0.name == "d2"));
        assert_eq!(ctx.typed("microsoft.storage/storageaccounts").count(), 0);
        assert_eq!(names(ctx.untagged().to_vec()), ["s1", "p1"]);
        assert_eq!(ctx.metric(&plan, "memoryPercentage").and_then(|m| m.p95), Some(20.0));
        assert_eq!(ctx.metric(&plan, "CpuPercentage").and_then(|m| m.p95), Some(10.0));
        assert_eq!(ctx.metrics_of(&plan).count(), 3);
        assert!(ctx.metric(&plan, "dtu_consumption_percent").is_none());
        assert!(ctx.metric("/nothing", "CpuPercentage").is_none());
    }
}
