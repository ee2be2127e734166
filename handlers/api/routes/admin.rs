//! `/me`, tenants (platform admin) and subscriptions (tenant-scoped; Admin to change).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::api::ApiError;
use crate::api::auth::ROLE_ADMIN;
use crate::api::extract::{ApiJson, ApiQuery, Authed, Paging, Tenant, store_of};
use crate::state::AppState;
use crate::store::{NewSubscription, NewTenant, SubscriptionUpdate, TenantType, TenantUpdate};

/// `GET /me`: the caller's tenant, roles and display name.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "identity",
    responses((status = 200, description = "The caller", body = crate::api::schemas::Me), crate::api::openapi::Errors)
)]
pub async fn me(Authed(caller): Authed) -> Json<serde_json::Value> {
    Json(json!({
        "azure_tenant_id": caller.azure_tenant_id,
        "tenant_id": caller.tenant_id,
        "roles": caller.roles,
        "display_name": caller.display_name,
        "object_id": caller.object_id,
        "platform_admin": caller.platform_admin,
    }))
}

fn platform_admin(caller: &crate::api::Caller) -> Result<(), ApiError> {
    if caller.platform_admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the AzCops.PlatformAdmin role is required".into()))
    }
}

/// Body of `POST /tenants`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantBody {
    #[schema(min_length = 1, pattern = "\\S")]
    name: String,
    #[schema(format = "uuid")]
    azure_tenant_id: String,
    #[serde(default = "external")]
    tenant_type: TenantTypeBody,
}

/// Tenant type as sent by clients.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantTypeBody {
    /// The operator.
    Internal,
    /// A customer.
    External,
}

fn external() -> TenantTypeBody {
    TenantTypeBody::External
}

impl From<TenantTypeBody> for TenantType {
    fn from(value: TenantTypeBody) -> Self {
        match value {
            TenantTypeBody::Internal => Self::Internal,
            TenantTypeBody::External => Self::External,
        }
    }
}

/// `POST /tenants` (platform admin).
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "tenants",
    request_body = TenantBody,
    responses((status = 201, description = "Created", body = crate::api::schemas::Tenant), crate::api::openapi::Errors)
)]
pub async fn create_tenant(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    if body.name.trim().is_empty() {
        return Err(ApiError::validation("name", "must not be empty"));
    }
    let azure_tenant_id = uuid::Uuid::parse_str(body.azure_tenant_id.trim())
        .map_err(|_| ApiError::validation("azure_tenant_id", "must be a GUID"))?
        .hyphenated()
        .to_string();
    let new = NewTenant {
        name: body.name.trim().to_owned(),
        azure_tenant_id,
        tenant_type: body.tenant_type.into(),
    };
    let tenant = store_of(&state)?.platform_admin().create_tenant(&new).await?;
    Ok((StatusCode::CREATED, Json(tenant)).into_response())
}

/// `GET /tenants` (platform admin).
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "tenants",
    params(crate::api::extract::Paging),
    responses((status = 200, description = "Tenants", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::Tenant>), crate::api::openapi::Errors)
)]
pub async fn list_tenants(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    let page = store_of(&state)?.platform_admin().list_tenants(paging.request()?).await?;
    Ok(Json(page).into_response())
}

/// `GET /tenants/{id}` (platform admin).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "Object id")),
    responses((status = 200, description = "The tenant", body = crate::api::schemas::Tenant), crate::api::openapi::Errors)
)]
pub async fn get_tenant(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    Ok(Json(store_of(&state)?.platform_admin().get_tenant(&id).await?).into_response())
}

/// Body of `PATCH /tenants/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    #[schema(min_length = 1, pattern = "\\S")]
    name: Option<String>,
    tenant_type: Option<TenantTypeBody>,
    active: Option<bool>,
}

