//! The dashboard's inventory: [`ResourceFilter`] plus a name search and a case-insensitive tag
//! filter, each listed resource's cost per currency and its recommendation counts, and the
//! values the filters offer.

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use super::{ResourceFilter, ResourceSummary, SUMMARY_SELECT, push_filters};
use crate::store::{Backend, Page, PageRequest, Recommendation, Store, StoreError, TenantScope, on_pool};

/// Longest accepted name search, in characters.
pub const MAX_NAME_SEARCH: usize = 200;

/// [`ResourceFilter`] and what the dashboard adds to it.
#[derive(Debug, Clone, Default)]
pub struct InventoryFilter {
    /// Type, location, group, subscription and order (its `tag` is not used: see `tag`).
    pub resources: ResourceFilter,
    /// Part of the name, matched case-insensitively.
    pub name_contains: Option<String>,
    /// A tag key (case-insensitive, as Azure treats tag names) and, optionally, its exact value.
    pub tag: Option<(String, Option<String>)>,
}

/// A resource's cost in one currency over a window.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResourceCurrencyCost {
    /// Lower-cased ARM id.
    pub resource_id: String,
    /// Billing currency.
    pub currency: String,
    /// Actual cost.
    pub cost: f64,
    /// Amortized cost.
    pub amortized_cost: f64,
}

/// How many recommendations a resource has, and how many of them are open.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourceRecommendationCount {
    /// Lower-cased ARM id.
    pub resource_id: String,
    /// Open ones.
    pub open: i64,
    /// Every status.
    pub total: i64,
}

/// Distinct values of the inventory, for the filters' choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFacets {
    /// Resource types.
    pub types: Vec<String>,
    /// Locations.
    pub locations: Vec<String>,
    /// Resource groups.
    pub resource_groups: Vec<String>,
}

/// `%text%` for `LIKE ... ESCAPE '\'`, lower-cased, with the wildcards escaped.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for ch in text.trim().to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

fn push_inventory_filters<DB>(
    qb: &mut QueryBuilder<DB>,
    backend: Backend,
    scope: &TenantScope,
    filter: &InventoryFilter,
) where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let base = ResourceFilter { tag: None, ..filter.resources.clone() };
    push_filters(qb, backend, scope, &base);
    if let Some(name) = &filter.name_contains {
        qb.push(" AND lower(name) LIKE ").push_bind(like_pattern(name)).push(" ESCAPE '\\'");
    }
    if let Some((key, value)) = &filter.tag {
        let (each, value_text) = match backend {
            Backend::Sqlite => ("json_each(resources.tags)", "CAST(t.value AS TEXT)"),
            Backend::Postgres => ("jsonb_each_text(resources.tags)", "t.value"),
        };
        qb.push(format_args!(" AND EXISTS (SELECT 1 FROM {each} AS t WHERE lower(t.key) = "))
            .push_bind(key.trim().to_ascii_lowercase());
        if let Some(value) = value {
            qb.push(format_args!(" AND {value_text} = ")).push_bind(value.clone());
        }
        qb.push(")");
    }
}

/// `IN ($n, ...)` of `ids`.
fn push_ids<DB>(qb: &mut QueryBuilder<DB>, ids: &[String])
where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push(" IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.trim().to_ascii_lowercase());
    }
    qb.push(")");
}

impl Store {
    /// One page of the inventory under `filter`, without `properties`.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a name search longer than [`MAX_NAME_SEARCH`]; database
    /// errors.
    pub async fn list_inventory(
        &self,
        scope: &TenantScope,
        filter: &InventoryFilter,
        page: PageRequest,
    ) -> Result<Page<ResourceSummary>, StoreError> {
        if filter.name_contains.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_SEARCH) {
            return Err(StoreError::validation("q", format!("must be at most {MAX_NAME_SEARCH} characters")));
        }
        let backend = self.backend();
        let (items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SUMMARY_SELECT);
            push_inventory_filters(&mut qb, backend, scope, filter);
            // The sort column comes from a closed enum, never from input text.
            qb.push(format_args!(
                " ORDER BY {} {}, resource_id LIMIT ",
                filter.resources.sort.column(),
                filter.resources.direction.sql()
            ));
            qb.push_bind(page.limit()).push(" OFFSET ").push_bind(page.offset());
            let items: Vec<ResourceSummary> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM resources WHERE ");
            push_inventory_filters(&mut count, backend, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// Cost per resource and currency of `ids` (a page of resources) dated within `[from, to]`.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when `from > to`; database errors.
    pub async fn costs_of_resources(
        &self,
        scope: &TenantScope,
        ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ResourceCurrencyCost>, StoreError> {
        if from > to {
            return Err(StoreError::validation("from", "must not be after to"));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT resource_id, currency, SUM(cost) AS cost, SUM(amortized_cost) AS amortized_cost \
                 FROM costs_daily WHERE tenant_id = ",
            );
            qb.push_bind(scope.tenant_id().to_owned())
                .push(" AND date >= ")
                .push_bind(from)
                .push(" AND date <= ")
                .push_bind(to)
                .push(" AND resource_id");
            push_ids(&mut qb, ids);
            qb.push(" GROUP BY resource_id, currency ORDER BY resource_id, currency");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// Recommendation counts of `ids` (a page of resources); resources without any are absent.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recommendation_counts(
        &self,
        scope: &TenantScope,
        ids: &[String],
    ) -> Result<Vec<ResourceRecommendationCount>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT resource_id, SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open, COUNT(*) AS total \
                 FROM recommendations WHERE tenant_id = ",
            );
            qb.push_bind(scope.tenant_id().to_owned()).push(" AND resource_id");
            push_ids(&mut qb, ids);
            qb.push(" GROUP BY resource_id");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// The recommendations of one resource, most important first, at most `limit`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recommendations_of_resource(
        &self,
        scope: &TenantScope,
        resource_id: &str,
        limit: u32,
    ) -> Result<Vec<Recommendation>, StoreError> {
        let select = crate::store::recommendations::SELECT;
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{select}tenant_id = $1 AND resource_id = $2 ORDER BY priority_score DESC, id LIMIT $3"
            )))
            .bind(scope.tenant_id())
            .bind(resource_id.trim().to_ascii_lowercase())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// The distinct types, locations and resource groups of the inventory, at most `limit` of
    /// each (alphabetical).
    ///
    /// # Errors
    /// Database errors.
    pub async fn inventory_facets(
        &self,
        scope: &TenantScope,
        limit: u32,
    ) -> Result<InventoryFacets, StoreError> {
        let mut facets = InventoryFacets::default();
        for (column, out) in [
            ("resource_type", &mut facets.types),
            ("location", &mut facets.locations),
            ("resource_group", &mut facets.resource_groups),
        ] {
            // The column comes from the fixed list above, never from input.
            let sql = format!(
                "SELECT DISTINCT {column} FROM resources WHERE tenant_id = $1 AND {column} <> '' \
                 ORDER BY {column} LIMIT $2"
            );
            *out = on_pool!(self, pool => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(scope.tenant_id())
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            });
        }
        Ok(facets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_search_escapes_like_wildcards() {
        assert_eq!(like_pattern(" Disk_1 "), "%disk\\_1%");
        assert_eq!(like_pattern("50%"), "%50\\%%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }
}
