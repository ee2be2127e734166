//! Keyset pages of `resources` in any of the list's sort orders.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;

use super::{count_bound, count_result, page_limit};
use crate::store::resources::push_filters;
use crate::store::{ResourceFilter, ResourceSort, SortDirection, Store, StoreError, TenantScope, on_pool};

/// The columns an export writes (not `properties`, which can be large and is not exported).
const SELECT: &str = "SELECT subscription_id, resource_id, name, resource_type, location, resource_group, tags, \
     last_seen FROM resources WHERE ";

/// One exported resource.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResourceExportRow {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Lower-cased ARM id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Lower-cased type.
    pub resource_type: String,
    /// Region.
    pub location: String,
    /// Resource group.
    pub resource_group: String,
    /// Tags.
    pub tags: Json<BTreeMap<String, String>>,
    /// Latest inventory that saw it (a sort key).
    pub last_seen: DateTime<Utc>,
}

/// The value of a resource's sort column.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// Name, type, location or resource group.
    Text(String),
    /// Last seen.
    Time(DateTime<Utc>),
}

/// Where the next page of a resource export starts: after this (sort value, resource id).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceCursor {
    /// The last row's sort column.
    pub sort: SortValue,
    /// The last row's id (the tie-breaker).
    pub resource_id: String,
}

impl ResourceExportRow {
    /// The cursor that continues after this row in `sort` order.
    pub fn cursor(&self, sort: ResourceSort) -> ResourceCursor {
        let text = |value: &String| SortValue::Text(value.clone());
        let sort = match sort {
            ResourceSort::Name => text(&self.name),
            ResourceSort::Type => text(&self.resource_type),
            ResourceSort::Location => text(&self.location),
            ResourceSort::ResourceGroup => text(&self.resource_group),
            ResourceSort::LastSeen => SortValue::Time(self.last_seen),
        };
        ResourceCursor { sort, resource_id: self.resource_id.clone() }
    }
}

fn column(sort: ResourceSort) -> &'static str {
    match sort {
        ResourceSort::Name => "name",
        ResourceSort::Type => "resource_type",
        ResourceSort::Location => "location",
        ResourceSort::ResourceGroup => "resource_group",
        ResourceSort::LastSeen => "last_seen",
    }
}

impl Store {
    /// Up to `limit` (1..=1000) resources matching `filter` that come after `after` in the
    /// filter's order. The id tie-breaker follows the sort direction (unlike the paged list,
    /// whose tie-breaker is always ascending), so one row-value comparison both selects the
    /// page and matches the `(tenant_id, name, resource_id)` index in either direction.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a bad `limit` or a cursor whose value does not fit the
    /// sort column; database errors.
    pub async fn export_resources_page(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        after: Option<&ResourceCursor>,
        limit: u32,
    ) -> Result<Vec<ResourceExportRow>, StoreError> {
        let limit = page_limit(limit)?;
        let backend = self.backend();
        let column = column(filter.sort);
        let (direction, beyond) = match filter.direction {
            SortDirection::Asc => ("ASC", ">"),
            SortDirection::Desc => ("DESC", "<"),
        };
        Ok(on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            push_filters(&mut qb, backend, scope, filter);
            if let Some(after) = after {
                // The column name comes from a closed enum, never from input text.
                qb.push(format_args!(" AND ({column}, resource_id) {beyond} ("));
                match (&after.sort, filter.sort) {
                    (SortValue::Time(at), ResourceSort::LastSeen) => qb.push_bind(*at),
                    (SortValue::Text(value), sort) if sort != ResourceSort::LastSeen => {
                        qb.push_bind(value.clone())
                    }
                    _ => return Err(StoreError::validation("cursor", "does not match the sort column")),
                };
                qb.push(", ").push_bind(after.resource_id.clone()).push(")");
            }
            qb.push(format_args!(" ORDER BY {column} {direction}, resource_id {direction} LIMIT "));
            qb.push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// How many resources match `filter`, counting no further than `upto`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_resources_upto(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        upto: u64,
    ) -> Result<u64, StoreError> {
        let backend = self.backend();
        let count: i64 = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM resources WHERE ");
            push_filters(&mut qb, backend, scope, filter);
            qb.push(" LIMIT ").push_bind(count_bound(upto)).push(") AS capped");
            qb.build_query_scalar().fetch_one(pool).await?
        });
        Ok(count_result(count))
    }
}
