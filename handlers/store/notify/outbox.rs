//! The outbox: events are inserted by the same transaction as the change that causes them (a
//! status change, new findings, new anomalies, a failed ingestion), so an event exists exactly
//! when its change committed. [`Store::fan_out_event`] later turns one event into one delivery
//! per receiving channel.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::notify::EventType;
use crate::notify::event::{FindingSummary, NewFindings};
use crate::notify::routing::{self, ChannelFilter, Route};
use crate::store::{Store, StoreError, TenantScope, new_id, now, on_pool};

/// Most findings or anomalies one event lists (counts and totals still cover all of them).
pub const MAX_EVENT_ITEMS: usize = 200;

/// The outbox insert shared by every transaction that records an event.
pub(crate) const INSERT_EVENT: &str = "INSERT INTO notification_events (id, tenant_id, event_type, subscription_id, \
     channel_id, data, occurred_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";

/// Inserts an event (`$type`: [`EventType`], `$sub`/`$channel`: `Option<&str>`, `$data`: JSON)
/// on `$exec`, the transaction of the change that causes it.
macro_rules! insert_event {
    ($exec:expr, $tenant_id:expr, $type:expr, $sub:expr, $channel:expr, $data:expr, $at:expr) => {{
        let event_type: $crate::notify::EventType = $type;
        sqlx::query($crate::store::notify::outbox::INSERT_EVENT)
            .bind($crate::store::new_id())
            .bind($tenant_id)
            .bind(event_type.as_str())
            .bind($sub)
            .bind($channel)
            .bind(sqlx::types::Json($data))
            .bind($at)
            .execute($exec)
            .await
    }};
}
pub(crate) use insert_event;

/// Records `recommendation.status_changed` for recommendation `$id` moved `$from` → `$to` by
/// `$actor`, reading the finding's details in the same transaction.
macro_rules! record_status_changed {
    ($tx:expr, $scope:expr, $id:expr, $from:expr, $to:expr, $actor:expr, $reason:expr, $at:expr) => {{
        let row: Option<(String, String, String, String, f64, String)> = sqlx::query_as(
            "SELECT subscription_id, resource_id, rule_id, title, estimated_monthly_savings, currency \
             FROM recommendations WHERE tenant_id = $1 AND id = $2",
        )
        .bind($scope.tenant_id())
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        if let Some((subscription_id, resource_id, rule_id, title, savings, currency)) = row {
            let data = serde_json::json!({
                "recommendation_id": $id, "subscription_id": subscription_id, "resource_id": resource_id,
                "rule_id": rule_id, "title": title,
                "estimated_monthly_savings": $crate::money::round_to_minor_unit(savings, &currency),
                "currency": currency, "from": $from, "to": $to, "changed_by": $actor, "reason": $reason,
            });
            $crate::store::notify::outbox::insert_event!(
                &mut *$tx, $scope.tenant_id(), $crate::notify::EventType::RecommendationStatusChanged,
                Some(subscription_id.as_str()), None::<&str>, data, $at
            )?;
        }
    }};
}
pub(crate) use record_status_changed;

/// Records one `recommendations.new` per subscription for the rows of `$ids` that this
/// transaction inserted (an upsert gives new rows the ids it generated; known rows keep theirs).
macro_rules! record_new_findings {
    ($tx:expr, $scope:expr, $ids:expr, $at:expr) => {{
        let mut found: Vec<(String, String, String, String, String, f64, String)> = Vec::new();
        for chunk in $ids.chunks(500) {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT id, subscription_id, resource_id, rule_id, title, estimated_monthly_savings, currency \
                 FROM recommendations WHERE duplicate_of IS NULL AND tenant_id = ",
            );
            qb.push_bind($scope.tenant_id().to_owned()).push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            qb.push(")");
            let rows: Vec<(String, String, String, String, String, f64, String)> =
                qb.build_query_as().fetch_all(&mut *$tx).await?;
            found.extend(rows);
        }
        for (subscription_id, data) in $crate::store::notify::outbox::new_findings_events(found) {
            $crate::store::notify::outbox::insert_event!(
                &mut *$tx, $scope.tenant_id(), $crate::notify::EventType::RecommendationsNew,
                Some(subscription_id.as_str()), None::<&str>, data, $at
            )?;
        }
    }};
}
pub(crate) use record_new_findings;

