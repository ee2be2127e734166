//! Cost-center (allocation) tag coverage for the dashboard's Governance view: per subscription,
//! the share of resources and of cost that carry the tenant's tag; the untagged resources with
//! their cost; and the coverage over time.
//!
//! A resource carries the tag when it has the key (matched case-insensitively, as Azure treats
//! tag names) with a non-blank value — the `governance.missing_cost_center_tag` rule's test.
//! Resource coverage over time comes from `tag_coverage_daily`, one row per subscription per
//! ingestion day written with the inventory (migration 0013); cost coverage comes from the tag
//! rollups, whose tag values are those of the day the cost was loaded.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;

use super::{Backend, Page, PageRequest, Store, StoreError, TenantScope, on_pool};

pub(in crate::store) mod record;

pub(crate) use record::record_tag_coverage;

/// A subscription's resources and how many carry the tag.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourceCoverage {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resources in the inventory.
    pub resources: i64,
    /// Resources carrying the tag with a value.
    pub tagged: i64,
}

/// A subscription's cost in one currency and the part of it on tagged resources.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CostCoverage {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Billing currency.
    pub currency: String,
    /// Actual cost over the window.
    pub cost: f64,
    /// The part of `cost` whose resource carried the tag.
    pub tagged_cost: f64,
}

/// A resource without the tag and its cost in one currency over the window.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UntaggedResource {
    /// Lower-cased ARM id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Lower-cased type.
    pub resource_type: String,
    /// Currency of `cost`; `None` without cost rows in the window.
    pub currency: Option<String>,
    /// Actual cost over the window.
    pub cost: Option<f64>,
}

/// A page row of [`Store::untagged_resources`] with the count of every row.
#[derive(sqlx::FromRow)]
struct CountedUntagged {
    #[sqlx(flatten)]
    resource: UntaggedResource,
    total_rows: i64,
}

/// The tenant's resource coverage on one day (all subscriptions with an inventory that day).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CoverageDay {
    /// The day.
    pub date: NaiveDate,
    /// Resources inventoried.
    pub resources: i64,
    /// Of which carried the tag.
    pub tagged: i64,
}

/// The tenant's cost in one currency on one day and the part of it on tagged resources.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CostCoverageDay {
    /// The day.
    pub date: NaiveDate,
    /// Billing currency.
    pub currency: String,
    /// Actual cost.
    pub cost: f64,
    /// The part of `cost` whose resource carried the tag.
    pub tagged_cost: f64,
}

/// SQL: `{alias}.tags` carry the key bound next (lower-cased) with a non-blank value.
fn push_tagged<DB: sqlx::Database>(qb: &mut QueryBuilder<DB>, backend: Backend, alias: &str, key: &str)
where
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    // The alias is one of this module's literals, never input.
    match backend {
        Backend::Sqlite => qb.push(format_args!(
            "EXISTS (SELECT 1 FROM json_each({alias}.tags) AS j WHERE trim(CAST(j.value AS TEXT)) <> '' AND lower(j.key) = "
        )),
        Backend::Postgres => qb.push(format_args!(
            "EXISTS (SELECT 1 FROM jsonb_each_text({alias}.tags) AS j WHERE btrim(j.value) <> '' AND lower(j.key) = "
        )),
    };
    qb.push_bind(key.to_owned()).push(")");
}

/// `FROM` and `WHERE` of the untagged resources with their cost per currency within the window.
fn push_untagged_from<DB: sqlx::Database>(
    qb: &mut QueryBuilder<DB>,
    backend: Backend,
    tenant: &str,
    (from, to): (NaiveDate, NaiveDate),
    subscription: Option<&str>,
    key: &str,
) where
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    NaiveDate: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push(
        " FROM resources AS r LEFT JOIN (SELECT resource_id, currency, SUM(cost) AS cost FROM costs_daily \
         WHERE tenant_id = ",
    )
    .push_bind(tenant.to_owned())
    .push(" AND date >= ")
    .push_bind(from)
    .push(" AND date <= ")
    .push_bind(to)
    .push(" AND resource_id IN (SELECT u.resource_id FROM resources AS u WHERE u.tenant_id = ")
    .push_bind(tenant.to_owned());
    // Only the untagged resources' rows are summed: the group-by over every cost row of the
    // window was most of this query's time.
    push_untagged(qb, backend, "u", subscription, key);
    qb.push(") GROUP BY resource_id, currency) AS c ON c.resource_id = r.resource_id WHERE r.tenant_id = ")
        .push_bind(tenant.to_owned());
    push_untagged(qb, backend, "r", subscription, key);
}

/// ` AND` the resource `alias` is in `subscription` (when given) and does not carry `key`.
fn push_untagged<DB: sqlx::Database>(
    qb: &mut QueryBuilder<DB>,
    backend: Backend,
    alias: &str,
    subscription: Option<&str>,
    key: &str,
) where
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    if let Some(s) = subscription {
        qb.push(format_args!(" AND {alias}.subscription_id = ")).push_bind(s.to_owned());
    }
    qb.push(" AND NOT ");
    push_tagged(qb, backend, alias, key);
}

