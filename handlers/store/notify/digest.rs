//! The weekly digest: one `digest.weekly` event per channel that wants it, composed from the
//! tenant's open findings and those executed this week (see [`crate::notify::digest`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::NotificationChannel;
use super::outbox::{INSERT_EVENT, load_tags};
use crate::notify::EventType;
use crate::notify::digest::{DigestRow, compose};
use crate::notify::event::FindingSummary;
use crate::notify::routing::{ChannelFilter, Route};
use crate::store::{Store, StoreError, TenantScope, new_id, now, on_pool};

/// Most findings one digest reads (the largest savings first).
pub const MAX_DIGEST_FINDINGS: i64 = 5000;

/// A finding row of the digest query.
type Row = (String, String, String, String, String, f64, String, String, DateTime<Utc>, DateTime<Utc>);

impl Store {
    /// Records the week's digest (from `since`) for each enabled channel of the tenant that
    /// wants `digest.weekly` and owns something to report. Returns the events recorded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_weekly_digests(
        &self,
        scope: &TenantScope,
        since: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let at = now();
        let recorded = on_pool!(self, pool => {
            let channels: Vec<NotificationChannel> = sqlx::query_as(
                "SELECT id, tenant_id, name, kind, url, secret_sealed, min_savings, events, quiet_start_hour, \
                 quiet_end_hour, active_days, enabled, created_by, created_at, updated_at \
                 FROM notification_channels WHERE tenant_id = $1 AND enabled = $2 \
                 AND kind IN ('webhook', 'teams', 'email')",
            )
            .bind(scope.tenant_id())
            .bind(true)
            .fetch_all(pool)
            .await?;
            let filters: Vec<ChannelFilter> = channels
                .iter()
                .map(|c| ChannelFilter { id: c.id.clone(), events: c.events.0.clone(), min_savings: c.min_savings })
                .collect();
            let wanting: Vec<&ChannelFilter> = filters
                .iter()
                .filter(|c| c.events.is_empty() || c.events.iter().any(|e| e == EventType::DigestWeekly.as_str()))
                .collect();
            if wanting.is_empty() {
                return Ok(0);
            }
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, subscription_id, resource_id, rule_id, title, estimated_monthly_savings, currency, status, \
                 first_detected_at, status_changed_at FROM recommendations WHERE tenant_id = $1 \
                 AND duplicate_of IS NULL AND (status = 'open' OR (status = 'executed' AND status_changed_at >= $2)) \
                 ORDER BY estimated_monthly_savings DESC, id LIMIT $3",
            )
            .bind(scope.tenant_id())
            .bind(since)
            .bind(MAX_DIGEST_FINDINGS)
            .fetch_all(pool)
            .await?;
            let rows: Vec<DigestRow> = rows
                .into_iter()
                .map(|(id, subscription_id, resource_id, rule_id, title, savings, currency, status, first, changed)| DigestRow {
                    finding: FindingSummary {
                        id,
                        subscription_id,
                        resource_id,
                        rule_id,
                        title,
                        estimated_monthly_savings: savings,
                        currency,
                    },
                    status,
                    first_detected_at: first,
                    status_changed_at: changed,
                })
                .collect();
            let routes: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT tag_key, tag_value, channel_id FROM notification_routes WHERE tenant_id = $1",
            )
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?;
            let routes: Vec<Route> = routes
                .into_iter()
                .map(|(tag_key, tag_value, channel_id)| Route { tag_key, tag_value, channel_id })
                .collect();
            let ids: Vec<String> = rows.iter().map(|r| r.finding.resource_id.clone()).collect();
            let tags: HashMap<String, BTreeMap<String, String>> =
                if routes.is_empty() { HashMap::new() } else { load_tags!(pool, scope, ids) };
            let mut recorded = 0;
            for channel in wanting {
                let Some(data) = compose(channel, &filters, &rows, &routes, &tags, since) else { continue };
                sqlx::query(INSERT_EVENT)
                    .bind(new_id())
                    .bind(scope.tenant_id())
                    .bind(EventType::DigestWeekly.as_str())
                    .bind(None::<String>)
                    .bind(&channel.id)
                    .bind(Json(&data))
                    .bind(at)
                    .execute(pool)
                    .await?;
                recorded += 1;
            }
            recorded
        });
        Ok(recorded)
    }
}
