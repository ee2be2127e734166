//! Bulk loading of `costs_daily`, the largest table.
//!
//! Rows are first put in primary-key order with one row per key (the last one given wins).
//! SQLite then takes chunked multi-row `INSERT ... ON CONFLICT DO UPDATE` statements in one
//! transaction. PostgreSQL takes the batch into a temporary staging table through `UNNEST`
//! arrays, then updates the keys that exist and whose figures differ, and inserts the keys that
//! do not, under a transaction-scoped advisory lock per (tenant, subscription). Either way a
//! re-applied batch changes nothing, not even `updated_at`.
//!
//! The same transaction recomputes the cost rollups of the days and subscriptions the batch
//! touched (see [`super::rollups`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{NaiveDate, SecondsFormat};

use super::costs::COLUMNS;
use super::{Store, StoreError, TenantScope, now, sqlite_values};
use crate::model::CostDailyRow;

/// Rows per SQLite statement: 12 parameters a row stays well under SQLite's 32766 limit.
const SQLITE_CHUNK: usize = 1_000;
/// Rows per PostgreSQL `UNNEST` statement filling the staging table.
const POSTGRES_CHUNK: usize = 20_000;

const KEY: &str =
    "tenant_id, date, subscription_id, resource_group, service_name, meter_category, resource_id";
const ON_CONFLICT: &str = "DO UPDATE SET cost = excluded.cost, amortized_cost = excluded.amortized_cost, \
     currency = excluded.currency, updated_at = excluded.updated_at \
     WHERE costs_daily.cost <> excluded.cost OR costs_daily.amortized_cost <> excluded.amortized_cost \
     OR costs_daily.currency <> excluded.currency";

/// Serialises writers of the same tenant and subscriptions for the rest of the transaction, so
/// the plain insert below cannot race another batch for the same keys (lock order is sorted).
const POSTGRES_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended('costs_daily/' || $1 || '/' || s, 0)) \
     FROM (SELECT DISTINCT unnest($2::text[]) AS s ORDER BY 1) AS subscriptions";
/// A per-session staging table without indexes or WAL, emptied at every commit (the notice
/// that it already exists is silenced for this transaction only).
const POSTGRES_STAGE: &str = "SET LOCAL client_min_messages = warning; \
     CREATE TEMP TABLE IF NOT EXISTS costs_daily_stage (date date NOT NULL, \
     subscription_id text COLLATE \"C\" NOT NULL, resource_group text COLLATE \"C\" NOT NULL, \
     service_name text COLLATE \"C\" NOT NULL, meter_category text COLLATE \"C\" NOT NULL, \
     resource_id text COLLATE \"C\" NOT NULL, cost float8 NOT NULL, amortized_cost float8 NOT NULL, \
     currency text NOT NULL) ON COMMIT DELETE ROWS";
const POSTGRES_FILL: &str = "INSERT INTO costs_daily_stage SELECT * FROM UNNEST($1::date[], $2::text[], \
     $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::text[])";
/// Existing keys: only rows whose figures differ are touched (so `updated_at` means a change).
const POSTGRES_UPDATE: &str = "UPDATE costs_daily AS c SET cost = s.cost, amortized_cost = s.amortized_cost, \
     currency = s.currency, updated_at = $2 FROM costs_daily_stage AS s \
     WHERE c.tenant_id = $1 AND c.date = s.date AND c.subscription_id = s.subscription_id \
     AND c.resource_group = s.resource_group AND c.service_name = s.service_name \
     AND c.meter_category = s.meter_category AND c.resource_id = s.resource_id \
     AND (c.cost <> s.cost OR c.amortized_cost <> s.amortized_cost OR c.currency <> s.currency)";
/// New keys: a plain insert, about half the server time of `ON CONFLICT` for a bulk load.
const POSTGRES_INSERT: &str = "INSERT INTO costs_daily (tenant_id, date, subscription_id, resource_group, \
     service_name, meter_category, resource_id, cost, amortized_cost, currency, created_at, updated_at) \
     SELECT $1, s.date, s.subscription_id, s.resource_group, s.service_name, s.meter_category, s.resource_id, \
     s.cost, s.amortized_cost, s.currency, $2, $2 FROM costs_daily_stage AS s \
     WHERE NOT EXISTS (SELECT 1 FROM costs_daily AS c \
     WHERE c.tenant_id = $1 AND c.date = s.date AND c.subscription_id = s.subscription_id \
     AND c.resource_group = s.resource_group AND c.service_name = s.service_name \
     AND c.meter_category = s.meter_category AND c.resource_id = s.resource_id)";

