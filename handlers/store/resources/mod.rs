//! `resources` (current inventory) and `resource_history` (one snapshot per resource per day,
//! kept 30 days).
//!
//! Re-applying an inventory moves only `last_seen`: descriptive columns are compared and
//! `updated_at` changes only when one of them did.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Backend, Page, PageRequest, Store, StoreError, TenantScope, on_pool};

mod inventory;
mod upsert;

pub use inventory::{
    InventoryFacets, InventoryFilter, MAX_NAME_SEARCH, ResourceCurrencyCost, ResourceRecommendationCount,
};

/// The columns of [`ResourceSummary`]; [`ResourceRecord`] adds `properties`.
macro_rules! summary_columns {
    () => {
        "subscription_id, resource_id, name, resource_type, kind, location, resource_group, sku, tags, \
         managed_by, first_seen, last_seen, created_at, updated_at"
    };
}

const SELECT: &str = concat!("SELECT ", summary_columns!(), ", properties FROM resources WHERE ");

/// A stored resource.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = Resource)]
pub struct ResourceRecord {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Lower-cased ARM id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Lower-cased type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Kind.
    pub kind: Option<String>,
    /// Region.
    pub location: String,
    /// Resource group.
    pub resource_group: String,
    /// SKU object.
    #[schema(value_type = Option<serde_json::Value>)]
    pub sku: Option<Json<serde_json::Value>>,
    /// Tags.
    #[schema(value_type = BTreeMap<String, String>)]
    pub tags: Json<BTreeMap<String, String>>,
    /// Properties object.
    #[schema(value_type = serde_json::Value)]
    pub properties: Json<serde_json::Value>,
    /// `managedBy`.
    pub managed_by: Option<String>,
    /// First inventory that saw it.
    pub first_seen: DateTime<Utc>,
    /// Latest inventory that saw it.
    pub last_seen: DateTime<Utc>,
    /// Row creation.
    pub created_at: DateTime<Utc>,
    /// Last change of a descriptive column.
    pub updated_at: DateTime<Utc>,
}

/// The columns of a resource list: everything but the `properties` document, which can be
/// tens of kilobytes per resource and is served only by [`Store::get_resource`].
const SUMMARY_SELECT: &str = concat!("SELECT ", summary_columns!(), " FROM resources WHERE ");

/// A resource as lists show it: [`ResourceRecord`] without `properties`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ResourceSummary {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Lower-cased ARM id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Lower-cased type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Kind.
    pub kind: Option<String>,
    /// Region.
    pub location: String,
    /// Resource group.
    pub resource_group: String,
    /// SKU object.
    #[schema(value_type = Option<serde_json::Value>)]
    pub sku: Option<Json<serde_json::Value>>,
    /// Tags.
    #[schema(value_type = BTreeMap<String, String>)]
    pub tags: Json<BTreeMap<String, String>>,
    /// `managedBy`.
    pub managed_by: Option<String>,
    /// First inventory that saw it.
    pub first_seen: DateTime<Utc>,
    /// Latest inventory that saw it.
    pub last_seen: DateTime<Utc>,
    /// Row creation.
    pub created_at: DateTime<Utc>,
    /// Last change of a descriptive column.
    pub updated_at: DateTime<Utc>,
}

/// Sort keys for [`Store::list_resources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourceSort {
    /// By name (default).
    #[default]
    Name,
    /// By type.
    Type,
    /// By location.
    Location,
    /// By resource group.
    ResourceGroup,
    /// By the last inventory that saw it.
    LastSeen,
}

impl ResourceSort {
    fn column(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Type => "resource_type",
            Self::Location => "location",
            Self::ResourceGroup => "resource_group",
            Self::LastSeen => "last_seen",
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    /// Smallest first (default).
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl SortDirection {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Self::Asc => "ASC",
            Self::Desc => "DESC",
        }
    }
}

