//! Daily series from cost rows: one per subscription × service × currency, and one tenant total
//! per currency, each dense (a zero for a day without rows) and cut at the last day its scope
//! has data, so a day not ingested yet never looks like a drop to zero.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// The `scope` of the tenant-wide series (per-subscription series use the subscription id).
pub const TENANT_SCOPE: &str = "tenant";
/// The dimension of the tenant-wide series (its value is [`TOTAL_DIMENSION`] too).
pub const TOTAL_DIMENSION: &str = "total";
/// The dimension of per-subscription series: the Cost Management `ServiceName`.
pub const SERVICE_DIMENSION: &str = "service";

/// One day of one subscription's spend on one service, in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPoint {
    /// Usage date.
    pub date: NaiveDate,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Cost Management `ServiceName`.
    pub service_name: String,
    /// Billing currency.
    pub currency: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

/// Which figure of a [`CostPoint`] a series carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Actual (billed) cost: purchases land on the day they are billed.
    Actual,
    /// Amortized cost: commitment purchases are spread over the usage they cover.
    Amortized,
}

impl Measure {
    fn of(self, point: &CostPoint) -> f64 {
        match self {
            Self::Actual => point.cost,
            Self::Amortized => point.amortized_cost,
        }
    }
}

/// What a series measures: `scope` is a subscription id or [`TENANT_SCOPE`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    /// Subscription id, or [`TENANT_SCOPE`].
    pub scope: String,
    /// [`SERVICE_DIMENSION`] or [`TOTAL_DIMENSION`].
    pub dimension: String,
    /// The service name, or [`TOTAL_DIMENSION`].
    pub dimension_value: String,
    /// The one currency of every amount in the series.
    pub currency: String,
}

/// A dense daily series: `values[i]` is the amount of day `start + i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What it measures.
    pub key: SeriesKey,
    /// The first day of the window read.
    pub start: NaiveDate,
    /// Index of the first day its scope (subscription and currency) has any cost: days before
    /// are unknown history, not zero spend, so a service is only "new" after enough known days.
    pub history_start: usize,
    /// One amount per day, through the last day its scope has data.
    pub values: Vec<f64>,
}

impl Series {
    /// The day of index `i`.
    pub fn day(&self, i: usize) -> NaiveDate {
        self.start + chrono::Days::new(i as u64)
    }
}

/// Bounds on how many series one subscription contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Series per subscription (all currencies); the largest by spend are kept.
    pub max_series_per_subscription: usize,
}

/// The series built from a window of points, and how many were left out by the limits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grouped {
    /// Per-subscription series (largest first within a subscription), then tenant totals.
    pub series: Vec<Series>,
    /// Series dropped because a subscription had more than the limit.
    pub dropped: usize,
}

