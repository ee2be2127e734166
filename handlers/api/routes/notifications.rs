//! `/notification-channels`, `/notification-routes` and `/notification-deliveries`: where a
//! tenant's notifications go (Admin to change, audited in the same transaction), owner routing
//! rules, and the delivery log. Channel secrets are write-only: accepted here, never answered.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::ApiError;
use crate::api::auth::ROLE_ADMIN;
use crate::api::extract::{ApiJson, ApiQuery, Paging, Tenant};
use crate::api::middleware::CorrelationId;
use crate::notify::NotifyConfig;
use crate::state::AppState;
use crate::store::{
    Actor, ChannelInput, ChannelPolicy, ChannelView, DeliveryFilter, NotificationRoute, RouteInput,
};

/// The answer of `GET /notification-channels`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelList {
    /// Every channel of the tenant, by name (at most 50).
    pub items: Vec<ChannelView>,
}

/// Body of `POST /notification-channels`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelBody {
    /// Name, unique within the tenant.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// `webhook`, `teams`, `email`, `servicenow` or `jira`.
    kind: String,
    /// `https://` URL (Teams: the Workflows webhook URL); email: `mailto:address`.
    url: String,
    /// Signing secret (webhook: required, 16 to 1024 characters). Write-only.
    #[schema(write_only)]
    secret: Option<String>,
    /// Findings saving less a month are not sent.
    min_savings: Option<f64>,
    /// Event types to receive (default: all).
    events: Option<Vec<String>>,
    /// Quiet hours `[start, end)` in UTC hours; deliveries wait until they end.
    quiet_hours: Option<[i32; 2]>,
    /// Weekdays deliveries are sent (`mon`..`sun`; default every day).
    active_days: Option<Vec<String>>,
    /// Default true.
    enabled: Option<bool>,
}

/// Body of `PATCH /notification-channels/{id}`: absent fields keep their value; `null` removes
/// the secret, minimum or quiet hours.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    name: Option<String>,
    kind: Option<String>,
    url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, write_only)]
    secret: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    min_savings: Option<Option<f64>>,
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<i32>>)]
    quiet_hours: Option<Option<[i32; 2]>>,
    active_days: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn actor(tenant: &Tenant, correlation: &CorrelationId) -> Actor {
    Actor { actor: tenant.caller.actor(), correlation_id: Some(correlation.0.clone()) }
}

fn config(state: &AppState) -> NotifyConfig {
    state.notifier().map(|n| n.config().clone()).unwrap_or_default()
}

/// `GET /notification-channels` (Reader): URLs without their query, secrets never.
#[utoipa::path(
    get,
    path = "/api/v1/notification-channels",
    tag = "notifications",
    responses((status = 200, description = "Channels by name", body = ChannelList), crate::api::openapi::Errors)
)]
pub async fn list_channels(tenant: Tenant) -> Result<Response, ApiError> {
    let channels = tenant.store.list_channels(&tenant.scope).await?;
    Ok(Json(ChannelList { items: channels.iter().map(crate::store::NotificationChannel::view).collect() })
        .into_response())
}

/// `POST /notification-channels` (Admin): audited as `notification_channel.created`.
#[utoipa::path(
    post,
    path = "/api/v1/notification-channels",
    tag = "notifications",
    request_body = NewChannelBody,
    responses(
        (status = 201, description = "Created", body = ChannelView),
        (status = 409, description = "A channel of that name exists", body = crate::api::schemas::ErrorBody),
        (status = 422, description = "A field is invalid: URL not https or internal, unknown event type, webhook without a secret, no AZCOPS_NOTIFY_SECRET_KEY to seal the secret, or 50 channels", body = crate::api::schemas::ErrorBody),
        crate::api::openapi::Errors
    )
)]
pub async fn create_channel(
    State(state): State<AppState>,
    tenant: Tenant,
    correlation: CorrelationId,
    ApiJson(body): ApiJson<NewChannelBody>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let config = config(&state);
    let sealer = config.secret_box();
    let policy = ChannelPolicy { allow_loopback: config.allow_loopback, secret_box: sealer.as_ref() };
    let input = ChannelInput {
        name: Some(body.name),
        kind: Some(body.kind),
        url: Some(body.url),
        secret: body.secret.map(Some),
        min_savings: body.min_savings.map(Some),
        events: body.events,
        quiet_hours: body.quiet_hours.map(Some),
        active_days: body.active_days,
        enabled: body.enabled,
    };
    let channel =
        tenant.store.create_channel(&tenant.scope, &input, &policy, &actor(&tenant, &correlation)).await?;
    Ok((StatusCode::CREATED, Json(channel.view())).into_response())
}

/// `GET /notification-channels/{id}` (Reader).
#[utoipa::path(
    get,
    path = "/api/v1/notification-channels/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 200, description = "The channel", body = ChannelView), crate::api::openapi::Errors)
)]
pub async fn get_channel(tenant: Tenant, Path(id): Path<String>) -> Result<Response, ApiError> {
    let channel = tenant.store.get_channel(&tenant.scope, &id).await?;
    Ok(Json(channel.view()).into_response())
}