/// `PATCH /tenants/{id}` (platform admin).
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "Object id")),
    request_body = TenantPatch,
    responses((status = 200, description = "Updated", body = crate::api::schemas::Tenant), crate::api::openapi::Errors)
)]
pub async fn update_tenant(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantPatch>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    if body.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::validation("name", "must not be empty"));
    }
    let update =
        TenantUpdate { name: body.name, tenant_type: body.tenant_type.map(Into::into), active: body.active };
    Ok(Json(store_of(&state)?.platform_admin().update_tenant(&id, &update).await?).into_response())
}

/// `DELETE /tenants/{id}` (platform admin).
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "Object id")),
    responses((status = 204, description = "Deleted"), crate::api::openapi::Errors)
)]
pub async fn delete_tenant(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    platform_admin(&caller)?;
    store_of(&state)?.platform_admin().delete_tenant(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /subscriptions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionBody {
    #[schema(format = "uuid")]
    subscription_id: String,
    #[schema(min_length = 1, pattern = "\\S")]
    display_name: String,
    billing_scope: Option<String>,
}

/// `POST /subscriptions` (Admin).
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions",
    tag = "subscriptions",
    request_body = SubscriptionBody,
    responses((status = 201, description = "Created", body = crate::api::schemas::Subscription), crate::api::openapi::Errors)
)]
pub async fn create_subscription(
    tenant: Tenant,
    ApiJson(body): ApiJson<SubscriptionBody>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    if body.display_name.trim().is_empty() {
        return Err(ApiError::validation("display_name", "must not be empty"));
    }
    let new = NewSubscription {
        subscription_id: body.subscription_id,
        display_name: body.display_name.trim().to_owned(),
        billing_scope: body.billing_scope,
    };
    let created = tenant.store.add_subscription(&tenant.scope, &new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `GET /subscriptions`.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions",
    tag = "subscriptions",
    params(crate::api::extract::Paging),
    responses((status = 200, description = "Subscriptions", body = crate::api::schemas::PaginatedResponse<crate::api::schemas::Subscription>), crate::api::openapi::Errors)
)]
pub async fn list_subscriptions(
    tenant: Tenant,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Response, ApiError> {
    Ok(Json(tenant.store.list_subscriptions(&tenant.scope, paging.request()?).await?).into_response())
}

/// `GET /subscriptions/{id}` (the subscription GUID).
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    params(("id" = String, Path, description = "Subscription GUID")),
    responses((status = 200, description = "The subscription", body = crate::api::schemas::Subscription), crate::api::openapi::Errors)
)]
pub async fn get_subscription(tenant: Tenant, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(tenant.store.get_subscription(&tenant.scope, &id).await?).into_response())
}

/// Body of `PATCH /subscriptions/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    #[schema(min_length = 1, pattern = "\\S")]
    display_name: Option<String>,
    billing_scope: Option<String>,
    active: Option<bool>,
}

/// `PATCH /subscriptions/{id}` (Admin).
#[utoipa::path(
    patch,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    params(("id" = String, Path, description = "Subscription GUID")),
    request_body = SubscriptionPatch,
    responses((status = 200, description = "Updated", body = crate::api::schemas::Subscription), crate::api::openapi::Errors)
)]
pub async fn update_subscription(
    tenant: Tenant,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SubscriptionPatch>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    if body.display_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::validation("display_name", "must not be empty"));
    }
    let update = SubscriptionUpdate {
        display_name: body.display_name,
        billing_scope: body.billing_scope,
        active: body.active,
    };
    Ok(Json(tenant.store.update_subscription(&tenant.scope, &id, &update).await?).into_response())
}

/// `DELETE /subscriptions/{id}` (Admin).
#[utoipa::path(
    delete,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    params(("id" = String, Path, description = "Subscription GUID")),
    responses((status = 204, description = "Deleted"), crate::api::openapi::Errors)
)]
pub async fn delete_subscription(tenant: Tenant, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    tenant.store.delete_subscription(&tenant.scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