/// Groups `points` dated within `[from, to]` into series of `measure`; with `tenant_total`, adds
/// a tenant-wide total per currency cut at the earliest last day among its subscriptions that
/// reported in the window's final week (so a subscription still being ingested does not make the
/// total drop).
pub fn group(
    points: &[CostPoint],
    from: NaiveDate,
    to: NaiveDate,
    measure: Measure,
    limits: SeriesLimits,
    tenant_total: bool,
) -> Grouped {
    if to < from {
        return Grouped::default();
    }
    let days = (to - from).num_days() as usize + 1;
    let index = |d: NaiveDate| (d >= from && d <= to).then(|| (d - from).num_days() as usize);
    // (subscription, currency) -> (first, last) day index with data.
    let mut extent: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut by_key: BTreeMap<SeriesKey, Vec<f64>> = BTreeMap::new();
    let mut totals: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for p in points {
        let Some(i) = index(p.date) else { continue };
        let e = extent.entry((&p.subscription_id, &p.currency)).or_insert((i, i));
        *e = (e.0.min(i), e.1.max(i));
        let key = SeriesKey {
            scope: p.subscription_id.clone(),
            dimension: SERVICE_DIMENSION.into(),
            dimension_value: p.service_name.clone(),
            currency: p.currency.clone(),
        };
        by_key.entry(key).or_insert_with(|| vec![0.0; days])[i] += measure.of(p);
        if tenant_total {
            totals.entry(&p.currency).or_insert_with(|| vec![0.0; days])[i] += measure.of(p);
        }
    }
    let mut per_sub: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for (key, mut values) in by_key {
        let Some(&(first, last)) = extent.get(&(key.scope.as_str(), key.currency.as_str())) else { continue };
        values.truncate(last + 1);
        per_sub.entry(key.scope.clone()).or_default().push(Series {
            key,
            start: from,
            history_start: first,
            values,
        });
    }
    let mut out = Grouped::default();
    for (_, mut list) in per_sub {
        let spend = |s: &Series| s.values.iter().map(|v| v.abs()).sum::<f64>();
        list.sort_by(|a, b| spend(b).total_cmp(&spend(a)).then_with(|| a.key.cmp(&b.key)));
        if list.len() > limits.max_series_per_subscription {
            out.dropped += list.len() - limits.max_series_per_subscription;
            list.truncate(limits.max_series_per_subscription);
        }
        out.series.extend(list);
    }
    for (currency, mut values) in totals {
        let spans: Vec<(usize, usize)> =
            extent.iter().filter(|((_, c), _)| *c == currency).map(|(_, span)| *span).collect();
        let latest = spans.iter().map(|s| s.1).max().unwrap_or(0);
        let Some(last) = spans.iter().map(|s| s.1).filter(|l| l + 7 > latest).min() else { continue };
        let first = spans.iter().map(|s| s.0).min().unwrap_or(0);
        values.truncate(last + 1);
        out.series.push(Series {
            key: SeriesKey {
                scope: TENANT_SCOPE.into(),
                dimension: TOTAL_DIMENSION.into(),
                dimension_value: TOTAL_DIMENSION.into(),
                currency: currency.to_owned(),
            },
            start: from,
            history_start: first,
            values,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    fn point(d: u32, sub: &str, service: &str, currency: &str, cost: f64) -> CostPoint {
        CostPoint {
            date: day(d),
            subscription_id: sub.into(),
            service_name: service.into(),
            currency: currency.into(),
            cost,
            amortized_cost: cost / 2.0,
        }
    }

    const NO_LIMIT: SeriesLimits = SeriesLimits { max_series_per_subscription: 100 };

    #[test]
    fn currencies_are_kept_apart() {
        let points = [
            point(1, "a", "Storage", "EUR", 10.0),
            point(1, "a", "Storage", "USD", 7.0),
            point(2, "b", "Storage", "USD", 5.0),
        ];
        let g = group(&points, day(1), day(2), Measure::Actual, NO_LIMIT, true);
        let find = |scope: &str, currency: &str| {
            g.series.iter().find(|s| s.key.scope == scope && s.key.currency == currency).unwrap().clone()
        };
        assert_eq!(find("a", "EUR").values, vec![10.0]);
        assert_eq!(find("a", "USD").values, vec![7.0]);
        assert_eq!(find("tenant", "EUR").values, vec![10.0]);
        // Cut at a's last USD day: b's later day waits until a reports it too.
        assert_eq!(find("tenant", "USD").values, vec![7.0]);
        assert_eq!(g.series.len(), 5);
        let amortized = group(&points, day(1), day(2), Measure::Amortized, NO_LIMIT, false);
        assert_eq!(amortized.series.len(), 3);
        assert_eq!(amortized.series[0].values, vec![5.0]);
    }

    #[test]
    fn series_are_dense_and_cut_at_the_scope_last_day() {
        let points = [
            point(1, "a", "VM", "EUR", 3.0),
            point(4, "a", "VM", "EUR", 4.0),
            point(2, "a", "IP", "EUR", 1.0),
        ];
        let g = group(&points, day(1), day(10), Measure::Actual, NO_LIMIT, false);
        assert_eq!(g.series[0].values, vec![3.0, 0.0, 0.0, 4.0]);
        assert_eq!(g.series[1].values, vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(g.series[1].history_start, 0);
        assert_eq!(g.series[1].day(1), day(2));
    }

    #[test]
    fn the_series_limit_keeps_the_largest() {
        let points: Vec<CostPoint> =
            (1..=5).map(|n| point(1, "a", &format!("svc{n}"), "EUR", f64::from(n))).collect();
        let g = group(
            &points,
            day(1),
            day(1),
            Measure::Actual,
            SeriesLimits { max_series_per_subscription: 2 },
            false,
        );
        assert_eq!(g.dropped, 3);
        let kept: Vec<&str> = g.series.iter().map(|s| s.key.dimension_value.as_str()).collect();
        assert_eq!(kept, ["svc5", "svc4"]);
    }

    #[test]
    fn the_tenant_total_waits_for_lagging_subscriptions() {
        let points = [
            point(1, "a", "VM", "EUR", 3.0),
            point(3, "a", "VM", "EUR", 3.0),
            point(2, "b", "VM", "EUR", 1.0),
        ];
        let g = group(&points, day(1), day(3), Measure::Actual, NO_LIMIT, true);
        let total = g.series.iter().find(|s| s.key.scope == TENANT_SCOPE).unwrap();
        assert_eq!(total.values, vec![3.0, 1.0], "cut at b's last day");
    }
}
