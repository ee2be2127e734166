//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the pages that
//! render it: `/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`, all served by the
//! binary (no CDN).

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::routes::{
    admin, analytics, budgets, costs, data, explore, notifications, recommendations, remediation, savings,
    settings,
};
use super::schemas;

/// The error responses every authenticated route may answer, all in the one error shape.
#[derive(utoipa::IntoResponses)]
pub enum Errors {
    /// Malformed request or body.
    #[response(status = 400, description = "Malformed request")]
    BadRequest(schemas::ErrorBody),
    /// Missing or invalid token.
    #[response(status = 401, description = "Missing or invalid bearer token", headers(("WWW-Authenticate" = String)))]
    Unauthorized(schemas::ErrorBody),
    /// Role missing.
    #[response(
        status = 403,
        description = "A role is missing (a token without any AzCops role is refused before it counts against a rate limit)"
    )]
    Forbidden(schemas::ErrorBody),
    /// No such object in the caller's tenant.
    #[response(status = 404, description = "Not found (also for another tenant's objects)")]
    NotFound(schemas::ErrorBody),
    /// Conflict.
    #[response(status = 409, description = "Duplicate or forbidden transition")]
    Conflict(schemas::ErrorBody),
    /// Body too large.
    #[response(status = 413, description = "Request body too large")]
    PayloadTooLarge(schemas::ErrorBody),
    /// Validation.
    #[response(status = 422, description = "Validation failed; `details.field` names the field")]
    Validation(schemas::ErrorBody),
    /// Rate limit.
    #[response(status = 429, description = "Rate limit exceeded: the caller's bucket (`tid` + `oid`) or the tenant's ceiling", headers(("Retry-After" = u64)))]
    TooManyRequests(schemas::ErrorBody),
    /// Internal.
    #[response(status = 500, description = "Internal error")]
    Internal(schemas::ErrorBody),
    /// Unavailable.
    #[response(status = 503, description = "Database or identity provider unavailable, timeout (`statement_timeout`: a database statement ran past AZCOPS_DB_STATEMENT_TIMEOUT_MS and was cancelled), or not configured", headers(("Retry-After" = u64)))]
    Unavailable(schemas::ErrorBody),
}

/// The answers of the CSV exports, listed after [`Errors`] so their 413 and 429 replace the
/// generic ones.
#[derive(utoipa::IntoResponses)]
pub enum ExportResponses {
    /// The file.
    #[response(
        status = 200,
        description = "RFC 4180 CSV with a header row, streamed. Cells that would start with `=`, `+`, `-`, `@`, \
                       tab or CR are prefixed with `'` so spreadsheets show them as text (plain numbers such as \
                       `-12.5` stay numbers). If rows arrive while the file streams and push it past \
                       AZCOPS_API_EXPORT_MAX_ROWS, it stops at the cap and its last row is a note starting \
                       `# TRUNCATED:`. `X-AzCops-Export-Max-Rows` states the cap.",
        content_type = "text/csv",
        headers(("X-AzCops-Export-Max-Rows" = u64, description = "The row cap the export ran under"))
    )]
    Csv(String),
    /// Over the row cap.
    #[response(
        status = 413,
        description = "`export_too_large`: more rows match than AZCOPS_API_EXPORT_MAX_ROWS allows \
                       (`details.max_rows`); nothing is streamed, narrow the filters"
    )]
    TooLarge(schemas::ErrorBody),
    /// Too many exports.
    #[response(
        status = 429,
        description = "`export_concurrency_exceeded`: the tenant already runs AZCOPS_API_EXPORT_CONCURRENCY \
                       exports (`details.limit`), or `rate_limited`",
        headers(("Retry-After" = u64))
    )]
    Busy(schemas::ErrorBody),
}

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "AzCops API",
        description = "Multi-tenant Azure FinOps control plane. Every /api/v1 route needs an Entra ID access \
                       token (see the security scheme); roles: AzCops.Reader, AzCops.Approver, AzCops.Admin, \
                       AzCops.PlatformAdmin."
    ),
    paths(
        super::routes::freshness::health,
        admin::me,
        admin::create_tenant,
        admin::list_tenants,
        admin::get_tenant,
        admin::update_tenant,
        admin::delete_tenant,
        admin::create_subscription,
        admin::list_subscriptions,
        admin::get_subscription,
        admin::update_subscription,
        admin::delete_subscription,
        data::list_resources,
        data::get_resource,
        data::export_resources,
        costs::list_costs,
        costs::cost_summary,
        costs::export_costs,
        explore::explore,
        explore::export_explore,
        analytics::list_anomalies,
        analytics::acknowledge,
        analytics::forecast,
        data::ingestion_status,
        super::routes::freshness::freshness,
        super::routes::ingestion::trigger,
        recommendations::list,
        recommendations::get_one,
        recommendations::approve,
        recommendations::reject,
        recommendations::dismiss,
        recommendations::reopen,
        remediation::execute,
        remediation::dry_run,
        recommendations::summary,
        recommendations::export,
        recommendations::audit_logs,
        savings::realised,
        budgets::list,
        budgets::get_one,
        budgets::create,
        budgets::update,
        budgets::delete,
        settings::get_rules,
        settings::put_rules,
        notifications::list_channels,
        notifications::create_channel,
        notifications::get_channel,
        notifications::update_channel,
        notifications::delete_channel,
        notifications::list_routes,
        notifications::create_route,
        notifications::delete_route,
        notifications::list_deliveries,
    ),
    components(schemas(
        schemas::ErrorBody,
        data::ResourceSortParam,
        data::OrderParam,
        recommendations::SortParam,
        recommendations::StatusParam,
        savings::RealisedParam,
        analytics::AnomalyStatusParam,
        analytics::SeverityParam
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "identity", description = "The caller"),
        (name = "tenants", description = "Tenant registry (platform admins)"),
        (name = "subscriptions", description = "Onboarded subscriptions"),
        (name = "data", description = "Inventory and costs"),
        (name = "analytics", description = "Cost anomalies and month-end forecasts"),
        (name = "recommendations", description = "Recommendations and their lifecycle"),
        (name = "audit", description = "Audit log"),
        (name = "budgets", description = "Monthly budgets and how they stand"),
        (name = "settings", description = "The tenant's rule thresholds and cost-center tag"),
        (name = "notifications", description = "Notification channels, owner routing and the delivery log"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description = Some(
            "Entra ID v2 access token (RS256) whose `aud` is AZCOPS_AUTH_AUDIENCE and whose tenant is registered."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// ReDoc 2.5.4's standalone bundle (MIT, see `assets/REDOC-LICENSE`), vendored gzip-compressed
/// (330 KB instead of 1.1 MB) so the page works offline; served with `Content-Encoding: gzip`.
const REDOC_JS_GZ: &[u8] = include_bytes!("assets/redoc.standalone.js.gz");

const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>AzCops API</title></head>
<body><redoc spec-url="openapi.json"></redoc><script src="redoc/redoc.standalone.js"></script></body></html>"#;

/// `/openapi.json`, `/docs` (Swagger UI) and `/redoc`, relative to the API's mount point.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    // The UI fetches the document relative to `/docs/`, so it works under any route prefix.
    let swagger: Router<S> =
        SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("../openapi.json")).into();
    Router::new()
        .merge(swagger)
        .route("/openapi.json", get(|| async { axum::Json(ApiDoc::openapi()) }))
        .route("/redoc", get(|| async { Html(REDOC_PAGE) }))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/javascript"), (header::CONTENT_ENCODING, "gzip")],
                    REDOC_JS_GZ,
                )
                    .into_response()
            }),
        )
}
