//! Savings of a tenant's recommendations grouped by category and status.

use serde::Serialize;

use super::{Store, StoreError, TenantScope, on_pool};

/// One group of [`Store::recommendation_summary`].
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RecommendationGroup {
    /// Category.
    pub category: String,
    /// Lifecycle status.
    pub status: String,
    /// Recommendations in the group.
    pub count: i64,
    /// Sum of their estimated monthly savings.
    pub estimated_monthly_savings: f64,
}

impl Store {
    /// Count and savings of the tenant's recommendations per (category, status), ordered by
    /// category then status.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recommendation_summary(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<RecommendationGroup>, StoreError> {
        let rows = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT category, status, COUNT(*) AS count, \
                 COALESCE(SUM(estimated_monthly_savings), 0.0) AS estimated_monthly_savings \
                 FROM recommendations WHERE tenant_id = $1 GROUP BY category, status ORDER BY category, status",
            )
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
