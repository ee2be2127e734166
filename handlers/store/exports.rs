//! Cost Management exports into `costs_daily`: each (subscription, month) slice an export run
//! covers is replaced in one transaction, fed by a stream of summed batches, so memory stays
//! bounded by the batch size while the transaction spans the whole run.
//!
//! A FOCUS run deletes each slice (the part of the month inside the run's period) when its first
//! row arrives and adds the batches' amounts; a legacy ActualCost or AmortizedCost run zeroes only
//! its own figure in the slice, adds it back, and removes rows left with neither figure. The cost
//! rollups of the replaced days are recomputed in the same transaction, and the run and its
//! slices are recorded (`export_runs`, `export_slices`). An error from the feed (a truncated
//! file, a bad row) rolls everything back: nothing is written.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, Months, NaiveDate, Utc};
use futures::{Stream, StreamExt as _};

use super::costs::COLUMNS;
use super::{Backend, Store, StoreError, TenantScope, new_id, now, sqlite_values};
use crate::model::CostDailyRow;

/// Rows per SQLite statement (12 parameters a row).
const SQLITE_CHUNK: usize = 1_000;

const KEY: &str =
    "tenant_id, date, subscription_id, resource_group, service_name, meter_category, resource_id";
/// Batches of one run add up (a key split across batches is summed, never overwritten).
const ADD: &str = "DO UPDATE SET cost = costs_daily.cost + excluded.cost, \
     amortized_cost = costs_daily.amortized_cost + excluded.amortized_cost, \
     currency = excluded.currency, updated_at = excluded.updated_at";
const POSTGRES_ADD: &str = "INSERT INTO costs_daily (tenant_id, subscription_id, date, resource_group, \
     service_name, meter_category, resource_id, cost, amortized_cost, currency, created_at, updated_at) \
     SELECT $1, u.s, u.d, u.g, u.v, u.m, u.r, u.c, u.a, u.k, $11, $11 FROM UNNEST($2::text[], $3::date[], \
     $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::text[]) \
     AS u(s, d, g, v, m, r, c, a, k) ON CONFLICT (tenant_id, date, subscription_id, resource_group, \
     service_name, meter_category, resource_id) ";

/// The slice condition: `$1` tenant, `$2` subscription, `$3` the slice's days. A list of days
/// (rather than a date range) lets both backends seek the (tenant, date, subscription, …) key
/// for each day instead of scanning every subscription's rows of the range.
fn slice_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "tenant_id = $1 AND subscription_id = $2 AND date IN (SELECT value FROM json_each($3))"
        }
        Backend::Postgres => "tenant_id = $1 AND subscription_id = $2 AND date = ANY($3::date[])",
    }
}

fn days(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// The days of a slice as SQLite binds them (`json_each` over ISO dates).
fn days_sqlite(first: NaiveDate, last: NaiveDate) -> Result<String, StoreError> {
    let days: Vec<String> = days(first, last).iter().map(|d| d.format("%F").to_string()).collect();
    serde_json::to_string(&days).map_err(|e| StoreError::validation("days", e.to_string()))
}

/// The days of a slice as PostgreSQL binds them (`date[]`).
fn days_postgres(first: NaiveDate, last: NaiveDate) -> Result<Vec<NaiveDate>, StoreError> {
    Ok(days(first, last))
}

/// Which figures a run carries, and so which it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportMeasure {
    /// FOCUS: actual and amortized.
    Both,
    /// Legacy ActualCost: the actual figure only.
    Actual,
    /// Legacy AmortizedCost: the amortized figure only.
    Amortized,
}

/// The export run being ingested, as recorded in `export_runs`.
#[derive(Debug, Clone)]
pub struct ExportRunRecord {
    /// The manifest's blob name.
    pub manifest: String,
    /// `runInfo.runId`.
    pub run_id: String,
    /// `exportConfig.exportName`.
    pub export_name: String,
    /// `exportConfig.resourceId` (the exported scope).
    pub scope: String,
    /// `exportConfig.type`.
    pub dataset: String,
    /// `exportConfig.dataVersion`.
    pub data_version: String,
    /// First day of the run's period.
    pub period_start: NaiveDate,
    /// Last day of the run's period.
    pub period_end: NaiveDate,
    /// Files read.
    pub files: u64,
    /// Which figures it replaces.
    pub measure: ExportMeasure,
}

