//! `notification_channels`: create, change, delete (each audited in the same transaction) and
//! read. Secrets are sealed before they are written and never appear in the audit log.

use sqlx::types::Json;

use super::NotificationChannel;
use crate::notify::{EVENT_TYPES, SecretBox, url_guard};
use crate::store::audit::insert_audit;
use crate::store::{Actor, Store, StoreError, TenantScope, new_id, now, on_pool};

/// Inserts (`true`) or updates (`false`) `$channel` on `$exec`.
macro_rules! write_channel {
    ($exec:expr, $channel:expr, $insert:expr) => {{
        let c: &NotificationChannel = $channel;
        let sql = if $insert {
            "INSERT INTO notification_channels (id, tenant_id, name, kind, url, secret_sealed, min_savings, events, \
             quiet_start_hour, quiet_end_hour, active_days, enabled, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        } else {
            "UPDATE notification_channels SET name = $3, kind = $4, url = $5, secret_sealed = $6, min_savings = $7, \
             events = $8, quiet_start_hour = $9, quiet_end_hour = $10, active_days = $11, enabled = $12, \
             created_by = $13, created_at = $14, updated_at = $15 WHERE id = $1 AND tenant_id = $2"
        };
        sqlx::query(sql)
            .bind(&c.id)
            .bind(&c.tenant_id)
            .bind(&c.name)
            .bind(&c.kind)
            .bind(&c.url)
            .bind(&c.secret_sealed)
            .bind(c.min_savings)
            .bind(&c.events)
            .bind(c.quiet_start_hour)
            .bind(c.quiet_end_hour)
            .bind(&c.active_days)
            .bind(c.enabled)
            .bind(&c.created_by)
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute($exec)
            .await
            .map_err(crate::store::error::conflict_as("channel name"))
    }};
}

/// Most channels one tenant may keep.
pub const MAX_CHANNELS_PER_TENANT: i64 = 50;

/// Channel kinds.
const KINDS: &[&str] = &["webhook", "teams", "email", "servicenow", "jira"];

/// Shortest webhook secret accepted: a signature is only as strong as its key.
const MIN_SECRET_CHARS: usize = 16;

const COLUMNS: &str = "id, tenant_id, name, kind, url, secret_sealed, min_savings, events, quiet_start_hour, \
     quiet_end_hour, active_days, enabled, created_by, created_at, updated_at";

/// What a new channel or a change to one says; for a change `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct ChannelInput {
    /// Name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// URL.
    pub url: Option<String>,
    /// The secret in clear (`Some(None)` removes it); sealed before it is stored.
    pub secret: Option<Option<String>>,
    /// Minimum monthly savings (`Some(None)` removes it).
    pub min_savings: Option<Option<f64>>,
    /// Event types (empty: all).
    pub events: Option<Vec<String>>,
    /// Quiet hours `[start, end)` in UTC (`Some(None)` removes them).
    pub quiet_hours: Option<Option<[i32; 2]>>,
    /// Weekdays deliveries are sent.
    pub active_days: Option<Vec<String>>,
    /// Enabled.
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for ChannelPolicy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelPolicy").field("allow_loopback", &self.allow_loopback).finish_non_exhaustive()
    }
}

/// What the platform allows of channels: loopback URLs (local runs only) and the key sealing
/// secrets.
pub struct ChannelPolicy<'a> {
    /// Whether `http://` loopback URLs are accepted.
    pub allow_loopback: bool,
    /// The key sealing secrets, when configured.
    pub secret_box: Option<&'a SecretBox>,
}

fn audit_view(c: &NotificationChannel) -> serde_json::Value {
    serde_json::to_value(c.view()).unwrap_or_default()
}