/// The `recommendations.new` data per subscription of newly inserted finding rows.
pub(crate) fn new_findings_events(
    rows: Vec<(String, String, String, String, String, f64, String)>,
) -> Vec<(String, serde_json::Value)> {
    let mut by_subscription: BTreeMap<String, Vec<FindingSummary>> = BTreeMap::new();
    for (id, subscription_id, resource_id, rule_id, title, savings, currency) in rows {
        by_subscription.entry(subscription_id.clone()).or_default().push(FindingSummary {
            id,
            subscription_id,
            resource_id,
            rule_id,
            title,
            estimated_monthly_savings: savings,
            currency,
        });
    }
    by_subscription
        .into_iter()
        .filter_map(|(sub, findings)| {
            let mut data = NewFindings::new(&sub, findings);
            if data.findings.len() > MAX_EVENT_ITEMS {
                data.findings.truncate(MAX_EVENT_ITEMS);
                data.truncated = true;
            }
            serde_json::to_value(data).ok().map(|v| (sub, v))
        })
        .collect()
}

/// Records `anomaly.detected` for the anomalies this transaction inserted (their `created_at`
/// is the transaction's instant `$at`; updated ones keep their own).
macro_rules! record_new_anomalies {
    ($tx:expr, $scope:expr, $at:expr) => {{
        let rows: Vec<(String, String, String, chrono::NaiveDate, String, f64, f64, String, String)> = sqlx::query_as(
            "SELECT id, scope, dimension_value, day, currency, expected, actual, severity, kind FROM cost_anomalies \
             WHERE tenant_id = $1 AND created_at = $2 ORDER BY day, id",
        )
        .bind($scope.tenant_id())
        .bind($at)
        .fetch_all(&mut *$tx)
        .await?;
        if !rows.is_empty() {
            let count = rows.len();
            let anomalies: Vec<serde_json::Value> = rows
                .into_iter()
                .take($crate::store::notify::MAX_EVENT_ITEMS)
                .map(|(id, scope, value, day, currency, expected, actual, severity, kind)| {
                    serde_json::json!({
                        "id": id, "scope": scope, "dimension_value": value, "day": day, "currency": currency,
                        "expected": $crate::money::round_to_minor_unit(expected, &currency),
                        "actual": $crate::money::round_to_minor_unit(actual, &currency),
                        "severity": severity, "kind": kind,
                    })
                })
                .collect();
            let data = serde_json::json!({"count": count, "anomalies": anomalies, "truncated": count > anomalies.len()});
            $crate::store::notify::outbox::insert_event!(
                &mut *$tx, $scope.tenant_id(), $crate::notify::EventType::AnomalyDetected,
                None::<&str>, None::<&str>, data, $at
            )?;
        }
    }};
}
pub(crate) use record_new_anomalies;

/// Records `ingestion.failed` for one subscription of a run.
macro_rules! record_ingestion_failed {
    ($tx:expr, $scope:expr, $run_id:expr, $sub:expr, $error:expr, $attempts:expr, $at:expr) => {{
        let data = serde_json::json!({
            "run_id": $run_id, "subscription_id": $sub, "error": $error, "attempts": $attempts,
        });
        $crate::store::notify::outbox::insert_event!(
            &mut *$tx, $scope.tenant_id(), $crate::notify::EventType::IngestionFailed,
            Some($sub), None::<&str>, data, $at
        )?;
    }};
}
pub(crate) use record_ingestion_failed;

/// The tags of the resources `$ids` of the tenant, by lower-cased resource id.
macro_rules! load_tags {
    ($exec:expr, $scope:expr, $ids:expr) => {{
        let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        for chunk in $ids.chunks(500) {
            let mut qb =
                sqlx::QueryBuilder::new("SELECT resource_id, tags FROM resources WHERE tenant_id = ");
            qb.push_bind($scope.tenant_id().to_owned()).push(" AND resource_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            qb.push(")");
            let rows: Vec<(String, Json<BTreeMap<String, serde_json::Value>>)> =
                qb.build_query_as().fetch_all($exec).await?;
            for (id, t) in rows {
                let text =
                    t.0.into_iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)));
                tags.insert(id.to_ascii_lowercase(), text.collect());
            }
        }
        tags
    }};
}
pub(crate) use load_tags;

/// One outbox row as fan-out reads it.
#[derive(sqlx::FromRow)]
struct EventRow {
    event_type: String,
    channel_id: Option<String>,
    data: Json<serde_json::Value>,
}