/// One item of the feed a slice replacement consumes.
#[derive(Debug)]
pub enum SliceFeed {
    /// Summed rows (one per curated key within the batch), all inside the run's period.
    Rows(Vec<CostDailyRow>),
    /// The end of the run, with its counts.
    Done(ExportTotals),
}

/// What an export run held, counted by the reader.
#[derive(Debug, Clone, Default)]
pub struct ExportTotals {
    /// Data rows read.
    pub source_rows: u64,
    /// Rows dropped (subscription not registered to the tenant, or not taking exports).
    pub dropped_rows: u64,
    /// Distinct subscriptions dropped.
    pub dropped_subscriptions: u64,
    /// Export rows per (subscription, month).
    pub slice_rows: BTreeMap<(String, NaiveDate), u64>,
}

/// A slice replaced by a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplacedSlice {
    /// The subscription.
    pub subscription_id: String,
    /// First day of the month.
    pub month: NaiveDate,
    /// First day replaced.
    pub first_day: NaiveDate,
    /// Last day replaced.
    pub last_day: NaiveDate,
    /// Export rows that fed it.
    pub source_rows: u64,
    /// Curated rows it holds now.
    pub cost_rows: u64,
}

/// The outcome of a slice replacement.
#[derive(Debug, Clone)]
pub struct ExportLoad {
    /// The `export_runs` id.
    pub id: String,
    /// The slices replaced, by subscription and month.
    pub slices: Vec<ReplacedSlice>,
    /// The reader's counts.
    pub totals: ExportTotals,
}

/// The part of `day`'s month inside `[start, end]`.
fn slice_days(day: NaiveDate, start: NaiveDate, end: NaiveDate) -> (NaiveDate, NaiveDate, NaiveDate) {
    let month = day.with_day(1).unwrap_or(day);
    let last = month.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(month);
    (month, month.max(start), last.min(end))
}

fn reset_sql(backend: Backend, measure: ExportMeasure) -> String {
    let slice = slice_sql(backend);
    match measure {
        ExportMeasure::Both => format!("DELETE FROM costs_daily WHERE {slice}"),
        ExportMeasure::Actual => {
            format!("UPDATE costs_daily SET cost = 0, updated_at = $4 WHERE {slice} AND cost <> 0")
        }
        ExportMeasure::Amortized => format!(
            "UPDATE costs_daily SET amortized_cost = 0, updated_at = $4 WHERE {slice} AND amortized_cost <> 0"
        ),
    }
}

/// Rows a legacy run left with neither figure.
fn clean_sql(backend: Backend) -> String {
    format!("DELETE FROM costs_daily WHERE {} AND cost = 0 AND amortized_cost = 0", slice_sql(backend))
}

fn count_sql(backend: Backend) -> String {
    format!("SELECT COUNT(*) FROM costs_daily WHERE {}", slice_sql(backend))
}
const RECORD_RUN: &str = "INSERT INTO export_runs (id, tenant_id, manifest, run_id, export_name, scope, dataset, \
     data_version, period_start, period_end, files, source_rows, dropped_rows, dropped_subscriptions, ingested_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
const RECORD_SLICE: &str = "INSERT INTO export_slices (tenant_id, subscription_id, month, first_day, last_day, \
     export_run_id, source_rows, ingested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (tenant_id, subscription_id, month) DO UPDATE SET first_day = excluded.first_day, \
     last_day = excluded.last_day, export_run_id = excluded.export_run_id, source_rows = excluded.source_rows, \
     ingested_at = excluded.ingested_at";

/// Slices opened so far: (subscription, month) → (first day, last day).
type Opened = BTreeMap<(String, NaiveDate), (NaiveDate, NaiveDate)>;

