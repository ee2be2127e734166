//! Notifications in the store: channels and routes (audited), the outbox of events written in
//! the same transaction as the change that causes them, and deliveries claimed with a lease.

mod budget_alerts;
mod channels;
mod deliveries;
mod digest;
pub(crate) mod outbox;
mod retention;
mod routes;
mod tickets;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;

pub use channels::{ChannelInput, ChannelPolicy, MAX_CHANNELS_PER_TENANT};
pub use deliveries::{Claim, ClaimedDelivery, DeliveryFilter, DeliveryResult, PendingWork};
pub use digest::MAX_DIGEST_FINDINGS;
pub use outbox::MAX_EVENT_ITEMS;
pub use retention::NotificationRetention;
pub use routes::{MAX_ROUTES_PER_TENANT, NotificationRoute, RouteInput};
pub use tickets::{NewTicket, OpenTicket, RecommendationTicket, TicketEnd};

/// A stored channel; its sealed secret never leaves the store except to the sender.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NotificationChannel {
    /// Channel id (UUID v7).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Name, unique within the tenant.
    pub name: String,
    /// `webhook`, `teams`, `email`, `servicenow` or `jira`.
    pub kind: String,
    /// Where deliveries go (`mailto:` for email).
    pub url: String,
    /// The secret sealed with `AZCOPS_NOTIFY_SECRET_KEY`.
    pub secret_sealed: Option<String>,
    /// Findings saving less a month are not sent.
    pub min_savings: Option<f64>,
    /// Event types wanted; empty wants all.
    pub events: Json<Vec<String>>,
    /// First quiet hour (UTC).
    pub quiet_start_hour: Option<i32>,
    /// Hour quiet ends (UTC, exclusive).
    pub quiet_end_hour: Option<i32>,
    /// Weekdays deliveries are sent (`mon`…`sun`); empty: every day.
    pub active_days: Json<Vec<String>>,
    /// Disabled channels receive nothing.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A channel as the API and CLI show it: the secret is only said to exist, and the URL's query
/// (where webhook services such as Teams Workflows put their signature) is redacted.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    /// Channel id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// The URL, its query string replaced by `[redacted]`.
    pub url: String,
    /// Whether a secret is stored (it is never returned).
    pub has_secret: bool,
    /// Minimum monthly savings of the findings sent.
    pub min_savings: Option<f64>,
    /// Event types wanted; empty wants all.
    pub events: Vec<String>,
    /// Quiet hours (UTC) `[start, end)`, if any.
    pub quiet_hours: Option<[i32; 2]>,
    /// Weekdays deliveries are sent; empty: every day.
    pub active_days: Vec<String>,
    /// Whether the channel receives deliveries.
    pub enabled: bool,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl NotificationChannel {
    /// The view shown to people.
    pub fn view(&self) -> ChannelView {
        ChannelView {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            url: redact_url(&self.url),
            has_secret: self.secret_sealed.is_some(),
            min_savings: self.min_savings,
            events: self.events.0.clone(),
            quiet_hours: self.quiet_start_hour.zip(self.quiet_end_hour).map(|(s, e)| [s, e]),
            active_days: self.active_days.0.clone(),
            enabled: self.enabled,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// When the channel may be sent to.
    pub fn schedule(&self) -> crate::notify::policy::Schedule {
        let hour = |h: Option<i32>| h.and_then(|h| u32::try_from(h).ok());
        crate::notify::policy::Schedule {
            quiet_start: hour(self.quiet_start_hour),
            quiet_end: hour(self.quiet_end_hour),
            days: self.active_days.0.iter().filter_map(|d| crate::notify::policy::parse_day(d)).collect(),
        }
    }
}

/// `url` without its query string (and without any user info), safe to show and log.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.scheme() != "mailto" => {
            let had_query = parsed.query().is_some();
            parsed.set_query(None);
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            let mut text = parsed.to_string();
            if had_query {
                text.push_str("?[redacted]");
            }
            text
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "[invalid url]".to_owned(),
    }
}

/// A delivery as `GET /notification-deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DeliveryView {
    /// Delivery id.
    pub id: String,
    /// The event (the `X-AzCops-Event-Id` receivers saw).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Channel id.
    pub channel_id: String,
    /// Channel name.
    pub channel_name: String,
    /// `pending`, `sending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt may run (pending deliveries).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_query_or_credentials() {
        assert_eq!(
            redact_url("https://prod.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sig=abc"),
            "https://prod.logic.azure.com/workflows/1/triggers/manual/paths/invoke?[redacted]"
        );
        assert_eq!(redact_url("https://u:p@h.example.com/x"), "https://h.example.com/x");
        assert_eq!(redact_url("mailto:a@b.com"), "mailto:a@b.com");
    }
}
