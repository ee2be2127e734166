//! `vm_metrics`: utilisation windows per VM, bulk upserted idempotently.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, StoreError, TenantScope, now, on_pool, sqlite_values};
use crate::model::VmMetricsRow;

const SQLITE_CHUNK: usize = 1_000;
const POSTGRES_CHUNK: usize = 10_000;

const VALUES_COLUMNS: &str = "cpu_avg, cpu_max, cpu_min, cpu_p95, memory_available_avg_bytes, \
     memory_available_min_bytes, memory_available_p95_bytes, datapoints, expected_datapoints";

const ON_CONFLICT: &str = "ON CONFLICT (tenant_id, resource_id, window_start, window_end) DO UPDATE SET \
     subscription_id = excluded.subscription_id, cpu_avg = excluded.cpu_avg, cpu_max = excluded.cpu_max, \
     cpu_min = excluded.cpu_min, cpu_p95 = excluded.cpu_p95, \
     memory_available_avg_bytes = excluded.memory_available_avg_bytes, \
     memory_available_min_bytes = excluded.memory_available_min_bytes, \
     memory_available_p95_bytes = excluded.memory_available_p95_bytes, datapoints = excluded.datapoints, \
     expected_datapoints = excluded.expected_datapoints, updated_at = excluded.updated_at \
     WHERE vm_metrics.subscription_id IS DISTINCT FROM excluded.subscription_id \
     OR vm_metrics.cpu_avg IS DISTINCT FROM excluded.cpu_avg \
     OR vm_metrics.cpu_max IS DISTINCT FROM excluded.cpu_max \
     OR vm_metrics.cpu_min IS DISTINCT FROM excluded.cpu_min \
     OR vm_metrics.cpu_p95 IS DISTINCT FROM excluded.cpu_p95 \
     OR vm_metrics.memory_available_avg_bytes IS DISTINCT FROM excluded.memory_available_avg_bytes \
     OR vm_metrics.memory_available_min_bytes IS DISTINCT FROM excluded.memory_available_min_bytes \
     OR vm_metrics.memory_available_p95_bytes IS DISTINCT FROM excluded.memory_available_p95_bytes \
     OR vm_metrics.datapoints IS DISTINCT FROM excluded.datapoints \
     OR vm_metrics.expected_datapoints IS DISTINCT FROM excluded.expected_datapoints";

/// A stored utilisation window.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct VmMetricsRecord {
    /// Subscription GUID.
    pub subscription_id: String,
    /// VM resource id.
    pub resource_id: String,
    /// Window start (inclusive).
    pub window_start: DateTime<Utc>,
    /// Window end (exclusive).
    pub window_end: DateTime<Utc>,
    /// Mean CPU %.
    pub cpu_avg: Option<f64>,
    /// Max CPU %.
    pub cpu_max: Option<f64>,
    /// Min CPU %.
    pub cpu_min: Option<f64>,
    /// p95 CPU %.
    pub cpu_p95: Option<f64>,
    /// Mean available memory.
    pub memory_available_avg_bytes: Option<f64>,
    /// Min available memory.
    pub memory_available_min_bytes: Option<f64>,
    /// p5 available memory.
    pub memory_available_p95_bytes: Option<f64>,
    /// Datapoints present.
    pub datapoints: i64,
    /// Datapoints expected.
    pub expected_datapoints: i64,
    /// Row creation.
    pub created_at: DateTime<Utc>,
    /// Last real change.
    pub updated_at: DateTime<Utc>,
}

fn sqlite_sql(rows: usize) -> String {
    let mut sql = format!(
        "INSERT INTO vm_metrics (tenant_id, subscription_id, resource_id, window_start, window_end, \
         {VALUES_COLUMNS}, created_at, updated_at) VALUES "
    );
    sql.push_str(&sqlite_values(rows, 16));
    sql.push(' ');
    sql.push_str(ON_CONFLICT);
    sql
}

const POSTGRES_UPSERT: &str = "INSERT INTO vm_metrics (tenant_id, subscription_id, resource_id, window_start, \
     window_end, cpu_avg, cpu_max, cpu_min, cpu_p95, memory_available_avg_bytes, memory_available_min_bytes, \
     memory_available_p95_bytes, datapoints, expected_datapoints, created_at, updated_at) \
     SELECT $1, u.*, $2, $2 FROM UNNEST($3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], \
     $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[], \
     $14::int8[], $15::int8[]) AS u ";

