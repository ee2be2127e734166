//! Savings of a tenant's recommendations grouped by category and status.

use serde::Serialize;

use super::{Store, StoreError, TenantScope, on_pool};

/// One group of [`Store::recommendation_summary`].
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RecommendationGroup {
    /// Category.
    pub category: String,
    /// Lifecycle status.
    pub status: String,
    /// Currency of the savings (amounts of different currencies are never added).
    pub currency: String,
    /// Recommendations in the group.
    pub count: i64,
    /// Sum of their estimated monthly savings.
    pub estimated_monthly_savings: f64,
}

impl Store {
    /// Count and savings of the tenant's recommendations per (category, status, currency),
    /// ordered by category, status and currency. Advisor recommendations linked to one of
    /// AzCops's own findings (`duplicate_of`) are left out: the saving is the finding's.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recommendation_summary(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<RecommendationGroup>, StoreError> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT category, status, currency, COUNT(*) AS count, \
                 COALESCE(SUM(estimated_monthly_savings), 0.0) AS estimated_monthly_savings \
                 FROM recommendations WHERE tenant_id = $1 AND duplicate_of IS NULL \
                 GROUP BY category, status, currency ORDER BY category, status, currency",
            )
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// How many Advisor recommendations agree with one of AzCops's own findings.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_advisor_agreements(&self, scope: &TenantScope) -> Result<i64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM recommendations WHERE tenant_id = $1 AND duplicate_of IS NOT NULL",
            )
            .bind(scope.tenant_id())
            .fetch_one(pool)
            .await?
        }))
    }
}
