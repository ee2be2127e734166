//! Status changes: the person-driven lifecycle and the system closing stale findings, each
//! audited in the same transaction.

use std::collections::HashSet;

use sqlx::QueryBuilder;

use super::{ID_CHUNK, Recommendation, StaleFindingKey, system_audit};
use crate::store::audit::insert_audit;
use crate::store::{
    Backend, Changer, NewAuditEntry, RecommendationStatus, Store, StoreError, TenantScope, now, on_pool,
};

impl Store {
    /// Moves a recommendation to `to` on behalf of a person, writing the audit row in the same
    /// transaction. The row is locked while its status is checked, so of two concurrent
    /// decisions the second is judged against the first one's outcome.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::InvalidTransition`] when the lifecycle refuses
    /// (including when a concurrent change got there first).
    pub async fn transition_recommendation(
        &self,
        scope: &TenantScope,
        id: &str,
        to: RecommendationStatus,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Recommendation, StoreError> {
        let at = now();
        // The row is locked before its status is read (SQLite: the immediate transaction holds
        // the write lock), so the status checked is the status changed.
        let read = match self.backend() {
            Backend::Sqlite => "SELECT status FROM recommendations WHERE tenant_id = $1 AND id = $2",
            Backend::Postgres => {
                "SELECT status FROM recommendations WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
            }
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let current: Option<String> =
                sqlx::query_scalar(read)
                    .bind(scope.tenant_id())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let from: RecommendationStatus = current.ok_or(StoreError::NotFound)?.parse()?;
            from.transition(to, Changer::Person)?;
            let updated = sqlx::query(
                "UPDATE recommendations SET status = $4, status_changed_at = $5, status_changed_by = $6, \
                 updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(at)
            .bind(actor)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::InvalidTransition { from, to });
            }
            let entry = NewAuditEntry {
                actor: actor.to_owned(),
                action: format!("recommendation.{to}"),
                target_type: "recommendation".into(),
                target_id: id.to_owned(),
                metadata: serde_json::json!({ "from": from, "to": to, "reason": reason }),
                occurred_at: at,
            };
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            crate::store::notify::outbox::record_status_changed!(tx, scope, id, from, to, actor, reason, at);
            tx.commit().await?;
        });
        self.get_recommendation(scope, id).await
    }

    /// Closes the `open` findings of `subscription_id` produced by `rule_ids_evaluated` that are
    /// not in `still_present` (the evaluation no longer finds them), auditing each closure.
    /// Findings in a status a person set are left alone. Returns the closed ids.
    ///
    /// # Errors
    /// Database errors; nothing is closed when one occurs.
    pub async fn close_stale(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        rule_ids_evaluated: &[String],
        still_present: &[StaleFindingKey],
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        if rule_ids_evaluated.is_empty() {
            return Ok(Vec::new());
        }
        let subscription = subscription_id.trim().to_ascii_lowercase();
        let present: HashSet<(&str, &str)> =
            still_present.iter().map(|k| (k.resource_id.as_str(), k.rule_id.as_str())).collect();
        let at = now();
        let closed = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let mut candidates: Vec<(String, String, String)> = Vec::new();
            for rules in rule_ids_evaluated.chunks(ID_CHUNK) {
                let mut qb = QueryBuilder::new(
                    "SELECT id, resource_id, rule_id FROM recommendations WHERE status = 'open' AND tenant_id = ",
                );
                qb.push_bind(scope.tenant_id().to_owned());
                qb.push(" AND subscription_id = ").push_bind(subscription.clone()).push(" AND rule_id IN (");
                let mut list = qb.separated(", ");
                for rule in rules {
                    list.push_bind(rule.clone());
                }
                qb.push(")");
                let found: Vec<(String, String, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                candidates.extend(found);
            }
            let mut closed = Vec::new();
            for (id, resource_id, rule_id) in candidates {
                if present.contains(&(resource_id.as_str(), rule_id.as_str())) {
                    continue;
                }
                let done = sqlx::query(
                    "UPDATE recommendations SET status = 'closed', status_changed_at = $3, \
                     status_changed_by = 'system', updated_at = $3 \
                     WHERE tenant_id = $1 AND id = $2 AND status = 'open'",
                )
                .bind(scope.tenant_id())
                .bind(&id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    let metadata = serde_json::json!({
                        "from": "open", "to": "closed", "resource_id": resource_id, "rule_id": rule_id,
                        "reason": reason,
                    });
                    insert_audit!(&mut *tx, scope.tenant_id(), &system_audit("recommendation.closed", &id, metadata, at))?;
                    closed.push(id);
                }
            }
            tx.commit().await?;
            closed
        });
        Ok(closed)
    }
}
