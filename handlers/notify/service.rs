//! Delivery runs: fan events out to channels, claim due deliveries under a lease, send them
//! (a few at once, each wave under its own lease) and record each outcome. Every function takes the instant to act at, so
//! retries and lease expiry are tested by moving the clock rather than by waiting.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt as _;

use super::policy::{Outcome, next_attempt};
use super::send::Sender;
use super::{NotifyConfig, NotifyError};
use crate::azure::credential::TokenSource;
use crate::store::{Claim, ClaimedDelivery, DeliveryResult, Store, TenantScope};

/// Deliveries sent at once by one run.
const CONCURRENCY: usize = 8;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Events fanned out (whether or not any channel receives them).
    pub events: usize,
    /// Deliveries created by fanning events out.
    pub fanned_out: usize,
    /// Deliveries the receiver accepted.
    pub delivered: usize,
    /// Deliveries to be tried again.
    pub retrying: usize,
    /// Deliveries failed for good.
    pub failed: usize,
    /// Deliveries whose lease another run took over before this one finished.
    pub lost: usize,
}

/// Fans out and delivers notifications.
#[derive(Debug, Clone)]
pub struct Notifier {
    store: Store,
    sender: Sender,
}

impl Notifier {
    /// A notifier over `store`; `tokens` issues ACS tokens for email channels.
    pub fn new(store: Store, config: NotifyConfig, tokens: Option<Arc<dyn TokenSource>>) -> Self {
        Self { store, sender: Sender::new(config, tokens) }
    }

    /// The settings.
    pub fn config(&self) -> &NotifyConfig {
        self.sender.config()
    }

    /// The store deliveries and tickets are recorded in.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The HTTP sender.
    pub(crate) fn sender(&self) -> &Sender {
        &self.sender
    }

    /// How long a claim holds a delivery: the request's timeout (which bounds a whole send,
    /// name lookup and token included) with a margin, so a live run always finishes a wave
    /// before its lease can be taken over.
    pub fn lease(&self) -> Duration {
        Duration::seconds(i64::try_from(self.config().timeout.as_secs()).unwrap_or(60) * 2 + 30)
    }

