//! `cost_anomalies`: idempotent upserts from detection, filtered listing, and acknowledgement
//! (audited in the same transaction). Detection itself is in [`super::cost_series`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::audit::insert_audit;
use super::{
    Backend, NewAuditEntry, Page, PageRequest, Store, StoreError, TenantScope, new_id, now, on_pool,
};

const SELECT: &str = "SELECT id, scope, dimension, dimension_value, day, currency, expected, actual, deviation, \
     severity, kind, status, detected_at, acknowledged_by, acknowledged_at, updated_at FROM cost_anomalies WHERE ";

/// A stored cost anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CostAnomaly {
    /// Id (UUID v7).
    pub id: String,
    /// The subscription id, or `tenant` for the tenant total.
    pub scope: String,
    /// `service`, or `total` for the tenant total.
    pub dimension: String,
    /// The service name, or `total`.
    pub dimension_value: String,
    /// The anomalous day.
    pub day: NaiveDate,
    /// Currency of the amounts.
    pub currency: String,
    /// The baseline amount (amortized cost).
    pub expected: f64,
    /// The amount billed (amortized cost).
    pub actual: f64,
    /// `actual - expected`.
    pub deviation: f64,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// `spike`, `level_shift` or `new_service`.
    pub kind: String,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    /// When detection first reported it.
    pub detected_at: DateTime<Utc>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When a value last changed.
    pub updated_at: DateTime<Utc>,
}

/// One anomaly as detection reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyUpsert {
    /// The subscription id, or `tenant`.
    pub scope: String,
    /// `service` or `total`.
    pub dimension: String,
    /// The service name, or `total`.
    pub dimension_value: String,
    /// The day.
    pub day: NaiveDate,
    /// Currency.
    pub currency: String,
    /// Baseline amount.
    pub expected: f64,
    /// Amount billed.
    pub actual: f64,
    /// `actual - expected`.
    pub deviation: f64,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// `spike`, `level_shift` or `new_service`.
    pub kind: String,
}

/// Filters for [`Store::list_anomalies`]; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AnomalyFilter {
    /// `open`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// One subscription (its anomalies only, not the tenant total's).
    pub subscription_id: Option<String>,
    /// First day included.
    pub from: Option<NaiveDate>,
    /// Last day included.
    pub to: Option<NaiveDate>,
    /// `low`, `medium` or `high`.
    pub severity: Option<String>,
}