/// Filters and order for [`Store::list_resources`].
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Resource type (matched lower-cased).
    pub resource_type: Option<String>,
    /// Location (matched lower-cased).
    pub location: Option<String>,
    /// Resource group (matched lower-cased).
    pub resource_group: Option<String>,
    /// Subscription GUID.
    pub subscription_id: Option<String>,
    /// A tag that must be present with exactly this value (key matched exactly).
    pub tag: Option<(String, String)>,
    /// Sort key.
    pub sort: ResourceSort,
    /// Sort direction.
    pub direction: SortDirection,
}

pub(super) fn push_filters<DB>(
    qb: &mut QueryBuilder<DB>,
    backend: Backend,
    scope: &TenantScope,
    filter: &ResourceFilter,
) where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
{
    let lower = |value: &String| value.trim().to_ascii_lowercase();
    qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
    if let Some(value) = &filter.resource_type {
        qb.push(" AND resource_type = ").push_bind(lower(value));
    }
    if let Some(value) = &filter.location {
        qb.push(" AND location = ").push_bind(lower(value));
    }
    if let Some(value) = &filter.resource_group {
        qb.push(" AND resource_group = ").push_bind(lower(value));
    }
    if let Some(value) = &filter.subscription_id {
        qb.push(" AND subscription_id = ").push_bind(lower(value));
    }
    if let Some((key, value)) = &filter.tag {
        match backend {
            Backend::Sqlite => {
                qb.push(" AND EXISTS (SELECT 1 FROM json_each(resources.tags) AS t WHERE t.key = ")
                    .push_bind(key.clone())
                    .push(" AND t.value = ")
                    .push_bind(value.clone())
                    .push(")");
            }
            Backend::Postgres => {
                qb.push(" AND (tags ->> ").push_bind(key.clone()).push(") = ").push_bind(value.clone());
            }
        }
    }
}

impl Store {
    /// Lists resources with filters and sort.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_resources(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: PageRequest,
    ) -> Result<Page<ResourceRecord>, StoreError> {
        self.resource_page(SELECT, scope, filter, page).await
    }

    /// Lists resources with filters and sort, without their `properties` documents.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_resource_summaries(
        &self,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: PageRequest,
    ) -> Result<Page<ResourceSummary>, StoreError> {
        self.resource_page(SUMMARY_SELECT, scope, filter, page).await
    }

    /// One page of `select` (a column list ending in `WHERE `) under the filters and sort.
    async fn resource_page<T>(
        &self,
        select: &'static str,
        scope: &TenantScope,
        filter: &ResourceFilter,
        page: PageRequest,
    ) -> Result<Page<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let backend = self.backend();
        let (items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(select);
            push_filters(&mut qb, backend, scope, filter);
            // The sort column comes from a closed enum, never from input text.
            qb.push(format_args!(
                " ORDER BY {} {}, resource_id LIMIT ",
                filter.sort.column(),
                filter.direction.sql()
            ));
            qb.push_bind(page.limit()).push(" OFFSET ").push_bind(page.offset());
            let items: Vec<T> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM resources WHERE ");
            push_filters(&mut count, backend, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// Reads one resource by (lower-cased) id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_resource(
        &self,
        scope: &TenantScope,
        resource_id: &str,
    ) -> Result<ResourceRecord, StoreError> {
        let id = resource_id.trim().to_ascii_lowercase();
        on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT}tenant_id = $1 AND resource_id = $2")))
                .bind(scope.tenant_id())
                .bind(&id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// The days on which a resource was observed (within history retention), oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn resource_history_dates(
        &self,
        scope: &TenantScope,
        resource_id: &str,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let id = resource_id.trim().to_ascii_lowercase();
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT snapshot_date FROM resource_history WHERE tenant_id = $1 AND resource_id = $2 \
                 ORDER BY snapshot_date",
            )
            .bind(scope.tenant_id())
            .bind(&id)
            .fetch_all(pool)
            .await?
        }))
    }
}
