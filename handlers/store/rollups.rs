//! Cost rollups: `costs_daily` pre-aggregated so the cost explorer and the summary read rows
//! shaped for their questions instead of scanning every cost row per request.
//!
//! Four daily tables (created and backfilled by migration 0006, whose queries these mirror):
//! `cost_rollup_daily` (every dimension but the resource), `cost_rollup_tag_daily` (the tenant's
//! allocation tag by subscription and service), `cost_rollup_tenant_daily` (the tenant by
//! service) and `cost_rollup_tag_tenant_daily` (the tenant by service and allocation tag); and
//! `cost_rollup_monthly` (migration 0015), `cost_rollup_daily` summed per calendar month, which is
//! where a month-level rollup pays off: the per-subscription table does not shrink with the
//! resource id gone (a subscription has tens of combinations a day), so a 13-month question by
//! month reads about 30 times fewer rows there. The tenant-wide tables are small enough per day
//! that a monthly twin would not pay for its maintenance. Currency is part of every key, so
//! amounts of different currencies are never added.
//!
//! Maintenance is a recomputation: for the (tenant, subscription, dates) a cost batch touched,
//! the slices are deleted and re-inserted with `INSERT ... SELECT ... GROUP BY` from `costs_daily`
//! in the batch's own transaction, so rollups equal the sums over `costs_daily` by construction
//! and a replayed or retried batch leaves them as they were. On PostgreSQL the batch already holds
//! the advisory locks of its subscriptions; the tenant-wide table is recomputed under one more
//! lock per tenant, always taken after those (so the order is global and cannot deadlock), which
//! makes two batches of different subscriptions of one tenant recompute a shared day one after
//! the other, each seeing the other's committed slice.
//!
//! Limitations: `location` comes from the resource's `resources` row, so the cost of a resource
//! deleted before it was ever inventoried has location ''; tags likewise come from the resource's
//! current row when its cost is loaded. A changed `cost_center_tag` applies to days loaded after
//! the change; `azcops rollups rebuild` recomputes the rest.

use chrono::{Datelike as _, Months, NaiveDate};

use super::{Backend, Store, StoreError, TenantScope, on_pool};

/// The allocation tag when the tenant's rule settings name none (the rule engine's default).
pub const DEFAULT_COST_CENTER_TAG: &str = "cost-center";

/// Which days a recomputation covers, as SQL for each backend (`$2` is the list of days).
fn in_dates(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each($2))"),
        Backend::Postgres => format!("{column} = ANY($2::date[])"),
    }
}

/// The resource type of `c.resource_id` (`<namespace>/<type>` after the first `/providers/`,
/// lower-cased, '' when absent) as a column of the row source below.
fn source_sql(backend: Backend, filter: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "SELECT tenant_id, date, subscription_id, resource_group, service_name, meter_category, location, \
             CASE WHEN p = 0 OR ns <= 1 OR tail = '' OR instr(tail, '/') = 1 THEN '' \
             WHEN instr(tail, '/') = 0 THEN lower(rest) \
             ELSE lower(substr(rest, 1, ns + instr(tail, '/') - 1)) END AS rtype, currency, cost, amortized_cost \
             FROM (SELECT x.*, instr(rest, '/') AS ns, substr(rest, instr(rest, '/') + 1) AS tail \
             FROM (SELECT c.tenant_id, c.date, c.subscription_id, c.resource_group, c.service_name, \
             c.meter_category, COALESCE(r.location, '') AS location, c.currency, c.cost, c.amortized_cost, \
             instr(c.resource_id, '/providers/') AS p, \
             substr(c.resource_id, instr(c.resource_id, '/providers/') + 11) AS rest \
             FROM costs_daily AS c LEFT JOIN resources AS r \
             ON r.tenant_id = c.tenant_id AND r.resource_id = c.resource_id WHERE {filter}) AS x) AS y"
        ),
        Backend::Postgres => format!(
            "SELECT c.tenant_id, c.date, c.subscription_id, c.resource_group, c.service_name, c.meter_category, \
             COALESCE(r.location, '') AS location, \
             COALESCE(lower(substring(c.resource_id FROM '/providers/([^/]+/[^/]+)')), '') AS rtype, \
             c.currency, c.cost, c.amortized_cost \
             FROM costs_daily AS c LEFT JOIN resources AS r ON {} WHERE {filter}",
            resource_join(backend)
        ),
    }
}

