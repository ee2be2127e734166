//! Subscriptions registered under a tenant.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::insert_audit;
use super::{Actor, Page, PageRequest, Store, StoreError, TenantScope, new_id, now, on_pool};

/// An Azure subscription a tenant has onboarded.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Subscription {
    /// Internal id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Billing scope used for Cost Management queries, when not the subscription itself.
    pub billing_scope: Option<String>,
    /// Inactive subscriptions are not ingested.
    pub active: bool,
    /// When an ingestion last completed for it.
    pub last_ingested_at: Option<DateTime<Utc>>,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// A subscription to add.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Optional billing scope.
    pub billing_scope: Option<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New billing scope.
    pub billing_scope: Option<String>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

const COLUMNS: &str = "id, tenant_id, subscription_id, display_name, billing_scope, active, last_ingested_at, \
                       created_at, updated_at";

/// What an audit row records of a subscription: the fields a person can change.
fn audit_view(s: &Subscription) -> serde_json::Value {
    serde_json::json!({
        "subscription_id": s.subscription_id,
        "display_name": s.display_name,
        "billing_scope": s.billing_scope,
        "active": s.active,
    })
}

pub(crate) fn normalise_subscription_id(value: &str) -> Result<String, StoreError> {
    uuid::Uuid::parse_str(value.trim())
        .map(|guid| guid.hyphenated().to_string())
        .map_err(|_| StoreError::validation("subscription_id", "must be a GUID"))
}

impl Store {
    /// Registers a subscription under the scope's tenant, audited (`subscription.created`) in
    /// the same transaction. Callers verify ownership with Azure first; the store only records.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (`subscription`) when the tenant already has it;
    /// [`StoreError::NotFound`] when the tenant does not exist; [`StoreError::Validation`].
    pub async fn add_subscription(
        &self,
        scope: &TenantScope,
        new: &NewSubscription,
        by: &Actor,
    ) -> Result<Subscription, StoreError> {
        let at = now();
        let subscription = Subscription {
            id: new_id(),
            tenant_id: scope.tenant_id().to_owned(),
            subscription_id: normalise_subscription_id(&new.subscription_id)?,
            display_name: new.display_name.trim().to_owned(),
            billing_scope: new.billing_scope.clone(),
            active: true,
            last_ingested_at: None,
            created_at: at,
            updated_at: at,
        };
        let entry = by.entry(
            "subscription.created",
            "subscription",
            &subscription.subscription_id,
            serde_json::Value::Null,
            audit_view(&subscription),
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            sqlx::query(
                "INSERT INTO subscriptions (id, tenant_id, subscription_id, display_name, billing_scope, active, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&subscription.id)
            .bind(&subscription.tenant_id)
            .bind(&subscription.subscription_id)
            .bind(&subscription.display_name)
            .bind(&subscription.billing_scope)
            .bind(subscription.active)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(|error| match &error {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    StoreError::Conflict { what: "subscription" }
                }
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
                _ => StoreError::from(error),
            })?;
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(subscription)
    }

    /// Reads one subscription of the tenant.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_subscription(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
    ) -> Result<Subscription, StoreError> {
        let subscription_id = subscription_id.trim().to_ascii_lowercase();
        on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2"
            )))
            .bind(scope.tenant_id())
            .bind(&subscription_id)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// Lists the tenant's subscriptions by display name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_subscriptions(
        &self,
        scope: &TenantScope,
        page: PageRequest,
    ) -> Result<Page<Subscription>, StoreError> {
        let (items, total) = on_pool!(self, pool => {
            let items: Vec<Subscription> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 \
                 ORDER BY display_name, subscription_id LIMIT $2 OFFSET $3"
            )))
            .bind(scope.tenant_id())
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// The tenant's active subscriptions (what a run fans out over).
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_active_subscriptions(
        &self,
        scope: &TenantScope,
    ) -> Result<Vec<Subscription>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND active ORDER BY subscription_id"
            )))
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Changes a subscription's display name, billing scope or active flag, audited
    /// (`subscription.updated`, before and after) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn update_subscription(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        update: &SubscriptionUpdate,
        by: &Actor,
    ) -> Result<Subscription, StoreError> {
        let key = subscription_id.trim().to_ascii_lowercase();
        let select =
            format!("SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2");
        let after = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: Subscription = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(scope.tenant_id())
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            sqlx::query(
                "UPDATE subscriptions SET display_name = COALESCE($3, display_name), \
                 billing_scope = COALESCE($4, billing_scope), active = COALESCE($5, active), updated_at = $6 \
                 WHERE tenant_id = $1 AND subscription_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(&key)
            .bind(update.display_name.as_deref().map(str::trim))
            .bind(&update.billing_scope)
            .bind(update.active)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            let after: Subscription = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(&key)
                .fetch_one(&mut *tx)
                .await?;
            let entry = by.entry("subscription.updated", "subscription", &key, audit_view(&before), audit_view(&after));
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
            after
        });
        Ok(after)
    }

    /// Removes a subscription from the tenant (its curated data stays until retention),
    /// audited (`subscription.deleted`, with what was removed) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_subscription(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        by: &Actor,
    ) -> Result<(), StoreError> {
        let key = subscription_id.trim().to_ascii_lowercase();
        let select =
            format!("SELECT {COLUMNS} FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2");
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: Subscription = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            sqlx::query("DELETE FROM subscriptions WHERE tenant_id = $1 AND subscription_id = $2")
                .bind(scope.tenant_id())
                .bind(&key)
                .execute(&mut *tx)
                .await?;
            let entry =
                by.entry("subscription.deleted", "subscription", &key, audit_view(&before), serde_json::Value::Null);
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records that an ingestion of the subscription completed at `at`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn mark_subscription_ingested(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = subscription_id.trim().to_ascii_lowercase();
        let changed = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE subscriptions SET last_ingested_at = $3, updated_at = $3 \
                 WHERE tenant_id = $1 AND subscription_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(&key)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
