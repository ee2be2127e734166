//! Usage-metered services billed without a resource (bandwidth, log ingestion, monitoring),
//! the estate's only cost rows with weekly seasonality and noise, and where cost anomalies are
//! planted. Rules price resources from rows that carry a resource id, so nothing here moves a
//! rule's input or a planted finding's truth.
//!
//! Per subscription, from the estate seed: each of [`SERVICES`] has a base daily amount, a
//! weekend factor and ±10 % noise. Two of every three subscriptions (index % 3 ≠ 2) also carry,
//! when the history is at least [`MIN_DAYS_TO_PLANT`] days: a spike (×2.5–4 for one day) on two
//! services, a level shift (×1.7–2.2 or ×0.4–0.5 from that day on) on the third, and a new
//! service ([`NEW_SERVICE`]) first billed on a day at least 42 days into the history. The third
//! subscription of each triple stays steady (the forecast's backtest uses those).

use chrono::{Datelike as _, Days, NaiveDate};
use serde::Serialize;

use super::estate::{Estate, unit_hash};
use super::prices::Meter;

/// Shortest history that gets planted anomalies (a judged day needs three weeks before it).
pub const MIN_DAYS_TO_PLANT: u32 = 56;
/// First day index a spike or a level shift may fall on.
const FIRST_PLANT_DAY: u32 = 28;
/// First day index the new service may appear on.
const FIRST_NEW_SERVICE_DAY: u32 = 42;

const fn meter(service: &'static str, category: &'static str, name: &'static str) -> Meter {
    Meter {
        service_name: service,
        service_family: "Usage",
        meter_category: category,
        product_name: service,
        sku_name: "Standard",
        meter_name: name,
        arm_sku_name: "",
        unit: "1 GB",
        price: 0.0,
        reservable: false,
        savings_plan: false,
    }
}

/// The metered services every subscription uses, with their base daily range (USD).
pub const SERVICES: [(Meter, f64, f64); 3] = [
    (meter("Bandwidth", "Bandwidth", "Standard Data Transfer Out"), 20.0, 60.0),
    (meter("Log Analytics", "Log Analytics", "Analytics Logs Data Ingestion"), 15.0, 40.0),
    (meter("Azure Monitor", "Azure Monitor", "Metrics ingestion"), 12.0, 30.0),
];
/// The service planted as new.
pub const NEW_SERVICE: Meter = meter("Azure OpenAI", "Cognitive Services", "GPT Input Tokens");

/// One planted anomaly of a subscription, by day index into the history.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Planted {
    /// Index into [`SERVICES`], or `SERVICES.len()` for [`NEW_SERVICE`].
    service: usize,
    day: u32,
    kind: &'static str,
    factor: f64,
}

/// A planted anomaly as ground truth lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AnomalyTruth {
    /// Tenant owning the subscription.
    pub tenant_id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Cost Management `ServiceName`.
    pub service_name: String,
    /// The anomalous day (a level shift's first day, a new service's first cost).
    pub day: NaiveDate,
    /// `spike`, `level_shift` or `new_service`.
    pub kind: String,
}

fn first_day(estate: &Estate) -> NaiveDate {
    estate.as_of.checked_sub_days(Days::new(u64::from(estate.spec.days))).unwrap_or(estate.as_of)
}

fn draw(estate: &Estate, sub: usize, salt: u64) -> f64 {
    unit_hash(&[estate.seed, sub as u64, 0x00A0_0A11, salt])
}

/// A day index in `lo..hi` drawn with `salt`.
fn day_in(estate: &Estate, sub: usize, salt: u64, lo: u32, hi: u32) -> u32 {
    lo + ((draw(estate, sub, salt) * f64::from(hi - lo)) as u32).min(hi - lo - 1)
}

fn plan(estate: &Estate, sub: usize) -> Vec<Planted> {
    let days = estate.spec.days;
    if days < MIN_DAYS_TO_PLANT || sub % 3 == 2 {
        return Vec::new();
    }
    let rotate = sub % SERVICES.len();
    let pick = |j: usize| (rotate + j) % SERVICES.len();
    let spike = |salt: u64| 2.5 + 1.5 * draw(estate, sub, salt);
    let shift = if draw(estate, sub, 7) < 0.5 {
        1.7 + 0.5 * draw(estate, sub, 8)
    } else {
        0.4 + 0.1 * draw(estate, sub, 8)
    };
    vec![
        Planted {
            service: pick(0),
            day: day_in(estate, sub, 1, FIRST_PLANT_DAY, days - 1),
            kind: "spike",
            factor: spike(2),
        },
        Planted {
            service: pick(1),
            day: day_in(estate, sub, 3, FIRST_PLANT_DAY, days - 1),
            kind: "spike",
            factor: spike(4),
        },
        Planted {
            service: pick(2),
            day: day_in(estate, sub, 5, FIRST_PLANT_DAY, days - 4),
            kind: "level_shift",
            factor: shift,
        },
        Planted {
            service: SERVICES.len(),
            day: day_in(estate, sub, 6, FIRST_NEW_SERVICE_DAY, days - 1),
            kind: "new_service",
            factor: 15.0 + 25.0 * draw(estate, sub, 9),
        },
    ]
}