    /// Fans event `event_id` out and sends its due deliveries (a queue message's work).
    ///
    /// # Errors
    /// Store failures.
    pub async fn process_event(
        &self,
        scope: &TenantScope,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Report, NotifyError> {
        let mut report =
            Report { fanned_out: self.store.fan_out_event(scope, event_id, at).await?, ..Report::default() };
        self.deliver(scope, Some(event_id), at, &mut report).await?;
        Ok(report)
    }

    /// Fans out the tenant's undispatched events and sends its due deliveries, at most one
    /// batch of each (`azcops ingest`, `azcops channel test`).
    ///
    /// # Errors
    /// Store failures.
    pub async fn process_tenant(
        &self,
        scope: &TenantScope,
        at: DateTime<Utc>,
    ) -> Result<Report, NotifyError> {
        let mut report = Report::default();
        for event in self.store.undispatched_events(scope, self.config().batch_size).await? {
            report.fanned_out += self.store.fan_out_event(scope, &event, at).await?;
            report.events += 1;
        }
        self.deliver(scope, None, at, &mut report).await?;
        Ok(report)
    }

    /// Runs [`Notifier::process_tenant`] until a run finds nothing to do, at most `rounds`
    /// times: the command line has no dispatch timer to pick up what one batch leaves.
    ///
    /// # Errors
    /// Store failures.
    pub async fn drain_tenant(&self, scope: &TenantScope, rounds: usize) -> Result<Report, NotifyError> {
        let mut total = Report::default();
        for _ in 0..rounds {
            let run = self.process_tenant(scope, crate::store::now()).await?;
            total.events += run.events;
            total.fanned_out += run.fanned_out;
            total.delivered += run.delivered;
            total.retrying += run.retrying;
            total.failed += run.failed;
            total.lost += run.lost;
            if run.events == 0 && run.delivered + run.retrying + run.failed + run.lost == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// Claims and sends due deliveries in waves of [`CONCURRENCY`], at most a batch in all.
    /// Each wave is claimed just before it is sent, its lease running from then (the run's
    /// `at` plus the time the run has taken so far), so no send outlives its own lease and a
    /// delivery waiting behind other waves is never left under an expiring lease. A delivery
    /// already handled by this run is not claimed again by it (a retry due at once waits for
    /// the next run), nor is one that has made all its attempts (it is marked failed).
    async fn deliver(
        &self,
        scope: &TenantScope,
        event_id: Option<&str>,
        at: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<(), NotifyError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let started = std::time::Instant::now();
        let batch = usize::try_from(self.config().batch_size).unwrap_or(usize::MAX);
        let max_attempts = self.config().max_attempts;
        let exhausted = self.store.fail_exhausted_deliveries(scope, event_id, at, max_attempts).await?;
        if exhausted > 0 {
            tracing::warn!(
                deliveries = exhausted,
                "deliveries whose last attempt did not finish marked failed"
            );
            report.failed += usize::try_from(exhausted).unwrap_or(usize::MAX);
        }
        let mut handled: Vec<String> = Vec::new();
        while handled.len() < batch {
            let wave = CONCURRENCY.min(batch - handled.len());
            let elapsed = Duration::from_std(started.elapsed()).unwrap_or_else(|_| Duration::zero());
            let claim = Claim {
                owner: &owner,
                at,
                lease: self.lease() + elapsed,
                limit: u32::try_from(wave).unwrap_or(u32::MAX),
                max_attempts,
                skip: &handled,
            };
            let claimed = self.store.claim_deliveries(scope, event_id, &claim).await?;
            if claimed.is_empty() {
                break;
            }
            handled.extend(claimed.iter().map(|d| d.id.clone()));
            self.send_wave(scope, claimed, &owner, at, report).await?;
        }
        Ok(())
    }

    /// Sends one claimed wave at once and records each outcome.
    async fn send_wave(
        &self,
        scope: &TenantScope,
        claimed: Vec<ClaimedDelivery>,
        owner: &str,
        at: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<(), NotifyError> {
        let sent: Vec<(String, Outcome, i32, String, String)> = futures::stream::iter(claimed)
            .map(|d| async move {
                // Ticketing channels create a ticket, recorded before the delivery is.
                let outcome = if super::itsm::is_ticketing(&d.channel.kind) {
                    self.create_ticket(scope, &d, at).await
                } else {
                    self.sender.send(&d, at).await
                };
                (d.id, outcome, d.attempts, d.channel.name, d.event_type)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (id, outcome, attempts, channel, event_type) in sent {
            let result = self.result_of(outcome, attempts, at);
            match &result {
                DeliveryResult::Delivered { .. } => report.delivered += 1,
                DeliveryResult::Retry { .. } => report.retrying += 1,
                DeliveryResult::Failed { .. } => report.failed += 1,
            }
            tracing::info!(delivery = %id, %channel, %event_type, attempts, result = ?result, "notification delivery");
            if !self.store.finish_delivery(scope, &id, owner, &result, at).await? {
                report.lost += 1;
                tracing::warn!(delivery = %id, "lease lost before the outcome was recorded");
            }
        }
        Ok(())
    }

    /// The recorded result of `outcome` on attempt `attempts`: a retryable failure becomes
    /// final once the attempts are spent.
    fn result_of(&self, outcome: Outcome, attempts: i32, at: DateTime<Utc>) -> DeliveryResult {
        let attempts = u32::try_from(attempts).unwrap_or(0);
        match outcome {
            Outcome::Delivered { status } => DeliveryResult::Delivered { status },
            Outcome::Retry { status, error, .. } if attempts >= self.config().max_attempts => {
                DeliveryResult::Failed {
                    status,
                    error: format!("gave up after {attempts} attempts: {error}"),
                }
            }
            Outcome::Retry { status, error, retry_after } => DeliveryResult::Retry {
                status,
                error,
                next_attempt_at: next_attempt(attempts, retry_after, at),
            },
            Outcome::Permanent { status, error } => DeliveryResult::Failed { status, error },
        }
    }
}
