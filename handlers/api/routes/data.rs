//! Tenant data: resources, their CSV export and ingestion status (costs are in [`super::costs`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::extract::{ApiQuery, Paging, Tenant};
use crate::api::{ApiError, csv_stream};
use crate::state::AppState;
use crate::store::{PageRequest, ResourceExportRow, ResourceFilter, ResourceSort, SortDirection};

/// Sort keys accepted by `GET /resources`.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceSortParam {
    /// Name.
    #[default]
    Name,
    /// Type.
    Type,
    /// Location.
    Location,
    /// Resource group.
    ResourceGroup,
    /// Last seen.
    LastSeen,
}

/// `asc` or `desc`.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderParam {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

impl From<OrderParam> for SortDirection {
    fn from(value: OrderParam) -> Self {
        match value {
            OrderParam::Asc => Self::Asc,
            OrderParam::Desc => Self::Desc,
        }
    }
}

/// Filters of `GET /resources` and its export.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResourceQuery {
    #[serde(rename = "type")]
    resource_type: Option<String>,
    location: Option<String>,
    resource_group: Option<String>,
    subscription_id: Option<String>,
    tag_key: Option<String>,
    tag_value: Option<String>,
    #[serde(default)]
    sort: ResourceSortParam,
    #[serde(default)]
    order: OrderParam,
    #[serde(default = "crate::api::extract::first_page")]
    #[param(minimum = 1)]
    page: u32,
    #[serde(default = "crate::api::extract::default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    page_size: u32,
}

impl ResourceQuery {
    fn filter(&self) -> Result<ResourceFilter, ApiError> {
        let tag = match (&self.tag_key, &self.tag_value) {
            (Some(key), Some(value)) => Some((key.clone(), value.clone())),
            (None, None) => None,
            (None, Some(_)) => return Err(ApiError::validation("tag_key", "is required with tag_value")),
            (Some(_), None) => return Err(ApiError::validation("tag_value", "is required with tag_key")),
        };
        Ok(ResourceFilter {
            resource_type: self.resource_type.clone(),
            location: self.location.clone(),
            resource_group: self.resource_group.clone(),
            subscription_id: self.subscription_id.clone(),
            tag,
            sort: match self.sort {
                ResourceSortParam::Name => ResourceSort::Name,
                ResourceSortParam::Type => ResourceSort::Type,
                ResourceSortParam::Location => ResourceSort::Location,
                ResourceSortParam::ResourceGroup => ResourceSort::ResourceGroup,
                ResourceSortParam::LastSeen => ResourceSort::LastSeen,
            },
            direction: self.order.into(),
        })
    }
}

/// `GET /resources`: a page of resources without their `properties` documents (read one
/// resource with `GET /resources/{id}` for those). Pages are cached like the cost summary.
#[utoipa::path(
    get,
    path = "/api/v1/resources",
    tag = "data",
    params(ResourceQuery),
    responses((status = 200, description = "Resources, without `properties`", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::ResourceSummary>), crate::api::openapi::Errors)
)]
pub async fn list_resources(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(query): ApiQuery<ResourceQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let page = Paging { page: query.page, page_size: query.page_size }.request()?;
    let key = resource_list_key(tenant.scope.tenant_id(), &filter, page);
    cached_json(&state, key, || async move {
        tenant.store.list_resource_summaries(&tenant.scope, &filter, page).await
    })
    .await
}

/// The cache key of a resource page, from the parsed query normalised as the store applies it
/// (trimmed, lower-cased columns; defaults filled in), so every spelling of one query (`page=01`,
/// reordered or default-valued parameters, case) shares one entry.
fn resource_list_key(tenant_id: &str, filter: &ResourceFilter, page: PageRequest) -> String {
    let lower = |value: &Option<String>| value.as_deref().map(|v| v.trim().to_ascii_lowercase());
    serde_json::json!([
        "resources",
        tenant_id,
        lower(&filter.resource_type),
        lower(&filter.location),
        lower(&filter.resource_group),
        lower(&filter.subscription_id),
        filter.tag,
        format!("{:?}", filter.sort),
        format!("{:?}", filter.direction),
        page.page(),
        page.page_size(),
    ])
    .to_string()
}

