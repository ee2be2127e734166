//! Per-resource cost over a window of `costs_daily`: what the rule engine prices waste with.

use chrono::NaiveDate;

use super::{Store, StoreError, TenantScope, on_pool};

/// One resource's spend over a window.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResourceCost {
    /// Lower-cased resource id.
    pub resource_id: String,
    /// Actual (billed) cost over the window.
    pub cost: f64,
    /// Amortized cost over the window.
    pub amortized_cost: f64,
    /// Days in the window with at least one cost row for the resource.
    pub days_with_cost: i64,
    /// First day in the window with a cost row (`YYYY-MM-DD`).
    pub first_date: String,
    /// Billing currency (one per tenant; the largest when rows disagree).
    pub currency: String,
}

impl Store {
    /// Sums each resource's cost rows of `subscription_id` dated within `[from, to]`.
    /// Charges without a resource id are left out.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when `from > to`; database errors.
    pub async fn resource_costs(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ResourceCost>, StoreError> {
        if from > to {
            return Err(StoreError::validation("from", "must not be after to"));
        }
        let subscription = subscription_id.trim().to_ascii_lowercase();
        let rows: Vec<ResourceCost> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT resource_id, SUM(cost) AS cost, SUM(amortized_cost) AS amortized_cost, \
                 COUNT(DISTINCT date) AS days_with_cost, CAST(MIN(date) AS TEXT) AS first_date, \
                 MAX(currency) AS currency FROM costs_daily \
                 WHERE tenant_id = $1 AND subscription_id = $2 AND date >= $3 AND date <= $4 AND resource_id <> '' \
                 GROUP BY resource_id ORDER BY resource_id",
            )
            .bind(scope.tenant_id())
            .bind(&subscription)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
