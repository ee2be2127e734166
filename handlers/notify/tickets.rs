//! ITSM tickets over the network: an approval delivery to a ServiceNow or Jira channel creates
//! one ticket, and the sync reads open tickets back.
//!
//! Exactly once: the delivery id is sent as the ticket's correlation id (ServiceNow
//! `correlation_id`, a Jira label) and the ticket is recorded before the delivery is marked
//! delivered. A delivery that already has a recorded ticket is delivered without a request; a
//! retried one (whose earlier attempt may have created the ticket and died before recording it)
//! first looks the correlation id up and records what it finds instead of creating another.

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde_json::Value;

use super::itsm::{self, Approval, RecordType, RemoteState, Target};
use super::policy::{Outcome, classify};
use super::send::Reply;
use super::service::Notifier;
use super::{NotifyError, url_guard};
use crate::store::{ClaimedDelivery, NewTicket, NotificationChannel, OpenTicket, TenantScope, TicketEnd};

/// Tickets read at once by one sync run.
const SYNC_CONCURRENCY: usize = 8;

/// What one sync run of a tenant did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Open tickets read (at most the run's limit).
    pub checked: usize,
    /// Tickets done whose recommendation became `executed`.
    pub executed: usize,
    /// Tickets closed without being carried out.
    pub cancelled: usize,
    /// Tickets done whose recommendation was no longer approved (left alone).
    pub closed: usize,
    /// Tickets that could not be read (recorded on the ticket; tried again next run).
    pub errors: usize,
}

/// A ticketing channel's target and request headers.
struct Connection {
    target: Target,
    headers: Vec<(&'static str, String)>,
}

impl Notifier {
    /// Creates (or finds again) the ticket of an approval delivery and records it; the outcome
    /// is the delivery's. The lookup and the create together are bounded by twice the request
    /// timeout, within the delivery's lease.
    pub(crate) async fn create_ticket(
        &self,
        scope: &TenantScope,
        delivery: &ClaimedDelivery,
        at: DateTime<Utc>,
    ) -> Outcome {
        let bound = self.config().timeout * 2;
        match tokio::time::timeout(bound, self.ticket_attempt(scope, delivery, at)).await {
            Ok(Ok(outcome) | Err(outcome)) => outcome,
            Err(_) => Outcome::Retry {
                status: None,
                error: format!("timed out after {} s", bound.as_secs()),
                retry_after: None,
            },
        }
    }

    async fn ticket_attempt(
        &self,
        scope: &TenantScope,
        delivery: &ClaimedDelivery,
        at: DateTime<Utc>,
    ) -> Result<Outcome, Outcome> {
        let retry = |error: String| Outcome::Retry { status: None, error, retry_after: None };
        let recorded = self.store().ticket_of_delivery(scope, &delivery.id).await;
        if recorded.map_err(|e| retry(format!("the store failed: {e}")))?.is_some() {
            return Ok(Outcome::Delivered { status: 200 });
        }
        let approval = Approval::from_event(&delivery.data).ok_or_else(|| Outcome::Permanent {
            status: None,
            error: "only approvals of recommendations create tickets".into(),
        })?;
        let connection = self.connect(&delivery.channel)?;
        let target = &connection.target;
        let mut found = None;
        if delivery.attempts > 1 {
            let path = itsm::lookup_path(target, &delivery.id);
            let reply = self.request(&connection, reqwest::Method::GET, &path, None).await?;
            found = itsm::parse_found(target, &json(&reply)).map(|c| (c, reply.status));
        }
        let (created, status) = match found {
            Some(found) => found,
            None => {
                let dashboard = self.config().dashboard_url.as_deref();
                let (path, body) = itsm::create_request(target, &approval, &delivery.id, dashboard);
                let body = serde_json::to_vec(&body).unwrap_or_default();
                let reply = self.request(&connection, reqwest::Method::POST, &path, Some(body)).await?;
                let created = itsm::parse_created(target, &json(&reply)).ok_or_else(|| Outcome::Retry {
                    status: Some(reply.status),
                    error: "the answer names no ticket; the next attempt looks it up".into(),
                    retry_after: None,
                })?;
                (created, reply.status)
            }
        };
        let ticket = NewTicket {
            recommendation_id: approval.recommendation_id,
            channel_id: delivery.channel.id.clone(),
            delivery_id: delivery.id.clone(),
            system: target.system.to_owned(),
            record_type: target.record.as_str().to_owned(),
            url: itsm::ticket_url(target, &created),
            key: created.key,
            external_id: created.external_id,
        };
        self.store().record_ticket(scope, &ticket, at).await.map_err(|e| {
            retry(format!("ticket {} created but not recorded ({e}); the next attempt finds it", ticket.key))
        })?;
        tracing::info!(delivery = %delivery.id, system = target.system, ticket = %ticket.key, "ticket created");
        Ok(Outcome::Delivered { status })
    }