/// The metered charges of a subscription on a day of its history: (meter, amount).
pub fn charges(estate: &Estate, sub: usize, day: NaiveDate) -> Vec<(Meter, f64)> {
    let first = first_day(estate);
    if day < first || day >= estate.as_of {
        return Vec::new();
    }
    let index = (day - first).num_days() as u32;
    let planted = plan(estate, sub);
    let weekend = day.weekday().number_from_monday() >= 6;
    let noise =
        |k: u64| 1.0 + 0.2 * (unit_hash(&[estate.seed, sub as u64, k, u64::from(index), 0x0015E]) - 0.5);
    let mut out = Vec::with_capacity(SERVICES.len() + 1);
    for (k, (meter, lo, hi)) in SERVICES.iter().enumerate() {
        let base = lo + (hi - lo) * draw(estate, sub, 100 + k as u64);
        let weekend_factor = 0.5 + 0.35 * draw(estate, sub, 200 + k as u64);
        let mut amount = base * if weekend { weekend_factor } else { 1.0 } * noise(k as u64);
        for p in planted.iter().filter(|p| p.service == k) {
            match p.kind {
                "spike" if p.day == index => amount *= p.factor,
                "level_shift" if index >= p.day => amount *= p.factor,
                _ => {}
            }
        }
        out.push((*meter, amount));
    }
    if let Some(p) = planted.iter().find(|p| p.kind == "new_service" && index >= p.day) {
        out.push((NEW_SERVICE, p.factor * noise(SERVICES.len() as u64)));
    }
    out
}

/// The anomalies planted in the subscriptions AzCops can read, sorted.
pub fn anomaly_truth(estate: &Estate) -> Vec<AnomalyTruth> {
    let first = first_day(estate);
    let mut rows = Vec::new();
    for (s, sub) in estate.subscriptions.iter().enumerate() {
        if !sub.delegated {
            continue;
        }
        for p in plan(estate, s) {
            let service = SERVICES.get(p.service).map_or(NEW_SERVICE, |m| m.0);
            rows.push(AnomalyTruth {
                tenant_id: estate.tenant_of(s).id.clone(),
                subscription_id: sub.id.clone(),
                service_name: service.service_name.to_owned(),
                day: first + Days::new(u64::from(p.day)),
                kind: p.kind.to_owned(),
            });
        }
    }
    rows.sort();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::spec::EstateSpec;

    #[test]
    fn anomalies_are_planted_with_truth_and_steady_subscriptions_stay_steady() {
        let e = Estate::generate(7, EstateSpec::LARGE, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        let truth = anomaly_truth(&e);
        assert!(truth.len() >= 200, "{}", truth.len());
        for kind in ["spike", "level_shift", "new_service"] {
            assert!(truth.iter().any(|t| t.kind == kind), "{kind}");
        }
        let steady = e.subscriptions.iter().enumerate().find(|(s, _)| s % 3 == 2).unwrap();
        assert!(truth.iter().all(|t| t.subscription_id != steady.1.id));
        // The planted spike shows in the charges: well above the same weekday a week before.
        let spike = truth.iter().find(|t| t.kind == "spike").unwrap();
        let s = e.subscription(&spike.subscription_id).unwrap();
        let amount = |day: NaiveDate| {
            charges(&e, s, day).iter().find(|(m, _)| m.service_name == spike.service_name).unwrap().1
        };
        assert!(amount(spike.day) > 2.0 * amount(spike.day - Days::new(7)));
        let new = truth.iter().find(|t| t.kind == "new_service").unwrap();
        let s = e.subscription(&new.subscription_id).unwrap();
        let has_new =
            |day: NaiveDate| charges(&e, s, day).iter().any(|(m, _)| m.service_name == "Azure OpenAI");
        assert!(has_new(new.day) && !has_new(new.day - Days::new(1)));
        // Short histories get seasonality and noise but nothing planted.
        let short = Estate::generate(7, EstateSpec { days: 30, ..EstateSpec::DEMO }, e.as_of);
        assert!(anomaly_truth(&short).is_empty());
        assert_eq!(charges(&short, 0, e.as_of - Days::new(1)).len(), SERVICES.len());
    }
}
