//! The per-subscription cost source: `query` (Cost Management queries, the default),
//! `exports` (Cost Management exports only) or `auto` (exports once an export has been ingested
//! for the subscription, queries until then). Changing it is audited in the same transaction.

use std::collections::{BTreeMap, BTreeSet};

use super::audit::insert_audit;
use super::subscriptions::normalise_subscription_id;
use super::{Actor, Store, StoreError, TenantScope, now, on_pool};

/// Where a subscription's costs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CostSource {
    /// Cost Management queries (the default).
    #[default]
    Query,
    /// Cost Management exports only.
    Exports,
    /// Exports where they exist for the subscription, queries otherwise.
    Auto,
}

impl CostSource {
    /// The stored and public name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Exports => "exports",
            Self::Auto => "auto",
        }
    }
}

impl std::str::FromStr for CostSource {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, StoreError> {
        match value.trim() {
            "query" => Ok(Self::Query),
            "exports" => Ok(Self::Exports),
            "auto" => Ok(Self::Auto),
            _ => Err(StoreError::validation("cost_source", "must be query, exports or auto")),
        }
    }
}

impl std::fmt::Display for CostSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Store {
    /// The cost source of every subscription of the tenant that has one set (the others use
    /// [`CostSource::Query`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn cost_sources(
        &self,
        scope: &TenantScope,
    ) -> Result<BTreeMap<String, CostSource>, StoreError> {
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT subscription_id, source FROM subscription_cost_sources WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(|(s, v)| Ok((s, v.parse()?))).collect()
    }

    /// Subscriptions of the tenant with at least one ingested export slice.
    ///
    /// # Errors
    /// Database errors.
    pub async fn subscriptions_with_exports(
        &self,
        scope: &TenantScope,
    ) -> Result<BTreeSet<String>, StoreError> {
        let rows: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT DISTINCT subscription_id FROM export_slices WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// True when the subscription's costs come from exports now: its source is `exports`, or
    /// `auto` and an export has been ingested for it. Cost queries skip such a subscription.
    ///
    /// # Errors
    /// Database errors.
    pub async fn costs_from_exports(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
    ) -> Result<bool, StoreError> {
        let subscription = subscription_id.to_ascii_lowercase();
        let source = self.cost_sources(scope).await?.get(&subscription).copied().unwrap_or_default();
        Ok(match source {
            CostSource::Query => false,
            CostSource::Exports => true,
            CostSource::Auto => self.subscriptions_with_exports(scope).await?.contains(&subscription),
        })
    }

    /// Sets a registered subscription's cost source, audited
    /// (`subscription.cost_source_changed`, before and after) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the tenant has no such subscription;
    /// [`StoreError::Validation`] for a malformed id.
    pub async fn set_cost_source(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        source: CostSource,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let subscription = normalise_subscription_id(subscription_id)?;
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let registered: Option<String> = sqlx::query_scalar(
                "SELECT subscription_id FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(&subscription)
            .fetch_optional(&mut *tx)
            .await?;
            if registered.is_none() {
                return Err(StoreError::NotFound);
            }
            let before: Option<String> = sqlx::query_scalar(
                "SELECT source FROM subscription_cost_sources WHERE tenant_id = $1 AND subscription_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(&subscription)
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO subscription_cost_sources (tenant_id, subscription_id, source, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, subscription_id) \
                 DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
            )
            .bind(scope.tenant_id())
            .bind(&subscription)
            .bind(source.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let entry = by.entry(
                "subscription.cost_source_changed",
                "subscription",
                &subscription,
                serde_json::json!({ "cost_source": before.unwrap_or_else(|| CostSource::Query.as_str().to_owned()) }),
                serde_json::json!({ "cost_source": source.as_str() }),
            );
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_sources_round_trip_their_names() {
        for s in [CostSource::Query, CostSource::Exports, CostSource::Auto] {
            assert_eq!(s.as_str().parse::<CostSource>().unwrap(), s);
        }
        assert!("Exports".parse::<CostSource>().is_err(), "names are exact");
    }
}
