//! Bulk upserts of inventory into `resources` and the day's snapshot into `resource_history`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::ResourceRow;
use crate::store::tag_coverage::record_tag_coverage;
use crate::store::{Backend, Store, StoreError, TenantScope, sqlite_values};

const SQLITE_CHUNK: usize = 500;
const POSTGRES_CHUNK: usize = 5_000;

/// Descriptive columns compared to decide whether a re-applied row really changed.
const CHANGED: &str = "resources.subscription_id IS DISTINCT FROM excluded.subscription_id \
     OR resources.name IS DISTINCT FROM excluded.name \
     OR resources.resource_type IS DISTINCT FROM excluded.resource_type \
     OR resources.kind IS DISTINCT FROM excluded.kind \
     OR resources.location IS DISTINCT FROM excluded.location \
     OR resources.resource_group IS DISTINCT FROM excluded.resource_group \
     OR resources.sku IS DISTINCT FROM excluded.sku \
     OR resources.tags IS DISTINCT FROM excluded.tags \
     OR resources.properties IS DISTINCT FROM excluded.properties \
     OR resources.managed_by IS DISTINCT FROM excluded.managed_by";

const HISTORY_CHANGED: &str = "resource_history.subscription_id IS DISTINCT FROM excluded.subscription_id \
     OR resource_history.name IS DISTINCT FROM excluded.name \
     OR resource_history.resource_type IS DISTINCT FROM excluded.resource_type \
     OR resource_history.kind IS DISTINCT FROM excluded.kind \
     OR resource_history.location IS DISTINCT FROM excluded.location \
     OR resource_history.resource_group IS DISTINCT FROM excluded.resource_group \
     OR resource_history.sku IS DISTINCT FROM excluded.sku \
     OR resource_history.tags IS DISTINCT FROM excluded.tags \
     OR resource_history.properties IS DISTINCT FROM excluded.properties \
     OR resource_history.managed_by IS DISTINCT FROM excluded.managed_by";

const SET_DESCRIPTIVE: &str = "subscription_id = excluded.subscription_id, name = excluded.name, \
     resource_type = excluded.resource_type, kind = excluded.kind, location = excluded.location, \
     resource_group = excluded.resource_group, sku = excluded.sku, tags = excluded.tags, \
     properties = excluded.properties, managed_by = excluded.managed_by";

/// The JSON columns of a row, serialised once for both statements.
struct Encoded<'a> {
    row: &'a ResourceRow,
    sku: Option<String>,
    tags: String,
    properties: String,
}

fn encode(rows: &[ResourceRow]) -> Result<Vec<Encoded<'_>>, StoreError> {
    // Keep the last occurrence of each resource id: one statement cannot update a row twice.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Encoded<'_>> = Vec::with_capacity(rows.len());
    for row in rows {
        let json = |value: &dyn erased::Json| value.to_text();
        let encoded = Encoded {
            row,
            sku: row.sku.as_ref().map(|sku| json(sku)).transpose()?,
            tags: json(&row.tags)?,
            properties: json(&row.properties)?,
        };
        match index.get(row.resource_id.as_str()) {
            Some(&at) => out[at] = encoded,
            None => {
                index.insert(row.resource_id.as_str(), out.len());
                out.push(encoded);
            }
        }
    }
    Ok(out)
}

mod erased {
    use crate::store::StoreError;

    pub(super) trait Json {
        fn to_text(&self) -> Result<String, StoreError>;
    }

    impl<T: serde::Serialize> Json for T {
        fn to_text(&self) -> Result<String, StoreError> {
            serde_json::to_string(self).map_err(|e| StoreError::validation("json", e.to_string()))
        }
    }
}

