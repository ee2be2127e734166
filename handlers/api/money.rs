//! Rounds the money in API answers to each amount's currency (see [`crate::money`]): the store
//! keeps full precision, callers see amounts a finance team would write down.

use crate::money::round_to_minor_unit;
use crate::store::{
    CostAnomaly, CostExplorer, CostForecast, CostRow, CostSummary, MeasureForecast, Page, Recommendation,
    RecommendationGroup,
};

/// A value whose money fields are rounded before it leaves the API.
pub trait RoundMoney {
    /// The same value with every amount rounded to its currency's minor unit.
    #[must_use]
    fn round_money(self) -> Self;
}

impl RoundMoney for CostRow {
    fn round_money(mut self) -> Self {
        self.cost = round_to_minor_unit(self.cost, &self.currency);
        self.amortized_cost = round_to_minor_unit(self.amortized_cost, &self.currency);
        self
    }
}

impl RoundMoney for Recommendation {
    fn round_money(mut self) -> Self {
        self.estimated_monthly_savings = round_to_minor_unit(self.estimated_monthly_savings, &self.currency);
        self.realised = self.realised.map(RoundMoney::round_money);
        self
    }
}

impl RoundMoney for RecommendationGroup {
    fn round_money(mut self) -> Self {
        self.estimated_monthly_savings = round_to_minor_unit(self.estimated_monthly_savings, &self.currency);
        self
    }
}

/// The top-level figures are in the summary's `currency`; `by_currency` in each its own.
impl RoundMoney for CostSummary {
    fn round_money(mut self) -> Self {
        let currency = self.currency.clone().unwrap_or_default();
        let round = |amount: f64| round_to_minor_unit(amount, &currency);
        self.total_cost = round(self.total_cost);
        self.total_amortized_cost = round(self.total_amortized_cost);
        for service in &mut self.by_service {
            service.cost = round(service.cost);
            service.amortized_cost = round(service.amortized_cost);
        }
        for day in &mut self.daily {
            day.cost = round(day.cost);
            day.amortized_cost = round(day.amortized_cost);
        }
        for (currency, totals) in &mut self.by_currency {
            totals.total_cost = round_to_minor_unit(totals.total_cost, currency);
            totals.total_amortized_cost = round_to_minor_unit(totals.total_amortized_cost, currency);
        }
        self
    }
}

impl RoundMoney for CostExplorer {
    fn round_money(mut self) -> Self {
        for total in &mut self.totals {
            total.amount = round_to_minor_unit(total.amount, &total.currency);
        }
        for group in &mut self.groups {
            group.total = round_to_minor_unit(group.total, &group.currency);
            for amount in &mut group.series {
                *amount = round_to_minor_unit(*amount, &group.currency);
            }
        }
        self
    }
}

impl RoundMoney for CostAnomaly {
    fn round_money(mut self) -> Self {
        for amount in [&mut self.expected, &mut self.actual, &mut self.deviation] {
            *amount = round_to_minor_unit(*amount, &self.currency);
        }
        self
    }
}

impl RoundMoney for CostForecast {
    fn round_money(mut self) -> Self {
        let round = |m: &mut MeasureForecast, currency: &str| {
            m.month_to_date = round_to_minor_unit(m.month_to_date, currency);
            for e in [&mut m.month_end, &mut m.next_month] {
                e.forecast = round_to_minor_unit(e.forecast, currency);
                e.lower = round_to_minor_unit(e.lower, currency);
                e.upper = round_to_minor_unit(e.upper, currency);
            }
        };
        round(&mut self.actual, &self.currency);
        round(&mut self.amortized, &self.currency);
        self
    }
}

impl<T: RoundMoney> RoundMoney for Page<T> {
    fn round_money(mut self) -> Self {
        self.items = self.items.into_iter().map(RoundMoney::round_money).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_each_row_in_its_own_currency() {
        let row = |cost: f64, currency: &str| CostRow {
            subscription_id: "s".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            resource_group: String::new(),
            service_name: "VM".into(),
            meter_category: "VM".into(),
            resource_id: String::new(),
            cost,
            amortized_cost: cost,
            currency: currency.into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let page = Page {
            items: vec![row(1301.1399999999999, "USD"), row(99.6, "JPY")],
            page: 1,
            page_size: 2,
            total: 2,
            total_pages: 1,
        };
        let rounded = page.round_money();
        assert_eq!(rounded.items[0].cost.to_string(), "1301.14");
        assert_eq!(rounded.items[1].amortized_cost, 100.0);
    }
}
