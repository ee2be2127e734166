//! `remediations`: the execution of an approved recommendation by AzCops. Queuing one, and its
//! end (the recommendation moved to `executed` when Azure confirmed), are audited in the same
//! transaction, naming the person who approved and the one who asked for the execution.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::insert_audit;
use super::{Actor, Backend, NewAuditEntry, Store, StoreError, TenantScope, new_id, now, on_pool};

const COLUMNS: &str = "id, recommendation_id, action, status, approved_by, requested_by, error, snapshot_id, \
     snapshot_expires_at, snapshot_removed_at, attempts, created_at, updated_at, finished_at";

/// One remediation.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Remediation {
    /// Id (UUID v7).
    pub id: String,
    /// The recommendation remediated.
    pub recommendation_id: String,
    /// `delete_disk`, `delete_public_ip`, `delete_nic` or `delete_snapshot`.
    pub action: String,
    /// `queued`, `running`, `succeeded`, `failed` or `refused`.
    pub status: String,
    /// Who approved the recommendation.
    pub approved_by: String,
    /// Who asked for the execution.
    pub requested_by: String,
    /// Why it failed or was refused.
    pub error: Option<String>,
    /// The snapshot taken before a disk deletion.
    pub snapshot_id: Option<String>,
    /// When retention removes that snapshot.
    pub snapshot_expires_at: Option<DateTime<Utc>>,
    /// When retention removed it.
    pub snapshot_removed_at: Option<DateTime<Utc>>,
    /// Deliveries that started working on it.
    pub attempts: i64,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it reached its final status.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Remediation {
    /// True once the status is final.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed" | "refused")
    }
}

/// How a delivery of the `remediate` function ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RemediationEnd {
    /// Azure confirmed: the recommendation becomes `executed`.
    Succeeded {
        /// The snapshot taken first, if any.
        snapshot_id: Option<String>,
        /// When retention removes it.
        snapshot_expires_at: Option<DateTime<Utc>>,
    },
    /// The action failed for good (the recommendation stays `approved`).
    Failed(String),
    /// The dry-run checks refused it (the recommendation stays `approved`).
    Refused(String),
    /// A transient failure: back to `queued`, the platform redelivers.
    Retry(String),
}

fn audit(
    actor: &str,
    action: &str,
    id: &str,
    metadata: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry::new(actor, action, ("remediation", id), metadata, at)
}

