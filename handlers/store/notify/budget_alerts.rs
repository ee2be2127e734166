//! `budget.threshold` events: after costs are written, each budget covering the subscription
//! is held to its thresholds by month-to-date spend and, separately, by the month-end forecast.
//! A crossing is recorded in `budget_threshold_alerts` in the same transaction as its event, so
//! it is announced once per budget, month, basis and threshold however often ingestion runs.

use chrono::{Datelike as _, NaiveDate};

use super::outbox::INSERT_EVENT;
use crate::notify::EventType;
use crate::notify::budget::Standing;
use crate::store::{Store, StoreError, TenantScope, new_id, now, on_pool, spend_of};

impl Store {
    /// Records a `budget.threshold` event for every threshold newly reached this month (`day`'s)
    /// by the budgets of `subscription_id` and the tenant-wide budgets, from spend through
    /// `day` and the forecast made on `day`. Returns the events recorded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_budget_thresholds(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        day: NaiveDate,
    ) -> Result<usize, StoreError> {
        let subscription = subscription_id.trim().to_ascii_lowercase();
        let budgets: Vec<_> = self
            .list_budgets(scope)
            .await?
            .into_iter()
            .filter(|b| b.subscription_id.as_deref().is_none_or(|s| s == subscription))
            .collect();
        if budgets.is_empty() {
            return Ok(0);
        }
        let first = day.with_day(1).unwrap_or(day);
        let month = format!("{:04}-{:02}", day.year(), day.month());
        let spend = self.spend_by_subscription(scope, first, day).await?;
        let mut forecasts = Vec::new();
        if budgets.iter().any(|b| b.subscription_id.is_some()) {
            forecasts.extend(self.month_end_forecast(scope, Some(&subscription), day).await?);
        }
        if budgets.iter().any(|b| b.subscription_id.is_none()) {
            forecasts.extend(self.month_end_forecast(scope, None, day).await?);
        }
        let mut events: Vec<(String, &'static str, u32, Option<String>, serde_json::Value)> = Vec::new();
        for budget in &budgets {
            let amortized = budget.metric == "amortized";
            let spent: f64 = spend_of(&spend, budget.subscription_id.as_deref())
                .iter()
                .filter(|s| s.currency == budget.currency)
                .map(|s| if amortized { s.amortized_cost } else { s.cost })
                .sum();
            let forecast = forecasts
                .iter()
                .find(|f| f.currency == budget.currency && f.subscription_id == budget.subscription_id)
                .map(
                    |f| if amortized { f.amortized.month_end.forecast } else { f.actual.month_end.forecast },
                );
            let standing = Standing {
                budget_id: &budget.id,
                name: &budget.name,
                subscription_id: budget.subscription_id.as_deref(),
                metric: &budget.metric,
                amount: budget.amount,
                currency: &budget.currency,
                thresholds: &budget.alert_thresholds.0,
                spent,
                forecast,
                month: &month,
            };
            for crossing in standing.crossings() {
                events.push((
                    budget.id.clone(),
                    crossing.basis.as_str(),
                    crossing.threshold,
                    budget.subscription_id.clone(),
                    standing.event_data(crossing),
                ));
            }
        }
        if events.is_empty() {
            return Ok(0);
        }
        let at = now();
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let mut recorded = 0;
            for (budget_id, basis, threshold, subscription, data) in events {
                let event_id = new_id();
                let fresh = sqlx::query(
                    "INSERT INTO budget_threshold_alerts (tenant_id, budget_id, month, basis, threshold, event_id, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (tenant_id, budget_id, month, basis, threshold) DO NOTHING",
                )
                .bind(scope.tenant_id())
                .bind(&budget_id)
                .bind(&month)
                .bind(basis)
                .bind(i64::from(threshold))
                .bind(&event_id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if fresh == 1 {
                    sqlx::query(INSERT_EVENT)
                        .bind(&event_id)
                        .bind(scope.tenant_id())
                        .bind(EventType::BudgetThreshold.as_str())
                        .bind(subscription)
                        .bind(None::<String>)
                        .bind(sqlx::types::Json(data))
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    recorded += 1;
                }
            }
            tx.commit().await?;
            recorded
        }))
    }
}