    /// Reads at most `limit` of the tenant's open tickets (the longest unchecked first) and
    /// records how each stands: a done ticket executes its approved recommendation, a
    /// cancelled one is recorded and leaves it approved.
    ///
    /// # Errors
    /// Store failures.
    pub async fn sync_tickets(
        &self,
        scope: &TenantScope,
        limit: u32,
        at: DateTime<Utc>,
    ) -> Result<SyncReport, NotifyError> {
        let tickets = self.store().open_tickets(scope, limit).await?;
        let read: Vec<(OpenTicket, Result<RemoteState, String>)> = futures::stream::iter(tickets)
            .map(|ticket| async move {
                let state = self.read_ticket(&ticket).await;
                (ticket, state)
            })
            .buffer_unordered(SYNC_CONCURRENCY)
            .collect()
            .await;
        let mut report = SyncReport::default();
        for (ticket, state) in read {
            report.checked += 1;
            let system = ticket.channel.kind.clone();
            let actor = format!("{system}:{}", ticket.key);
            match state {
                Ok(RemoteState::Open(remote)) => {
                    self.store().touch_ticket(scope, &ticket.id, Some(&remote), None, at).await?;
                }
                Ok(RemoteState::Done(remote)) => {
                    let store = self.store();
                    if store.close_ticket(scope, &ticket, TicketEnd::Done, &actor, &remote, at).await? {
                        report.executed += 1;
                    } else {
                        report.closed += 1;
                    }
                }
                Ok(RemoteState::Cancelled(remote)) => {
                    self.store()
                        .close_ticket(scope, &ticket, TicketEnd::Cancelled, &actor, &remote, at)
                        .await?;
                    report.cancelled += 1;
                }
                Err(error) => {
                    tracing::warn!(ticket = %ticket.key, %system, %error, "ticket not read");
                    self.store().touch_ticket(scope, &ticket.id, None, Some(&error), at).await?;
                    report.errors += 1;
                }
            }
        }
        Ok(report)
    }

    async fn read_ticket(&self, ticket: &OpenTicket) -> Result<RemoteState, String> {
        let record = RecordType::parse(&ticket.record_type).ok_or("unknown record type")?;
        let connection = self.connect(&ticket.channel).map_err(|o| describe(&o))?;
        let path = itsm::state_path(record, &ticket.key, &ticket.external_id);
        let read = self.request(&connection, reqwest::Method::GET, &path, None);
        let reply = tokio::time::timeout(self.config().timeout, read)
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|o| describe(&o))?;
        itsm::remote_state(record, &json(&reply)).ok_or_else(|| "the answer has no state".into())
    }

    /// The target and headers of a ticketing channel.
    fn connect(&self, channel: &NotificationChannel) -> Result<Connection, Outcome> {
        let permanent = |error: String| Outcome::Permanent { status: None, error };
        let url = url_guard::check(&channel.kind, &channel.url, self.config().allow_loopback)
            .map_err(|e| permanent(format!("channel URL refused: {e}")))?;
        let target = itsm::target(&channel.kind, &url).map_err(permanent)?;
        let secret = self.sender().secret(channel).ok_or_else(|| {
            permanent("the channel's secret cannot be opened with AZCOPS_NOTIFY_SECRET_KEY".into())
        })?;
        let authorization = itsm::authorization(target.system, &secret).map_err(permanent)?;
        let headers = vec![
            ("Authorization", authorization),
            ("Accept", "application/json".to_owned()),
            ("Content-Type", "application/json".to_owned()),
        ];
        Ok(Connection { target, headers })
    }

    /// One request to the channel's system; an answer other than 2xx is the outcome to record.
    async fn request(
        &self,
        connection: &Connection,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, Outcome> {
        let url = url::Url::parse(&format!("{}{path}", connection.target.base)).map_err(|e| {
            Outcome::Permanent { status: None, error: format!("cannot build the request URL: {e}") }
        })?;
        let reply = self.sender().call(method, url, connection.headers.clone(), body).await?;
        match classify(reply.status, reply.retry_after.as_deref(), crate::store::now()) {
            Outcome::Delivered { .. } => Ok(reply),
            failed => Err(failed),
        }
    }
}

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered { status } => format!("answered {status}"),
        Outcome::Retry { error, .. } | Outcome::Permanent { error, .. } => error.clone(),
    }
}
