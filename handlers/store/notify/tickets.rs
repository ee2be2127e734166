//! `recommendation_tickets`: the ITSM tickets created for approved recommendations, one per
//! approval delivery (its id is the ticket's correlation id, unique, so a redelivered approval
//! never records a second ticket), each creation audited; the sync's view of open tickets and
//! the closing of a ticket, which moves its recommendation from `approved` to `executed` in the
//! same transaction as the audit row and the `recommendation.status_changed` event.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::NotificationChannel;
use crate::store::audit::insert_audit;
use crate::store::{NewAuditEntry, Store, StoreError, TenantScope, new_id, on_pool};

/// A ticket as the recommendation's API answer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RecommendationTicket {
    /// `servicenow` or `jira`.
    pub system: String,
    /// `incident`, `change_request` or `issue`.
    pub record_type: String,
    /// The ticket number (`INC0010001`, `CHG0030001`) or issue key (`OPS-12`).
    pub key: String,
    /// Where people open it.
    pub url: String,
    /// `open`, `done` (the recommendation was executed) or `cancelled` (closed without doing it).
    pub status: String,
    /// The system's own state when last read (ServiceNow state code, Jira status).
    pub remote_state: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A ticket just created (or found again) for a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    /// The recommendation approved.
    pub recommendation_id: String,
    /// The channel that created it.
    pub channel_id: String,
    /// The delivery (the correlation id).
    pub delivery_id: String,
    /// `servicenow` or `jira`.
    pub system: String,
    /// `incident`, `change_request` or `issue`.
    pub record_type: String,
    /// Number or key.
    pub key: String,
    /// `sys_id` or issue id.
    pub external_id: String,
    /// Link.
    pub url: String,
}

/// An open ticket the sync reads, with the channel that can authenticate to its system.
#[derive(Debug, Clone)]
pub struct OpenTicket {
    /// Ticket id.
    pub id: String,
    /// Its recommendation.
    pub recommendation_id: String,
    /// `incident`, `change_request` or `issue`.
    pub record_type: String,
    /// Number or key.
    pub key: String,
    /// `sys_id` or issue id.
    pub external_id: String,
    /// The channel.
    pub channel: NotificationChannel,
}

/// How a synced ticket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketEnd {
    /// Carried out: the recommendation is executed.
    Done,
    /// Closed without being carried out: recorded, the recommendation stays approved.
    Cancelled,
}

type OpenRow = (String, String, String, String, String, String);

