//! `budgets`: a tenant's monthly budgets, for the whole tenant or one registered subscription,
//! each change audited in the same transaction; and the month-to-date spend they are held to.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::types::Json;

use super::audit::insert_audit;
use super::{Actor, Store, StoreError, TenantScope, new_id, now, on_pool};

/// Most budgets one tenant may keep (a dashboard lists them all on one page).
pub const MAX_BUDGETS_PER_TENANT: i64 = 200;
/// Most alert thresholds of one budget.
pub const MAX_ALERT_THRESHOLDS: usize = 10;

/// A stored monthly budget.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Budget {
    /// Budget id (UUID v7).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Name, unique within the tenant.
    pub name: String,
    /// The subscription held to it, or `null` for the whole tenant.
    pub subscription_id: Option<String>,
    /// Monthly amount, in `currency`.
    pub amount: f64,
    /// ISO 4217 code of the amount; only cost billed in this currency counts against it.
    pub currency: String,
    /// `actual` or `amortized` cost.
    pub metric: String,
    /// Percentages of the amount at which alerts fire, ascending.
    #[schema(value_type = Vec<u32>)]
    pub alert_thresholds: Json<Vec<u32>>,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What a new budget or a change to one says; for a change `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct BudgetInput {
    /// Name.
    pub name: Option<String>,
    /// Subscription, or `Some(None)` for the whole tenant.
    pub subscription_id: Option<Option<String>>,
    /// Monthly amount.
    pub amount: Option<f64>,
    /// Currency code.
    pub currency: Option<String>,
    /// `actual` or `amortized`.
    pub metric: Option<String>,
    /// Alert thresholds in percent.
    pub alert_thresholds: Option<Vec<u32>>,
}

/// Fails the enclosing function unless `sub` is registered to the tenant: a budget names only a
/// subscription the tenant has onboarded, never one it merely claims.
macro_rules! require_registered {
    ($exec:expr, $scope:expr, $sub:expr) => {{
        let known: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2")
                .bind($scope.tenant_id())
                .bind($sub)
                .fetch_optional($exec)
                .await?;
        if known.is_none() {
            return Err(StoreError::validation("subscription_id", "is not a subscription of this tenant"));
        }
    }};
}

const COLUMNS: &str = "id, tenant_id, name, subscription_id, amount, currency, metric, alert_thresholds, \
                       created_by, created_at, updated_at";

/// The default alert thresholds: half-way, nearly there, reached.
pub const DEFAULT_ALERT_THRESHOLDS: [u32; 3] = [50, 80, 100];

fn audit_view(b: &Budget) -> serde_json::Value {
    serde_json::json!({
        "name": b.name,
        "subscription_id": b.subscription_id,
        "amount": b.amount,
        "currency": b.currency,
        "metric": b.metric,
        "alert_thresholds": b.alert_thresholds.0,
    })
}

/// Checks and normalises a complete budget (after a change is applied to the stored one).
fn validate(budget: &mut Budget) -> Result<(), StoreError> {
    budget.name = budget.name.trim().to_owned();
    if budget.name.is_empty() || budget.name.chars().count() > 100 {
        return Err(StoreError::validation("name", "must be 1 to 100 characters"));
    }
    budget.currency = budget.currency.trim().to_ascii_uppercase();
    if budget.currency.len() != 3 || !budget.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(StoreError::validation("currency", "must be an ISO 4217 code such as USD"));
    }
    // A budget is written in its currency's minor unit, so an amount that rounds to nothing is none.
    budget.amount = crate::money::round_to_minor_unit(budget.amount, &budget.currency);
    if !budget.amount.is_finite() || budget.amount <= 0.0 || budget.amount > 1e12 {
        return Err(StoreError::validation(
            "amount",
            "must be positive in the currency's minor unit (e.g. at least 0.01 USD) and at most 1e12",
        ));
    }
    if !matches!(budget.metric.as_str(), "actual" | "amortized") {
        return Err(StoreError::validation("metric", "must be actual or amortized"));
    }
    let thresholds = &mut budget.alert_thresholds.0;
    thresholds.sort_unstable();
    thresholds.dedup();
    if thresholds.len() > MAX_ALERT_THRESHOLDS || thresholds.iter().any(|t| !(1..=1000).contains(t)) {
        return Err(StoreError::validation(
            "alert_thresholds",
            format!("at most {MAX_ALERT_THRESHOLDS} percentages between 1 and 1000"),
        ));
    }
    if let Some(sub) = &mut budget.subscription_id {
        *sub = sub.trim().to_ascii_lowercase();
    }
    Ok(())
}

impl Store {
    /// The tenant's budgets, by name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_budgets(&self, scope: &TenantScope) -> Result<Vec<Budget>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 ORDER BY name LIMIT $2");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(scope.tenant_id())
                .bind(MAX_BUDGETS_PER_TENANT)
                .fetch_all(pool)
                .await?
        }))
    }

    /// One budget of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for another tenant's id).
    pub async fn get_budget(&self, scope: &TenantScope, id: &str) -> Result<Budget, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 AND id = $2");
        on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(pool)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// Creates a budget, audited (`budget.created`) in the same transaction. A subscription
    /// budget must name a subscription registered to the tenant.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a bad field, an unknown subscription or a full tenant;
    /// [`StoreError::Conflict`] for a name in use.
    pub async fn create_budget(
        &self,
        scope: &TenantScope,
        input: &BudgetInput,
        by: &Actor,
    ) -> Result<Budget, StoreError> {
        let at = now();
        let mut budget = Budget {
            id: new_id(),
            tenant_id: scope.tenant_id().to_owned(),
            name: input.name.clone().ok_or_else(|| StoreError::validation("name", "is required"))?,
            subscription_id: input.subscription_id.clone().flatten(),
            amount: input.amount.ok_or_else(|| StoreError::validation("amount", "is required"))?,
            currency: input
                .currency
                .clone()
                .ok_or_else(|| StoreError::validation("currency", "is required"))?,
            metric: input.metric.clone().unwrap_or_else(|| "actual".to_owned()),
            alert_thresholds: Json(
                input.alert_thresholds.clone().unwrap_or_else(|| DEFAULT_ALERT_THRESHOLDS.to_vec()),
            ),
            created_by: by.actor.clone(),
            created_at: at,
            updated_at: at,
        };
        validate(&mut budget)?;
        let entry =
            by.entry("budget.created", "budget", &budget.id, serde_json::Value::Null, audit_view(&budget));
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM budgets WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_one(&mut *tx)
                .await?;
            if count >= MAX_BUDGETS_PER_TENANT {
                return Err(StoreError::validation(
                    "budgets",
                    format!("a tenant keeps at most {MAX_BUDGETS_PER_TENANT} budgets"),
                ));
            }
            if let Some(sub) = &budget.subscription_id {
                require_registered!(&mut *tx, scope, sub);
            }
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO budgets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            )))
            .bind(&budget.id)
            .bind(&budget.tenant_id)
            .bind(&budget.name)
            .bind(&budget.subscription_id)
            .bind(budget.amount)
            .bind(&budget.currency)
            .bind(&budget.metric)
            .bind(&budget.alert_thresholds)
            .bind(&budget.created_by)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(super::error::conflict_as("budget name"))?;
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(budget)
    }

    /// Changes a budget, audited (`budget.updated`, before and after) in the same transaction.
    ///
    /// # Errors
    /// As [`Store::create_budget`]; [`StoreError::NotFound`].
    pub async fn update_budget(
        &self,
        scope: &TenantScope,
        id: &str,
        change: &BudgetInput,
        by: &Actor,
    ) -> Result<Budget, StoreError> {
        let select = format!("SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 AND id = $2");
        let after = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: Budget = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            let mut after = before.clone();
            apply(&mut after, change);
            validate(&mut after)?;
            if let Some(sub) = after.subscription_id.as_ref().filter(|s| before.subscription_id.as_ref() != Some(*s)) {
                require_registered!(&mut *tx, scope, sub);
            }
            if after == before {
                tx.commit().await?;
                return Ok(before);
            }
            after.updated_at = now();
            sqlx::query(
                "UPDATE budgets SET name = $3, subscription_id = $4, amount = $5, currency = $6, metric = $7, \
                 alert_thresholds = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(&after.name)
            .bind(&after.subscription_id)
            .bind(after.amount)
            .bind(&after.currency)
            .bind(&after.metric)
            .bind(&after.alert_thresholds)
            .bind(after.updated_at)
            .execute(&mut *tx)
            .await
            .map_err(super::error::conflict_as("budget name"))?;
            let entry = by.entry("budget.updated", "budget", id, audit_view(&before), audit_view(&after));
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
            after
        });
        Ok(after)
    }

    /// Deletes a budget, audited (`budget.deleted`, with what was removed) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_budget(&self, scope: &TenantScope, id: &str, by: &Actor) -> Result<(), StoreError> {
        let select = format!("SELECT {COLUMNS} FROM budgets WHERE tenant_id = $1 AND id = $2");
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: Budget = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            sqlx::query("DELETE FROM budgets WHERE tenant_id = $1 AND id = $2")
                .bind(scope.tenant_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let entry = by.entry("budget.deleted", "budget", id, audit_view(&before), serde_json::Value::Null);
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Cost per subscription and currency from `from` to `to` (inclusive), actual and amortized:
    /// what budgets' month-to-date spend is read from, in one query for all of a tenant's budgets.
    ///
    /// # Errors
    /// Database errors.
    pub async fn spend_by_subscription(
        &self,
        scope: &TenantScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SubscriptionSpend>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT subscription_id, currency, SUM(cost) AS cost, SUM(amortized_cost) AS amortized_cost \
                 FROM costs_daily WHERE tenant_id = $1 AND date >= $2 AND date <= $3 \
                 GROUP BY subscription_id, currency ORDER BY subscription_id, currency",
            )
            .bind(scope.tenant_id())
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }))
    }
}

/// Spend of one subscription in one currency over a window.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SubscriptionSpend {
    /// Subscription GUID.
    pub subscription_id: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

/// The spend per currency of one subscription, or of every subscription (`None`).
pub fn spend_of(rows: &[SubscriptionSpend], subscription_id: Option<&str>) -> Vec<CurrencySpend> {
    let mut by_currency: std::collections::BTreeMap<&str, (f64, f64)> = std::collections::BTreeMap::new();
    for row in rows.iter().filter(|r| subscription_id.is_none_or(|s| r.subscription_id == s)) {
        let entry = by_currency.entry(row.currency.as_str()).or_default();
        entry.0 += row.cost;
        entry.1 += row.amortized_cost;
    }
    by_currency
        .into_iter()
        .map(|(currency, (cost, amortized_cost))| CurrencySpend {
            currency: currency.to_owned(),
            cost,
            amortized_cost,
        })
        .collect()
}

/// Spend in one currency over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencySpend {
    /// ISO 4217 code.
    pub currency: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

fn apply(budget: &mut Budget, change: &BudgetInput) {
    if let Some(name) = &change.name {
        budget.name.clone_from(name);
    }
    if let Some(sub) = &change.subscription_id {
        budget.subscription_id.clone_from(sub);
    }
    if let Some(amount) = change.amount {
        budget.amount = amount;
    }
    if let Some(currency) = &change.currency {
        budget.currency.clone_from(currency);
    }
    if let Some(metric) = &change.metric {
        budget.metric.clone_from(metric);
    }
    if let Some(thresholds) = &change.alert_thresholds {
        budget.alert_thresholds = Json(thresholds.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            id: "b".into(),
            tenant_id: "t".into(),
            name: " Team A ".into(),
            subscription_id: Some(" ABC ".into()),
            amount: 100.0,
            currency: "eur".into(),
            metric: "actual".into(),
            alert_thresholds: Json(vec![100, 50, 50]),
            created_by: "x".into(),
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn validation_normalises_and_refuses_bad_fields() {
        let mut b = budget();
        validate(&mut b).unwrap();
        assert_eq!((b.name.as_str(), b.currency.as_str()), ("Team A", "EUR"));
        assert_eq!(b.subscription_id.as_deref(), Some("abc"));
        assert_eq!(b.alert_thresholds.0, vec![50, 100]);
        let refused = |f: fn(&mut Budget)| {
            let mut b = budget();
            f(&mut b);
            validate(&mut b).is_err()
        };
        assert!(refused(|b| b.amount = 0.0));
        assert!(refused(|b| b.amount = 0.004), "rounds to 0.00 EUR");
        assert!(refused(|b| b.amount = 1e-210));
        assert!(refused(|b| b.amount = f64::NAN));
        assert!(refused(|b| b.currency = "EURO".into()));
        assert!(refused(|b| b.metric = "blended".into()));
        assert!(refused(|b| b.name = "  ".into()));
        assert!(refused(|b| b.alert_thresholds = Json((1..=11).collect())));
        assert!(refused(|b| b.alert_thresholds = Json(vec![0])));
    }

    #[test]
    fn spend_is_summed_per_currency_for_the_tenant_or_one_subscription() {
        let row = |sub: &str, currency: &str, cost: f64| SubscriptionSpend {
            subscription_id: sub.into(),
            currency: currency.into(),
            cost,
            amortized_cost: cost / 2.0,
        };
        let rows = [row("a", "EUR", 10.0), row("b", "EUR", 5.0), row("b", "USD", 7.0)];
        let tenant = spend_of(&rows, None);
        assert_eq!(tenant.len(), 2, "currencies kept apart");
        assert_eq!(
            (tenant[0].currency.as_str(), tenant[0].cost, tenant[0].amortized_cost),
            ("EUR", 15.0, 7.5)
        );
        assert_eq!((tenant[1].currency.as_str(), tenant[1].cost), ("USD", 7.0));
        let one = spend_of(&rows, Some("a"));
        assert_eq!(one, vec![CurrencySpend { currency: "EUR".into(), cost: 10.0, amortized_cost: 5.0 }]);
        assert!(spend_of(&rows, Some("zzz")).is_empty());
    }
}
