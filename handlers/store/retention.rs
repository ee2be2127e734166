//! Curated retention: costs, their rollups and the tag-coverage history 13 months, resource history 30 days, audit 7 years.
//!
//! This is the one cross-tenant data job (the `retention` timer), and the only path that may
//! delete audit rows: it opens the database's audit gate inside its own transaction.

use chrono::{DateTime, Datelike as _, Days, Months, Utc};
use serde::Serialize;

use super::{Backend, Store, StoreError, on_pool};

/// Rows deleted per table by one retention pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// `costs_daily` rows older than 13 months.
    pub costs_daily: u64,
    /// Cost rollup rows older than 13 months (the daily rollup tables, and the month-level
    /// table's months before the cutoff's).
    pub cost_rollups: u64,
    /// `tag_coverage_daily` rows older than 13 months (the governance trend, kept as long as the
    /// costs it is shown beside).
    pub tag_coverage: u64,
    /// `resource_history` snapshots older than 30 days.
    pub resource_history: u64,
    /// `audit_logs` rows older than 7 years.
    pub audit_logs: u64,
}

const COST_MONTHS: u32 = 13;
/// The rollups of `costs_daily`, kept as long as the rows they sum (same transaction).
const ROLLUP_TABLES: [&str; 4] = [
    "cost_rollup_daily",
    "cost_rollup_tag_daily",
    "cost_rollup_tenant_daily",
    "cost_rollup_tag_tenant_daily",
];
const HISTORY_DAYS: u64 = 30;
const AUDIT_MONTHS: u32 = 7 * 12;

impl Store {
    /// Deletes what has aged out as of `now`. Each table is handled in its own transaction so a
    /// failure leaves the others done; running it again is harmless.
    ///
    /// The database refuses to delete audit rows younger than seven years by its own clock, so
    /// `now` must not be ahead of the database's time.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when the cutoffs are out of range; database errors.
    pub async fn apply_retention(&self, now: DateTime<Utc>) -> Result<RetentionReport, StoreError> {
        let today = now.date_naive();
        let out_of_range = || StoreError::validation("now", "out of range");
        let cost_cutoff = today.checked_sub_months(Months::new(COST_MONTHS)).ok_or_else(out_of_range)?;
        // The month the cutoff falls in keeps its month-level row, summed again from the days
        // that remain, so it still equals the daily rows.
        let cutoff_month = cost_cutoff.with_day(1).ok_or_else(out_of_range)?;
        let after_cutoff_month = cutoff_month.checked_add_months(Months::new(1)).ok_or_else(out_of_range)?;
        let history_cutoff = today.checked_sub_days(Days::new(HISTORY_DAYS)).ok_or_else(out_of_range)?;
        let audit_cutoff = now.checked_sub_months(Months::new(AUDIT_MONTHS)).ok_or_else(out_of_range)?;
        let backend = self.backend();
        let mut report = RetentionReport::default();
        on_pool!(self, pool => {
            // Per tenant, so each delete walks the (tenant_id, date) indexes instead of the table.
            let tenants: Vec<String> = sqlx::query_scalar("SELECT id FROM tenants").fetch_all(pool).await?;
            let mut tx = pool.begin().await?;
            for tenant in &tenants {
                report.costs_daily += sqlx::query("DELETE FROM costs_daily WHERE tenant_id = $1 AND date < $2")
                    .bind(tenant)
                    .bind(cost_cutoff)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                for table in ROLLUP_TABLES {
                    let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND date < $2");
                    report.cost_rollups += sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(tenant)
                        .bind(cost_cutoff)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                report.tag_coverage +=
                    sqlx::query("DELETE FROM tag_coverage_daily WHERE tenant_id = $1 AND date < $2")
                        .bind(tenant)
                        .bind(cost_cutoff)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                report.cost_rollups +=
                    sqlx::query("DELETE FROM cost_rollup_monthly WHERE tenant_id = $1 AND month < $2")
                        .bind(tenant)
                        .bind(cutoff_month)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                for sql in super::rollups::monthly_statements(backend, false) {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(tenant)
                        .bind(cutoff_month)
                        .bind(after_cutoff_month)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            let mut tx = pool.begin().await?;
            for tenant in &tenants {
                report.resource_history +=
                    sqlx::query("DELETE FROM resource_history WHERE tenant_id = $1 AND snapshot_date < $2")
                        .bind(tenant)
                        .bind(history_cutoff)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
            }
            tx.commit().await?;
            let mut tx = pool.begin().await?;
            match backend {
                Backend::Sqlite => {
                    sqlx::query("UPDATE audit_retention_gate SET cutoff = $1 WHERE id = 1")
                        .bind(audit_cutoff)
                        .execute(&mut *tx)
                        .await?;
                }
                Backend::Postgres => {
                    sqlx::query("SET LOCAL azcops.audit_retention = 'on'").execute(&mut *tx).await?;
                }
            }
            report.audit_logs = sqlx::query("DELETE FROM audit_logs WHERE occurred_at < $1")
                .bind(audit_cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if backend == Backend::Sqlite {
                sqlx::query("UPDATE audit_retention_gate SET cutoff = NULL WHERE id = 1").execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(report)
    }
}