/// The slices of `rows` not yet opened, opened now (in key order).
fn newly_opened(
    opened: &mut Opened,
    rows: &[CostDailyRow],
    run: &ExportRunRecord,
) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut new = Vec::new();
    for row in rows {
        let (month, first, last) = slice_days(row.date, run.period_start, run.period_end);
        let key = (row.subscription_id.clone(), month);
        if let std::collections::btree_map::Entry::Vacant(slot) = opened.entry(key) {
            slot.insert((first, last));
            new.push((row.subscription_id.clone(), first, last));
        }
    }
    new
}

fn sqlite_add_sql(rows: usize) -> String {
    format!(
        "INSERT INTO costs_daily ({COLUMNS}) VALUES {} ON CONFLICT ({KEY}) {ADD}",
        sqlite_values(rows, 12)
    )
}

async fn add_sqlite(
    conn: &mut sqlx::SqliteConnection,
    tenant: &str,
    rows: &[CostDailyRow],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(SQLITE_CHUNK) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sqlite_add_sql(chunk.len())));
        for r in chunk {
            query = query
                .bind(tenant)
                .bind(&r.subscription_id)
                .bind(r.date)
                .bind(&r.resource_group)
                .bind(&r.service_name)
                .bind(&r.meter_category)
                .bind(&r.resource_id)
                .bind(r.cost)
                .bind(r.amortized_cost)
                .bind(&r.currency)
                .bind(at)
                .bind(at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn add_postgres(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    rows: &[CostDailyRow],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let text = |f: fn(&CostDailyRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    sqlx::query(sqlx::AssertSqlSafe(format!("{POSTGRES_ADD}{ADD}")))
        .bind(tenant)
        .bind(text(|r| &r.subscription_id))
        .bind(rows.iter().map(|r| r.date).collect::<Vec<_>>())
        .bind(text(|r| &r.resource_group))
        .bind(text(|r| &r.service_name))
        .bind(text(|r| &r.meter_category))
        .bind(text(|r| &r.resource_id))
        .bind(rows.iter().map(|r| r.cost).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.amortized_cost).collect::<Vec<_>>())
        .bind(text(|r| &r.currency))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The body of a replacement, written once for both backends: `$add` adds a batch and
/// `$refresh` recomputes the rollups of the slices.
macro_rules! replace_slices {
    ($tx:expr, $backend:expr, $days:path, $scope:expr, $run:expr, $feed:expr, $add:path, $refresh:path) => {{
        let tenant = $scope.tenant_id();
        let at = now();
        let mut opened = Opened::new();
        let mut totals = None;
        while let Some(item) = $feed.next().await {
            match item? {
                SliceFeed::Rows(rows) => {
                    for (subscription, first, last) in newly_opened(&mut opened, &rows, $run) {
                        sqlx::query(sqlx::AssertSqlSafe(reset_sql($backend, $run.measure)))
                            .bind(tenant)
                            .bind(&subscription)
                            .bind($days(first, last)?)
                            .bind(at)
                            .execute(&mut *$tx)
                            .await
                            .map_err(StoreError::from)?;
                    }
                    $add(&mut $tx, tenant, &rows, at).await?;
                }
                SliceFeed::Done(t) => {
                    totals = Some(t);
                    break;
                }
            }
        }
        let Some(totals) = totals else {
            return Err(StoreError::validation("feed", "the export feed ended without its totals").into());
        };
        let id = new_id();
        let mut slices = Vec::with_capacity(opened.len());
        let mut refresh: Vec<super::rollups::Slice> = Vec::with_capacity(opened.len());
        for ((subscription, month), (first, last)) in &opened {
            if $run.measure != ExportMeasure::Both {
                sqlx::query(sqlx::AssertSqlSafe(clean_sql($backend)))
                    .bind(tenant)
                    .bind(subscription)
                    .bind($days(*first, *last)?)
                    .execute(&mut *$tx)
                    .await
                    .map_err(StoreError::from)?;
            }
            let cost_rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql($backend)))
                .bind(tenant)
                .bind(subscription)
                .bind($days(*first, *last)?)
                .fetch_one(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
            let source_rows = totals.slice_rows.get(&(subscription.clone(), *month)).copied().unwrap_or(0);
            sqlx::query(RECORD_SLICE)
                .bind(tenant)
                .bind(subscription)
                .bind(*month)
                .bind(*first)
                .bind(*last)
                .bind(&id)
                .bind(to_i64(source_rows))
                .bind(at)
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::from)?;
            refresh.push((Some(subscription.clone()), days(*first, *last)));
            slices.push(ReplacedSlice {
                subscription_id: subscription.clone(),
                month: *month,
                first_day: *first,
                last_day: *last,
                source_rows,
                cost_rows: u64::try_from(cost_rows).unwrap_or(0),
            });
        }
        if !refresh.is_empty() {
            $refresh(&mut $tx, tenant, &refresh).await?;
        }
        sqlx::query(RECORD_RUN)
            .bind(&id)
            .bind(tenant)
            .bind(&$run.manifest)
            .bind(&$run.run_id)
            .bind(&$run.export_name)
            .bind(&$run.scope)
            .bind(&$run.dataset)
            .bind(&$run.data_version)
            .bind($run.period_start)
            .bind($run.period_end)
            .bind(to_i64($run.files))
            .bind(to_i64(totals.source_rows))
            .bind(to_i64(totals.dropped_rows))
            .bind(to_i64(totals.dropped_subscriptions))
            .bind(at)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::from)?;
        ExportLoad { id, slices, totals }
    }};
}

