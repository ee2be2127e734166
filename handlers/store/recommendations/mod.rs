//! `recommendations`: idempotent bulk upserts from the rule engine and Advisor, listing, the
//! person-driven lifecycle (audited in the same transaction) and system closing/reopening of
//! findings (see [`super::lifecycle`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{
    NewAuditEntry, Page, PageRequest, RecommendationStatus, SortDirection, Store, StoreError, TenantScope,
    on_pool,
};

mod status;
mod upsert;

/// Ids per `IN (...)` list.
const ID_CHUNK: usize = 500;

pub(super) const SELECT: &str = "SELECT id, subscription_id, resource_id, rule_id, source, category, title, \
     estimated_monthly_savings, savings_basis, currency, confidence_score, risk_level, effort_level, priority_score, \
     status, evidence, first_detected_at, last_detected_at, status_changed_at, status_changed_by, created_at, \
     updated_at, duplicate_of FROM recommendations WHERE ";

/// One finding to upsert (from a rule or from Advisor).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationUpsert {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Lower-cased resource id.
    pub resource_id: String,
    /// Rule id (or `advisor:<recommendationTypeId>`).
    pub rule_id: String,
    /// `rule` or `advisor`.
    pub source: String,
    /// Category (waste, rightsizing, rate, governance, ...).
    pub category: String,
    /// Human title.
    pub title: String,
    /// Estimated monthly savings.
    pub estimated_monthly_savings: f64,
    /// How the savings were estimated.
    pub savings_basis: String,
    /// Currency of the savings.
    pub currency: String,
    /// Confidence 0..=1.
    pub confidence_score: f64,
    /// Risk level (low|medium|high).
    pub risk_level: String,
    /// Effort level (low|medium|high).
    pub effort_level: String,
    /// Priority used for ordering.
    pub priority_score: f64,
    /// Evidence for the finding.
    pub evidence: serde_json::Value,
    /// When this evaluation detected it.
    pub detected_at: DateTime<Utc>,
    /// For an Advisor recommendation: the rule id of AzCops's own finding on the same resource
    /// that it agrees with (it is then left out of savings totals).
    pub duplicate_of: Option<String>,
}

/// A stored recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Recommendation {
    /// Id (UUID v7).
    pub id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resource id.
    pub resource_id: String,
    /// Rule id.
    pub rule_id: String,
    /// `rule` or `advisor`.
    pub source: String,
    /// Category.
    pub category: String,
    /// Title.
    pub title: String,
    /// Estimated monthly savings.
    pub estimated_monthly_savings: f64,
    /// Savings basis.
    pub savings_basis: String,
    /// Currency.
    pub currency: String,
    /// Confidence.
    pub confidence_score: f64,
    /// Risk level.
    pub risk_level: String,
    /// Effort level.
    pub effort_level: String,
    /// Priority.
    pub priority_score: f64,
    /// Lifecycle status.
    #[sqlx(try_from = "String")]
    pub status: RecommendationStatus,
    /// Evidence.
    #[schema(value_type = serde_json::Value)]
    pub evidence: Json<serde_json::Value>,
    /// First detection.
    pub first_detected_at: DateTime<Utc>,
    /// Latest detection.
    pub last_detected_at: DateTime<Utc>,
    /// When the status last changed.
    pub status_changed_at: DateTime<Utc>,
    /// Who changed the status last (`system` for detection, closing and reopening).
    pub status_changed_by: String,
    /// Row creation.
    pub created_at: DateTime<Utc>,
    /// Last real change.
    pub updated_at: DateTime<Utc>,
    /// For an Advisor recommendation: the rule id of AzCops's own finding on the same resource
    /// that it agrees with; such a row is evidence, not a second saving.
    pub duplicate_of: Option<String>,
    /// What an executed recommendation actually saved (`null` until verified).
    #[sqlx(skip)]
    pub realised: Option<super::RealisedSavings>,
}

