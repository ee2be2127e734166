//! `realised_savings`: what executed recommendations actually saved, verified against
//! `costs_daily` (see [`crate::analytics::realised`] for the comparison), one row per
//! recommendation upserted by each verification, attached to the recommendations the store
//! returns, and rolled up per month of execution.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;

use super::{Recommendation, Store, StoreError, TenantScope, on_pool};
use crate::analytics::realised::{Basis, Confidence, Verdict};

mod rollup;
mod verify;

pub use rollup::{MAX_ROLLUP_MONTHS, RealisedMonth};
pub use verify::{MAX_COST_ROWS_PER_RUN, MAX_RECOMMENDATIONS_PER_RUN, RealisedLimits, VerificationReport};

/// Ids per `IN (...)` list.
const ID_CHUNK: usize = 500;

const COLUMNS: &str = "recommendation_id, subscription_id, executed_at, currency, identified_monthly_savings, \
     realised_monthly_savings, basis, confidence, confidence_score, verdict, before_amount, before_days, \
     before_cost_days, after_amount, after_days, after_cost_days, as_of, computed_at";

/// The realised savings of one executed recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RealisedSavings {
    /// The recommendation.
    pub recommendation_id: String,
    /// Its subscription.
    pub subscription_id: String,
    /// When it was executed (its status changed to `executed`).
    pub executed_at: DateTime<Utc>,
    /// The recommendation's currency; every amount here is in it.
    pub currency: String,
    /// The recommendation's estimated monthly savings.
    pub identified_monthly_savings: f64,
    /// Savings per 30 days: daily cost before minus daily cost after, times 30 (`null` when
    /// nothing could be compared; a partial estimate while `pending`).
    pub realised_monthly_savings: Option<f64>,
    /// What was measured.
    pub basis: Basis,
    /// Confidence level (from `confidence_score`: high from 0.75, medium from 0.4).
    pub confidence: Confidence,
    /// Confidence score 0..=1 from days of data on each side, gaps and noise.
    pub confidence_score: f64,
    /// `pending`, `realised`, `not_realised` or `no_data`.
    pub verdict: Verdict,
    /// Cost in the 30 days before execution.
    pub before_amount: f64,
    /// Days of the before window with cost data.
    pub before_days: i32,
    /// Of those, days the resource was billed.
    pub before_cost_days: i32,
    /// Cost in the days after execution.
    pub after_amount: f64,
    /// Days of the after window with cost data.
    pub after_days: i32,
    /// Of those, days the resource was billed.
    pub after_cost_days: i32,
    /// The day the verification ran as of (days from it on were not read).
    pub as_of: NaiveDate,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
}

/// A stored row as read, before its texts are checked.
#[derive(sqlx::FromRow)]
struct Row {
    recommendation_id: String,
    subscription_id: String,
    executed_at: DateTime<Utc>,
    currency: String,
    identified_monthly_savings: f64,
    realised_monthly_savings: Option<f64>,
    basis: String,
    confidence: String,
    confidence_score: f64,
    verdict: String,
    before_amount: f64,
    before_days: i32,
    before_cost_days: i32,
    after_amount: f64,
    after_days: i32,
    after_cost_days: i32,
    as_of: NaiveDate,
    computed_at: DateTime<Utc>,
}

impl TryFrom<Row> for RealisedSavings {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let bad =
            |field: &'static str, value: &str| StoreError::validation(field, format!("unknown {value:?}"));
        Ok(Self {
            basis: Basis::parse(&r.basis).ok_or_else(|| bad("basis", &r.basis))?,
            confidence: Confidence::parse(&r.confidence).ok_or_else(|| bad("confidence", &r.confidence))?,
            verdict: Verdict::parse(&r.verdict).ok_or_else(|| bad("verdict", &r.verdict))?,
            recommendation_id: r.recommendation_id,
            subscription_id: r.subscription_id,
            executed_at: r.executed_at,
            currency: r.currency,
            identified_monthly_savings: r.identified_monthly_savings,
            realised_monthly_savings: r.realised_monthly_savings,
            confidence_score: r.confidence_score,
            before_amount: r.before_amount,
            before_days: r.before_days,
            before_cost_days: r.before_cost_days,
            after_amount: r.after_amount,
            after_days: r.after_days,
            after_cost_days: r.after_cost_days,
            as_of: r.as_of,
            computed_at: r.computed_at,
        })
    }
}

impl Store {
    /// The realised savings of the recommendations `ids` (those verified; others are absent).
    ///
    /// # Errors
    /// Database errors.
    pub async fn realised_savings_of(
        &self,
        scope: &TenantScope,
        ids: &[String],
    ) -> Result<Vec<RealisedSavings>, StoreError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(ID_CHUNK) {
            let rows: Vec<Row> = on_pool!(self, pool => {
                let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM realised_savings WHERE tenant_id = "));
                qb.push_bind(scope.tenant_id().to_owned()).push(" AND recommendation_id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            for row in rows {
                out.push(RealisedSavings::try_from(row)?);
            }
        }
        Ok(out)
    }

    /// Fills each recommendation's `realised` from the store (left `None` when not verified).
    ///
    /// # Errors
    /// Database errors.
    pub(crate) async fn attach_realised(
        &self,
        scope: &TenantScope,
        items: &mut [Recommendation],
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = items
            .iter()
            .filter(|r| r.status == super::RecommendationStatus::Executed)
            .map(|r| r.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut found: std::collections::HashMap<String, RealisedSavings> = self
            .realised_savings_of(scope, &ids)
            .await?
            .into_iter()
            .map(|r| (r.recommendation_id.clone(), r))
            .collect();
        for item in items {
            item.realised = found.remove(&item.id);
        }
        Ok(())
    }
}
