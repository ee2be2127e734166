//! On-demand usage: a resource's cost on a given day and its metric value in a given hour,
//! computed from its meter and profile with [`super::estate::unit_hash`] — never stored.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::estate::{Estate, Kind, PowerState, Resource, Schedule, Util, unit_hash};
use super::prices::{self, HOURS_PER_MONTH, Meter};

/// The ARM resource type of a kind, in ARM's canonical casing.
pub fn arm_type(kind: &Kind) -> &'static str {
    match kind {
        Kind::Vnet => "Microsoft.Network/virtualNetworks",
        Kind::Vm { .. } => "Microsoft.Compute/virtualMachines",
        Kind::Disk { .. } => "Microsoft.Compute/disks",
        Kind::Nic { .. } => "Microsoft.Network/networkInterfaces",
        Kind::PublicIp { .. } => "Microsoft.Network/publicIPAddresses",
        Kind::NatGateway { .. } => "Microsoft.Network/natGateways",
        Kind::PrivateEndpoint { .. } => "Microsoft.Network/privateEndpoints",
        Kind::Snapshot { .. } => "Microsoft.Compute/snapshots",
        Kind::Plan { .. } => "Microsoft.Web/serverFarms",
        Kind::SqlServer => "Microsoft.Sql/servers",
        Kind::SqlDb { .. } => "Microsoft.Sql/servers/databases",
        Kind::Storage { .. } => "Microsoft.Storage/storageAccounts",
    }
}

/// The meter a resource is billed on and the billed quantity (GB, workers, or 1).
pub fn charge(r: &Resource) -> Option<(Meter, f64)> {
    match &r.kind {
        Kind::Vnet | Kind::Nic { .. } | Kind::SqlServer => None,
        Kind::Vm { size, .. } => prices::VM_SIZES.get(*size).map(|v| (v.meter, 1.0)),
        Kind::Disk { tier, .. } => prices::DISK_TIERS.get(*tier).map(|d| (d.meter, 1.0)),
        Kind::PublicIp { .. } => Some((prices::PUBLIC_IP, 1.0)),
        Kind::NatGateway { .. } => Some((prices::NAT_GATEWAY, 1.0)),
        Kind::PrivateEndpoint { .. } => Some((prices::PRIVATE_ENDPOINT, 1.0)),
        Kind::Snapshot { size_gb, .. } => Some((prices::SNAPSHOT, f64::from(*size_gb))),
        Kind::Plan { sku, workers, .. } => {
            prices::PLAN_SKUS.get(*sku).map(|p| (p.meter, f64::from(*workers)))
        }
        Kind::SqlDb { objective, .. } => prices::SQL_OBJECTIVES.get(*objective).map(|s| (s.meter, 1.0)),
        Kind::Storage { size_gb } => Some((prices::BLOB_HOT, f64::from(*size_gb))),
    }
}

fn schedule(r: &Resource) -> Schedule {
    match &r.kind {
        Kind::Vm { schedule, .. } => *schedule,
        _ => Schedule::Always,
    }
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The day a resource was created.
pub fn created(estate: &Estate, r: &Resource) -> NaiveDate {
    estate.as_of.checked_sub_days(Days::new(u64::from(r.age_days))).unwrap_or(estate.as_of)
}

/// Billed hours of a resource on a day.
fn hours_on(r: &Resource, day: NaiveDate) -> f64 {
    match schedule(r) {
        Schedule::Always => 24.0,
        Schedule::Weekdays if is_weekend(day) => 0.0,
        Schedule::Weekdays => 12.0,
        Schedule::Never => 0.0,
    }
}

/// (actual, amortized) cost of a resource on a day, or `None` when it has no charge that day.
pub fn day_cost(estate: &Estate, r: &Resource, day: NaiveDate) -> Option<(f64, f64)> {
    if day >= estate.as_of || day < created(estate, r) {
        return None;
    }
    let (meter, quantity) = charge(r)?;
    let hours = hours_on(r, day);
    if hours <= 0.0 {
        return None;
    }
    let list = meter.hourly(quantity) * hours;
    match &r.kind {
        // Usage covered by a reservation bills 0; amortized carries the reservation's share.
        Kind::Vm { reserved: true, .. } => Some((0.0, meter.reserved_hourly_1y() * hours)),
        _ => Some((list, list)),
    }
}

/// Expected monthly cost (amortized, so reservation-covered VMs carry their reservation rate).
pub fn monthly_cost(r: &Resource) -> f64 {
    let Some((meter, quantity)) = charge(r) else { return 0.0 };
    let duty = match schedule(r) {
        Schedule::Always => 1.0,
        Schedule::Weekdays => 0.5 * 5.0 / 7.0,
        Schedule::Never => 0.0,
    };
    let hourly = match &r.kind {
        Kind::Vm { reserved: true, .. } => meter.reserved_hourly_1y(),
        _ => meter.hourly(quantity),
    };
    hourly * HOURS_PER_MONTH * duty
}

/// A charge with no resource (reservation purchase, support plan) on a subscription's day.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionCharge {
    /// Cost Management `ServiceName` / `MeterCategory` source.
    pub meter: Meter,
    /// Actual cost.
    pub actual: f64,
    /// Amortized cost (0 for commitment purchases, which are spread over covered usage).
    pub amortized: f64,
    /// Cost Management `ChargeType`: `Purchase` for commitments and plans, `Usage` for metered.
    pub charge_type: &'static str,
}