impl Store {
    /// Resources per subscription of the current inventory and how many carry `key`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn resource_tag_coverage(
        &self,
        scope: &TenantScope,
        key: &str,
    ) -> Result<Vec<ResourceCoverage>, StoreError> {
        let backend = self.backend();
        Ok(on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT r.subscription_id, COUNT(*) AS resources, SUM(CASE WHEN ",
            );
            push_tagged(&mut qb, backend, "r", key);
            qb.push(" THEN 1 ELSE 0 END) AS tagged FROM resources AS r WHERE r.tenant_id = ")
                .push_bind(scope.tenant_id().to_owned())
                .push(" GROUP BY r.subscription_id ORDER BY r.subscription_id");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// Cost per subscription and currency within `[from, to]` and the part on resources that
    /// carried `key`, from the tag rollups.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cost_tag_coverage(
        &self,
        scope: &TenantScope,
        key: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CostCoverage>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT subscription_id, currency, SUM(cost) AS cost, \
                 SUM(CASE WHEN tag_value <> '' THEN cost ELSE 0.0 END) AS tagged_cost \
                 FROM cost_rollup_tag_daily WHERE tenant_id = $1 AND tag_key = $2 AND date >= $3 AND date <= $4 \
                 GROUP BY subscription_id, currency ORDER BY subscription_id, currency",
            )
            .bind(scope.tenant_id())
            .bind(key)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The resources without `key`, most costly first (cost within `[from, to]`, one row per
    /// currency billed; resources without cost last, by name).
    ///
    /// # Errors
    /// Database errors.
    pub async fn untagged_resources(
        &self,
        scope: &TenantScope,
        key: &str,
        (from, to): (NaiveDate, NaiveDate),
        subscription_id: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<UntaggedResource>, StoreError> {
        let backend = self.backend();
        let tenant = scope.tenant_id().to_owned();
        let subscription = subscription_id.map(|s| s.trim().to_ascii_lowercase());
        let (items, total) = on_pool!(self, pool => {
            // The total comes with the page (a window count); only a page past the end counts apart.
            let mut qb = QueryBuilder::new(
                "SELECT r.resource_id, r.name, r.subscription_id, r.resource_group, r.resource_type, c.currency, \
                 c.cost, COUNT(*) OVER () AS total_rows",
            );
            push_untagged_from(&mut qb, backend, &tenant, (from, to), subscription.as_deref(), key);
            qb.push(" ORDER BY COALESCE(c.cost, -1) DESC, r.name, r.resource_id LIMIT ")
                .push_bind(page.limit())
                .push(" OFFSET ")
                .push_bind(page.offset());
            let rows: Vec<CountedUntagged> = qb.build_query_as().fetch_all(pool).await?;
            let total = match rows.first() {
                Some(row) => row.total_rows,
                None if page.page() > 1 => {
                    let mut count = QueryBuilder::new("SELECT COUNT(*)");
                    push_untagged_from(&mut count, backend, &tenant, (from, to), subscription.as_deref(), key);
                    count.build_query_scalar().fetch_one(pool).await?
                }
                None => 0,
            };
            (rows.into_iter().map(|row| row.resource).collect::<Vec<_>>(), total)
        });
        Ok(page.into_page(items, total))
    }

    /// The tenant's resource coverage per ingestion day within `[from, to]`, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn resource_coverage_trend(
        &self,
        scope: &TenantScope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CoverageDay>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT date, CAST(SUM(resources) AS BIGINT) AS resources, \
                 CAST(SUM(tagged_resources) AS BIGINT) AS tagged FROM tag_coverage_daily \
                 WHERE tenant_id = $1 AND date >= $2 AND date <= $3 GROUP BY date ORDER BY date",
            )
            .bind(scope.tenant_id())
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The tenant's cost per day and currency within `[from, to]` and the part on resources
    /// that carried `key`, from the tenant-wide tag rollup, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cost_coverage_trend(
        &self,
        scope: &TenantScope,
        key: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CostCoverageDay>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT date, currency, SUM(cost) AS cost, \
                 SUM(CASE WHEN tag_value <> '' THEN cost ELSE 0.0 END) AS tagged_cost \
                 FROM cost_rollup_tag_tenant_daily WHERE tenant_id = $1 AND tag_key = $2 AND date >= $3 \
                 AND date <= $4 GROUP BY date, currency ORDER BY date, currency",
            )
            .bind(scope.tenant_id())
            .bind(key)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The recorded coverage rows of one subscription (oldest first): what ingestion wrote.
    ///
    /// # Errors
    /// Database errors.
    pub async fn tag_coverage_history(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
    ) -> Result<Vec<(NaiveDate, String, i64, i64, DateTime<Utc>)>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT date, tag_key, resources, tagged_resources, recorded_at FROM tag_coverage_daily \
                 WHERE tenant_id = $1 AND subscription_id = $2 ORDER BY date",
            )
            .bind(scope.tenant_id())
            .bind(subscription_id.trim().to_ascii_lowercase())
            .fetch_all(pool)
            .await?
        }))
    }
}
