//! `audit_logs`: append and list. There is no update or delete here; the database refuses
//! both (see the `0002_audit_append_only` migrations) and only retention removes old rows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Page, PageRequest, Store, StoreError, TenantScope, new_id, now, on_pool};

/// The insert shared by [`Store::append_audit`] and the transactions that audit their change.
pub(crate) const INSERT: &str = "INSERT INTO audit_logs (id, tenant_id, actor, action, target_type, target_id, \
     metadata, occurred_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";

/// Binds a [`NewAuditEntry`] to [`INSERT`] and executes it on `$exec`.
macro_rules! insert_audit {
    ($exec:expr, $tenant_id:expr, $entry:expr) => {{
        let entry: &$crate::store::NewAuditEntry = $entry;
        sqlx::query($crate::store::audit::INSERT)
            .bind($crate::store::new_id())
            .bind($tenant_id)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target_type)
            .bind(&entry.target_id)
            .bind(sqlx::types::Json(&entry.metadata))
            .bind(entry.occurred_at)
            .bind($crate::store::now())
            .execute($exec)
            .await
    }};
}
pub(crate) use insert_audit;

/// The `tenant_id` of audit rows about the platform as a whole (a platform admin listing
/// tenants), which belong to no one tenant.
pub const PLATFORM_AUDIT_TENANT: &str = "platform";

/// Who makes an administrative change, and under which request, for the audit row written in
/// the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person or principal (object id, `tenant:<guid>`, `operator:<name>`, `system`).
    pub actor: String,
    /// The request's correlation id, when the change came through the API.
    pub correlation_id: Option<String>,
}

impl Actor {
    /// An actor with no correlation id (the CLI, the system).
    pub fn named(actor: impl Into<String>) -> Self {
        Self { actor: actor.into(), correlation_id: None }
    }

    /// The audit entry of a change to `target_type`/`target_id`, with the values before and after.
    pub(crate) fn entry(
        &self,
        action: &str,
        target_type: &str,
        target_id: &str,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> NewAuditEntry {
        NewAuditEntry {
            actor: self.actor.clone(),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            metadata: serde_json::json!({
                "before": before,
                "after": after,
                "correlation_id": self.correlation_id,
            }),
            occurred_at: now(),
        }
    }
}

/// An audit record to append.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// Who acted (user object id, `system`, `retention`, ...).
    pub actor: String,
    /// What was done, e.g. `recommendation.approved`.
    pub action: String,
    /// Kind of object acted on.
    pub target_type: String,
    /// Id of the object acted on.
    pub target_id: String,
    /// Free-form details (never secrets).
    pub metadata: serde_json::Value,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

impl NewAuditEntry {
    /// `actor` did `action` to the `target_type` object `target_id` at `at`.
    pub fn new(
        actor: &str,
        action: &str,
        (target_type, target_id): (&str, &str),
        metadata: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            actor: actor.to_owned(),
            action: action.to_owned(),
            target_type: target_type.to_owned(),
            target_id: target_id.to_owned(),
            metadata,
            occurred_at: at,
        }
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Record id (UUID v7).
    pub id: String,
    /// Tenant the action concerned.
    pub tenant_id: String,
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// Kind of object.
    pub target_type: String,
    /// Object id.
    pub target_id: String,
    /// Details.
    #[schema(value_type = serde_json::Value)]
    pub metadata: Json<serde_json::Value>,
    /// When it happened.
    #[serde(rename = "timestamp")]
    pub occurred_at: DateTime<Utc>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Filters for [`Store::list_audit`]; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact target type.
    pub target_type: Option<String>,
    /// Exact target id.
    pub target_id: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
}

fn push_filters<DB>(qb: &mut QueryBuilder<DB>, scope: &TenantScope, filter: &AuditFilter)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: for<'q> Encode<'q, DB> + Type<DB>,
{
    qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
    for (column, value) in [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("target_type", &filter.target_type),
        ("target_id", &filter.target_id),
    ] {
        if let Some(value) = value {
            qb.push(format_args!(" AND {column} = ")).push_bind(value.clone());
        }
    }
    if let Some(from) = filter.from {
        qb.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" AND occurred_at < ").push_bind(to);
    }
}

impl Store {
    /// Appends one audit record and returns its id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn append_audit(
        &self,
        scope: &TenantScope,
        entry: &NewAuditEntry,
    ) -> Result<String, StoreError> {
        let id = new_id();
        on_pool!(self, pool => {
            sqlx::query(INSERT)
                .bind(&id)
                .bind(scope.tenant_id())
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.target_type)
                .bind(&entry.target_id)
                .bind(Json(&entry.metadata))
                .bind(entry.occurred_at)
                .bind(now())
                .execute(pool)
                .await?;
        });
        Ok(id)
    }

    /// Lists audit records, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_audit(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let (items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(
                "SELECT id, tenant_id, actor, action, target_type, target_id, metadata, occurred_at, created_at \
                 FROM audit_logs WHERE ",
            );
            push_filters(&mut qb, scope, filter);
            qb.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").push_bind(page.limit());
            qb.push(" OFFSET ").push_bind(page.offset());
            let items: Vec<AuditEntry> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM audit_logs WHERE ");
            push_filters(&mut count, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }
}