fn dedup(rows: &[VmMetricsRow]) -> Vec<&VmMetricsRow> {
    let mut index: HashMap<(&str, DateTime<Utc>, DateTime<Utc>), usize> = HashMap::new();
    let mut kept: Vec<&VmMetricsRow> = Vec::with_capacity(rows.len());
    for row in rows {
        let key = (row.resource_id.as_str(), row.window_start, row.window_end);
        match index.get(&key) {
            Some(&at) => kept[at] = row,
            None => {
                index.insert(key, kept.len());
                kept.push(row);
            }
        }
    }
    kept
}

impl Store {
    /// Upserts VM utilisation windows in one transaction; re-applying changes nothing.
    ///
    /// # Errors
    /// Database errors; nothing is written when one occurs.
    pub async fn upsert_vm_metrics(
        &self,
        scope: &TenantScope,
        rows: &[VmMetricsRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let at = now();
        let rows = dedup(rows);
        match self.db() {
            super::connect::Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in rows.chunks(SQLITE_CHUNK) {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sqlite_sql(chunk.len())));
                    for r in chunk {
                        query = query
                            .bind(scope.tenant_id())
                            .bind(&r.subscription_id)
                            .bind(&r.resource_id)
                            .bind(r.window_start)
                            .bind(r.window_end)
                            .bind(r.cpu_avg)
                            .bind(r.cpu_max)
                            .bind(r.cpu_min)
                            .bind(r.cpu_p95)
                            .bind(r.memory_available_avg_bytes)
                            .bind(r.memory_available_min_bytes)
                            .bind(r.memory_available_p95_bytes)
                            .bind(r.datapoints)
                            .bind(r.expected_datapoints)
                            .bind(at)
                            .bind(at);
                    }
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            super::connect::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let sql = sqlx::AssertSqlSafe(format!("{POSTGRES_UPSERT}{ON_CONFLICT}"));
                let sql = std::sync::Arc::new(sql.0);
                for chunk in rows.chunks(POSTGRES_CHUNK) {
                    let float =
                        |f: fn(&VmMetricsRow) -> Option<f64>| chunk.iter().map(|r| f(r)).collect::<Vec<_>>();
                    sqlx::query(sqlx::AssertSqlSafe(std::sync::Arc::clone(&sql)))
                        .bind(scope.tenant_id())
                        .bind(at)
                        .bind(chunk.iter().map(|r| r.subscription_id.as_str()).collect::<Vec<_>>())
                        .bind(chunk.iter().map(|r| r.resource_id.as_str()).collect::<Vec<_>>())
                        .bind(chunk.iter().map(|r| r.window_start).collect::<Vec<_>>())
                        .bind(chunk.iter().map(|r| r.window_end).collect::<Vec<_>>())
                        .bind(float(|r| r.cpu_avg))
                        .bind(float(|r| r.cpu_max))
                        .bind(float(|r| r.cpu_min))
                        .bind(float(|r| r.cpu_p95))
                        .bind(float(|r| r.memory_available_avg_bytes))
                        .bind(float(|r| r.memory_available_min_bytes))
                        .bind(float(|r| r.memory_available_p95_bytes))
                        .bind(chunk.iter().map(|r| r.datapoints).collect::<Vec<_>>())
                        .bind(chunk.iter().map(|r| r.expected_datapoints).collect::<Vec<_>>())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The utilisation windows of one subscription's VMs, newest window first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_vm_metrics(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
    ) -> Result<Vec<VmMetricsRecord>, StoreError> {
        let subscription = subscription_id.trim().to_ascii_lowercase();
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT subscription_id, resource_id, window_start, window_end, {VALUES_COLUMNS}, created_at, \
                 updated_at FROM vm_metrics WHERE tenant_id = $1 AND subscription_id = $2 \
                 ORDER BY window_start DESC, resource_id"
            )))
            .bind(scope.tenant_id())
            .bind(&subscription)
            .fetch_all(pool)
            .await?
        }))
    }
}
