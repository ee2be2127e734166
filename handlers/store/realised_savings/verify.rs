//! One verification run: the executed recommendations of the last `window + min_days_after`
//! days, least recently verified first, each compared and upserted; bounded in
//! recommendations and cost rows so a run's work does not grow with the tenant's history.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::RealisedSavings;
use crate::analytics::realised::{self, DataSpan, DayCost, Params, Subject, WINDOW_DAYS};
use crate::store::{Store, StoreError, TenantScope, now, on_pool};

/// Recommendations one run verifies at most (the rest wait for the next run).
pub const MAX_RECOMMENDATIONS_PER_RUN: usize = 200;

/// Daily cost rows one run reads at most.
pub const MAX_COST_ROWS_PER_RUN: usize = 20_000;

/// Currencies one resource's day may be billed in that are read (one in practice).
const CURRENCIES_PER_DAY: usize = 4;

/// Bounds and tuning of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealisedLimits {
    /// Days after execution with cost data before a verdict is given (1..=30).
    pub min_days_after: u32,
    /// Recommendations verified at most.
    pub max_recommendations: usize,
    /// Daily cost rows read at most.
    pub max_cost_rows: usize,
}

impl Default for RealisedLimits {
    fn default() -> Self {
        Self {
            min_days_after: realised::DEFAULT_MIN_DAYS_AFTER,
            max_recommendations: MAX_RECOMMENDATIONS_PER_RUN,
            max_cost_rows: MAX_COST_ROWS_PER_RUN,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationReport {
    /// The day the run was as of.
    pub as_of: NaiveDate,
    /// Executed recommendations due for verification.
    pub due: usize,
    /// Those verified by this run, with their figures.
    pub verified: Vec<RealisedSavings>,
    /// Those left for a later run by the bounds.
    pub deferred: usize,
    /// Daily cost rows read.
    pub cost_rows: usize,
}

/// An executed recommendation due for verification.
#[derive(sqlx::FromRow)]
struct Due {
    id: String,
    subscription_id: String,
    resource_id: String,
    category: String,
    estimated_monthly_savings: f64,
    currency: String,
    status_changed_at: DateTime<Utc>,
}

/// The cost rows one recommendation may need: both windows and the execution day, per currency.
fn rows_per_recommendation() -> usize {
    (2 * WINDOW_DAYS as usize + 1) * CURRENCIES_PER_DAY
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

impl Store {
    /// Verifies the realised savings of the tenant's executed recommendations (optionally one
    /// subscription's) executed in the `WINDOW_DAYS + min_days_after` days up to `as_of`,
    /// least recently verified first, and upserts one row each.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for limits out of range; database errors (rows already
    /// upserted stay).
    pub async fn verify_realised_savings(
        &self,
        scope: &TenantScope,
        as_of: NaiveDate,
        subscription: Option<&str>,
        limits: RealisedLimits,
    ) -> Result<VerificationReport, StoreError> {
        if !(1..=WINDOW_DAYS).contains(&limits.min_days_after) {
            return Err(StoreError::validation("min_days_after", format!("must be 1..={WINDOW_DAYS}")));
        }
        if limits.max_recommendations == 0 {
            return Err(StoreError::validation("max_recommendations", "must be at least 1"));
        }
        if limits.max_cost_rows < rows_per_recommendation() {
            return Err(StoreError::validation(
                "max_cost_rows",
                format!("must be at least {} (one recommendation's windows)", rows_per_recommendation()),
            ));
        }
        let lookback = Days::new(u64::from(WINDOW_DAYS + limits.min_days_after));
        let from = midnight(
            as_of
                .checked_sub_days(lookback)
                .ok_or_else(|| StoreError::validation("as_of", "out of range"))?,
        );
        let until =
            midnight(as_of.succ_opt().ok_or_else(|| StoreError::validation("as_of", "out of range"))?);
        let subscription = subscription.map(|s| s.trim().to_ascii_lowercase());
        let (due_count, due) =
            self.due(scope, from, until, subscription.as_deref(), limits.max_recommendations).await?;
        let params = Params { min_days_after: limits.min_days_after, ..Params::default() };
        let mut report =
            VerificationReport { as_of, due: due_count, verified: Vec::new(), deferred: 0, cost_rows: 0 };
        let mut spans: HashMap<String, Option<DataSpan>> = HashMap::new();
        for rec in &due {
            // Stop before a recommendation whose windows might not fit in the row budget.
            if limits.max_cost_rows - report.cost_rows < rows_per_recommendation() {
                break;
            }
            let span = match spans.get(&rec.subscription_id) {
                Some(span) => *span,
                None => {
                    let span = self.cost_span(scope, &rec.subscription_id).await?;
                    spans.insert(rec.subscription_id.clone(), span);
                    span
                }
            };
            let executed_on = rec.status_changed_at.date_naive();
            let (read_from, read_to) = realised::read_window(executed_on, &params);
            let days = self
                .resource_days(scope, &rec.resource_id, read_from, read_to, rows_per_recommendation())
                .await?;
            report.cost_rows += days.len();
            let subject = Subject {
                executed_on,
                identified_monthly: rec.estimated_monthly_savings,
                currency: rec.currency.clone(),
                covered_usage: rec.category == "rate",
            };
            let a = realised::assess(&subject, &days, span, as_of, &params);
            let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
            let row = RealisedSavings {
                recommendation_id: rec.id.clone(),
                subscription_id: rec.subscription_id.clone(),
                executed_at: rec.status_changed_at,
                currency: rec.currency.clone(),
                identified_monthly_savings: rec.estimated_monthly_savings,
                realised_monthly_savings: a.realised_monthly,
                basis: a.basis,
                confidence: a.confidence,
                confidence_score: a.confidence_score,
                verdict: a.verdict,
                before_amount: a.before_amount,
                before_days: count(a.before_days),
                before_cost_days: count(a.before_cost_days),
                after_amount: a.after_amount,
                after_days: count(a.after_days),
                after_cost_days: count(a.after_cost_days),
                as_of,
                computed_at: now(),
            };
            self.upsert_realised(scope, &row).await?;
            report.verified.push(row);
        }
        report.deferred = due_count.saturating_sub(report.verified.len());
        Ok(report)
    }

    /// How many executed recommendations are due in `[from, until)`, and the first `limit` of
    /// them: never verified first, then least recently verified, then oldest execution.
    async fn due(
        &self,
        scope: &TenantScope,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        subscription: Option<&str>,
        limit: usize,
    ) -> Result<(usize, Vec<Due>), StoreError> {
        let sub = if subscription.is_some() { " AND r.subscription_id = $4" } else { "" };
        let filter = format!(
            "FROM recommendations r LEFT JOIN realised_savings s \
             ON s.tenant_id = r.tenant_id AND s.recommendation_id = r.id \
             WHERE r.tenant_id = $1 AND r.status = 'executed' AND r.status_changed_at >= $2 \
             AND r.status_changed_at < $3{sub}"
        );
        let count_sql = format!("SELECT COUNT(*) {filter}");
        let list_sql = format!(
            "SELECT r.id, r.subscription_id, r.resource_id, r.category, r.estimated_monthly_savings, r.currency, \
             r.status_changed_at {filter} \
             ORDER BY CASE WHEN s.computed_at IS NULL THEN 0 ELSE 1 END, s.computed_at, r.status_changed_at, r.id \
             LIMIT {limit}"
        );
        let (count, rows) = on_pool!(self, pool => {
            let mut count = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
                .bind(scope.tenant_id())
                .bind(from)
                .bind(until);
            let mut list = sqlx::query_as(sqlx::AssertSqlSafe(list_sql.clone()))
                .bind(scope.tenant_id())
                .bind(from)
                .bind(until);
            if let Some(sub) = subscription {
                count = count.bind(sub.to_owned());
                list = list.bind(sub.to_owned());
            }
            let count: i64 = count.fetch_one(pool).await?;
            let rows: Vec<Due> = list.fetch_all(pool).await?;
            (count, rows)
        });
        Ok((usize::try_from(count).unwrap_or(0), rows))
    }

    /// The first and last day the subscription has cost rows for.
    async fn cost_span(
        &self,
        scope: &TenantScope,
        subscription: &str,
    ) -> Result<Option<DataSpan>, StoreError> {
        let (from, through): (Option<NaiveDate>, Option<NaiveDate>) = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT MIN(date), MAX(date) FROM costs_daily WHERE tenant_id = $1 AND subscription_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(subscription)
            .fetch_one(pool)
            .await?
        });
        Ok(from.zip(through).map(|(from, through)| DataSpan { from, through }))
    }

    /// One resource's cost per day and currency over `[from, to]`, at most `limit` rows.
    async fn resource_days(
        &self,
        scope: &TenantScope,
        resource_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> Result<Vec<DayCost>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(NaiveDate, String, f64, f64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT date, currency, SUM(cost), SUM(amortized_cost) FROM costs_daily \
                 WHERE tenant_id = $1 AND resource_id = $2 AND resource_id <> '' AND date >= $3 AND date <= $4 \
                 GROUP BY date, currency ORDER BY date, currency LIMIT $5",
            )
            .bind(scope.tenant_id())
            .bind(resource_id)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(date, currency, cost, amortized_cost)| DayCost { date, currency, cost, amortized_cost })
            .collect())
    }