/// The join of a cost row `c` to its resource `r` (`$1` the tenant). On PostgreSQL the cost
/// tables compare bytes (`COLLATE "C"`) and `resources` the database's default collation; a join
/// across the two cannot use `resources`' primary key, so each cost row scanned the tenant's
/// resources (seconds per subscription on a first night, before statistics existed). The cost
/// side is cast to the key's collation, which for equality is the same comparison.
fn resource_join(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "r.tenant_id = c.tenant_id AND r.resource_id = c.resource_id",
        Backend::Postgres => "r.tenant_id = $1 AND r.resource_id = c.resource_id COLLATE \"default\"",
    }
}

/// The tenant's allocation tag key (lower-cased, trimmed) as a scalar expression of `$1`.
pub(super) fn tag_key_sql(backend: Backend) -> String {
    let setting = match backend {
        Backend::Sqlite => "json_extract(s.settings, '$.cost_center_tag')",
        Backend::Postgres => "s.settings ->> 'cost_center_tag'",
    };
    format!(
        "lower(trim(COALESCE((SELECT {setting} FROM rule_settings AS s WHERE s.tenant_id = $1), \
         '{DEFAULT_COST_CENTER_TAG}')))"
    )
}

/// The recomputation's statements, in order: four per slice, then four tenant-wide; `$1`
/// tenant, `$2` days, `$3` the subscription when `by_subscription`.
fn statements(backend: Backend, by_subscription: bool) -> [String; 8] {
    let sub = |column: &str| if by_subscription { format!(" AND {column} = $3") } else { String::new() };
    let slice = format!("tenant_id = $1 AND {}{}", in_dates(backend, "date"), sub("subscription_id"));
    let costs = format!("c.tenant_id = $1 AND {}{}", in_dates(backend, "c.date"), sub("c.subscription_id"));
    let tag_value = match backend {
        Backend::Sqlite => {
            "(SELECT trim(CAST(j.value AS TEXT)) FROM json_each(r.tags) AS j \
             WHERE lower(j.key) = k.tag_key ORDER BY j.key LIMIT 1)"
        }
        Backend::Postgres => {
            "(SELECT btrim(j.value) FROM jsonb_each_text(r.tags) AS j \
             WHERE lower(j.key) = k.tag_key ORDER BY j.key LIMIT 1)"
        }
    };
    [
        format!("DELETE FROM cost_rollup_daily WHERE {slice}"),
        format!(
            "INSERT INTO cost_rollup_daily (tenant_id, date, subscription_id, resource_group, service_name, \
             meter_category, location, resource_type, currency, cost, amortized_cost) \
             SELECT tenant_id, date, subscription_id, resource_group, service_name, meter_category, location, \
             rtype, currency, SUM(cost), SUM(amortized_cost) FROM ({}) AS src \
             GROUP BY tenant_id, date, subscription_id, resource_group, service_name, meter_category, location, \
             rtype, currency",
            source_sql(backend, &costs)
        ),
        format!("DELETE FROM cost_rollup_tag_daily WHERE {slice}"),
        format!(
            "INSERT INTO cost_rollup_tag_daily (tenant_id, date, tag_key, subscription_id, service_name, \
             tag_value, currency, cost, amortized_cost) \
             SELECT tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency, SUM(cost), \
             SUM(amortized_cost) FROM (SELECT c.tenant_id, c.date, k.tag_key, c.subscription_id, c.service_name, \
             COALESCE({tag_value}, '') AS tag_value, c.currency, c.cost, c.amortized_cost \
             FROM costs_daily AS c CROSS JOIN (SELECT {} AS tag_key) AS k \
             LEFT JOIN resources AS r ON {} \
             WHERE {costs} AND k.tag_key <> '') AS src \
             GROUP BY tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency",
            tag_key_sql(backend),
            resource_join(backend)
        ),
        format!(
            "DELETE FROM cost_rollup_tenant_daily WHERE tenant_id = $1 AND {}",
            in_dates(backend, "date")
        ),
        format!(
            "INSERT INTO cost_rollup_tenant_daily (tenant_id, date, service_name, currency, cost, amortized_cost) \
             SELECT tenant_id, date, service_name, currency, SUM(cost), SUM(amortized_cost) \
             FROM cost_rollup_daily WHERE tenant_id = $1 AND {} GROUP BY tenant_id, date, service_name, currency",
            in_dates(backend, "date")
        ),
        format!(
            "DELETE FROM cost_rollup_tag_tenant_daily WHERE tenant_id = $1 AND {}",
            in_dates(backend, "date")
        ),
        format!(
            "INSERT INTO cost_rollup_tag_tenant_daily (tenant_id, date, tag_key, service_name, tag_value, currency, \
             cost, amortized_cost) \
             SELECT tenant_id, date, tag_key, service_name, tag_value, currency, SUM(cost), SUM(amortized_cost) \
             FROM cost_rollup_tag_daily WHERE tenant_id = $1 AND {} \
             GROUP BY tenant_id, date, tag_key, service_name, tag_value, currency",
            in_dates(backend, "date")
        ),
    ]
}