/// Takes the advisory locks of `subscriptions` of `tenant` for the rest of the transaction, in
/// sorted order (every writer of `costs_daily` and its rollups takes them this way).
pub(super) async fn lock_subscriptions(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    mut subscriptions: Vec<String>,
) -> Result<(), StoreError> {
    subscriptions.sort_unstable();
    subscriptions.dedup();
    sqlx::query(POSTGRES_LOCK).bind(tenant).bind(subscriptions).execute(conn).await?;
    Ok(())
}

/// The days each subscription of the batch touched, by subscription.
fn touched(rows: &[&CostDailyRow]) -> Vec<super::rollups::Slice> {
    let mut days: BTreeMap<&str, BTreeSet<NaiveDate>> = BTreeMap::new();
    for row in rows {
        days.entry(&row.subscription_id).or_default().insert(row.date);
    }
    days.into_iter().map(|(s, d)| (Some(s.to_owned()), d.into_iter().collect())).collect()
}

fn sqlite_upsert_sql(rows: usize) -> String {
    format!(
        "INSERT INTO costs_daily ({COLUMNS}) VALUES {} ON CONFLICT ({KEY}) {ON_CONFLICT}",
        sqlite_values(rows, 12)
    )
}

/// Shares the text of a value repeated in consecutive rows (sorted batches repeat
/// subscription, group, service, meter and currency in runs).
#[derive(Default)]
struct RunInterner {
    last: Option<Arc<str>>,
}

impl RunInterner {
    fn get(&mut self, value: &str) -> Arc<str> {
        match &self.last {
            Some(text) if **text == *value => Arc::clone(text),
            _ => {
                let text: Arc<str> = Arc::from(value);
                self.last = Some(Arc::clone(&text));
                text
            }
        }
    }
}

/// The day as SQLite text (`YYYY-MM-DD`, what the driver writes for a `NaiveDate`), shared
/// across a run of rows of the same day.
#[derive(Default)]
struct DateRun {
    last: Option<(NaiveDate, Arc<str>)>,
}

impl DateRun {
    fn get(&mut self, date: NaiveDate) -> Arc<str> {
        match &self.last {
            Some((day, text)) if *day == date => Arc::clone(text),
            _ => {
                let text: Arc<str> = Arc::from(date.format("%F").to_string());
                self.last = Some((date, Arc::clone(&text)));
                text
            }
        }
    }
}

type Key<'a> = (NaiveDate, &'a str, &'a str, &'a str, &'a str, &'a str);

fn key(row: &CostDailyRow) -> Key<'_> {
    (
        row.date,
        &row.subscription_id,
        &row.resource_group,
        &row.service_name,
        &row.meter_category,
        &row.resource_id,
    )
}

/// The rows in primary-key order, one per key (the last one given wins). Sorted input turns
/// index maintenance into near-appends on both backends, and PostgreSQL refuses to update the
/// same row twice in one statement.
fn sorted_unique(rows: &[CostDailyRow]) -> Vec<&CostDailyRow> {
    let mut sorted: Vec<&CostDailyRow> = rows.iter().collect();
    if !sorted.is_sorted_by(|a, b| key(a) <= key(b)) {
        // Stable, so equal keys keep their input order and the last one stays last.
        sorted.sort_by(|a, b| key(a).cmp(&key(b)));
    }
    let mut out: Vec<&CostDailyRow> = Vec::with_capacity(sorted.len());
    for row in sorted {
        match out.last_mut() {
            Some(last) if key(last) == key(row) => *last = row,
            _ => out.push(row),
        }
    }
    out
}

