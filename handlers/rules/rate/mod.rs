//! Rate rules: steady usage paid at pay-as-you-go that a commitment would price lower.

pub mod reserved_instance_gap;
pub mod savings_plan;

use crate::rules::{ObservedCost, RuleSettings};

/// `observed` (a resource's cost from [`crate::rules::EvaluationContext::cost`]) when the
/// resource is neither already covered by a commitment (actual cost well below amortized) nor
/// intermittent (billed for less than the steady share of the window at `monthly_list` per
/// month). Callers skip resources without cost rows: their steadiness is unknown.
pub fn steady_uncovered(
    s: &RuleSettings,
    observed: ObservedCost,
    monthly_list: Option<f64>,
) -> Option<ObservedCost> {
    let c = observed;
    if c.monthly_actual < s.covered_actual_share * c.monthly_amortized || c.monthly_actual <= 0.0 {
        return None;
    }
    let share = match monthly_list {
        Some(list) if list > 0.0 => c.monthly_actual / list,
        _ => c.days_with_cost as f64 / c.days_observed.max(1) as f64,
    };
    (share >= s.steady_min_share).then_some(c)
}
