//! Tenant management for platform administrators: the only functions that are not confined to
//! one tenant, reached through [`Store::platform_admin`] so a call site says what it is.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::insert_audit;
use super::error::conflict_as;
use super::{Actor, Page, PageRequest, Store, StoreError, new_id, now, on_pool};

/// Whether a tenant is the operator's own organisation or a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantType {
    /// The operating organisation.
    Internal,
    /// A customer tenant (typically reached through Lighthouse).
    External,
}

impl TenantType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
        }
    }
}

impl TryFrom<String> for TenantType {
    type Error = StoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "internal" => Ok(Self::Internal),
            "external" => Ok(Self::External),
            _ => Err(StoreError::validation("tenant_type", format!("unknown tenant type {value:?}"))),
        }
    }
}

/// A tenant of the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Tenant {
    /// Internal id (UUID v7); what [`super::TenantScope`] carries.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The Entra tenant GUID (lower-case), unique.
    pub azure_tenant_id: String,
    /// Internal or external.
    #[sqlx(try_from = "String")]
    pub tenant_type: TenantType,
    /// Inactive tenants are skipped by scheduled ingestion.
    pub active: bool,
    /// When the row was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// A tenant to create.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Display name (non-empty).
    pub name: String,
    /// The Entra tenant GUID.
    pub azure_tenant_id: String,
    /// Internal or external.
    pub tenant_type: TenantType,
}

/// Fields to change on a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New type.
    pub tenant_type: Option<TenantType>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// Cross-tenant administration; obtain with [`Store::platform_admin`].
#[derive(Debug, Clone, Copy)]
pub struct PlatformAdmin<'a> {
    pub(super) store: &'a Store,
}

impl Store {
    /// Tenant management for platform operators (not confined to one tenant).
    pub fn platform_admin(&self) -> PlatformAdmin<'_> {
        PlatformAdmin { store: self }
    }
}

const COLUMNS: &str = "id, name, azure_tenant_id, tenant_type, active, created_at, updated_at";

/// Tables holding tenant data, emptied when a tenant is deleted (audit logs are kept: they
/// outlive what they describe and only retention removes them).
const TENANT_TABLES: &[&str] = &[
    "DELETE FROM ingestion_run_items WHERE tenant_id = $1",
    "DELETE FROM ingestion_runs WHERE tenant_id = $1",
    "DELETE FROM recommendations WHERE tenant_id = $1",
    "DELETE FROM vm_metrics WHERE tenant_id = $1",
    "DELETE FROM cost_anomalies WHERE tenant_id = $1",
    "DELETE FROM costs_daily WHERE tenant_id = $1",
    "DELETE FROM cost_rollup_daily WHERE tenant_id = $1",
    "DELETE FROM cost_rollup_tag_daily WHERE tenant_id = $1",
    "DELETE FROM cost_rollup_tenant_daily WHERE tenant_id = $1",
    "DELETE FROM cost_rollup_tag_tenant_daily WHERE tenant_id = $1",
    "DELETE FROM cost_rollup_monthly WHERE tenant_id = $1",
    "DELETE FROM export_slices WHERE tenant_id = $1",
    "DELETE FROM export_runs WHERE tenant_id = $1",
    "DELETE FROM subscription_cost_sources WHERE tenant_id = $1",
    "DELETE FROM resource_history WHERE tenant_id = $1",
    "DELETE FROM resources WHERE tenant_id = $1",
    "DELETE FROM subscriptions WHERE tenant_id = $1",
];

/// What an audit row records of a tenant: the fields a person can change, and its directory.
fn audit_view(t: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "name": t.name,
        "azure_tenant_id": t.azure_tenant_id,
        "tenant_type": t.tenant_type,
        "active": t.active,
    })
}

fn normalise_guid(field: &'static str, value: &str) -> Result<String, StoreError> {
    uuid::Uuid::parse_str(value.trim())
        .map(|guid| guid.hyphenated().to_string())
        .map_err(|_| StoreError::validation(field, "must be a GUID"))
}

fn non_empty(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() { Err(StoreError::validation(field, "must not be empty")) } else { Ok(()) }
}

