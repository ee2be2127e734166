//! Run planning: one ledger run per tenant and schedule occurrence, one item and one queue
//! message per active subscription.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{IngestionRun, NewRun, OnDemandRequest, OnDemandRun, Store, TenantScope};

use super::snapshot::Connector;
use super::{IngestError, IngestMessage};

/// What a run collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Every connector (the nightly run).
    Full,
    /// Cost Management only, today and yesterday (the hourly refresh).
    Incremental,
}

impl RunKind {
    /// The ledger's name for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }

    /// The connectors a run of this kind executes, in order.
    pub fn connectors(self) -> Vec<Connector> {
        match self {
            Self::Full => Connector::ALL.to_vec(),
            Self::Incremental => vec![Connector::CostManagement],
        }
    }
}

/// Why a run is planned; decides its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunTrigger {
    /// A timer occurrence: planning the same occurrence twice (two instances, a retried timer)
    /// returns the existing run and sends nothing.
    Schedule {
        /// The occurrence the timer fired for.
        occurrence: DateTime<Utc>,
    },
    /// A person or tool asked; every request is a new run.
    OnDemand {
        /// Who asked (user object id, `cli`, ...).
        requested_by: String,
    },
}

/// A planned run and the messages to send for it (none when the run already existed).
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The ledger run.
    pub run: IngestionRun,
    /// Whether this call created it.
    pub created: bool,
    /// One message per subscription, to enqueue.
    pub messages: Vec<IngestMessage>,
}

/// Plans one run per active tenant (or only `tenant`), over its active subscriptions (or only
/// `subscription`). Tenants without active subscriptions get no run.
///
/// # Errors
/// Store failures; [`IngestError::Unknown`] when `subscription` is not an active subscription of
/// the tenant.
pub async fn plan_runs(
    store: &Store,
    kind: RunKind,
    trigger: &RunTrigger,
    tenant: Option<&TenantScope>,
    subscription: Option<&str>,
) -> Result<Vec<PlannedRun>, IngestError> {
    let scopes: Vec<TenantScope> = match tenant {
        Some(scope) => vec![scope.clone()],
        None => store
            .platform_admin()
            .list_active_tenants()
            .await?
            .into_iter()
            .map(|t| TenantScope::from_trusted_trigger(t.id))
            .collect(),
    };
    let requested_at = crate::store::now();
    let (schedule_key, requested_by) = match trigger {
        RunTrigger::Schedule { occurrence } => (
            format!("{}:{}", kind.as_str(), occurrence.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "timer".to_owned(),
        ),
        RunTrigger::OnDemand { requested_by } => {
            (format!("{}:on_demand:{}", kind.as_str(), uuid::Uuid::now_v7()), requested_by.clone())
        }
    };
    let mut planned = Vec::new();
    for scope in scopes {
        let subscriptions = subscriptions_to_ingest(store, &scope, subscription).await?;
        if subscriptions.is_empty() {
            continue;
        }
        let new = NewRun {
            kind: kind.as_str().to_owned(),
            schedule_key: schedule_key.clone(),
            requested_by: requested_by.clone(),
            subscription_ids: subscriptions.clone(),
        };
        let (run, created) = store.create_run(&scope, &new).await?;
        let messages =
            if created { messages_for(&run.run, &subscriptions, kind, requested_at) } else { Vec::new() };
        tracing::info!(
            run_id = %run.run.id,
            tenant_id = %scope.tenant_id(),
            subscriptions = subscriptions.len(),
            created,
            kind = kind.as_str(),
            "ingestion run planned"
        );
        planned.push(PlannedRun { run: run.run, created, messages });
    }
    Ok(planned)
}

/// The active subscriptions of `scope` to ingest: all, or only `subscription`.
async fn subscriptions_to_ingest(
    store: &Store,
    scope: &TenantScope,
    subscription: Option<&str>,
) -> Result<Vec<String>, IngestError> {
    let subscriptions: Vec<String> =
        store.list_active_subscriptions(scope).await?.into_iter().map(|s| s.subscription_id).collect();
    let Some(only) = subscription else { return Ok(subscriptions) };
    let only = only.trim().to_ascii_lowercase();
    if !subscriptions.contains(&only) {
        return Err(IngestError::Unknown(format!(
            "subscription {only} is not an active subscription of the tenant"
        )));
    }
    Ok(vec![only])
}

/// One queue message per subscription of `run`.
fn messages_for(
    run: &IngestionRun,
    subscriptions: &[String],
    kind: RunKind,
    requested_at: DateTime<Utc>,
) -> Vec<IngestMessage> {
    subscriptions
        .iter()
        .map(|s| IngestMessage {
            run_id: run.id.clone(),
            tenant_id: run.tenant_id.clone(),
            subscription_id: s.clone(),
            kind,
            connectors: kind.connectors(),
            requested_at,
        })
        .collect()
}

/// An on-demand request for one tenant (`POST /ingestion/trigger`).
#[derive(Debug, Clone)]
pub struct OnDemand<'a> {
    /// What to collect.
    pub kind: RunKind,
    /// Who asked.
    pub requested_by: &'a str,
    /// Only this subscription (default every active one).
    pub subscription: Option<&'a str>,
    /// The instant of the request.
    pub at: DateTime<Utc>,
    /// Least time between two on-demand runs of the tenant.
    pub cooldown: std::time::Duration,
}

/// What an on-demand request produced: a planned run with its messages, or why not.
#[derive(Debug, Clone)]
pub enum OnDemandPlan {
    /// Planned; send the messages.
    Planned(PlannedRun),
    /// Refused: another on-demand run is active ([`OnDemandRun::Active`]) or the tenant is
    /// cooling down ([`OnDemandRun::CoolingDown`]).
    Refused(OnDemandRun),
}

/// Plans an on-demand run of `scope` unless one is active or the cooldown since the last one
/// has not passed; the check and the creation are one conditional insert in the store.
///
/// # Errors
/// Store failures; [`IngestError::Unknown`] when `subscription` is not an active subscription of
/// the tenant or the tenant has none.
pub async fn plan_on_demand(
    store: &Store,
    scope: &TenantScope,
    request: &OnDemand<'_>,
) -> Result<OnDemandPlan, IngestError> {
    let subscriptions = subscriptions_to_ingest(store, scope, request.subscription).await?;
    if subscriptions.is_empty() {
        return Err(IngestError::Unknown("the tenant has no active subscriptions to ingest".into()));
    }
    let new = OnDemandRequest {
        kind: request.kind.as_str().to_owned(),
        requested_by: request.requested_by.to_owned(),
        subscription_ids: subscriptions.clone(),
        at: request.at,
        cooldown: chrono::TimeDelta::from_std(request.cooldown).unwrap_or(chrono::TimeDelta::MAX),
    };
    let run = match store.create_on_demand_run(scope, &new).await? {
        OnDemandRun::Created(run) => run,
        refused => return Ok(OnDemandPlan::Refused(refused)),
    };
    let subscriptions: Vec<String> = run.items.iter().map(|i| i.subscription_id.clone()).collect();
    let messages = messages_for(&run.run, &subscriptions, request.kind, request.at);
    tracing::info!(
        run_id = %run.run.id,
        tenant_id = %scope.tenant_id(),
        subscriptions = subscriptions.len(),
        kind = request.kind.as_str(),
        "on-demand ingestion run planned"
    );
    Ok(OnDemandPlan::Planned(PlannedRun { run: run.run, created: true, messages }))
}
