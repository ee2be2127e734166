//! The `/api/v1` routes, grouped by area.

pub(crate) mod admin;
pub(crate) mod analytics;
pub(crate) mod budgets;
pub(crate) mod costs;
pub(crate) mod data;
pub(crate) mod explore;
pub(crate) mod freshness;
pub(crate) mod ingestion;
pub(crate) mod notifications;
pub(crate) mod recommendations;
pub(crate) mod remediation;
pub(crate) mod savings;
pub(crate) mod settings;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Every `/v1` route; each handler authenticates through its extractors.
pub fn v1() -> Router<AppState> {
    Router::new()
        .route("/me", get(admin::me))
        .route("/tenants", post(admin::create_tenant).get(admin::list_tenants))
        .route(
            "/tenants/{id}",
            get(admin::get_tenant).patch(admin::update_tenant).delete(admin::delete_tenant),
        )
        .route("/subscriptions", post(admin::create_subscription).get(admin::list_subscriptions))
        .route(
            "/subscriptions/{id}",
            get(admin::get_subscription).patch(admin::update_subscription).delete(admin::delete_subscription),
        )
        .route("/resources", get(data::list_resources))
        .route("/resources/export.csv", get(data::export_resources))
        .route("/resources/{id}", get(data::get_resource))
        .route("/costs", get(costs::list_costs))
        .route("/costs/summary", get(costs::cost_summary))
        .route("/costs/export.csv", get(costs::export_costs))
        .route("/costs/explore", get(explore::explore))
        .route("/costs/explore/export.csv", get(explore::export_explore))
        .route("/costs/anomalies", get(analytics::list_anomalies))
        .route("/costs/anomalies/{id}/acknowledge", post(analytics::acknowledge))
        .route("/costs/forecast", get(analytics::forecast))
        .route("/ingestion/status/{run_id}", get(data::ingestion_status))
        .route("/ingestion/freshness", get(freshness::freshness))
        .route("/recommendations", get(recommendations::list))
        .route("/recommendations/summary", get(recommendations::summary))
        .route("/recommendations/export.csv", get(recommendations::export))
        .route("/recommendations/{id}", get(recommendations::get_one))
        .route("/recommendations/{id}/approve", post(recommendations::approve))
        .route("/recommendations/{id}/reject", post(recommendations::reject))
        .route("/recommendations/{id}/dismiss", post(recommendations::dismiss))
        .route("/recommendations/{id}/reopen", post(recommendations::reopen))
        .route("/recommendations/{id}/execute", post(remediation::execute))
        .route("/recommendations/{id}/dry-run", post(remediation::dry_run))
        .route("/audit-logs", get(recommendations::audit_logs))
        .route("/savings/realised", get(savings::realised))
        .route("/settings/rules", get(settings::get_rules).put(settings::put_rules))
        .route("/budgets", get(budgets::list).post(budgets::create))
        .route("/budgets/{id}", get(budgets::get_one).patch(budgets::update).delete(budgets::delete))
        .route(
            "/notification-channels",
            get(notifications::list_channels).post(notifications::create_channel),
        )
        .route(
            "/notification-channels/{id}",
            get(notifications::get_channel)
                .patch(notifications::update_channel)
                .delete(notifications::delete_channel),
        )
        .route("/notification-routes", get(notifications::list_routes).post(notifications::create_route))
        .route("/notification-routes/{id}", axum::routing::delete(notifications::delete_route))
        .route("/notification-deliveries", get(notifications::list_deliveries))
}