/// The charges without a resource billed to a subscription on a day: purchases and plans on
/// the 1st of a month, and every day the metered services of [`super::metered`].
pub fn subscription_charges(estate: &Estate, sub: usize, day: NaiveDate) -> Vec<SubscriptionCharge> {
    let mut out: Vec<SubscriptionCharge> = super::metered::charges(estate, sub, day)
        .into_iter()
        .map(|(meter, amount)| SubscriptionCharge {
            meter,
            actual: amount,
            amortized: amount,
            charge_type: "Usage",
        })
        .collect();
    let first = estate.as_of.checked_sub_days(Days::new(u64::from(estate.spec.days))).unwrap_or(estate.as_of);
    if day.day() != 1 || day >= estate.as_of || day < first {
        return out;
    }
    let reserved: f64 = estate
        .resources_of(sub)
        .iter()
        .filter_map(|r| match &r.kind {
            Kind::Vm { reserved: true, size, .. } => prices::VM_SIZES.get(*size),
            _ => None,
        })
        .map(|v| v.meter.reserved_hourly_1y() * HOURS_PER_MONTH)
        .sum();
    if reserved > 0.0 {
        out.push(SubscriptionCharge {
            meter: prices::VM_SIZES[0].meter,
            actual: reserved,
            amortized: 0.0,
            charge_type: "Purchase",
        });
    }
    if estate.subscriptions.get(sub).is_some_and(|s| s.support_plan) {
        out.push(SubscriptionCharge {
            meter: prices::SUPPORT,
            actual: prices::SUPPORT.price,
            amortized: prices::SUPPORT.price,
            charge_type: "Purchase",
        });
    }
    out
}

/// Which metric a request names, and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// VM `Percentage CPU`.
    VmCpu,
    /// VM `Available Memory Bytes`.
    VmMemory,
    /// App Service plan `CpuPercentage`.
    PlanCpu,
    /// App Service plan `MemoryPercentage`.
    PlanMemory,
    /// SQL database `dtu_consumption_percent`.
    Dtu,
}

impl Metric {
    /// Resolves a metric name for a resource kind (case-insensitive), as Monitor does.
    pub fn resolve(kind: &Kind, name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase();
        match (kind, n.as_str()) {
            (Kind::Vm { .. }, "percentage cpu") => Some(Self::VmCpu),
            (Kind::Vm { .. }, "available memory bytes") => Some(Self::VmMemory),
            (Kind::Plan { .. }, "cpupercentage") => Some(Self::PlanCpu),
            (Kind::Plan { .. }, "memorypercentage") => Some(Self::PlanMemory),
            (Kind::SqlDb { .. }, "dtu_consumption_percent") => Some(Self::Dtu),
            _ => None,
        }
    }

    /// The metric's canonical name, localized name, unit and description.
    pub fn describe(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::VmCpu => (
                "Percentage CPU",
                "Percentage CPU",
                "Percent",
                "The percentage of allocated compute units that are currently in use by the Virtual Machine(s)",
            ),
            Self::VmMemory => (
                "Available Memory Bytes",
                "Available Memory Bytes",
                "Bytes",
                "Amount of physical memory, in bytes, immediately available for allocation to a process or for system use in the Virtual Machine",
            ),
            Self::PlanCpu => (
                "CpuPercentage",
                "CPU Percentage",
                "Percent",
                "The average CPU used across all instances of the plan.",
            ),
            Self::PlanMemory => (
                "MemoryPercentage",
                "Memory Percentage",
                "Percent",
                "The average memory used across all instances of the plan.",
            ),
            Self::Dtu => (
                "dtu_consumption_percent",
                "DTU percentage",
                "Percent",
                "DTU Percentage. Applies to DTU-based databases.",
            ),
        }
    }
}