impl Store {
    /// Upserts cost rows in one transaction (idempotent; see the module docs).
    ///
    /// Identifiers are expected lower-cased as [`CostDailyRow`] documents.
    ///
    /// # Errors
    /// Database errors; nothing is written when one occurs.
    pub async fn upsert_costs_daily(
        &self,
        scope: &TenantScope,
        rows: &[CostDailyRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let at = now();
        let rows = sorted_unique(rows);
        match self.db() {
            super::connect::Db::Sqlite(pool) => {
                // Repeated values are bound as shared `Arc<str>`s: the driver copies a `&str`
                // into a fresh allocation per bind, which dominated the cost of a bulk load.
                let tenant: Arc<str> = Arc::from(scope.tenant_id());
                let stamp: Arc<str> = Arc::from(at.to_rfc3339_opts(SecondsFormat::AutoSi, false));
                let mut subscriptions = RunInterner::default();
                let mut groups = RunInterner::default();
                let mut services = RunInterner::default();
                let mut meters = RunInterner::default();
                let mut currencies = RunInterner::default();
                let mut dates = DateRun::default();
                let mut tx = pool.begin().await?;
                let full_sql = Arc::new(sqlite_upsert_sql(SQLITE_CHUNK));
                for chunk in rows.chunks(SQLITE_CHUNK) {
                    let sql = if chunk.len() == SQLITE_CHUNK {
                        sqlx::AssertSqlSafe(Arc::clone(&full_sql))
                    } else {
                        sqlx::AssertSqlSafe(Arc::new(sqlite_upsert_sql(chunk.len())))
                    };
                    let mut query = sqlx::query(sql);
                    for row in chunk {
                        query = query
                            .bind(Arc::clone(&tenant))
                            .bind(subscriptions.get(&row.subscription_id))
                            .bind(dates.get(row.date))
                            .bind(groups.get(&row.resource_group))
                            .bind(services.get(&row.service_name))
                            .bind(meters.get(&row.meter_category))
                            .bind(Arc::<str>::from(row.resource_id.as_str()))
                            .bind(row.cost)
                            .bind(row.amortized_cost)
                            .bind(currencies.get(&row.currency))
                            .bind(Arc::clone(&stamp))
                            .bind(Arc::clone(&stamp));
                    }
                    query.execute(&mut *tx).await?;
                }
                super::rollups::refresh_sqlite(&mut tx, scope.tenant_id(), &touched(&rows)).await?;
                tx.commit().await?;
            }
            super::connect::Db::Postgres(pool) => {
                let build = |chunk: &[&CostDailyRow]| {
                    let column =
                        |f: fn(&CostDailyRow) -> &str| chunk.iter().map(|r| f(r)).collect::<Vec<&str>>();
                    sqlx::query(POSTGRES_FILL)
                        .bind(chunk.iter().map(|r| r.date).collect::<Vec<_>>())
                        .bind(column(|r| &r.subscription_id))
                        .bind(column(|r| &r.resource_group))
                        .bind(column(|r| &r.service_name))
                        .bind(column(|r| &r.meter_category))
                        .bind(column(|r| &r.resource_id))
                        .bind(chunk.iter().map(|r| r.cost).collect::<Vec<_>>())
                        .bind(chunk.iter().map(|r| r.amortized_cost).collect::<Vec<_>>())
                        .bind(column(|r| &r.currency))
                };
                let touched = touched(&rows);
                let mut tx = pool.begin().await?;
                lock_subscriptions(
                    &mut tx,
                    scope.tenant_id(),
                    touched.iter().filter_map(|(s, _)| s.clone()).collect(),
                )
                .await?;
                sqlx::raw_sql(POSTGRES_STAGE).execute(&mut *tx).await?;
                let mut chunks = rows.chunks(POSTGRES_CHUNK);
                let mut next = chunks.next().map(build);
                while let Some(query) = next.take() {
                    // Encode the next chunk while the server loads this one.
                    let (done, following) =
                        tokio::join!(query.execute(&mut *tx), async { chunks.next().map(build) });
                    done?;
                    next = following;
                }
                // Fresh statistics let the planner probe the key index for small batches and
                // hash-join large ones.
                sqlx::raw_sql("ANALYZE costs_daily_stage").execute(&mut *tx).await?;
                sqlx::query(POSTGRES_UPDATE).bind(scope.tenant_id()).bind(at).execute(&mut *tx).await?;
                sqlx::query(POSTGRES_INSERT).bind(scope.tenant_id()).bind(at).execute(&mut *tx).await?;
                super::rollups::refresh_postgres(&mut tx, scope.tenant_id(), &touched).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_statement_numbers_parameters_per_row() {
        let sql = sqlite_upsert_sql(2);
        assert!(
            sql.contains("VALUES (?,?,?,?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT"),
            "{sql}"
        );
        assert!(sql.ends_with("OR costs_daily.currency <> excluded.currency"));
    }

    #[test]
    fn duplicates_keep_the_last_row() {
        let row = |cost| CostDailyRow {
            subscription_id: "s".into(),
            date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            resource_group: "rg".into(),
            service_name: "VM".into(),
            meter_category: "Compute".into(),
            resource_id: String::new(),
            cost,
            amortized_cost: cost,
            currency: "EUR".into(),
        };
        let rows = [row(1.0), row(2.0)];
        let kept = sorted_unique(&rows);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].cost, 2.0);
    }
}