/// Checks and normalises a complete channel; seals `secret` when one is given.
fn validate(
    channel: &mut NotificationChannel,
    secret: Option<&Option<String>>,
    policy: &ChannelPolicy<'_>,
) -> Result<(), StoreError> {
    channel.name = channel.name.trim().to_owned();
    if channel.name.is_empty() || channel.name.chars().count() > 100 {
        return Err(StoreError::validation("name", "must be 1 to 100 characters"));
    }
    channel.kind = channel.kind.trim().to_ascii_lowercase();
    if !KINDS.contains(&channel.kind.as_str()) {
        return Err(StoreError::validation("kind", format!("must be one of {}", KINDS.join(", "))));
    }
    if channel.url.len() > 2048 {
        return Err(StoreError::validation("url", "must be at most 2048 characters"));
    }
    let url = url_guard::check(&channel.kind, &channel.url, policy.allow_loopback)
        .map_err(|e| StoreError::validation("url", e.0))?;
    channel.url = url.to_string();
    match secret {
        Some(Some(secret)) => {
            let secret = secret.trim();
            if secret.chars().count() < MIN_SECRET_CHARS || secret.len() > 1024 {
                return Err(StoreError::validation(
                    "secret",
                    format!("must be {MIN_SECRET_CHARS} to 1024 characters"),
                ));
            }
            let sealer = policy.secret_box.ok_or_else(|| {
                StoreError::validation(
                    "secret",
                    "cannot be stored: AZCOPS_NOTIFY_SECRET_KEY is not configured",
                )
            })?;
            channel.secret_sealed = Some(
                sealer
                    .seal(&channel.tenant_id, &channel.id, secret)
                    .ok_or_else(|| StoreError::validation("secret", "could not be sealed"))?,
            );
        }
        Some(None) => channel.secret_sealed = None,
        None => {}
    }
    if crate::notify::itsm::is_ticketing(&channel.kind) {
        crate::notify::itsm::target(&channel.kind, &url).map_err(|e| StoreError::validation("url", e))?;
        let given = secret.and_then(Option::as_deref);
        if let Some(secret) = given {
            crate::notify::itsm::authorization(&channel.kind, secret)
                .map_err(|e| StoreError::validation("secret", e))?;
        } else if channel.secret_sealed.is_none() {
            return Err(StoreError::validation(
                "secret",
                "a ticketing channel needs its credentials as its secret",
            ));
        }
    }
    if channel.kind == "webhook" && channel.secret_sealed.is_none() {
        return Err(StoreError::validation(
            "secret",
            "a webhook channel needs a secret to sign its deliveries",
        ));
    }
    if channel.min_savings.is_some_and(|m| !m.is_finite() || !(0.0..=1e12).contains(&m)) {
        return Err(StoreError::validation("min_savings", "must be a non-negative amount"));
    }
    let events = &mut channel.events.0;
    for event in events.iter_mut() {
        *event = event.trim().to_owned();
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(StoreError::validation(
                "events",
                format!("unknown event type {event:?}; known: {}", EVENT_TYPES.join(", ")),
            ));
        }
    }
    events.sort();
    events.dedup();
    match (channel.quiet_start_hour, channel.quiet_end_hour) {
        (None, None) => {}
        (Some(s), Some(e)) if (0..24).contains(&s) && (0..24).contains(&e) && s != e => {}
        _ => {
            return Err(StoreError::validation(
                "quiet_hours",
                "must be two different hours between 0 and 23",
            ));
        }
    }
    let days = &mut channel.active_days.0;
    for day in days.iter_mut() {
        let parsed = crate::notify::policy::parse_day(day).ok_or_else(|| {
            StoreError::validation("active_days", format!("unknown day {day:?}; use mon..sun"))
        })?;
        *day = crate::notify::policy::day_name(parsed).to_owned();
    }
    days.dedup();
    Ok(())
}

fn apply(channel: &mut NotificationChannel, change: &ChannelInput) {
    if let Some(name) = &change.name {
        channel.name.clone_from(name);
    }
    if let Some(kind) = &change.kind {
        channel.kind.clone_from(kind);
    }
    if let Some(url) = &change.url {
        channel.url.clone_from(url);
    }
    if let Some(min) = change.min_savings {
        channel.min_savings = min;
    }
    if let Some(events) = &change.events {
        channel.events = Json(events.clone());
    }
    if let Some(quiet) = change.quiet_hours {
        channel.quiet_start_hour = quiet.map(|q| q[0]);
        channel.quiet_end_hour = quiet.map(|q| q[1]);
    }
    if let Some(days) = &change.active_days {
        channel.active_days = Json(days.clone());
    }
    if let Some(enabled) = change.enabled {
        channel.enabled = enabled;
    }
}

