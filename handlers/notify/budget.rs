//! `budget.threshold`, pure: which thresholds of a budget its month-to-date spend, and
//! separately its month-end forecast, have reached, and the event's data. Each crossing is
//! announced once per budget, month, basis and threshold (the store keeps the record).

use serde_json::{Value, json};

use crate::money::round_to_minor_unit;

/// Thresholds (percent of the amount) of a budget that configures none.
pub const DEFAULT_THRESHOLDS: [u32; 3] = [50, 80, 100];

/// What a threshold was reached by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The month-to-date cost.
    Actual,
    /// The month-end forecast.
    Forecast,
}

impl Basis {
    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actual => "actual",
            Self::Forecast => "forecast",
        }
    }
}

/// One threshold reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    /// By spend or by forecast.
    pub basis: Basis,
    /// The threshold, percent of the amount.
    pub threshold: u32,
}

/// How a budget stands this month, in its currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing<'a> {
    /// Budget id.
    pub budget_id: &'a str,
    /// Budget name.
    pub name: &'a str,
    /// The subscription, or `None` for the whole tenant.
    pub subscription_id: Option<&'a str>,
    /// `actual` or `amortized`.
    pub metric: &'a str,
    /// Monthly amount.
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: &'a str,
    /// Configured thresholds (empty: [`DEFAULT_THRESHOLDS`]).
    pub thresholds: &'a [u32],
    /// Month-to-date cost in the currency.
    pub spent: f64,
    /// Month-end forecast in the currency, if there is cost history to forecast from.
    pub forecast: Option<f64>,
    /// `YYYY-MM`.
    pub month: &'a str,
}

impl Standing<'_> {
    /// The thresholds reached, by spend and by forecast (a forecast is never below the spend).
    pub fn crossings(&self) -> Vec<Crossing> {
        if !(self.amount.is_finite() && self.amount > 0.0) {
            return Vec::new();
        }
        let thresholds = if self.thresholds.is_empty() { &DEFAULT_THRESHOLDS[..] } else { self.thresholds };
        let reached = |value: f64, t: u32| {
            // Compared in the currency's minor unit, as the budget's own figures are shown.
            round_to_minor_unit(value, self.currency)
                >= round_to_minor_unit(self.amount * f64::from(t) / 100.0, self.currency)
        };
        let mut out = Vec::new();
        for &threshold in thresholds {
            if reached(self.spent, threshold) {
                out.push(Crossing { basis: Basis::Actual, threshold });
            }
            if self.forecast.is_some_and(|f| reached(f.max(self.spent), threshold)) {
                out.push(Crossing { basis: Basis::Forecast, threshold });
            }
        }
        out
    }

    /// The `budget.threshold` event data of `crossing`.
    pub fn event_data(&self, crossing: Crossing) -> Value {
        let money = |v: f64| round_to_minor_unit(v, self.currency);
        let forecast = self.forecast.map(|f| money(f.max(self.spent)));
        let percent = |v: f64| (v / self.amount * 1000.0).round() / 10.0;
        json!({
            "budget_id": self.budget_id,
            "budget_name": self.name,
            "subscription_id": self.subscription_id,
            "metric": self.metric,
            "month": self.month,
            "basis": crossing.basis.as_str(),
            "threshold_percent": crossing.threshold,
            "amount": money(self.amount),
            "threshold_amount": money(self.amount * f64::from(crossing.threshold) / 100.0),
            "spent": money(self.spent),
            "percent_spent": percent(self.spent),
            "forecast": forecast,
            "percent_forecast": forecast.map(percent),
            "currency": self.currency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(spent: f64, forecast: Option<f64>, thresholds: &[u32]) -> Vec<(Basis, u32)> {
        Standing {
            budget_id: "b",
            name: "Team",
            subscription_id: None,
            metric: "actual",
            amount: 100.0,
            currency: "EUR",
            thresholds,
            spent,
            forecast,
            month: "2026-12",
        }
        .crossings()
        .into_iter()
        .map(|c| (c.basis, c.threshold))
        .collect()
    }

    #[test]
    fn spend_and_forecast_cross_thresholds_separately() {
        assert_eq!(standing(49.99, None, &[]), []);
        assert_eq!(standing(50.0, None, &[]), [(Basis::Actual, 50)]);
        assert_eq!(standing(49.999, None, &[]), [(Basis::Actual, 50)], "compared in cents");
        assert_eq!(
            standing(60.0, Some(120.0), &[]),
            [(Basis::Actual, 50), (Basis::Forecast, 50), (Basis::Forecast, 80), (Basis::Forecast, 100)]
        );
        assert_eq!(standing(85.0, Some(10.0), &[90]), [], "configured thresholds replace the defaults");
        assert_eq!(standing(95.0, Some(10.0), &[90]), [(Basis::Actual, 90), (Basis::Forecast, 90)]);
    }

    #[test]
    fn event_data_rounds_money_to_the_minor_unit() {
        let s = Standing {
            budget_id: "b",
            name: "Team",
            subscription_id: Some("s"),
            metric: "actual",
            amount: 1000.0,
            currency: "JPY",
            thresholds: &[],
            spent: 812.4,
            forecast: Some(1499.6),
            month: "2026-12",
        };
        let data = s.event_data(Crossing { basis: Basis::Forecast, threshold: 80 });
        assert_eq!(data["spent"], 812.0);
        assert_eq!(data["forecast"], 1500.0);
        assert_eq!(data["threshold_amount"], 800.0);
        assert_eq!((data["basis"].as_str(), data["currency"].as_str()), (Some("forecast"), Some("JPY")));
        assert_eq!(data["percent_forecast"], 150.0);
    }
}