fn push_filters<DB>(qb: &mut QueryBuilder<DB>, scope: &TenantScope, filter: &AnomalyFilter)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    NaiveDate: for<'q> Encode<'q, DB> + Type<DB>,
{
    qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
    if let Some(status) = &filter.status {
        qb.push(" AND status = ").push_bind(status.clone());
    }
    if let Some(sub) = &filter.subscription_id {
        qb.push(" AND scope = ").push_bind(sub.trim().to_ascii_lowercase());
    }
    if let Some(severity) = &filter.severity {
        qb.push(" AND severity = ").push_bind(severity.clone());
    }
    if let Some(from) = filter.from {
        qb.push(" AND day >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" AND day <= ").push_bind(to);
    }
}

impl Store {
    /// Inserts new anomalies and updates the figures of known ones (same tenant, scope,
    /// dimension value, day and currency), leaving their status and acknowledgement alone.
    /// A row whose figures did not change is not touched. Returns the rows inserted or changed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn upsert_anomalies(
        &self,
        scope: &TenantScope,
        rows: &[AnomalyUpsert],
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let at = now();
        let mut changed = 0;
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for row in rows {
                let done = sqlx::query(
                    "INSERT INTO cost_anomalies (id, tenant_id, scope, dimension, dimension_value, day, currency, \
                     expected, actual, deviation, severity, kind, status, detected_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $13, $13) \
                     ON CONFLICT (tenant_id, scope, dimension, dimension_value, day, currency) DO UPDATE SET \
                     expected = excluded.expected, actual = excluded.actual, deviation = excluded.deviation, \
                     severity = excluded.severity, kind = excluded.kind, updated_at = excluded.updated_at \
                     WHERE cost_anomalies.expected <> excluded.expected OR cost_anomalies.actual <> excluded.actual \
                     OR cost_anomalies.severity <> excluded.severity OR cost_anomalies.kind <> excluded.kind",
                )
                .bind(new_id())
                .bind(scope.tenant_id())
                .bind(&row.scope)
                .bind(&row.dimension)
                .bind(&row.dimension_value)
                .bind(row.day)
                .bind(&row.currency)
                .bind(row.expected)
                .bind(row.actual)
                .bind(row.deviation)
                .bind(&row.severity)
                .bind(&row.kind)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                changed += done.rows_affected();
            }
            crate::store::notify::outbox::record_new_anomalies!(tx, scope, at);
            tx.commit().await?;
        });
        Ok(changed)
    }

    /// Resolves the open anomalies of one series (`key`: scope, dimension, dimension value,
    /// currency) dated within `[from, to]` except on `still_found` days: detection over settled
    /// days no longer finds them (the costs were restated). Returns how many were resolved.
    ///
    /// # Errors
    /// Database errors.
    pub async fn resolve_anomalies(
        &self,
        scope: &TenantScope,
        key: [&str; 4],
        (from, to): (NaiveDate, NaiveDate),
        still_found: &[NaiveDate],
    ) -> Result<u64, StoreError> {
        let at = now();
        let done = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new("UPDATE cost_anomalies SET status = 'resolved', updated_at = ");
            qb.push_bind(at);
            qb.push(" WHERE tenant_id = ").push_bind(scope.tenant_id().to_owned());
            for (column, value) in ["scope", "dimension", "dimension_value", "currency"].iter().zip(key) {
                qb.push(format_args!(" AND {column} = ")).push_bind(value.to_owned());
            }
            qb.push(" AND status = 'open' AND day >= ").push_bind(from);
            qb.push(" AND day <= ").push_bind(to);
            if !still_found.is_empty() {
                qb.push(" AND day NOT IN (");
                let mut list = qb.separated(", ");
                for day in still_found {
                    list.push_bind(*day);
                }
                qb.push(")");
            }
            qb.build().execute(pool).await?.rows_affected()
        });
        Ok(done)
    }

    /// Lists anomalies, newest day first (largest deviation first within a day).
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_anomalies(
        &self,
        scope: &TenantScope,
        filter: &AnomalyFilter,
        page: PageRequest,
    ) -> Result<Page<CostAnomaly>, StoreError> {
        let (items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            push_filters(&mut qb, scope, filter);
            qb.push(" ORDER BY day DESC, ABS(deviation) DESC, id LIMIT ").push_bind(page.limit());
            qb.push(" OFFSET ").push_bind(page.offset());
            let items: Vec<CostAnomaly> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM cost_anomalies WHERE ");
            push_filters(&mut count, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// One anomaly of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for another tenant's id); database errors.
    pub async fn get_anomaly(&self, scope: &TenantScope, id: &str) -> Result<CostAnomaly, StoreError> {
        on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
            qb.push(" AND id = ").push_bind(id.to_owned());
            qb.build_query_as().fetch_optional(pool).await?.ok_or(StoreError::NotFound)
        })
    }

    /// Acknowledges an open anomaly on behalf of `actor`, writing the audit row in the same
    /// transaction; the row is locked while its status is checked.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] when it is not open; database errors.
    pub async fn acknowledge_anomaly(
        &self,
        scope: &TenantScope,
        id: &str,
        actor: &str,
        correlation_id: Option<&str>,
    ) -> Result<CostAnomaly, StoreError> {
        let at = now();
        let read = match self.backend() {
            Backend::Sqlite => "SELECT status FROM cost_anomalies WHERE tenant_id = $1 AND id = $2",
            Backend::Postgres => {
                "SELECT status FROM cost_anomalies WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
            }
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let status: Option<String> =
                sqlx::query_scalar(read).bind(scope.tenant_id()).bind(id).fetch_optional(&mut *tx).await?;
            if status.ok_or(StoreError::NotFound)? != "open" {
                return Err(StoreError::Conflict { what: "an acknowledgement" });
            }
            sqlx::query(
                "UPDATE cost_anomalies SET status = 'acknowledged', acknowledged_by = $3, acknowledged_at = $4, \
                 updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'open'",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(actor)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let entry = NewAuditEntry {
                actor: actor.to_owned(),
                action: "cost_anomaly.acknowledged".into(),
                target_type: "cost_anomaly".into(),
                target_id: id.to_owned(),
                metadata: serde_json::json!({ "from": "open", "to": "acknowledged", "correlation_id": correlation_id }),
                occurred_at: at,
            };
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        self.get_anomaly(scope, id).await
    }
}