/// The month-level recomputation of the months `$2` (first day of the first month) to `$3`
/// (first day after the last month), from `cost_rollup_daily`: delete, then insert; `$4` the
/// subscription when `by_subscription`.
pub(super) fn monthly_statements(backend: Backend, by_subscription: bool) -> [String; 2] {
    let sub = if by_subscription { " AND subscription_id = $4" } else { "" };
    let month = match backend {
        Backend::Sqlite => "substr(date, 1, 7) || '-01'",
        Backend::Postgres => "CAST(date_trunc('month', date) AS date)",
    };
    [
        format!("DELETE FROM cost_rollup_monthly WHERE tenant_id = $1 AND month >= $2 AND month < $3{sub}"),
        format!(
            "INSERT INTO cost_rollup_monthly (tenant_id, month, subscription_id, resource_group, service_name, \
             meter_category, location, resource_type, currency, cost, amortized_cost) \
             SELECT tenant_id, {month} AS m, subscription_id, resource_group, service_name, meter_category, \
             location, resource_type, currency, SUM(cost), SUM(amortized_cost) FROM cost_rollup_daily \
             WHERE tenant_id = $1 AND date >= $2 AND date < $3{sub} \
             GROUP BY tenant_id, m, subscription_id, resource_group, service_name, meter_category, location, \
             resource_type, currency"
        ),
    ]
}

/// The whole months `dates` fall in, as the half-open range of their first days: what the
/// month-level table recomputes (months in between that no date names are recomputed too, which
/// changes nothing).
pub(super) fn month_range(dates: &[NaiveDate]) -> Option<(NaiveDate, NaiveDate)> {
    let first = dates.iter().min()?.with_day(1)?;
    let last = dates.iter().max()?.with_day(1)?;
    Some((first, last.checked_add_months(Months::new(1))?))
}

/// Serialises the tenant-wide recomputation of one tenant until the transaction ends.
const POSTGRES_TENANT_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('cost_rollup_tenant/' || $1, 0))";

/// One recomputation: a subscription (or every subscription, `None`) and its days.
pub(super) type Slice = (Option<String>, Vec<NaiveDate>);

/// The days of all slices, once each: what the tenant-wide table recomputes.
fn all_days(slices: &[Slice]) -> Vec<NaiveDate> {
    let days: std::collections::BTreeSet<NaiveDate> =
        slices.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    days.into_iter().collect()
}

fn sqlite_days(dates: &[NaiveDate]) -> Result<String, StoreError> {
    serde_json::to_string(&dates.iter().map(|d| d.format("%F").to_string()).collect::<Vec<_>>())
        .map_err(|e| StoreError::validation("dates", e.to_string()))
}

/// Recomputes the rollups of `slices` of `tenant`, then the tenant-wide days they cover,
/// inside the caller's SQLite transaction.
pub(super) async fn refresh_sqlite(
    conn: &mut sqlx::SqliteConnection,
    tenant: &str,
    slices: &[Slice],
) -> Result<(), StoreError> {
    for (subscription, dates) in slices {
        let days = sqlite_days(dates)?;
        for sql in statements(Backend::Sqlite, subscription.is_some()).into_iter().take(4) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(&days);
            if let Some(subscription) = subscription {
                query = query.bind(subscription);
            }
            query.execute(&mut *conn).await?;
        }
        if let Some((first, end)) = month_range(dates) {
            for sql in monthly_statements(Backend::Sqlite, subscription.is_some()) {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(first).bind(end);
                if let Some(subscription) = subscription {
                    query = query.bind(subscription);
                }
                query.execute(&mut *conn).await?;
            }
        }
    }
    let days = sqlite_days(&all_days(slices))?;
    for sql in statements(Backend::Sqlite, false).into_iter().skip(4) {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(&days).execute(&mut *conn).await?;
    }
    Ok(())
}