fn util_of(r: &Resource) -> Option<Util> {
    match &r.kind {
        Kind::Vm { util, .. } | Kind::Plan { util, .. } | Kind::SqlDb { util, .. } => Some(*util),
        _ => None,
    }
}

/// (average, minimum, maximum) of a metric in the hour starting at `hour` (epoch hours), or
/// `None` for a missing datapoint (resource off, not yet created, in the future, or a gap).
pub fn metric_point(estate: &Estate, r: &Resource, metric: Metric, hour: i64) -> Option<(f64, f64, f64)> {
    let util = util_of(r)?;
    let now = estate.as_of.and_hms_opt(0, 0, 0)?.and_utc().timestamp() / 3600;
    let born = created(estate, r).and_hms_opt(0, 0, 0)?.and_utc().timestamp() / 3600;
    if hour >= now || hour < born {
        return None;
    }
    let hod = hour.rem_euclid(24);
    if let Kind::Vm { power, schedule, .. } = &r.kind {
        let day = chrono::DateTime::from_timestamp(hour * 3600, 0)?.date_naive();
        let on = match (power, schedule) {
            (PowerState::Running, Schedule::Always) => true,
            (PowerState::Running, Schedule::Weekdays) => !is_weekend(day) && (8..20).contains(&hod),
            _ => false,
        };
        if !on {
            return None;
        }
    }
    let h = hour as u64;
    if unit_hash(&[r.key, h, 1]) < util.gap {
        return None;
    }
    let u = |salt: u64| unit_hash(&[r.key, h, salt]);
    let percent = |mean: f64, amp: f64, noise: f64| {
        let diurnal = (std::f64::consts::TAU * (hod as f64 - 8.0) / 24.0).sin();
        (mean + amp * diurnal + noise * (2.0 * u(2) - 1.0)).clamp(0.5, 100.0)
    };
    let spread = |avg: f64, cap: f64| {
        let min = avg * (0.6 + 0.3 * u(3));
        let max = (avg * (1.1 + 0.5 * u(4))).min(cap);
        (avg, min, max)
    };
    Some(match metric {
        Metric::VmCpu | Metric::PlanCpu | Metric::Dtu => {
            spread(percent(util.mean, util.amp, util.noise), 100.0)
        }
        Metric::PlanMemory => spread(percent(util.mem_used * 100.0, 2.0, 3.0), 100.0),
        Metric::VmMemory => {
            let Kind::Vm { size, .. } = &r.kind else { return None };
            let total = f64::from(prices::VM_SIZES.get(*size)?.memory_gb) * 1_073_741_824.0;
            let used = (util.mem_used + 0.03 * (2.0 * u(5) - 1.0)).clamp(0.0, 0.99);
            let avail = (total * (1.0 - used)).round();
            (avail, (avail * (0.97 + 0.02 * u(6))).round(), (avail * 1.02).min(total).round())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::estate::Plant;
    use crate::sandbox::spec::EstateSpec;

    fn estate() -> Estate {
        let spec = EstateSpec { tenants: 1, subscriptions: 1, resources: 120, days: 30 };
        Estate::generate(7, spec, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
    }

    #[test]
    fn underutilised_vms_have_low_p95_cpu_and_full_coverage() {
        let e = estate();
        let vm =
            e.resources.iter().find(|r| r.plant == Plant::Finding("rightsizing.underutilised_vm")).unwrap();
        let now = e.as_of.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() / 3600;
        let mut cpu: Vec<f64> = (now - 14 * 24..now)
            .filter_map(|h| metric_point(&e, vm, Metric::VmCpu, h))
            .map(|p| p.0)
            .collect();
        assert!(cpu.len() as f64 >= 0.9 * 14.0 * 24.0, "{}", cpu.len());
        cpu.sort_by(f64::total_cmp);
        let p95 = cpu[(cpu.len() as f64 * 0.95) as usize - 1];
        assert!(p95 < 20.0 && p95 > 10.0, "{p95}");
    }

    #[test]
    fn steady_costs_match_the_price_sheet() {
        let e = estate();
        let vm =
            e.resources.iter().find(|r| r.plant == Plant::Finding("rate.reserved_instance_gap")).unwrap();
        let day = e.as_of.pred_opt().unwrap();
        let (actual, amortized) = day_cost(&e, vm, day).unwrap();
        assert_eq!(actual, amortized);
        assert!((actual / 24.0 * HOURS_PER_MONTH - monthly_cost(vm)).abs() < 1e-9);
        assert!(day_cost(&e, vm, e.as_of).is_none());
    }
}