fn sqlite_sql(table: &str, rows: usize) -> String {
    let history = table == "resource_history";
    let columns = if history {
        "tenant_id, resource_id, snapshot_date, subscription_id, name, resource_type, kind, location, \
         resource_group, sku, tags, properties, managed_by, created_at, updated_at"
    } else {
        "tenant_id, resource_id, subscription_id, name, resource_type, kind, location, resource_group, sku, \
         tags, properties, managed_by, first_seen, last_seen, created_at, updated_at"
    };
    let slots = if history { 15 } else { 16 };
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES {}", sqlite_values(rows, slots));
    if history {
        sql.push_str(&format!(
            " ON CONFLICT (tenant_id, resource_id, snapshot_date) DO UPDATE SET {SET_DESCRIPTIVE}, \
             updated_at = excluded.updated_at WHERE {HISTORY_CHANGED}"
        ));
    } else {
        sql.push_str(&format!(
            " ON CONFLICT (tenant_id, resource_id) DO UPDATE SET {SET_DESCRIPTIVE}, \
             last_seen = excluded.last_seen, \
             updated_at = CASE WHEN {CHANGED} THEN excluded.updated_at ELSE resources.updated_at END"
        ));
    }
    sql
}

const POSTGRES_UPSERT: &str = "INSERT INTO resources (tenant_id, resource_id, subscription_id, name, resource_type, \
     kind, location, resource_group, sku, tags, properties, managed_by, first_seen, last_seen, created_at, updated_at) \
     SELECT $1, u.r, u.s, u.n, u.t, u.k, u.l, u.g, u.sku::jsonb, u.tags::jsonb, u.props::jsonb, u.m, $2, $2, $2, $2 \
     FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
     $11::text[], $12::text[], $13::text[], $14::text[]) AS u(r, s, n, t, k, l, g, sku, tags, props, m) \
     ON CONFLICT (tenant_id, resource_id) DO UPDATE SET subscription_id = excluded.subscription_id, \
     name = excluded.name, resource_type = excluded.resource_type, kind = excluded.kind, \
     location = excluded.location, resource_group = excluded.resource_group, sku = excluded.sku, \
     tags = excluded.tags, properties = excluded.properties, managed_by = excluded.managed_by, \
     last_seen = excluded.last_seen, updated_at = CASE WHEN \
     resources.subscription_id IS DISTINCT FROM excluded.subscription_id \
     OR resources.name IS DISTINCT FROM excluded.name \
     OR resources.resource_type IS DISTINCT FROM excluded.resource_type \
     OR resources.kind IS DISTINCT FROM excluded.kind \
     OR resources.location IS DISTINCT FROM excluded.location \
     OR resources.resource_group IS DISTINCT FROM excluded.resource_group \
     OR resources.sku IS DISTINCT FROM excluded.sku \
     OR resources.tags IS DISTINCT FROM excluded.tags \
     OR resources.properties IS DISTINCT FROM excluded.properties \
     OR resources.managed_by IS DISTINCT FROM excluded.managed_by \
     THEN excluded.updated_at ELSE resources.updated_at END";

const POSTGRES_HISTORY_UPSERT: &str = "INSERT INTO resource_history (tenant_id, resource_id, snapshot_date, \
     subscription_id, name, resource_type, kind, location, resource_group, sku, tags, properties, managed_by, \
     created_at, updated_at) \
     SELECT $1, u.r, $3, u.s, u.n, u.t, u.k, u.l, u.g, u.sku::jsonb, u.tags::jsonb, u.props::jsonb, u.m, $2, $2 \
     FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
     $11::text[], $12::text[], $13::text[], $14::text[]) AS u(r, s, n, t, k, l, g, sku, tags, props, m) \
     ON CONFLICT (tenant_id, resource_id, snapshot_date) DO UPDATE SET subscription_id = excluded.subscription_id, \
     name = excluded.name, resource_type = excluded.resource_type, kind = excluded.kind, \
     location = excluded.location, resource_group = excluded.resource_group, sku = excluded.sku, \
     tags = excluded.tags, properties = excluded.properties, managed_by = excluded.managed_by, \
     updated_at = excluded.updated_at WHERE \
     resource_history.subscription_id IS DISTINCT FROM excluded.subscription_id \
     OR resource_history.name IS DISTINCT FROM excluded.name \
     OR resource_history.resource_type IS DISTINCT FROM excluded.resource_type \
     OR resource_history.kind IS DISTINCT FROM excluded.kind \
     OR resource_history.location IS DISTINCT FROM excluded.location \
     OR resource_history.resource_group IS DISTINCT FROM excluded.resource_group \
     OR resource_history.sku IS DISTINCT FROM excluded.sku \
     OR resource_history.tags IS DISTINCT FROM excluded.tags \
     OR resource_history.properties IS DISTINCT FROM excluded.properties \
     OR resource_history.managed_by IS DISTINCT FROM excluded.managed_by";