impl TryFrom<String> for RecommendationStatus {
    type Error = StoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Sort order for [`Store::list_recommendations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecommendationSort {
    /// By priority score (default).
    #[default]
    Priority,
    /// By estimated monthly savings.
    Savings,
}

/// Filters for [`Store::list_recommendations`].
#[derive(Debug, Clone, Default)]
pub struct RecommendationFilter {
    /// One status.
    pub status: Option<RecommendationStatus>,
    /// One category.
    pub category: Option<String>,
    /// One rule.
    pub rule_id: Option<String>,
    /// One subscription.
    pub subscription_id: Option<String>,
    /// At least these monthly savings.
    pub min_savings: Option<f64>,
    /// Only executed recommendations whose realised-savings verdict is this one.
    pub realised: Option<crate::analytics::realised::Verdict>,
    /// Sort key.
    pub sort: RecommendationSort,
    /// Direction (default descending: most important first).
    pub direction: Option<SortDirection>,
}

/// A finding that still holds after an evaluation, passed to [`Store::close_stale`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaleFindingKey {
    /// Resource id.
    pub resource_id: String,
    /// Rule id.
    pub rule_id: String,
}

pub(super) fn push_filters<DB>(qb: &mut QueryBuilder<DB>, scope: &TenantScope, filter: &RecommendationFilter)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    f64: for<'q> Encode<'q, DB> + Type<DB>,
{
    qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
    if let Some(status) = filter.status {
        qb.push(" AND status = ").push_bind(status.as_str().to_owned());
    }
    if let Some(category) = &filter.category {
        qb.push(" AND category = ").push_bind(category.clone());
    }
    if let Some(rule) = &filter.rule_id {
        qb.push(" AND rule_id = ").push_bind(rule.clone());
    }
    if let Some(subscription) = &filter.subscription_id {
        qb.push(" AND subscription_id = ").push_bind(subscription.trim().to_ascii_lowercase());
    }
    if let Some(min) = filter.min_savings {
        qb.push(" AND estimated_monthly_savings >= ").push_bind(min);
    }
    if let Some(verdict) = filter.realised {
        qb.push(" AND id IN (SELECT recommendation_id FROM realised_savings WHERE tenant_id = ")
            .push_bind(scope.tenant_id().to_owned())
            .push(" AND verdict = ")
            .push_bind(verdict.as_str().to_owned())
            .push(")");
    }
}

pub(super) fn system_audit(
    action: &str,
    id: &str,
    metadata: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: "system".into(),
        action: action.into(),
        target_type: "recommendation".into(),
        target_id: id.into(),
        metadata,
        occurred_at: at,
    }
}

impl Store {
    /// Lists recommendations, most important first by default.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_recommendations(
        &self,
        scope: &TenantScope,
        filter: &RecommendationFilter,
        page: PageRequest,
    ) -> Result<Page<Recommendation>, StoreError> {
        let column = match filter.sort {
            RecommendationSort::Priority => "priority_score",
            RecommendationSort::Savings => "estimated_monthly_savings",
        };
        let direction = filter.direction.unwrap_or(SortDirection::Desc).sql();
        let (mut items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            push_filters(&mut qb, scope, filter);
            qb.push(format_args!(" ORDER BY {column} {direction}, id LIMIT ")).push_bind(page.limit());
            qb.push(" OFFSET ").push_bind(page.offset());
            let items: Vec<Recommendation> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM recommendations WHERE ");
            push_filters(&mut count, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        self.attach_realised(scope, &mut items).await?;
        Ok(page.into_page(items, total))
    }

    /// Reads one recommendation.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for another tenant's id).
    pub async fn get_recommendation(
        &self,
        scope: &TenantScope,
        id: &str,
    ) -> Result<Recommendation, StoreError> {
        let found: Option<Recommendation> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT}tenant_id = $1 AND id = $2")))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let mut items = [found.ok_or(StoreError::NotFound)?];
        self.attach_realised(scope, &mut items).await?;
        let [item] = items;
        Ok(item)
    }
}