/// As [`refresh_sqlite`] inside a PostgreSQL transaction that already holds the advisory locks
/// of the subscriptions concerned (see the module docs).
pub(super) async fn refresh_postgres(
    conn: &mut sqlx::PgConnection,
    tenant: &str,
    slices: &[Slice],
) -> Result<(), StoreError> {
    for (subscription, dates) in slices {
        for sql in statements(Backend::Postgres, subscription.is_some()).into_iter().take(4) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(dates);
            if let Some(subscription) = subscription {
                query = query.bind(subscription);
            }
            query.execute(&mut *conn).await?;
        }
        if let Some((first, end)) = month_range(dates) {
            for sql in monthly_statements(Backend::Postgres, subscription.is_some()) {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(first).bind(end);
                if let Some(subscription) = subscription {
                    query = query.bind(subscription);
                }
                query.execute(&mut *conn).await?;
            }
        }
    }
    sqlx::query(POSTGRES_TENANT_LOCK).bind(tenant).execute(&mut *conn).await?;
    let days = all_days(slices);
    for sql in statements(Backend::Postgres, false).into_iter().skip(4) {
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(&days).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The days of the month starting at `month` (its first day).
fn days_of_month(month: NaiveDate) -> Vec<NaiveDate> {
    month.iter_days().take_while(|d| d.month() == month.month() && d.year() == month.year()).collect()
}

impl Store {
    /// First days of the months that hold costs or rollups of the tenant, oldest first: what
    /// [`Store::rebuild_cost_rollups`] walks through.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cost_rollup_months(&self, scope: &TenantScope) -> Result<Vec<NaiveDate>, StoreError> {
        let sql = "SELECT MIN(d), MAX(d) FROM (SELECT MIN(date) AS d FROM costs_daily WHERE tenant_id = $1 \
                   UNION ALL SELECT MAX(date) FROM costs_daily WHERE tenant_id = $1 \
                   UNION ALL SELECT MIN(date) FROM cost_rollup_daily WHERE tenant_id = $1 \
                   UNION ALL SELECT MAX(date) FROM cost_rollup_daily WHERE tenant_id = $1) AS bounds";
        let (first, last): (Option<NaiveDate>, Option<NaiveDate>) = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(scope.tenant_id()).fetch_one(pool).await?
        });
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        let mut months = Vec::new();
        let mut month = first.with_day(1).unwrap_or(first);
        while month <= last {
            months.push(month);
            month = match month.checked_add_months(Months::new(1)) {
                Some(next) => next,
                None => break,
            };
        }
        Ok(months)
    }

    /// Recomputes the tenant's rollups of one month (`month` is any day of it) from
    /// `costs_daily`, in one transaction; idempotent.
    ///
    /// # Errors
    /// Database errors; nothing changes when one occurs.
    pub async fn rebuild_cost_rollups(
        &self,
        scope: &TenantScope,
        month: NaiveDate,
    ) -> Result<(), StoreError> {
        let dates = days_of_month(month.with_day(1).unwrap_or(month));
        let tenant = scope.tenant_id();
        match self.db() {
            super::connect::Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                refresh_sqlite(&mut tx, tenant, &[(None, dates)]).await?;
                tx.commit().await?;
            }
            super::connect::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // The locks ingestion takes for these subscriptions, in the same order.
                let subscriptions: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT subscription_id FROM costs_daily WHERE tenant_id = $1 AND date = ANY($2::date[])",
                )
                .bind(tenant)
                .bind(&dates)
                .fetch_all(&mut *tx)
                .await?;
                super::cost_load::lock_subscriptions(&mut tx, tenant, subscriptions).await?;
                refresh_postgres(&mut tx, tenant, &[(None, dates)]).await?;
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
    fn a_month_has_its_days() {
        let feb = NaiveDate::from_ymd_opt(2028, 2, 1).unwrap();
        assert_eq!(days_of_month(feb).len(), 29);
        let dec = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(days_of_month(dec).last(), NaiveDate::from_ymd_opt(2026, 12, 31).as_ref());
    }

    #[test]
    fn a_batch_recomputes_the_whole_months_it_touches() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(month_range(&[day(3, 31), day(2, 14)]), Some((day(2, 1), day(4, 1))));
        let december = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        assert_eq!(
            month_range(&[december]),
            Some((day(12, 1), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()))
        );
        assert_eq!(month_range(&[]), None);
        let [delete, insert] = monthly_statements(Backend::Postgres, true);
        assert!(delete.ends_with("AND subscription_id = $4"), "{delete}");
        assert!(insert.contains("date_trunc('month', date)"), "{insert}");
        assert!(monthly_statements(Backend::Sqlite, false).iter().all(|s| !s.contains("$4")));
    }

    #[test]
    fn statements_bind_the_subscription_only_when_asked() {
        let by_sub = statements(Backend::Postgres, true);
        assert!(by_sub[0].ends_with("AND subscription_id = $3"), "{}", by_sub[0]);
        let all = statements(Backend::Sqlite, false);
        assert!(all.iter().all(|s| !s.contains("$3")));
        assert!(all[1].contains("json_each($2)"));
    }
}