impl PlatformAdmin<'_> {
    /// Creates a tenant, audited (`tenant.created`, in the new tenant's log) in the same
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (`tenant`) when the Azure tenant id is already registered;
    /// [`StoreError::Validation`] for an empty name or a malformed GUID.
    pub async fn create_tenant(&self, new: &NewTenant, by: &Actor) -> Result<Tenant, StoreError> {
        non_empty("name", &new.name)?;
        let azure_tenant_id = normalise_guid("azure_tenant_id", &new.azure_tenant_id)?;
        let at = now();
        let tenant = Tenant {
            id: new_id(),
            name: new.name.trim().to_owned(),
            azure_tenant_id,
            tenant_type: new.tenant_type,
            active: true,
            created_at: at,
            updated_at: at,
        };
        let entry =
            by.entry("tenant.created", "tenant", &tenant.id, serde_json::Value::Null, audit_view(&tenant));
        on_pool!(self.store, pool => {
            let mut tx = pool.begin_with(self.store.begin_write()).await?;
            sqlx::query(
                "INSERT INTO tenants (id, name, azure_tenant_id, tenant_type, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.azure_tenant_id)
            .bind(tenant.tenant_type.as_str())
            .bind(tenant.active)
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(conflict_as("tenant"))?;
            insert_audit!(&mut *tx, &tenant.id, &entry)?;
            tx.commit().await?;
        });
        Ok(tenant)
    }

    /// Reads one tenant by internal id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn get_tenant(&self, id: &str) -> Result<Tenant, StoreError> {
        on_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM tenants WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// Reads one tenant by its Entra tenant GUID (how the API resolves a token's `tid`).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Validation`] for a malformed GUID.
    pub async fn get_tenant_by_azure_tenant_id(&self, azure_tenant_id: &str) -> Result<Tenant, StoreError> {
        let guid = normalise_guid("azure_tenant_id", azure_tenant_id)?;
        on_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM tenants WHERE azure_tenant_id = $1"
            )))
            .bind(&guid)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// Lists tenants by name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_tenants(&self, page: PageRequest) -> Result<Page<Tenant>, StoreError> {
        let (items, total) = on_pool!(self.store, pool => {
            let items: Vec<Tenant> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM tenants ORDER BY name, id LIMIT $1 OFFSET $2"
            )))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// Every active tenant (the nightly fan-out).
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_active_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        Ok(on_pool!(self.store, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM tenants WHERE active ORDER BY name, id"
            )))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Changes a tenant's name, type or active flag, audited (`tenant.updated`, before and
    /// after) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Validation`] for an empty name.
    pub async fn update_tenant(
        &self,
        id: &str,
        update: &TenantUpdate,
        by: &Actor,
    ) -> Result<Tenant, StoreError> {
        if let Some(name) = &update.name {
            non_empty("name", name)?;
        }
        let select = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1");
        let after = on_pool!(self.store, pool => {
            let mut tx = pool.begin_with(self.store.begin_write()).await?;
            let before: Tenant = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            sqlx::query(
                "UPDATE tenants SET name = COALESCE($2, name), tenant_type = COALESCE($3, tenant_type), \
                 active = COALESCE($4, active), updated_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(update.name.as_deref().map(str::trim))
            .bind(update.tenant_type.map(TenantType::as_str))
            .bind(update.active)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            let after: Tenant = sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(id).fetch_one(&mut *tx).await?;
            let entry = by.entry("tenant.updated", "tenant", id, audit_view(&before), audit_view(&after));
            insert_audit!(&mut *tx, id, &entry)?;
            tx.commit().await?;
            after
        });
        Ok(after)
    }

    /// Marks a tenant inactive (its data stays; scheduled ingestion skips it).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn deactivate_tenant(&self, id: &str, by: &Actor) -> Result<Tenant, StoreError> {
        self.update_tenant(id, &TenantUpdate { active: Some(false), ..TenantUpdate::default() }, by).await
    }

    /// Deletes a tenant and all its curated data in one transaction, keeping its audit trail
    /// and adding `tenant.deleted` (with what was removed) to it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_tenant(&self, id: &str, by: &Actor) -> Result<(), StoreError> {
        let select = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1");
        on_pool!(self.store, pool => {
            let mut tx = pool.begin_with(self.store.begin_write()).await?;
            let before: Tenant = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            for statement in TENANT_TABLES {
                sqlx::query(*statement).bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM tenants WHERE id = $1").bind(id).execute(&mut *tx).await?;
            let entry = by.entry("tenant.deleted", "tenant", id, audit_view(&before), serde_json::Value::Null);
            insert_audit!(&mut *tx, id, &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }
}
