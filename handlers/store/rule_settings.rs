//! `rule_settings`: one JSON object of rule-engine overrides per tenant (thresholds, the
//! cost-center tag name). The store keeps the object opaque; the rule engine parses it and
//! fills absent keys with its documented defaults. Every change is audited.

use super::audit::insert_audit;
use super::{Actor, Backend, Store, StoreError, TenantScope, now, on_pool};

impl Store {
    /// The tenant's stored rule-setting overrides, or `None` when it has never set any.
    ///
    /// # Errors
    /// Database errors; [`StoreError::Validation`] when the stored text is not JSON.
    pub async fn rule_settings(&self, scope: &TenantScope) -> Result<Option<serde_json::Value>, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT settings FROM rule_settings WHERE tenant_id = $1",
            Backend::Postgres => "SELECT settings::text FROM rule_settings WHERE tenant_id = $1",
        };
        let text: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(scope.tenant_id()).fetch_optional(pool).await?
        });
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::validation("rule_settings", e.to_string()))
        })
        .transpose()
    }

    /// Replaces the tenant's rule-setting overrides with `settings` (a JSON object), audited
    /// (`rule_settings.updated`, the overrides before and after) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when `settings` is not an object; database errors.
    pub async fn put_rule_settings(
        &self,
        scope: &TenantScope,
        settings: &serde_json::Value,
        by: &Actor,
    ) -> Result<(), StoreError> {
        if !settings.is_object() {
            return Err(StoreError::validation("rule_settings", "must be a JSON object"));
        }
        let (select, upsert) = match self.backend() {
            Backend::Sqlite => (
                "SELECT settings FROM rule_settings WHERE tenant_id = $1",
                "INSERT INTO rule_settings (tenant_id, settings, created_at, updated_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            ),
            Backend::Postgres => (
                "SELECT settings::text FROM rule_settings WHERE tenant_id = $1",
                "INSERT INTO rule_settings (tenant_id, settings, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
            ),
        };
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: Option<String> =
                sqlx::query_scalar(select).bind(scope.tenant_id()).fetch_optional(&mut *tx).await?;
            let before = before
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .unwrap_or(serde_json::Value::Null);
            sqlx::query(upsert).bind(scope.tenant_id()).bind(settings.to_string()).bind(at).execute(&mut *tx).await?;
            let entry = by.entry("rule_settings.updated", "rule_settings", scope.tenant_id(), before, settings.clone());
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }
}