impl Store {
    /// Records an event of the tenant by itself (a channel test, a digest), for `channel_id`
    /// only when given. Returns its id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_event(
        &self,
        scope: &TenantScope,
        event_type: EventType,
        channel_id: Option<&str>,
        data: serde_json::Value,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let at = now();
        on_pool!(self, pool => {
            sqlx::query(INSERT_EVENT)
                .bind(&id)
                .bind(scope.tenant_id())
                .bind(event_type.as_str())
                .bind(None::<String>)
                .bind(channel_id)
                .bind(Json(&data))
                .bind(at)
                .execute(pool)
                .await?;
        });
        Ok(id)
    }

    /// Turns event `event_id` into one `pending` delivery per receiving channel (filters,
    /// minimum savings and owner routing applied; quiet hours push the first attempt back) and
    /// marks it dispatched, in one transaction. Idempotent: a dispatched event is left alone and
    /// `(event, channel)` is unique, so two handlers fanning out the same event create each
    /// delivery once. Returns the deliveries created.
    ///
    /// # Errors
    /// Database errors.
    pub async fn fan_out_event(
        &self,
        scope: &TenantScope,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let created = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let event: Option<EventRow> = sqlx::query_as(
                "SELECT event_type, channel_id, data FROM notification_events \
                 WHERE tenant_id = $1 AND id = $2 AND dispatched_at IS NULL",
            )
            .bind(scope.tenant_id())
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(event) = event else {
                tx.commit().await?;
                return Ok(0);
            };
            let channels: Vec<super::NotificationChannel> = sqlx::query_as(
                "SELECT id, tenant_id, name, kind, url, secret_sealed, min_savings, events, quiet_start_hour, \
                 quiet_end_hour, active_days, enabled, created_by, created_at, updated_at \
                 FROM notification_channels WHERE tenant_id = $1 AND enabled = $2",
            )
            .bind(scope.tenant_id())
            .bind(true)
            .fetch_all(&mut *tx)
            .await?;
            // Ticketing channels receive approvals only: each one creates a ticket.
            let approval = event.event_type == EventType::RecommendationStatusChanged.as_str()
                && event.data.0.get("to").and_then(|v| v.as_str()) == Some("approved");
            let channels: Vec<super::NotificationChannel> = channels
                .into_iter()
                .filter(|c| approval || !crate::notify::itsm::is_ticketing(&c.kind))
                .collect();
            let routes: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT tag_key, tag_value, channel_id FROM notification_routes WHERE tenant_id = $1",
            )
            .bind(scope.tenant_id())
            .fetch_all(&mut *tx)
            .await?;
            let routes: Vec<Route> = routes
                .into_iter()
                .map(|(tag_key, tag_value, channel_id)| Route { tag_key, tag_value, channel_id })
                .collect();
            let resources = resource_ids(&event.data.0);
            let tags = if routes.is_empty() { HashMap::new() } else { load_tags!(&mut *tx, scope, resources) };
            let filters: Vec<ChannelFilter> = channels
                .iter()
                .map(|c| ChannelFilter { id: c.id.clone(), events: c.events.0.clone(), min_savings: c.min_savings })
                .collect();
            let mut created = 0;
            if let Some(kind) = EventType::parse(&event.event_type) {
                let planned = routing::plan(kind, event.channel_id.as_deref(), &event.data.0, &filters, &routes, &tags);
                for (channel_id, data) in planned {
                    let first = channels
                        .iter()
                        .find(|c| c.id == channel_id)
                        .map_or(at, |c| c.schedule().next_allowed(at));
                    let done = sqlx::query(
                        "INSERT INTO notification_deliveries (id, tenant_id, event_id, channel_id, event_type, data, \
                         status, attempts, next_attempt_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, $8) \
                         ON CONFLICT (event_id, channel_id) DO NOTHING",
                    )
                    .bind(new_id())
                    .bind(scope.tenant_id())
                    .bind(event_id)
                    .bind(&channel_id)
                    .bind(&event.event_type)
                    .bind(Json(&data))
                    .bind(first)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    created += usize::try_from(done.rows_affected()).unwrap_or(0);
                }
            }
            sqlx::query(
                "UPDATE notification_events SET dispatched_at = $3 WHERE tenant_id = $1 AND id = $2 AND dispatched_at IS NULL",
            )
            .bind(scope.tenant_id())
            .bind(event_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            created
        });
        Ok(created)
    }
}

/// The resources an event's data names (its findings', or its own).
fn resource_ids(data: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = data
        .get("findings")
        .and_then(|f| f.as_array())
        .map(|f| f.iter().filter_map(|x| x.get("resource_id")?.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if let Some(id) = data.get("resource_id").and_then(|v| v.as_str()) {
        ids.push(id.to_owned());
    }
    ids.sort();
    ids.dedup();
    ids
}
