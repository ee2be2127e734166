//! The monthly roll-up of realised savings: per month of execution and currency, what the
//! executed recommendations were expected to save and what they did.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde::Serialize;

use crate::store::{Backend, Store, StoreError, TenantScope, on_pool};

/// The most months one roll-up may span.
pub const MAX_ROLLUP_MONTHS: u32 = 36;

/// One month and currency of the roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RealisedMonth {
    /// Month of execution (`YYYY-MM`, UTC).
    pub month: String,
    /// Currency of every amount in the row (currencies are never added).
    pub currency: String,
    /// Recommendations executed in the month.
    pub executed: i64,
    /// Their estimated monthly savings.
    pub identified_monthly_savings: f64,
    /// Realised monthly savings of those with a final verdict (`realised` or `not_realised`;
    /// negative when costs rose).
    pub realised_monthly_savings: f64,
    /// Estimated monthly savings of those with a final verdict, to set `realised` against.
    pub verified_identified_monthly_savings: f64,
    /// Verdict `realised`.
    pub realised_count: i64,
    /// Verdict `not_realised`: savings that did not materialise.
    pub not_realised_count: i64,
    /// Verdict `pending` (too few days after execution yet).
    pub pending_count: i64,
    /// Verdict `no_data`.
    pub no_data_count: i64,
    /// Not verified yet.
    pub unverified_count: i64,
}

/// The first day of the month of `day`.
fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

impl Store {
    /// Per month of execution in `[from, to]` (months, inclusive) and currency: the tenant's
    /// executed recommendations and their realised savings. Advisor recommendations linked to
    /// one of AzCops's own findings are left out, as in the summary.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when `from` is after `to` or the span exceeds
    /// [`MAX_ROLLUP_MONTHS`]; database errors.
    pub async fn realised_rollup(
        &self,
        scope: &TenantScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RealisedMonth>, StoreError> {
        let (from, to) = (month_start(from), month_start(to));
        if from > to {
            return Err(StoreError::validation("from", "must not be after to"));
        }
        let months = (to.year() - from.year()) * 12 + to.month0() as i32 - from.month0() as i32 + 1;
        if months > MAX_ROLLUP_MONTHS as i32 {
            return Err(StoreError::validation(
                "to",
                format!("the span must be at most {MAX_ROLLUP_MONTHS} months"),
            ));
        }
        let until = to
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| StoreError::validation("to", "out of range"))?;
        let at = |day: NaiveDate| -> DateTime<Utc> { day.and_time(chrono::NaiveTime::MIN).and_utc() };
        let month = match self.backend() {
            Backend::Sqlite => "substr(r.status_changed_at, 1, 7)",
            Backend::Postgres => "to_char(r.status_changed_at AT TIME ZONE 'UTC', 'YYYY-MM')",
        };
        let sql = format!(
            "SELECT {month} AS month, r.currency AS currency, COUNT(*) AS executed, \
             COALESCE(SUM(r.estimated_monthly_savings), 0.0) AS identified_monthly_savings, \
             COALESCE(SUM(CASE WHEN s.verdict IN ('realised', 'not_realised') \
                 THEN s.realised_monthly_savings ELSE 0.0 END), 0.0) AS realised_monthly_savings, \
             COALESCE(SUM(CASE WHEN s.verdict IN ('realised', 'not_realised') \
                 THEN r.estimated_monthly_savings ELSE 0.0 END), 0.0) AS verified_identified_monthly_savings, \
             COUNT(CASE WHEN s.verdict = 'realised' THEN 1 END) AS realised_count, \
             COUNT(CASE WHEN s.verdict = 'not_realised' THEN 1 END) AS not_realised_count, \
             COUNT(CASE WHEN s.verdict = 'pending' THEN 1 END) AS pending_count, \
             COUNT(CASE WHEN s.verdict = 'no_data' THEN 1 END) AS no_data_count, \
             COUNT(CASE WHEN s.verdict IS NULL THEN 1 END) AS unverified_count \
             FROM recommendations r LEFT JOIN realised_savings s \
             ON s.tenant_id = r.tenant_id AND s.recommendation_id = r.id \
             WHERE r.tenant_id = $1 AND r.status = 'executed' AND r.duplicate_of IS NULL \
             AND r.status_changed_at >= $2 AND r.status_changed_at < $3 \
             GROUP BY {month}, r.currency ORDER BY 1, 2"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(scope.tenant_id())
                .bind(at(from))
                .bind(at(until))
                .fetch_all(pool)
                .await?
        }))
    }
}
