//! `costs_daily`: bulk idempotent upserts, filtered listing and the dashboard summary.
//!
//! Re-applying a batch leaves rows untouched: the `DO UPDATE` only fires when cost, amortized
//! cost or currency differ, so even `updated_at` moves only on a real change.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Page, PageRequest, Store, StoreError, TenantScope, now, on_pool, sqlite_values};
use crate::model::CostDailyRow;

/// Rows per SQLite statement: 9 parameters a row stays well under SQLite's 32766 limit.
const SQLITE_CHUNK: usize = 1_000;
/// Rows per PostgreSQL `UNNEST` statement.
const POSTGRES_CHUNK: usize = 20_000;

const COLUMNS: &str = "tenant_id, subscription_id, date, resource_group, service_name, meter_category, \
                       resource_id, cost, amortized_cost, currency, created_at, updated_at";
const KEY: &str =
    "tenant_id, subscription_id, date, resource_group, service_name, meter_category, resource_id";
const ON_CONFLICT: &str = "DO UPDATE SET cost = excluded.cost, amortized_cost = excluded.amortized_cost, \
     currency = excluded.currency, updated_at = excluded.updated_at \
     WHERE costs_daily.cost <> excluded.cost OR costs_daily.amortized_cost <> excluded.amortized_cost \
     OR costs_daily.currency <> excluded.currency";

const POSTGRES_UPSERT: &str = "INSERT INTO costs_daily (tenant_id, subscription_id, date, resource_group, \
     service_name, meter_category, resource_id, cost, amortized_cost, currency, created_at, updated_at) \
     SELECT $1, u.s, u.d, u.g, u.n, u.m, u.r, u.c, u.a, u.y, $2, $2 \
     FROM UNNEST($3::text[], $4::date[], $5::text[], $6::text[], $7::text[], $8::text[], $9::float8[], \
     $10::float8[], $11::text[]) AS u(s, d, g, n, m, r, c, a, y) \
     ON CONFLICT (tenant_id, date, subscription_id, resource_group, service_name, meter_category, resource_id) \
     DO UPDATE SET cost = excluded.cost, amortized_cost = excluded.amortized_cost, \
     currency = excluded.currency, updated_at = excluded.updated_at \
     WHERE costs_daily.cost <> excluded.cost OR costs_daily.amortized_cost <> excluded.amortized_cost \
     OR costs_daily.currency <> excluded.currency";

/// A stored `costs_daily` row.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CostRow {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Usage date.
    pub date: NaiveDate,
    /// Resource group ('' outside any group).
    pub resource_group: String,
    /// Cost Management `ServiceName`.
    pub service_name: String,
    /// Cost Management `MeterCategory`.
    pub meter_category: String,
    /// Resource id, '' when unknown.
    pub resource_id: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
    /// Billing currency.
    pub currency: String,
    /// When the row was first written.
    pub created_at: DateTime<Utc>,
    /// When a value last changed.
    pub updated_at: DateTime<Utc>,
}

/// Filters for [`Store::list_costs`]; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct CostFilter {
    /// First date included.
    pub from: Option<NaiveDate>,
    /// Last date included.
    pub to: Option<NaiveDate>,
    /// One subscription.
    pub subscription_id: Option<String>,
    /// One service (`ServiceName`, exact).
    pub service_name: Option<String>,
    /// One resource group (lower-cased before matching).
    pub resource_group: Option<String>,
}

/// Spend of one service over the summary window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCost {
    /// `ServiceName`.
    pub service_name: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

/// Spend of one day (zero for days without rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyCost {
    /// The day.
    pub date: NaiveDate,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

/// The dashboard overview: totals, spend by service (largest first) and a daily trend.
///
/// Sums assume one billing currency per tenant, which is how Cost Management reports a
/// billing scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostSummary {
    /// First day of the window.
    pub from: NaiveDate,
    /// Last day of the window (inclusive).
    pub to: NaiveDate,
    /// Total actual cost.
    pub total_cost: f64,
    /// Total amortized cost.
    pub total_amortized_cost: f64,
    /// Per service, descending by actual cost.
    pub by_service: Vec<ServiceCost>,
    /// One entry per day of the window, oldest first.
    pub daily: Vec<DailyCost>,
}

#[derive(sqlx::FromRow)]
struct DayServiceSum {
    date: NaiveDate,
    service_name: String,
    cost: f64,
    amortized_cost: f64,
}