/// Longest resource id accepted by `GET /resources/{id}` (ARM ids stay far below it).
const MAX_RESOURCE_ID_LEN: usize = 2048;

/// `GET /resources/{id}`: one resource with its `properties` document. `id` is the ARM resource
/// id, URL-encoded as one path segment (`/` as `%2F`); it is matched case-insensitively.
#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}",
    tag = "data",
    params(("id" = String, Path, description = "The ARM resource id, URL-encoded (`/` as `%2F`)")),
    responses((status = 200, description = "The resource with its properties", body = crate::api::schemas::Resource), crate::api::openapi::Errors)
)]
pub async fn get_resource(tenant: Tenant, Path(id): Path<String>) -> Result<Response, ApiError> {
    if id.len() > MAX_RESOURCE_ID_LEN {
        return Err(ApiError::validation("id", format!("must be at most {MAX_RESOURCE_ID_LEN} characters")));
    }
    if !id.starts_with('/') {
        return Err(ApiError::validation(
            "id",
            "must be an ARM resource id (`/subscriptions/...`), URL-encoded",
        ));
    }
    Ok(Json(tenant.store.get_resource(&tenant.scope, &id).await?).into_response())
}

/// `GET /resources/export.csv`: every matching resource in the list's order (see
/// [`csv_stream`] for the row cap and the concurrency limit).
#[utoipa::path(
    get,
    path = "/api/v1/resources/export.csv",
    tag = "data",
    params(ResourceQuery),
    responses(crate::api::openapi::Errors, crate::api::openapi::ExportResponses)
)]
pub async fn export_resources(
    State(state): State<AppState>,
    tenant: Tenant,
    ApiQuery(query): ApiQuery<ResourceQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let Tenant { store, scope, .. } = tenant;
    let tenant_id = scope.tenant_id().to_owned();
    let sort = filter.sort;
    let (count_store, count_scope, count_filter) = (store.clone(), scope.clone(), filter.clone());
    csv_stream::export(
        &state,
        &tenant_id,
        csv_stream::CsvSpec {
            filename: "resources.csv",
            header: &["subscription_id", "resource_id", "name", "type", "location", "resource_group", "tags"],
            row: resource_row,
        },
        |upto| async move { count_store.count_resources_upto(&count_scope, &count_filter, upto).await },
        move |after, limit| {
            let (store, scope, filter) = (store.clone(), scope.clone(), filter.clone());
            async move { store.export_resources_page(&scope, &filter, after.as_ref(), limit).await }
        },
        move |row: &ResourceExportRow| row.cursor(sort),
    )
    .await
}

fn resource_row(r: &ResourceExportRow) -> Vec<String> {
    let tags = serde_json::to_string(&r.tags.0).unwrap_or_default();
    vec![
        r.subscription_id.clone(),
        r.resource_id.clone(),
        r.name.clone(),
        r.resource_type.clone(),
        r.location.clone(),
        r.resource_group.clone(),
        tags,
    ]
}

/// Answers from the response cache when fresh, else runs `load` (once for concurrent callers
/// of the same key) and caches its JSON.
pub(crate) async fn cached_json<T, F, Fut>(
    state: &AppState,
    key: String,
    load: F,
) -> Result<Response, ApiError>
where
    T: serde::Serialize,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::store::StoreError>>,
{
    let load = || async move {
        let value = load().await?;
        serde_json::to_vec(&value).map(Bytes::from).map_err(|e| ApiError::Internal(e.to_string()))
    };
    let body = match state.api() {
        Some(api) => api.response_cache.get_or_load(&key, load).await?,
        None => load().await?,
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /ingestion/status/{run_id}`: the run and its items from the ledger.
#[utoipa::path(
    get,
    path = "/api/v1/ingestion/status/{run_id}",
    tag = "data",
    params(("run_id" = String, Path, description = "Ingestion run id")),
    responses((status = 200, description = "The run and its items", body = crate::api::schemas::IngestionStatus), crate::api::openapi::Errors)
)]
pub async fn ingestion_status(tenant: Tenant, Path(run_id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(tenant.store.get_run(&tenant.scope, &run_id).await?).into_response())
}