impl Store {
    /// Upserts an inventory observed at `observed_at` into `resources`, that day's snapshot
    /// into `resource_history` and each subscription's cost-center tag coverage of the day into
    /// `tag_coverage_daily`, in one transaction.
    ///
    /// # Errors
    /// Database errors; nothing is written when one occurs.
    pub async fn upsert_resources(
        &self,
        scope: &TenantScope,
        rows: &[ResourceRow],
        observed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let encoded = encode(rows)?;
        let day: NaiveDate = observed_at.date_naive();
        match self.db() {
            crate::store::connect::Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for table in ["resources", "resource_history"] {
                    for chunk in encoded.chunks(SQLITE_CHUNK) {
                        let history = table == "resource_history";
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(sqlite_sql(table, chunk.len())));
                        for e in chunk {
                            let r = e.row;
                            query = query.bind(scope.tenant_id()).bind(&r.resource_id);
                            if history {
                                query = query.bind(day);
                            }
                            query = query
                                .bind(&r.subscription_id)
                                .bind(&r.name)
                                .bind(&r.resource_type)
                                .bind(&r.kind)
                                .bind(&r.location)
                                .bind(&r.resource_group)
                                .bind(&e.sku)
                                .bind(&e.tags)
                                .bind(&e.properties)
                                .bind(&r.managed_by);
                            for _ in 0..if history { 2 } else { 4 } {
                                query = query.bind(observed_at);
                            }
                        }
                        query.execute(&mut *tx).await?;
                    }
                }
                let rows = encoded.iter().map(|e| e.row);
                record_tag_coverage!(tx, Backend::Sqlite, scope.tenant_id(), day, observed_at, rows);
                tx.commit().await?;
            }
            crate::store::connect::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for sql in [POSTGRES_UPSERT, POSTGRES_HISTORY_UPSERT] {
                    for chunk in encoded.chunks(POSTGRES_CHUNK) {
                        let text = |f: for<'e> fn(&'e Encoded<'_>) -> &'e str| {
                            chunk.iter().map(f).collect::<Vec<&str>>()
                        };
                        let opt = |f: for<'e> fn(&'e Encoded<'_>) -> Option<&'e str>| {
                            chunk.iter().map(f).collect::<Vec<_>>()
                        };
                        sqlx::query(sql)
                            .bind(scope.tenant_id())
                            .bind(observed_at)
                            .bind(day)
                            .bind(text(|e| &e.row.resource_id))
                            .bind(text(|e| &e.row.subscription_id))
                            .bind(text(|e| &e.row.name))
                            .bind(text(|e| &e.row.resource_type))
                            .bind(opt(|e| e.row.kind.as_deref()))
                            .bind(text(|e| &e.row.location))
                            .bind(text(|e| &e.row.resource_group))
                            .bind(opt(|e| e.sku.as_deref()))
                            .bind(text(|e| &e.tags))
                            .bind(text(|e| &e.properties))
                            .bind(opt(|e| e.row.managed_by.as_deref()))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let rows = encoded.iter().map(|e| e.row);
                record_tag_coverage!(tx, Backend::Postgres, scope.tenant_id(), day, observed_at, rows);
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
