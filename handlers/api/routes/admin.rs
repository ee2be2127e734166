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
use crate::api::middleware::CorrelationId;
use crate::azure::connectors::subscriptions::{OwnershipError, verify_owner};
use crate::state::AppState;
use crate::store::{
    Actor, NewAuditEntry, NewSubscription, NewTenant, PLATFORM_AUDIT_TENANT, Store, SubscriptionUpdate,
    TenantScope, TenantType, TenantUpdate, now,
};

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

/// The actor of a change made through the API.
fn actor(caller: &crate::api::Caller, correlation: &CorrelationId) -> Actor {
    Actor { actor: caller.actor(), correlation_id: Some(correlation.0.clone()) }
}

/// Records a platform admin's read of tenant data as `X-AzCops-Tenant` requests are recorded:
/// in the tenant's own log, or the platform's when the read spans tenants.
async fn audit_platform_read(
    store: &Store,
    caller: &crate::api::Caller,
    correlation: &CorrelationId,
    tenant_id: &str,
    path: String,
) -> Result<(), ApiError> {
    let entry = NewAuditEntry {
        actor: caller.actor(),
        action: "platform_admin.request".into(),
        target_type: "request".into(),
        target_id: path,
        metadata: json!({
            "method": "GET",
            "caller_tenant": caller.azure_tenant_id,
            "correlation_id": correlation.0,
        }),
        occurred_at: now(),
    };
    store.append_audit(&TenantScope::from_verified_token(tenant_id), &entry).await?;
    Ok(())
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
    correlation: CorrelationId,
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
    let tenant =
        store_of(&state)?.platform_admin().create_tenant(&new, &actor(&caller, &correlation)).await?;
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
    correlation: CorrelationId,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    let store = store_of(&state)?;
    let request = paging.request()?;
    audit_platform_read(&store, &caller, &correlation, PLATFORM_AUDIT_TENANT, "/api/v1/tenants".into())
        .await?;
    let page = store.platform_admin().list_tenants(request).await?;
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
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    let store = store_of(&state)?;
    let tenant = store.platform_admin().get_tenant(&id).await?;
    audit_platform_read(&store, &caller, &correlation, &tenant.id, format!("/api/v1/tenants/{}", tenant.id))
        .await?;
    Ok(Json(tenant).into_response())
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
    correlation: CorrelationId,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TenantPatch>,
) -> Result<Response, ApiError> {
    platform_admin(&caller)?;
    if body.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::validation("name", "must not be empty"));
    }
    let update =
        TenantUpdate { name: body.name, tenant_type: body.tenant_type.map(Into::into), active: body.active };
    let by = actor(&caller, &correlation);
    Ok(Json(store_of(&state)?.platform_admin().update_tenant(&id, &update, &by).await?).into_response())
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
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    platform_admin(&caller)?;
    store_of(&state)?.platform_admin().delete_tenant(&id, &actor(&caller, &correlation)).await?;
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

/// `POST /subscriptions` (Admin): registered only once Azure Resource Manager confirms, as the
/// platform identity, that the subscription belongs to the tenant's Azure directory.
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions",
    tag = "subscriptions",
    request_body = SubscriptionBody,
    responses(
        (status = 201, description = "Created", body = crate::api::schemas::Subscription),
        (status = 422, description = "Invalid body, or `subscription_not_in_tenant`: ARM does not show the subscription in the tenant's Azure directory (unknown, unreadable and foreign subscriptions answer alike)", body = crate::api::schemas::ErrorBody),
        (status = 503, description = "Azure Resource Manager could not be asked; nothing was registered", body = crate::api::schemas::ErrorBody),
        crate::api::openapi::Errors
    )
)]
pub async fn create_subscription(
    State(state): State<AppState>,
    tenant: Tenant,
    correlation: CorrelationId,
    ApiJson(body): ApiJson<SubscriptionBody>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    if body.display_name.trim().is_empty() {
        return Err(ApiError::validation("display_name", "must not be empty"));
    }
    let subscription_id = uuid::Uuid::parse_str(body.subscription_id.trim())
        .map_err(|_| ApiError::validation("subscription_id", "must be a GUID"))?
        .hyphenated()
        .to_string();
    verify_ownership(&state, &tenant, &subscription_id).await?;
    let new = NewSubscription {
        subscription_id,
        display_name: body.display_name.trim().to_owned(),
        billing_scope: body.billing_scope,
    };
    let created =
        tenant.store.add_subscription(&tenant.scope, &new, &actor(&tenant.caller, &correlation)).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Asks ARM whether `subscription_id` belongs to the tenant's Azure directory.
async fn verify_ownership(state: &AppState, tenant: &Tenant, subscription_id: &str) -> Result<(), ApiError> {
    if let Some(api) = state.api() {
        let charge =
            crate::api::limit::Charge { tenant: Some(tenant.scope.tenant_id()), caller: "registrations" };
        api.registrations.check(charge).map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    }
    let arm = state.azure().map_err(|why| {
        tracing::warn!(reason = why, "subscription registration refused: no Azure client");
        ApiError::Unavailable {
            message: "subscriptions cannot be verified: this instance has no Azure identity configured"
                .into(),
            retry_after: 60,
        }
    })?;
    let owner = tenant.store.platform_admin().get_tenant(tenant.scope.tenant_id()).await?;
    match verify_owner(arm, &owner.azure_tenant_id, subscription_id).await {
        Ok(_) => Ok(()),
        Err(OwnershipError::NotOwned { .. }) => {
            tracing::warn!(
                subscription_id,
                "subscription registration refused: not in the tenant's directory"
            );
            Err(ApiError::SubscriptionNotInTenant(subscription_id.to_owned()))
        }
        Err(OwnershipError::Unavailable(cause)) => {
            tracing::warn!(cause = %cause, "subscription registration refused: ARM unavailable");
            Err(ApiError::Unavailable {
                message: "Azure Resource Manager could not confirm the subscription's tenant; nothing was registered"
                    .into(),
                retry_after: 30,
            })
        }
    }
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
    correlation: CorrelationId,
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
    let by = actor(&tenant.caller, &correlation);
    Ok(Json(tenant.store.update_subscription(&tenant.scope, &id, &update, &by).await?).into_response())
}

/// `DELETE /subscriptions/{id}` (Admin).
#[utoipa::path(
    delete,
    path = "/api/v1/subscriptions/{id}",
    tag = "subscriptions",
    params(("id" = String, Path, description = "Subscription GUID")),
    responses((status = 204, description = "Deleted"), crate::api::openapi::Errors)
)]
pub async fn delete_subscription(
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    tenant.store.delete_subscription(&tenant.scope, &id, &actor(&tenant.caller, &correlation)).await?;
    Ok(StatusCode::NO_CONTENT)
}