impl Store {
    /// The ticket recorded for delivery `delivery_id`, if any (its key).
    ///
    /// # Errors
    /// Database errors.
    pub async fn ticket_of_delivery(
        &self,
        scope: &TenantScope,
        delivery_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT ticket_key FROM recommendation_tickets WHERE tenant_id = $1 AND delivery_id = $2",
            )
            .bind(scope.tenant_id())
            .bind(delivery_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records a created ticket and its audit row (`ticket.created`) in one transaction.
    /// Returns false when the delivery already has one (nothing is written then).
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_ticket(
        &self,
        scope: &TenantScope,
        ticket: &NewTicket,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let done = sqlx::query(
                "INSERT INTO recommendation_tickets (id, tenant_id, recommendation_id, channel_id, delivery_id, \
                 system, record_type, ticket_key, external_id, url, status, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $11 \
                 WHERE EXISTS (SELECT 1 FROM recommendations WHERE tenant_id = $2 AND id = $3) \
                 ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(new_id())
            .bind(scope.tenant_id())
            .bind(&ticket.recommendation_id)
            .bind(&ticket.channel_id)
            .bind(&ticket.delivery_id)
            .bind(&ticket.system)
            .bind(&ticket.record_type)
            .bind(&ticket.key)
            .bind(&ticket.external_id)
            .bind(&ticket.url)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                let entry = NewAuditEntry {
                    actor: "system".into(),
                    action: "ticket.created".into(),
                    target_type: "recommendation".into(),
                    target_id: ticket.recommendation_id.clone(),
                    metadata: serde_json::json!({
                        "system": ticket.system, "record_type": ticket.record_type, "key": ticket.key,
                        "url": ticket.url, "channel_id": ticket.channel_id, "delivery_id": ticket.delivery_id,
                    }),
                    occurred_at: at,
                };
                insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            }
            tx.commit().await?;
            done == 1
        }))
    }

    /// The tickets of a recommendation, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn tickets_of(
        &self,
        scope: &TenantScope,
        recommendation_id: &str,
    ) -> Result<Vec<RecommendationTicket>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT system, record_type, ticket_key AS key, url, status, remote_state, created_at \
                 FROM recommendation_tickets WHERE tenant_id = $1 AND recommendation_id = $2 ORDER BY created_at, id",
            )
            .bind(scope.tenant_id())
            .bind(recommendation_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Tenants with open tickets: what the sync timer visits. A platform query.
    ///
    /// # Errors
    /// Database errors.
    pub async fn tenants_with_open_tickets(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT tenant_id FROM recommendation_tickets WHERE status = 'open' ORDER BY tenant_id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// At most `limit` open tickets of the tenant whose channel still exists, the longest
    /// unchecked first, so a run bounded by `limit` reaches every ticket in turn.
    ///
    /// # Errors
    /// Database errors.
    pub async fn open_tickets(&self, scope: &TenantScope, limit: u32) -> Result<Vec<OpenTicket>, StoreError> {
        Ok(on_pool!(self, pool => {
            let rows: Vec<OpenRow> = sqlx::query_as(
                "SELECT t.id, t.recommendation_id, t.record_type, t.ticket_key, t.external_id, t.channel_id \
                 FROM recommendation_tickets t JOIN notification_channels c \
                 ON c.tenant_id = t.tenant_id AND c.id = t.channel_id \
                 WHERE t.tenant_id = $1 AND t.status = 'open' \
                 ORDER BY COALESCE(t.checked_at, t.created_at), t.id LIMIT $2",
            )
            .bind(scope.tenant_id())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for (id, recommendation_id, record_type, key, external_id, channel_id) in rows {
                let channel: NotificationChannel = sqlx::query_as(
                    "SELECT id, tenant_id, name, kind, url, secret_sealed, min_savings, events, quiet_start_hour, \
                     quiet_end_hour, active_days, enabled, created_by, created_at, updated_at \
                     FROM notification_channels WHERE tenant_id = $1 AND id = $2",
                )
                .bind(scope.tenant_id())
                .bind(&channel_id)
                .fetch_one(pool)
                .await?;
                out.push(OpenTicket { id, recommendation_id, record_type, key, external_id, channel });
            }
            out
        }))
    }

    /// Records that an open ticket was read (its remote state, or why it could not be).
    ///
    /// # Errors
    /// Database errors.
    pub async fn touch_ticket(
        &self,
        scope: &TenantScope,
        id: &str,
        remote_state: Option<&str>,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE recommendation_tickets SET remote_state = COALESCE($3, remote_state), last_error = $4, \
                 checked_at = $5, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(remote_state)
            .bind(error)
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Closes an open ticket as `end` with the system's `remote_state`, in one transaction:
    /// `Done` moves its recommendation from `approved` to `executed` by `actor`
    /// (`servicenow:<number>`, `jira:<key>`) with the audit row and the status event; a
    /// recommendation no longer approved (a person moved it meanwhile) is left alone.
    /// `Cancelled` is audited as `ticket.cancelled`. Returns true when the recommendation
    /// was executed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn close_ticket(
        &self,
        scope: &TenantScope,
        ticket: &OpenTicket,
        end: TicketEnd,
        actor: &str,
        remote_state: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let status = match end {
            TicketEnd::Done => "done",
            TicketEnd::Cancelled => "cancelled",
        };
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let closed = sqlx::query(
                "UPDATE recommendation_tickets SET status = $3, remote_state = $4, last_error = NULL, checked_at = $5, \
                 closed_at = $5, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = 'open'",
            )
            .bind(scope.tenant_id())
            .bind(&ticket.id)
            .bind(status)
            .bind(remote_state)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let id = ticket.recommendation_id.as_str();
            let metadata = serde_json::json!({
                "ticket": ticket.key, "record_type": ticket.record_type, "remote_state": remote_state,
            });
            let mut executed = false;
            if closed == 1 && end == TicketEnd::Done {
                executed = sqlx::query(
                    "UPDATE recommendations SET status = 'executed', status_changed_at = $3, status_changed_by = $4, \
                     updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'approved'",
                )
                .bind(scope.tenant_id())
                .bind(id)
                .bind(at)
                .bind(actor)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if executed {
                    let mut metadata = metadata.clone();
                    metadata["from"] = serde_json::json!("approved");
                    metadata["to"] = serde_json::json!("executed");
                    let entry = audit(actor, "recommendation.executed", id, metadata, at);
                    insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
                    let reason = format!("ticket {} closed", ticket.key);
                    crate::store::notify::outbox::record_status_changed!(
                        tx, scope, id, "approved", "executed", actor, Some(reason.as_str()), at
                    );
                }
            }
            if closed == 1 && !executed {
                let action = if end == TicketEnd::Done { "ticket.closed" } else { "ticket.cancelled" };
                insert_audit!(&mut *tx, scope.tenant_id(), &audit(actor, action, id, metadata, at))?;
            }
            tx.commit().await?;
            executed
        }))
    }
}

fn audit(
    actor: &str,
    action: &str,
    id: &str,
    metadata: serde_json::Value,
    at: DateTime<Utc>,
) -> NewAuditEntry {
    NewAuditEntry::new(actor, action, ("recommendation", id), metadata, at)
}