/// `PATCH /notification-channels/{id}` (Admin): audited as `notification_channel.updated`.
#[utoipa::path(
    patch,
    path = "/api/v1/notification-channels/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    request_body = ChannelPatch,
    responses((status = 200, description = "Updated", body = ChannelView), crate::api::openapi::Errors)
)]
pub async fn update_channel(
    State(state): State<AppState>,
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChannelPatch>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let config = config(&state);
    let sealer = config.secret_box();
    let policy = ChannelPolicy { allow_loopback: config.allow_loopback, secret_box: sealer.as_ref() };
    let ChannelPatch { name, kind, url, secret, min_savings, events, quiet_hours, active_days, enabled } =
        body;
    let change =
        ChannelInput { name, kind, url, secret, min_savings, events, quiet_hours, active_days, enabled };
    let channel = tenant
        .store
        .update_channel(&tenant.scope, &id, &change, &policy, &actor(&tenant, &correlation))
        .await?;
    Ok(Json(channel.view()).into_response())
}

/// `DELETE /notification-channels/{id}` (Admin): audited as `notification_channel.deleted`;
/// its routes and deliveries go with it.
#[utoipa::path(
    delete,
    path = "/api/v1/notification-channels/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 204, description = "Deleted"), crate::api::openapi::Errors)
)]
pub async fn delete_channel(
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    tenant.store.delete_channel(&tenant.scope, &id, &actor(&tenant, &correlation)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer of `GET /notification-routes`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouteList {
    /// Every routing rule of the tenant (at most 500).
    pub items: Vec<NotificationRoute>,
}

/// Body of `POST /notification-routes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRouteBody {
    /// Resource tag key, e.g. `owner` or `cost-center` (case-insensitive).
    tag_key: String,
    /// Tag value (exact).
    tag_value: String,
    /// Channel id or name.
    channel: String,
}

/// `GET /notification-routes` (Reader).
#[utoipa::path(
    get,
    path = "/api/v1/notification-routes",
    tag = "notifications",
    responses((status = 200, description = "Routing rules", body = RouteList), crate::api::openapi::Errors)
)]
pub async fn list_routes(tenant: Tenant) -> Result<Response, ApiError> {
    Ok(Json(RouteList { items: tenant.store.list_routes(&tenant.scope).await? }).into_response())
}

/// `POST /notification-routes` (Admin): findings of resources tagged `tag_key=tag_value` go
/// only to `channel`; audited as `notification_route.created`.
#[utoipa::path(
    post,
    path = "/api/v1/notification-routes",
    tag = "notifications",
    request_body = NewRouteBody,
    responses(
        (status = 201, description = "Created", body = NotificationRoute),
        (status = 409, description = "The rule exists", body = crate::api::schemas::ErrorBody),
        (status = 422, description = "Empty or long tag, unknown channel, or 500 rules", body = crate::api::schemas::ErrorBody),
        crate::api::openapi::Errors
    )
)]
pub async fn create_route(
    tenant: Tenant,
    correlation: CorrelationId,
    ApiJson(body): ApiJson<NewRouteBody>,
) -> Result<Response, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    let input = RouteInput { tag_key: body.tag_key, tag_value: body.tag_value, channel: body.channel };
    let route = tenant.store.create_route(&tenant.scope, &input, &actor(&tenant, &correlation)).await?;
    Ok((StatusCode::CREATED, Json(route)).into_response())
}

/// `DELETE /notification-routes/{id}` (Admin): audited as `notification_route.deleted`.
#[utoipa::path(
    delete,
    path = "/api/v1/notification-routes/{id}",
    tag = "notifications",
    params(("id" = String, Path, description = "Routing rule id")),
    responses((status = 204, description = "Deleted"), crate::api::openapi::Errors)
)]
pub async fn delete_route(
    tenant: Tenant,
    correlation: CorrelationId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    tenant.require(ROLE_ADMIN)?;
    tenant.store.delete_route(&tenant.scope, &id, &actor(&tenant, &correlation)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of `GET /notification-deliveries`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// `pending`, `sending`, `delivered` or `failed`.
    status: Option<String>,
    /// Channel id.
    channel: Option<String>,
    /// Event type, e.g. `recommendations.new`.
    event_type: Option<String>,
    #[serde(default = "crate::api::extract::first_page")]
    #[param(minimum = 1)]
    page: u32,
    #[serde(default = "crate::api::extract::default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    page_size: u32,
}

/// `GET /notification-deliveries` (Reader): the delivery log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/notification-deliveries",
    tag = "notifications",
    params(DeliveryQuery),
    responses((status = 200, description = "Deliveries, newest first", body = crate::api::schemas::PaginatedResponse<crate::store::DeliveryView>), crate::api::openapi::Errors)
)]
pub async fn list_deliveries(
    tenant: Tenant,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Response, ApiError> {
    let filter =
        DeliveryFilter { status: query.status, channel_id: query.channel, event_type: query.event_type };
    let page = Paging { page: query.page, page_size: query.page_size }.request()?;
    Ok(Json(tenant.store.list_deliveries(&tenant.scope, &filter, page).await?).into_response())
}