    /// Inserts or replaces one recommendation's realised savings.
    async fn upsert_realised(&self, scope: &TenantScope, r: &RealisedSavings) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO realised_savings (tenant_id, recommendation_id, subscription_id, executed_at, currency, \
                 identified_monthly_savings, realised_monthly_savings, basis, confidence, confidence_score, verdict, \
                 before_amount, before_days, before_cost_days, after_amount, after_days, after_cost_days, as_of, \
                 computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19) ON CONFLICT (tenant_id, recommendation_id) DO UPDATE SET \
                 subscription_id = excluded.subscription_id, executed_at = excluded.executed_at, \
                 currency = excluded.currency, identified_monthly_savings = excluded.identified_monthly_savings, \
                 realised_monthly_savings = excluded.realised_monthly_savings, basis = excluded.basis, \
                 confidence = excluded.confidence, confidence_score = excluded.confidence_score, \
                 verdict = excluded.verdict, before_amount = excluded.before_amount, \
                 before_days = excluded.before_days, before_cost_days = excluded.before_cost_days, \
                 after_amount = excluded.after_amount, after_days = excluded.after_days, \
                 after_cost_days = excluded.after_cost_days, as_of = excluded.as_of, \
                 computed_at = excluded.computed_at",
            )
            .bind(scope.tenant_id())
            .bind(&r.recommendation_id)
            .bind(&r.subscription_id)
            .bind(r.executed_at)
            .bind(&r.currency)
            .bind(r.identified_monthly_savings)
            .bind(r.realised_monthly_savings)
            .bind(r.basis.as_str())
            .bind(r.confidence.as_str())
            .bind(r.confidence_score)
            .bind(r.verdict.as_str())
            .bind(r.before_amount)
            .bind(r.before_days)
            .bind(r.before_cost_days)
            .bind(r.after_amount)
            .bind(r.after_days)
            .bind(r.after_cost_days)
            .bind(r.as_of)
            .bind(r.computed_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