impl Store {
    /// The tenant's channels, by name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_channels(&self, scope: &TenantScope) -> Result<Vec<NotificationChannel>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notification_channels WHERE tenant_id = $1 ORDER BY name LIMIT $2"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(scope.tenant_id())
                .bind(MAX_CHANNELS_PER_TENANT)
                .fetch_all(pool)
                .await?
        }))
    }

    /// One channel of the tenant, by id or by name.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for another tenant's channel).
    pub async fn get_channel(
        &self,
        scope: &TenantScope,
        id_or_name: &str,
    ) -> Result<NotificationChannel, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notification_channels WHERE tenant_id = $1 AND (id = $2 OR name = $2) \
             ORDER BY name LIMIT 1"
        );
        on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(scope.tenant_id())
                .bind(id_or_name)
                .fetch_optional(pool)
                .await?
                .ok_or(StoreError::NotFound)
        })
    }

    /// Creates a channel, audited (`notification_channel.created`) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for a bad field or a full tenant; [`StoreError::Conflict`]
    /// for a name in use.
    pub async fn create_channel(
        &self,
        scope: &TenantScope,
        input: &ChannelInput,
        policy: &ChannelPolicy<'_>,
        by: &Actor,
    ) -> Result<NotificationChannel, StoreError> {
        let at = now();
        let mut channel = NotificationChannel {
            id: new_id(),
            tenant_id: scope.tenant_id().to_owned(),
            name: input.name.clone().ok_or_else(|| StoreError::validation("name", "is required"))?,
            kind: input.kind.clone().ok_or_else(|| StoreError::validation("kind", "is required"))?,
            url: input.url.clone().ok_or_else(|| StoreError::validation("url", "is required"))?,
            secret_sealed: None,
            min_savings: None,
            events: Json(Vec::new()),
            quiet_start_hour: None,
            quiet_end_hour: None,
            active_days: Json(Vec::new()),
            enabled: true,
            created_by: by.actor.clone(),
            created_at: at,
            updated_at: at,
        };
        apply(&mut channel, input);
        validate(&mut channel, input.secret.as_ref(), policy)?;
        let entry = by.entry(
            "notification_channel.created",
            "notification_channel",
            &channel.id,
            serde_json::Value::Null,
            audit_view(&channel),
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notification_channels WHERE tenant_id = $1")
                .bind(scope.tenant_id())
                .fetch_one(&mut *tx)
                .await?;
            if count >= MAX_CHANNELS_PER_TENANT {
                return Err(StoreError::validation(
                    "channels",
                    format!("a tenant keeps at most {MAX_CHANNELS_PER_TENANT} channels"),
                ));
            }
            write_channel!(&mut *tx, &channel, true)?;
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(channel)
    }

    /// Changes a channel, audited (`notification_channel.updated`, before and after, and
    /// whether the secret changed — never the secret) in the same transaction.
    ///
    /// # Errors
    /// As [`Store::create_channel`]; [`StoreError::NotFound`].
    pub async fn update_channel(
        &self,
        scope: &TenantScope,
        id: &str,
        change: &ChannelInput,
        policy: &ChannelPolicy<'_>,
        by: &Actor,
    ) -> Result<NotificationChannel, StoreError> {
        let select = format!("SELECT {COLUMNS} FROM notification_channels WHERE tenant_id = $1 AND id = $2");
        let after = on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: NotificationChannel = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            let mut after = before.clone();
            apply(&mut after, change);
            validate(&mut after, change.secret.as_ref(), policy)?;
            if after == before {
                tx.commit().await?;
                return Ok(before);
            }
            after.updated_at = now();
            write_channel!(&mut *tx, &after, false)?;
            let mut entry = by.entry(
                "notification_channel.updated",
                "notification_channel",
                id,
                audit_view(&before),
                audit_view(&after),
            );
            entry.metadata["secret_changed"] = serde_json::Value::Bool(change.secret.is_some());
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
            after
        });
        Ok(after)
    }

    /// Deletes a channel with its routes and deliveries, audited (`notification_channel.deleted`).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_channel(&self, scope: &TenantScope, id: &str, by: &Actor) -> Result<(), StoreError> {
        let select = format!("SELECT {COLUMNS} FROM notification_channels WHERE tenant_id = $1 AND id = $2");
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let before: NotificationChannel = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            for table in ["notification_routes", "notification_deliveries"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE tenant_id = $1 AND channel_id = $2")))
                    .bind(scope.tenant_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM notification_channels WHERE tenant_id = $1 AND id = $2")
                .bind(scope.tenant_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let entry = by.entry(
                "notification_channel.deleted",
                "notification_channel",
                id,
                audit_view(&before),
                serde_json::Value::Null,
            );
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        Ok(())
    }
}
