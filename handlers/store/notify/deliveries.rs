//! `notification_deliveries`: claiming due deliveries with a lease, recording outcomes, the
//! poison path and the delivery log.
//!
//! A claim is one conditional `UPDATE` (`pending` and due, or `sending` with an expired lease
//! → `sending` under this owner's lease), so two handlers never hold one delivery; a finished
//! delivery is only recorded by the lease holder, and `delivered`/`failed` are final. A
//! handler that dies mid-run leaves its lease to expire, and the next run takes the delivery
//! over.

use chrono::{DateTime, Duration, Utc};
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{DeliveryView, NotificationChannel};
use crate::store::{Page, PageRequest, Store, StoreError, TenantScope, on_pool};

/// A delivery claimed for sending, with what the sender needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// Delivery id.
    pub id: String,
    /// Event id (the idempotency key).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// The channel's share of the event data.
    pub data: serde_json::Value,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    /// Attempts made, this one included.
    pub attempts: i32,
    /// The channel.
    pub channel: NotificationChannel,
}

/// A claim of due deliveries: whose lease, taken at which instant, for how long, at most how
/// many, and which deliveries the claimant already handled (never claimed again by it).
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The lease holder.
    pub owner: &'a str,
    /// The instant the claim is made at (what is due is due at this instant).
    pub at: DateTime<Utc>,
    /// How long the lease holds from `at`.
    pub lease: Duration,
    /// Most deliveries claimed.
    pub limit: u32,
    /// Attempts a delivery may have; one that has made them all is not claimed again.
    pub max_attempts: u32,
    /// Delivery ids not to claim.
    pub skip: &'a [String],
}

/// How an attempt ended, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryResult {
    /// The receiver accepted it.
    Delivered {
        /// HTTP status.
        status: u16,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        /// HTTP status, if any.
        status: Option<u16>,
        /// Why.
        error: String,
        /// When.
        next_attempt_at: DateTime<Utc>,
    },
    /// Final failure.
    Failed {
        /// HTTP status, if any.
        status: Option<u16>,
        /// Why.
        error: String,
    },
}

/// Filters of the delivery log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// `pending`, `sending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// Channel id.
    pub channel_id: Option<String>,
    /// Event type.
    pub event_type: Option<String>,
}

/// An event with work left: not fanned out yet, or with a delivery due.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingWork {
    /// Tenant.
    pub tenant_id: String,
    /// Event.
    pub event_id: String,
}

/// A claimed delivery's event id, type, data, attempts, channel id and event time.
type ClaimRow = (String, String, Json<serde_json::Value>, i32, String, DateTime<Utc>);

const DUE: &str =
    "((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until <= $3))";