/// Appends the tenant predicate and the filters to a query that ends in `WHERE `.
fn push_filters<DB>(qb: &mut QueryBuilder<DB>, scope: &TenantScope, filter: &CostFilter)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    NaiveDate: for<'q> Encode<'q, DB> + Type<DB>,
{
    qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
    if let Some(from) = filter.from {
        qb.push(" AND date >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" AND date <= ").push_bind(to);
    }
    if let Some(subscription) = &filter.subscription_id {
        qb.push(" AND subscription_id = ").push_bind(subscription.trim().to_ascii_lowercase());
    }
    if let Some(service) = &filter.service_name {
        qb.push(" AND service_name = ").push_bind(service.clone());
    }
    if let Some(group) = &filter.resource_group {
        qb.push(" AND resource_group = ").push_bind(group.trim().to_ascii_lowercase());
    }
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
                tx.commit().await?;
            }
            super::connect::Db::Postgres(pool) => {
                let build = |chunk: &[&CostDailyRow]| {
                    let column =
                        |f: fn(&CostDailyRow) -> &str| chunk.iter().map(|r| f(r)).collect::<Vec<&str>>();
                    sqlx::query(POSTGRES_UPSERT)
                        .bind(scope.tenant_id())
                        .bind(at)
                        .bind(column(|r| &r.subscription_id))
                        .bind(chunk.iter().map(|r| r.date).collect::<Vec<_>>())
                        .bind(column(|r| &r.resource_group))
                        .bind(column(|r| &r.service_name))
                        .bind(column(|r| &r.meter_category))
                        .bind(column(|r| &r.resource_id))
                        .bind(chunk.iter().map(|r| r.cost).collect::<Vec<_>>())
                        .bind(chunk.iter().map(|r| r.amortized_cost).collect::<Vec<_>>())
                        .bind(column(|r| &r.currency))
                };
                let mut tx = pool.begin().await?;
                let mut chunks = rows.chunks(POSTGRES_CHUNK);
                let mut next = chunks.next().map(build);
                while let Some(query) = next.take() {
                    // Encode the next chunk while the server works on this one.
                    let (done, following) =
                        tokio::join!(query.execute(&mut *tx), async { chunks.next().map(build) });
                    done?;
                    next = following;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Lists cost rows, newest day first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_costs(
        &self,
        scope: &TenantScope,
        filter: &CostFilter,
        page: PageRequest,
    ) -> Result<Page<CostRow>, StoreError> {
        let (items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM costs_daily WHERE "));
            push_filters(&mut qb, scope, filter);
            qb.push(" ORDER BY date DESC, subscription_id, resource_group, service_name, meter_category, resource_id");
            qb.push(" LIMIT ").push_bind(page.limit()).push(" OFFSET ").push_bind(page.offset());
            let items: Vec<CostRow> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM costs_daily WHERE ");
            push_filters(&mut count, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// The overview summary for the `days` days ending on `to` (inclusive), optionally for one
    /// subscription.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when `days` is not in 1..=400; database errors.
    pub async fn cost_summary(
        &self,
        scope: &TenantScope,
        to: NaiveDate,
        days: u32,
        subscription_id: Option<&str>,
    ) -> Result<CostSummary, StoreError> {
        if !(1..=400).contains(&days) {
            return Err(StoreError::validation("days", "must be between 1 and 400"));
        }
        let from = to
            .checked_sub_days(Days::new(u64::from(days) - 1))
            .ok_or_else(|| StoreError::validation("to", "out of range"))?;
        let filter = CostFilter {
            from: Some(from),
            to: Some(to),
            subscription_id: subscription_id.map(str::to_owned),
            ..CostFilter::default()
        };
        // One grouped scan (served by the covering index) feeds all three parts of the summary.
        let sums: Vec<DayServiceSum> = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT date, service_name, SUM(cost) AS cost, SUM(amortized_cost) AS amortized_cost \
                 FROM costs_daily WHERE ",
            );
            push_filters(&mut qb, scope, &filter);
            qb.push(" GROUP BY date, service_name");
            qb.build_query_as().fetch_all(pool).await?
        });
        let mut by_service: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        let mut by_day: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
        for sum in sums {
            let service = by_service.entry(sum.service_name).or_default();
            service.0 += sum.cost;
            service.1 += sum.amortized_cost;
            let day = by_day.entry(sum.date).or_default();
            day.0 += sum.cost;
            day.1 += sum.amortized_cost;
        }
        let mut by_service: Vec<ServiceCost> = by_service
            .into_iter()
            .map(|(service_name, (cost, amortized_cost))| ServiceCost { service_name, cost, amortized_cost })
            .collect();
        by_service
            .sort_by(|a, b| b.cost.total_cmp(&a.cost).then_with(|| a.service_name.cmp(&b.service_name)));
        let daily: Vec<DailyCost> = from
            .iter_days()
            .take(days as usize)
            .map(|date| {
                let (cost, amortized_cost) = by_day.get(&date).copied().unwrap_or_default();
                DailyCost { date, cost, amortized_cost }
            })
            .collect();
        Ok(CostSummary {
            from,
            to,
            total_cost: daily.iter().map(|d| d.cost).sum(),
            total_amortized_cost: daily.iter().map(|d| d.amortized_cost).sum(),
            by_service,
            daily,
        })
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