impl Store {
    /// Queues a remediation of the `approved` recommendation `recommendation_id`, audited
    /// (`remediation.queued`, with the approver and the requester) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::InvalidTransition`] when the recommendation is not
    /// `approved`; [`StoreError::Conflict`] when a remediation of it is already queued or running.
    pub async fn queue_remediation(
        &self,
        scope: &TenantScope,
        recommendation_id: &str,
        action: &str,
        by: &Actor,
    ) -> Result<Remediation, StoreError> {
        let read = match self.backend() {
            Backend::Sqlite => {
                "SELECT status, status_changed_by FROM recommendations WHERE tenant_id = $1 AND id = $2"
            }
            Backend::Postgres => {
                "SELECT status, status_changed_by FROM recommendations WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
            }
        };
        let (id, at) = (new_id(), now());
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let row: Option<(String, String)> =
                sqlx::query_as(read).bind(scope.tenant_id()).bind(recommendation_id).fetch_optional(&mut *tx).await?;
            let (status, approved_by) = row.ok_or(StoreError::NotFound)?;
            let from: super::RecommendationStatus = status.parse()?;
            if from != super::RecommendationStatus::Approved {
                return Err(StoreError::InvalidTransition { from, to: super::RecommendationStatus::Executed });
            }
            let active: Option<String> = sqlx::query_scalar(
                "SELECT id FROM remediations WHERE tenant_id = $1 AND recommendation_id = $2 \
                 AND status IN ('queued', 'running')",
            )
            .bind(scope.tenant_id())
            .bind(recommendation_id)
            .fetch_optional(&mut *tx)
            .await?;
            if active.is_some() {
                return Err(StoreError::Conflict { what: "a queued or running remediation of this recommendation" });
            }
            sqlx::query(
                "INSERT INTO remediations (id, tenant_id, recommendation_id, action, status, approved_by, requested_by, \
                 attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, $7, $7)",
            )
            .bind(&id)
            .bind(scope.tenant_id())
            .bind(recommendation_id)
            .bind(action)
            .bind(&approved_by)
            .bind(&by.actor)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let metadata = serde_json::json!({
                "recommendation_id": recommendation_id, "action": action, "approved_by": approved_by,
                "requested_by": by.actor, "correlation_id": by.correlation_id,
            });
            insert_audit!(&mut *tx, scope.tenant_id(), &audit(&by.actor, "remediation.queued", &id, metadata, at))?;
            tx.commit().await?;
        });
        self.get_remediation(scope, &id).await
    }

    /// One remediation.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; database errors.
    pub async fn get_remediation(&self, scope: &TenantScope, id: &str) -> Result<Remediation, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM remediations WHERE tenant_id = $1 AND id = $2");
        let found: Option<Remediation> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(scope.tenant_id()).bind(id).fetch_optional(pool).await?
        });
        found.ok_or(StoreError::NotFound)
    }

    /// The latest remediation of a recommendation, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn latest_remediation(
        &self,
        scope: &TenantScope,
        recommendation_id: &str,
    ) -> Result<Option<Remediation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM remediations WHERE tenant_id = $1 AND recommendation_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(scope.tenant_id()).bind(recommendation_id).fetch_optional(pool).await?
        }))
    }

    /// Marks a delivery as working on the remediation (`running`, one more attempt); `None`
    /// when it already finished (a duplicate delivery has nothing to do).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; database errors.
    pub async fn start_remediation(
        &self,
        scope: &TenantScope,
        id: &str,
    ) -> Result<Option<Remediation>, StoreError> {
        let at = now();
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE remediations SET status = 'running', attempts = attempts + 1, updated_at = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let remediation = self.get_remediation(scope, id).await?;
        Ok((updated == 1).then_some(remediation))
    }

    /// Records how a delivery ended, audited in the same transaction; on success the
    /// recommendation moves `approved` → `executed` on behalf of the requester.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; database errors.
    pub async fn finish_remediation(
        &self,
        scope: &TenantScope,
        id: &str,
        end: &RemediationEnd,
    ) -> Result<Remediation, StoreError> {
        let current = self.get_remediation(scope, id).await?;
        let at = now();
        let (status, error, snapshot_id, expires, finished) = match end {
            RemediationEnd::Succeeded { snapshot_id, snapshot_expires_at } => {
                ("succeeded", None, snapshot_id.clone(), *snapshot_expires_at, Some(at))
            }
            RemediationEnd::Failed(e) => ("failed", Some(e.clone()), None, None, Some(at)),
            RemediationEnd::Refused(e) => ("refused", Some(e.clone()), None, None, Some(at)),
            RemediationEnd::Retry(e) => ("queued", Some(e.clone()), None, None, None),
        };
        let base = serde_json::json!({
            "recommendation_id": current.recommendation_id, "action": current.action,
            "approved_by": current.approved_by, "requested_by": current.requested_by,
            "attempts": current.attempts, "error": error, "snapshot_id": snapshot_id,
        });
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query(
                "UPDATE remediations SET status = $3, error = $4, snapshot_id = COALESCE($5, snapshot_id), \
                 snapshot_expires_at = COALESCE($6, snapshot_expires_at), finished_at = $7, updated_at = $8 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(status)
            .bind(&error)
            .bind(&snapshot_id)
            .bind(expires)
            .bind(finished)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let entry = audit("system:remediate", &format!("remediation.{status}"), id, base.clone(), at);
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            if status == "succeeded" {
                let moved = sqlx::query(
                    "UPDATE recommendations SET status = 'executed', status_changed_at = $3, status_changed_by = $4, \
                     updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'approved'",
                )
                .bind(scope.tenant_id())
                .bind(&current.recommendation_id)
                .bind(at)
                .bind(&current.requested_by)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() == 1 {
                    let metadata = serde_json::json!({
                        "from": "approved", "to": "executed", "reason": null, "remediation_id": id,
                        "approved_by": current.approved_by, "executed_by": current.requested_by,
                    });
                    let entry = NewAuditEntry {
                        actor: current.requested_by.clone(),
                        action: "recommendation.executed".into(),
                        target_type: "recommendation".into(),
                        target_id: current.recommendation_id.clone(),
                        metadata,
                        occurred_at: at,
                    };
                    insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
                    let (rec, by) = (current.recommendation_id.as_str(), current.requested_by.as_str());
                    let (from, to) = (super::RecommendationStatus::Approved, super::RecommendationStatus::Executed);
                    crate::store::notify::outbox::record_status_changed!(tx, scope, rec, from, to, by, None::<&str>, at);
                }
            }
            tx.commit().await?;
        });
        self.get_remediation(scope, id).await
    }

    /// Remediations of the tenant whose snapshot expired before `at` and is not removed yet.
    ///
    /// # Errors
    /// Database errors.
    pub async fn expired_remediation_snapshots(
        &self,
        scope: &TenantScope,
        at: DateTime<Utc>,
    ) -> Result<Vec<Remediation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM remediations WHERE tenant_id = $1 AND snapshot_id IS NOT NULL \
             AND snapshot_removed_at IS NULL AND snapshot_expires_at < $2 ORDER BY snapshot_expires_at, id LIMIT 500"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(scope.tenant_id()).bind(at).fetch_all(pool).await?
        }))
    }

    /// Records that retention removed a remediation's snapshot, audited in the same transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn snapshot_removed(
        &self,
        scope: &TenantScope,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let snapshot: Option<Option<String>> = sqlx::query_scalar(
                "SELECT snapshot_id FROM remediations WHERE tenant_id = $1 AND id = $2 AND snapshot_removed_at IS NULL",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(snapshot) = snapshot {
                sqlx::query("UPDATE remediations SET snapshot_removed_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(scope.tenant_id())
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                let metadata = serde_json::json!({ "snapshot_id": snapshot });
                let entry = audit("system:retention", "remediation.snapshot_removed", id, metadata, at);
                insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
