//! Keyset pages of `recommendations` in the list's order (score, then id ascending).

use sqlx::QueryBuilder;

use super::{count_bound, count_result, page_limit};
use crate::store::recommendations::{SELECT, push_filters};
use crate::store::{
    Recommendation, RecommendationFilter, RecommendationSort, SortDirection, Store, StoreError, TenantScope,
    on_pool,
};

/// Where the next page of a recommendation export starts: after this (score, id).
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendationCursor {
    score: f64,
    id: String,
}

impl RecommendationCursor {
    /// The cursor that continues after `row` in `sort` order.
    pub fn after(row: &Recommendation, sort: RecommendationSort) -> Self {
        let score = match sort {
            RecommendationSort::Priority => row.priority_score,
            RecommendationSort::Savings => row.estimated_monthly_savings,
        };
        Self { score, id: row.id.clone() }
    }
}

impl Store {
    /// Up to `limit` (1..=1000) recommendations matching `filter` after `after`, in the order
    /// of [`Store::list_recommendations`]. The score and the id run in opposite directions
    /// there, which a single row-value comparison cannot express, so the predicate is spelled
    /// out; its leading bound on the score alone lets the score index start at the cursor.
    /// Scores are read and bound as the same `f64`, so equality on them is exact.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a bad `limit`; database errors.
    pub async fn export_recommendations_page(
        &self,
        scope: &TenantScope,
        filter: &RecommendationFilter,
        after: Option<&RecommendationCursor>,
        limit: u32,
    ) -> Result<Vec<Recommendation>, StoreError> {
        let limit = page_limit(limit)?;
        let column = match filter.sort {
            RecommendationSort::Priority => "priority_score",
            RecommendationSort::Savings => "estimated_monthly_savings",
        };
        let direction = filter.direction.unwrap_or(SortDirection::Desc);
        let (order, bound, beyond) = match direction {
            SortDirection::Asc => ("ASC", ">=", ">"),
            SortDirection::Desc => ("DESC", "<=", "<"),
        };
        let mut rows: Vec<Recommendation> = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            push_filters(&mut qb, scope, filter);
            if let Some(after) = after {
                qb.push(format_args!(" AND {column} {bound} ")).push_bind(after.score);
                qb.push(format_args!(" AND ({column} {beyond} ")).push_bind(after.score);
                qb.push(" OR id > ").push_bind(after.id.clone()).push(")");
            }
            qb.push(format_args!(" ORDER BY {column} {order}, id LIMIT ")).push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        });
        self.attach_realised(scope, &mut rows).await?;
        Ok(rows)
    }

    /// How many recommendations match `filter`, counting no further than `upto`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_recommendations_upto(
        &self,
        scope: &TenantScope,
        filter: &RecommendationFilter,
        upto: u64,
    ) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM recommendations WHERE ");
            push_filters(&mut qb, scope, filter);
            qb.push(" LIMIT ").push_bind(count_bound(upto)).push(") AS capped");
            qb.build_query_scalar().fetch_one(pool).await?
        });
        Ok(count_result(count))
    }
}
