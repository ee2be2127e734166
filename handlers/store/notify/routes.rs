//! `notification_routes`: owner routing rules (a resource tag key and value → a channel),
//! created and deleted by Admins, each change audited in the same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::audit::insert_audit;
use crate::store::{Actor, Store, StoreError, TenantScope, new_id, now, on_pool};

/// Most routing rules one tenant may keep.
pub const MAX_ROUTES_PER_TENANT: i64 = 500;

/// A stored routing rule.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NotificationRoute {
    /// Rule id.
    pub id: String,
    /// Tag key (matched case-insensitively, as Azure treats tag names).
    pub tag_key: String,
    /// Tag value (matched exactly).
    pub tag_value: String,
    /// The channel receiving the matching resources' findings.
    pub channel_id: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A new routing rule.
#[derive(Debug, Clone)]
pub struct RouteInput {
    /// Tag key.
    pub tag_key: String,
    /// Tag value.
    pub tag_value: String,
    /// Channel id or name.
    pub channel: String,
}

const COLUMNS: &str = "id, tag_key, tag_value, channel_id, created_by, created_at";

impl Store {
    /// The tenant's routing rules.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_routes(&self, scope: &TenantScope) -> Result<Vec<NotificationRoute>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notification_routes WHERE tenant_id = $1 ORDER BY tag_key, tag_value, id LIMIT $2"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(scope.tenant_id())
                .bind(MAX_ROUTES_PER_TENANT)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Creates a routing rule to one of the tenant's channels, audited
    /// (`notification_route.created`).
    ///
    /// # Errors
    /// [`StoreError::Validation`] for an empty or long tag, an unknown channel or a full
    /// tenant; [`StoreError::Conflict`] for a rule that exists.
    pub async fn create_route(
        &self,
        scope: &TenantScope,
        input: &RouteInput,
        by: &Actor,
    ) -> Result<NotificationRoute, StoreError> {
        let tag_key = input.tag_key.trim().to_owned();
        let tag_value = input.tag_value.trim().to_owned();
        if tag_key.is_empty() || tag_key.chars().count() > 512 {
            return Err(StoreError::validation("tag_key", "must be 1 to 512 characters"));
        }
        if tag_value.is_empty() || tag_value.chars().count() > 256 {
            return Err(StoreError::validation("tag_value", "must be 1 to 256 characters"));
        }
        let channel = match self.get_channel(scope, input.channel.trim()).await {
            Err(StoreError::NotFound) => {
                return Err(StoreError::validation("channel", "is not a channel of this tenant"));
            }
            other => other?,
        };
        let at = now();
        let route = NotificationRoute {
            id: new_id(),
            tag_key,
            tag_value,
            channel_id: channel.id.clone(),
            created_by: by.actor.clone(),
            created_at: at,
        };
        let view = serde_json::to_value(&route).unwrap_or_default();
        let entry = by.entry(
            "notification_route.created",
            "notification_route",
            &route.id,
            serde_json::Value::Null,
            view,
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notification_routes WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_one(&mut *tx)
                .await?;
            if count >= MAX_ROUTES_PER_TENANT {
                return Err(StoreError::validation(
                    "routes",
                    format!("a tenant keeps at most {MAX_ROUTES_PER_TENANT} routing rules"),
                ));
            }
            sqlx::query(
                "INSERT INTO notification_routes (id, tenant_id, tag_key, tag_value, channel_id, created_by, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(&route.id)
            .bind(scope.tenant_id())
            .bind(&route.tag_key)
            .bind(&route.tag_value)
            .bind(&route.channel_id)
            .bind(&route.created_by)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(crate::store::error::conflict_as("routing rule"))?;
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(route)
    }

    /// Deletes a routing rule, audited (`notification_route.deleted`).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_route(&self, scope: &TenantScope, id: &str, by: &Actor) -> Result<(), StoreError> {
        let select = format!("SELECT {COLUMNS} FROM notification_routes WHERE tenant_id = $1 AND id = $2");
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: NotificationRoute = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            sqlx::query("DELETE FROM notification_routes WHERE tenant_id = $1 AND id = $2")
                .bind(scope.tenant_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let view = serde_json::to_value(&before).unwrap_or_default();
            let entry = by.entry("notification_route.deleted", "notification_route", id, view, serde_json::Value::Null);
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }
}