impl Store {
    /// Replaces the slices of one export run with what `feed` delivers, in one transaction
    /// (see the module docs). `subscriptions` are every subscription the run may write (their
    /// PostgreSQL advisory locks are taken first, in sorted order, as every cost writer does).
    ///
    /// # Errors
    /// The feed's own error, or a database error; either way nothing is written.
    pub async fn replace_export_slices<S, E>(
        &self,
        scope: &TenantScope,
        run: &ExportRunRecord,
        subscriptions: Vec<String>,
        mut feed: S,
    ) -> Result<ExportLoad, E>
    where
        S: Stream<Item = Result<SliceFeed, E>> + Unpin + Send,
        E: From<StoreError>,
    {
        let load = match self.db() {
            super::connect::Db::Sqlite(pool) => {
                let mut tx = pool.begin_with(self.begin_write()).await.map_err(StoreError::from)?;
                let load = replace_slices!(
                    tx,
                    Backend::Sqlite,
                    days_sqlite,
                    scope,
                    run,
                    feed,
                    add_sqlite,
                    super::rollups::refresh_sqlite
                );
                tx.commit().await.map_err(StoreError::from)?;
                load
            }
            super::connect::Db::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(StoreError::from)?;
                super::cost_load::lock_subscriptions(&mut tx, scope.tenant_id(), subscriptions).await?;
                let load = replace_slices!(
                    tx,
                    Backend::Postgres,
                    days_postgres,
                    scope,
                    run,
                    feed,
                    add_postgres,
                    super::rollups::refresh_postgres
                );
                tx.commit().await.map_err(StoreError::from)?;
                load
            }
        };
        Ok(load)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn a_slice_is_the_month_inside_the_period() {
        assert_eq!(slice_days(day(11, 20), day(11, 2), day(12, 6)), (day(11, 1), day(11, 2), day(11, 30)));
        assert_eq!(slice_days(day(12, 3), day(11, 2), day(12, 6)), (day(12, 1), day(12, 1), day(12, 6)));
    }

    #[test]
    fn legacy_runs_reset_only_their_figure() {
        assert!(reset_sql(Backend::Sqlite, ExportMeasure::Both).starts_with("DELETE FROM costs_daily"));
        assert!(reset_sql(Backend::Postgres, ExportMeasure::Actual).contains("SET cost = 0"));
        assert!(reset_sql(Backend::Sqlite, ExportMeasure::Amortized).contains("SET amortized_cost = 0"));
        assert!(count_sql(Backend::Postgres).contains("date = ANY($3::date[])"));
        assert_eq!(
            days_sqlite(day(11, 29), day(12, 1)).unwrap(),
            r#"["2026-11-29","2026-11-30","2026-12-01"]"#
        );
    }
}
