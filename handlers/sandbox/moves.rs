//! Subscriptions moved between directories while the sandbox runs (`PUT
//! /_sandbox/subscriptions/{id}/tenant`), as Azure lets an owner transfer a subscription to
//! another Entra tenant. ARM then reports the new `tenantId`, which is what AzCops checks before
//! reading a subscription for a tenant.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::server::{Shared, arm_error, json_response};

/// `PUT /_sandbox/subscriptions/{id}/tenant` with `{"tenant_id": "<guid of an estate tenant>"}`.
pub async fn move_subscription(State(state): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(sub) = state.estate.subscription(&id) else {
        return arm_error(StatusCode::NOT_FOUND, "SubscriptionNotFound", &format!("No subscription '{id}'."));
    };
    let target = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("tenant_id").and_then(Value::as_str).map(str::to_ascii_lowercase));
    let Some(target) = target.filter(|t| state.estate.tenants.iter().any(|x| x.id.eq_ignore_ascii_case(t)))
    else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidMove",
            "tenant_id must name a tenant of the estate",
        );
    };
    let subscription_id = state.estate.subscriptions[sub].id.clone();
    state.control().moved.insert(subscription_id.clone(), target.clone());
    json_response(StatusCode::OK, &json!({"subscription_id": subscription_id, "tenant_id": target}))
}

/// Rewrites a rendered subscription's `tenantId` when it has been moved.
pub fn apply(state: &Shared, mut subscription: Value) -> Value {
    let id = subscription.get("subscriptionId").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    if let Some(tenant) = state.control().moved.get(&id) {
        subscription["tenantId"] = Value::String(tenant.clone());
    }
    subscription
}