impl Store {
    /// Events of every tenant with work left at `at`, oldest first, at most `limit`: what the
    /// dispatch timer enqueues. A platform query, the one that crosses tenants.
    ///
    /// # Errors
    /// Database errors.
    pub async fn pending_notification_work(
        &self,
        at: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingWork>, StoreError> {
        let mut work: Vec<PendingWork> = on_pool!(self, pool => {
            let mut work: Vec<PendingWork> = sqlx::query_as(
                "SELECT tenant_id, id AS event_id FROM notification_events WHERE dispatched_at IS NULL \
                 ORDER BY occurred_at LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            let due: Vec<PendingWork> = sqlx::query_as(
                "SELECT DISTINCT tenant_id, event_id FROM notification_deliveries WHERE \
                 (status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2) \
                 ORDER BY event_id LIMIT $1",
            )
            .bind(i64::from(limit))
            .bind(at)
            .fetch_all(pool)
            .await?;
            work.extend(due);
            work
        });
        let mut seen = std::collections::HashSet::new();
        work.retain(|w| seen.insert(w.event_id.clone()));
        work.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(work)
    }

    /// Undispatched events of the tenant, oldest first, at most `limit`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn undispatched_events(
        &self,
        scope: &TenantScope,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM notification_events WHERE tenant_id = $1 AND dispatched_at IS NULL \
                 ORDER BY occurred_at, id LIMIT $2",
            )
            .bind(scope.tenant_id())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Claims up to `claim.limit` deliveries due at `claim.at` (of one event when `event_id`
    /// is given, none of `claim.skip`, none that has made `claim.max_attempts` attempts) for
    /// `claim.owner` until `claim.at + claim.lease`, counting the attempt.
    ///
    /// # Errors
    /// Database errors.
    pub async fn claim_deliveries(
        &self,
        scope: &TenantScope,
        event_id: Option<&str>,
        claim: &Claim<'_>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let Claim { owner, at, lease, limit, max_attempts, skip } = *claim;
        let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let until = at + lease;
        // The skipped ids are dropped after the select, so it asks for as many more.
        let wanted = i64::from(limit).saturating_add(i64::try_from(skip.len()).unwrap_or(i64::MAX));
        let select = format!(
            "SELECT id FROM notification_deliveries WHERE tenant_id = $1 AND ($2 = '' OR event_id = $2) AND {DUE} \
             AND attempts < $5 ORDER BY next_attempt_at, id LIMIT $4"
        );
        let claim = format!(
            "UPDATE notification_deliveries SET status = 'sending', lease_owner = $4, lease_until = $5, \
             attempts = attempts + 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND {DUE} AND attempts < $6"
        );
        let claimed = on_pool!(self, pool => {
            let candidates: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(event_id.unwrap_or(""))
                .bind(at)
                .bind(wanted)
                .bind(max_attempts)
                .fetch_all(pool)
                .await?;
            let mut claimed = Vec::new();
            let candidates = candidates
                .into_iter()
                .filter(|id| !skip.contains(id))
                .take(usize::try_from(limit).unwrap_or(usize::MAX));
            for id in candidates {
                let done = sqlx::query(sqlx::AssertSqlSafe(claim.clone()))
                    .bind(scope.tenant_id())
                    .bind(&id)
                    .bind(at)
                    .bind(owner)
                    .bind(until)
                    .bind(max_attempts)
                    .execute(pool)
                    .await?;
                if done.rows_affected() == 1 {
                    claimed.push(id);
                }
            }
            let mut out = Vec::with_capacity(claimed.len());
            for id in claimed {
                let row: Option<ClaimRow> = sqlx::query_as(
                    "SELECT d.event_id, d.event_type, d.data, d.attempts, d.channel_id, e.occurred_at \
                     FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id \
                     WHERE d.tenant_id = $1 AND d.id = $2 AND d.lease_owner = $3",
                )
                .bind(scope.tenant_id())
                .bind(&id)
                .bind(owner)
                .fetch_optional(pool)
                .await?;
                let Some((event_id, event_type, data, attempts, channel_id, occurred_at)) = row else { continue };
                let channel: NotificationChannel = sqlx::query_as(
                    "SELECT id, tenant_id, name, kind, url, secret_sealed, min_savings, events, quiet_start_hour, \
                     quiet_end_hour, active_days, enabled, created_by, created_at, updated_at \
                     FROM notification_channels WHERE tenant_id = $1 AND id = $2",
                )
                .bind(scope.tenant_id())
                .bind(&channel_id)
                .fetch_one(pool)
                .await?;
                out.push(ClaimedDelivery { id, event_id, event_type, data: data.0, occurred_at, attempts, channel });
            }
            out
        });
        Ok(claimed)
    }

    /// Marks failed the deliveries due at `at` (of one event when `event_id` is given) that
    /// have made `max_attempts` attempts: a handler that took one over after a lease expired
    /// counted an attempt it never finished, and no claim takes it again. Returns how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn fail_exhausted_deliveries(
        &self,
        scope: &TenantScope,
        event_id: Option<&str>,
        at: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<u64, StoreError> {
        let fail = format!(
            "UPDATE notification_deliveries SET status = 'failed', last_error = $5, lease_owner = NULL, \
             lease_until = NULL, updated_at = $3 WHERE tenant_id = $1 AND ($2 = '' OR event_id = $2) AND {DUE} \
             AND attempts >= $4"
        );
        let error = format!("gave up after {max_attempts} attempts: the last one did not finish");
        Ok(on_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(fail))
                .bind(scope.tenant_id())
                .bind(event_id.unwrap_or(""))
                .bind(at)
                .bind(i32::try_from(max_attempts).unwrap_or(i32::MAX))
                .bind(error)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Records how `owner`'s attempt at delivery `id` ended. Returns false when `owner` no
    /// longer holds the lease (another handler took the delivery over), in which case nothing
    /// is written.
    ///
    /// # Errors
    /// Database errors.
    pub async fn finish_delivery(
        &self,
        scope: &TenantScope,
        id: &str,
        owner: &str,
        result: &DeliveryResult,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (status, code, error, next, delivered) = match result {
            DeliveryResult::Delivered { status } => ("delivered", Some(*status), None, at, Some(at)),
            DeliveryResult::Retry { status, error, next_attempt_at } => {
                ("pending", *status, Some(error.clone()), *next_attempt_at, None)
            }
            DeliveryResult::Failed { status, error } => ("failed", *status, Some(error.clone()), at, None),
        };
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE notification_deliveries SET status = $4, last_status = $5, last_error = $6, \
                 next_attempt_at = $7, delivered_at = $8, lease_owner = NULL, lease_until = NULL, updated_at = $9 \
                 WHERE tenant_id = $1 AND id = $2 AND status = 'sending' AND lease_owner = $3",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(owner)
            .bind(status)
            .bind(code.map(i32::from))
            .bind(error)
            .bind(next)
            .bind(delivered)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Marks every unfinished delivery of `event_id` failed with `reason` (its queue message
    /// went to the poison queue), except one still under a live lease at `at`: its holder is
    /// sending it and records the outcome. Returns how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn fail_event_deliveries(
        &self,
        scope: &TenantScope,
        event_id: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE notification_deliveries SET status = 'failed', last_error = $3, lease_owner = NULL, \
                 lease_until = NULL, updated_at = $4 WHERE tenant_id = $1 AND event_id = $2 \
                 AND status IN ('pending', 'sending') AND (status = 'pending' OR lease_until <= $4)",
            )
            .bind(scope.tenant_id())
            .bind(event_id)
            .bind(reason)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// The delivery log, newest first.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for an unknown status; database errors.
    pub async fn list_deliveries(
        &self,
        scope: &TenantScope,
        filter: &DeliveryFilter,
        page: PageRequest,
    ) -> Result<Page<DeliveryView>, StoreError> {
        if let Some(status) = &filter.status
            && !["pending", "sending", "delivered", "failed"].contains(&status.as_str())
        {
            return Err(StoreError::validation("status", "must be pending, sending, delivered or failed"));
        }
        on_pool!(self, pool => {
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM notification_deliveries d WHERE ");
            push_filter(&mut count, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            let mut qb = QueryBuilder::new(
                "SELECT d.id, d.event_id, d.event_type, d.channel_id, c.name AS channel_name, d.status, d.attempts, \
                 d.last_status, d.last_error, d.next_attempt_at, d.delivered_at, d.created_at, d.updated_at \
                 FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id WHERE ",
            );
            push_filter(&mut qb, scope, filter);
            qb.push(" ORDER BY d.created_at DESC, d.id DESC LIMIT ").push_bind(page.limit());
            qb.push(" OFFSET ").push_bind(page.offset());
            let items: Vec<DeliveryView> = qb.build_query_as().fetch_all(pool).await?;
            Ok(page.into_page(items, total))
        })
    }
}

fn push_filter<DB>(qb: &mut QueryBuilder<DB>, scope: &TenantScope, filter: &DeliveryFilter)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
{
    qb.push("d.tenant_id = ").push_bind(scope.tenant_id().to_owned());
    if let Some(status) = &filter.status {
        qb.push(" AND d.status = ").push_bind(status.clone());
    }
    if let Some(channel) = &filter.channel_id {
        qb.push(" AND d.channel_id = ").push_bind(channel.clone());
    }
    if let Some(event_type) = &filter.event_type {
        qb.push(" AND d.event_type = ").push_bind(event_type.clone());
    }
}
