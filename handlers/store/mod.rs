//! The curated store: schema, migrations and tenant-scoped repositories on SQLite and PostgreSQL. The only place SQL lives.
//!
//! One [`Store`] wraps either backend, chosen by `DATABASE_URL`. Every function that reads or
//! writes tenant data takes a [`TenantScope`] and filters every statement by `tenant_id`;
//! tenant management lives apart on [`PlatformAdmin`]. SQL is runtime-checked (`sqlx::query`)
//! and parameterised; where the dialects differ the two statements sit side by side.
//!
//! Timestamps are always produced by the application ([`now`]) rather than the database, so
//! both backends store the same instants and SQLite's text timestamps share one sortable
//! format.
//!
//! Bulk upserts (resources, costs, VM metrics, recommendations) are idempotent: their
//! `DO UPDATE` compares the stored columns with the incoming ones, so re-applying a batch leaves
//! rows byte-for-byte identical and `updated_at` moves only when a value really changed;
//! `resources.last_seen` and `recommendations.last_detected_at` record each observation.
//! PostgreSQL loads through `UNNEST` arrays, SQLite through chunked multi-row `VALUES`, each
//! batch in one transaction.
//!
//! The audit log is append-only at the database (triggers on both backends); see
//! [`Store::apply_retention`] for the one deletion path.

mod anomalies;
mod audit;
mod budgets;
mod connect;
mod cost_explore;
mod cost_load;
mod cost_series;
mod costs;
mod entra;
mod error;
mod explore_result;
mod export;
mod exports;
mod exports_source;
mod freshness;
mod ingestion;
pub mod lifecycle;
pub(crate) mod notify;
mod page;
mod realised_savings;
mod recommendation_summary;
mod recommendations;
mod remediations;
mod resource_costs;
mod resources;
mod retention;
mod rollups;
mod rule_settings;
mod scope;
mod statement_timeout;
mod subscriptions;
pub(crate) mod tag_coverage;
mod tenants;
mod vm_metrics;

use chrono::{DateTime, SubsecRound, Utc};

pub use anomalies::{AnomalyFilter, AnomalyUpsert, CostAnomaly};
pub use audit::{Actor, AuditEntry, AuditFilter, NewAuditEntry, PLATFORM_AUDIT_TENANT};
pub use budgets::{
    Budget, BudgetInput, CurrencySpend, DEFAULT_ALERT_THRESHOLDS, MAX_ALERT_THRESHOLDS,
    MAX_BUDGETS_PER_TENANT, SubscriptionSpend, spend_of,
};
pub use connect::{Backend, PING_AFTER_IDLE, PoolStatus, SETTINGS, Store, StoreConfig, migrate};
pub use cost_explore::{DIMENSIONS, Dimension, ExploreCell, ExploreQuery, Granularity, Metric};
pub use cost_series::{
    CostForecast, DetectionLimits, DetectionReport, MAX_DETECTION_WINDOW_DAYS, MeasureForecast,
};
pub use costs::{CostFilter, CostRow, CostSummary, CurrencyTotals, DailyCost, ServiceCost};
pub use entra::{Clock, DbAuth, PG_TOKEN_SCOPE, system_clock};
pub use error::StoreError;
pub use explore_result::{CostExplorer, CurrencyTotal, ExploreGroup, shape_explorer};
pub use export::{
    CostCursor, MAX_EXPORT_PAGE, RecommendationCursor, ResourceCursor, ResourceExportRow, SortValue,
};
pub use exports::{ExportLoad, ExportMeasure, ExportRunRecord, ExportTotals, ReplacedSlice, SliceFeed};
pub use exports_source::CostSource;
pub use freshness::{SubscriptionIngestion, TenantFreshness};
pub use ingestion::{
    IngestionItem, IngestionRun, ItemStatus, ItemUpdate, NewRun, OnDemandRequest, OnDemandRun, RunStatus,
    RunWithItems, STALE_ACTIVE_RUN,
};
pub use lifecycle::{Changer, RecommendationStatus};
pub use notify::{
    ChannelInput, ChannelPolicy, ChannelView, Claim, ClaimedDelivery, DeliveryFilter, DeliveryResult,
    DeliveryView, MAX_CHANNELS_PER_TENANT, MAX_DIGEST_FINDINGS, MAX_EVENT_ITEMS, MAX_ROUTES_PER_TENANT,
    NotificationChannel, NotificationRoute, PendingWork, RouteInput, redact_url,
};
pub use notify::{NewTicket, NotificationRetention, OpenTicket, RecommendationTicket, TicketEnd};
pub use page::{MAX_PAGE_SIZE, Page, PageRequest};
pub use realised_savings::{
    MAX_COST_ROWS_PER_RUN, MAX_RECOMMENDATIONS_PER_RUN, MAX_ROLLUP_MONTHS, RealisedLimits, RealisedMonth,
    RealisedSavings, VerificationReport,
};
pub use recommendation_summary::RecommendationGroup;
pub use recommendations::{
    Recommendation, RecommendationFilter, RecommendationSort, RecommendationUpsert, StaleFindingKey,
};
pub use remediations::{Remediation, RemediationEnd};
pub use resource_costs::ResourceCost;
pub use resources::{
    InventoryFacets, InventoryFilter, MAX_NAME_SEARCH, ResourceCurrencyCost, ResourceFilter,
    ResourceRecommendationCount, ResourceRecord, ResourceSort, ResourceSummary, SortDirection,
};
pub use retention::RetentionReport;
pub use rollups::DEFAULT_COST_CENTER_TAG;
pub use scope::TenantScope;
pub use subscriptions::{NewSubscription, Subscription, SubscriptionUpdate};
pub use tag_coverage::{CostCoverage, CostCoverageDay, CoverageDay, ResourceCoverage, UntaggedResource};
pub use tenants::{NewTenant, PlatformAdmin, Tenant, TenantType, TenantUpdate};
pub use vm_metrics::VmMetricsRecord;

/// The current instant at microsecond precision (what PostgreSQL keeps), so a value written
/// and read back compares equal on both backends.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A new time-ordered id (UUID v7, hyphenated lower-case text).
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `rows` tuples of `slots` anonymous `?` placeholders for a multi-row SQLite `VALUES` list.
///
/// Anonymous placeholders are bound positionally; numbered ones (`$N`, `?N`) make the driver
/// look each parameter's name up in a linear list, which is quadratic in a bulk statement.
pub(crate) fn sqlite_values(rows: usize, slots: usize) -> String {
    let tuple = format!("({})", vec!["?"; slots].join(","));
    vec![tuple; rows].join(",")
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.db() {
            $crate::store::connect::Db::Sqlite($pool) => $body,
            $crate::store::connect::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;
