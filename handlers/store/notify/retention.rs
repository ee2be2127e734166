//! Retention of the notification tables: finished deliveries (`delivered`, `failed`) and
//! events older than the configured days are deleted in bounded batches. A pending or leased
//! delivery is never deleted, nor is an event that still has one or that has not been fanned
//! out, nor an event with a delivery that finished within the window (deleting an event
//! deletes its deliveries).
//!
//! A platform job (the `retention` timer): it crosses tenants like curated retention does.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::{Store, StoreError, on_pool};

/// What one notification retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NotificationRetention {
    /// Finished deliveries deleted.
    pub deliveries: u64,
    /// Events deleted (with their remaining, finished, deliveries).
    pub events: u64,
    /// Batches run.
    pub batches: u32,
    /// False when the pass stopped at its batch bound with rows still to delete.
    pub complete: bool,
}

impl Store {
    /// Deletes finished deliveries and events older than `cutoff`, `batch` rows of each table
    /// per statement (its own transaction), at most `max_batches` rounds.
    ///
    /// # Errors
    /// Database errors (the batches already run stay deleted).
    pub async fn apply_notification_retention(
        &self,
        cutoff: DateTime<Utc>,
        batch: u32,
        max_batches: u32,
    ) -> Result<NotificationRetention, StoreError> {
        let mut report = NotificationRetention { complete: true, ..NotificationRetention::default() };
        let limit = i64::from(batch.max(1));
        loop {
            if report.batches >= max_batches {
                report.complete = false;
                break;
            }
            let (deliveries, events) = on_pool!(self, pool => {
                let deliveries = sqlx::query(
                    "DELETE FROM notification_deliveries WHERE id IN (SELECT id FROM notification_deliveries \
                     WHERE status IN ('delivered', 'failed') AND updated_at < $1 ORDER BY updated_at, id LIMIT $2)",
                )
                .bind(cutoff)
                .bind(limit)
                .execute(pool)
                .await?
                .rows_affected();
                let events = sqlx::query(
                    "DELETE FROM notification_events WHERE id IN (SELECT e.id FROM notification_events e \
                     WHERE e.created_at < $1 AND e.dispatched_at IS NOT NULL AND NOT EXISTS (\
                     SELECT 1 FROM notification_deliveries d WHERE d.event_id = e.id \
                     AND (d.status IN ('pending', 'sending') OR d.updated_at >= $1)) \
                     ORDER BY e.created_at, e.id LIMIT $2)",
                )
                .bind(cutoff)
                .bind(limit)
                .execute(pool)
                .await?
                .rows_affected();
                (deliveries, events)
            });
            report.batches += 1;
            report.deliveries += deliveries;
            report.events += events;
            if deliveries < limit.unsigned_abs() && events < limit.unsigned_abs() {
                break;
            }
        }
        Ok(report)
    }
}
