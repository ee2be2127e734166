//! The remediation service: the dry run, one delivery of the `remediate` function, and the
//! removal of expired pre-deletion snapshots by retention. Each reads the store, talks to ARM
//! through an [`ArmSession`] and keeps the session's exchanges in the raw layer (write-once).

use chrono::{DateTime, Datelike as _, Utc};
use serde::{Deserialize, Serialize};

use super::arm::ArmSession;
use super::plan::{self, Action, Plan, Policy, Refusal};
use super::{RemediationContext, RemediationError};
use crate::azure::CallContext;
use crate::raw::{PutOutcome, RawError};
use crate::rules::RuleSettings;
use crate::store::{Recommendation, RecommendationStatus, Remediation, RemediationEnd, Store, TenantScope};

/// The queue message of one remediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationMessage {
    /// The AzCops tenant.
    pub tenant_id: String,
    /// The remediation row.
    pub remediation_id: String,
}

/// The tenant's rule settings (remediation policy included).
///
/// # Errors
/// The store fails or holds settings that no longer parse.
pub async fn settings(store: &Store, scope: &TenantScope) -> Result<RuleSettings, RemediationError> {
    let overrides = store.rule_settings(scope).await?;
    RuleSettings::from_overrides(overrides.as_ref())
        .map_err(|e| RemediationError::Failed(format!("the tenant's rule settings are invalid: {e}")))
}

fn policy(settings: &RuleSettings) -> Policy {
    Policy {
        protect_tag: settings.remediation.protect_tag.clone(),
        snapshot_disks: settings.remediation.snapshot_before_delete,
        snapshot_retention_days: settings.remediation.snapshot_retention_days,
        stale_snapshot_days: settings.stale_snapshot_days,
    }
}

fn refusal(reason: &str, message: impl Into<String>) -> Refusal {
    Refusal { reason: reason.to_owned(), message: message.into() }
}

/// A session for the recommendation's subscription, as the tenant's Azure directory.
async fn session<'a>(
    ctx: &'a RemediationContext,
    store: &Store,
    scope: &TenantScope,
    subscription_id: &str,
) -> Result<ArmSession<'a>, RemediationError> {
    let tenant = store.platform_admin().get_tenant(scope.tenant_id()).await?;
    let call = CallContext::new(&tenant.azure_tenant_id, subscription_id);
    Ok(ArmSession::new(&ctx.arm, call, ctx.wait_cap))
}

/// Reads the resource's current state and locks and plans the action, or says why not.
async fn evaluate(
    session: &mut ArmSession<'_>,
    (store, scope): (&Store, &TenantScope),
    rec: &Recommendation,
    settings: &RuleSettings,
    now: DateTime<Utc>,
) -> Result<Result<Plan, Refusal>, RemediationError> {
    let Some(action) = Action::for_rule(&rec.rule_id) else {
        return Ok(Err(refusal("not_applicable", format!("rule {} has no remediation action", rec.rule_id))));
    };
    if let Err(outside) = plan::check_in_subscription(&rec.resource_id, &rec.subscription_id) {
        return Ok(Err(outside));
    }
    // Only a subscription the tenant still has registered and active is acted on: a finding
    // left over from a removed or paused subscription must not reach into it.
    let registered = match store.get_subscription(scope, &rec.subscription_id).await {
        Ok(subscription) => subscription.active,
        Err(crate::store::StoreError::NotFound) => false,
        Err(e) => return Err(e.into()),
    };
    if !registered {
        return Ok(Err(refusal(
            "subscription_not_active",
            format!("subscription {} is not an active subscription of the tenant", rec.subscription_id),
        )));
    }
    let Some((state, locks)) = session.read_state(&rec.resource_id, action.api_version()).await? else {
        return Ok(Err(refusal("resource_gone", format!("{} no longer exists", rec.resource_id))));
    };
    Ok(plan::plan(action, &state, &locks, &policy(settings), now, &rec.id))
}

/// The dry run of a recommendation: what its action would do now, or why it is refused.
///
/// # Errors
/// The store or ARM fails.
pub async fn dry_run(
    ctx: &RemediationContext,
    store: &Store,
    scope: &TenantScope,
    rec: &Recommendation,
    now: DateTime<Utc>,
) -> Result<Result<Plan, Refusal>, RemediationError> {
    let settings = settings(store, scope).await?;
    let mut session = session(ctx, store, scope, &rec.subscription_id).await?;
    evaluate(&mut session, (store, scope), rec, &settings, now).await
}

/// One delivery of a remediation message: checks again, acts, records the exchanges and the
/// outcome. Returns the remediation as it ended (a finished one is returned untouched).
///
/// # Errors
/// A transient failure (recorded on the row, which goes back to `queued`): the platform
/// redelivers the message, and poisons it after its retries.
pub async fn run(
    ctx: &RemediationContext,
    store: &Store,
    message: &RemediationMessage,
    now: DateTime<Utc>,
) -> Result<Remediation, RemediationError> {
    let scope = TenantScope::from_trusted_trigger(message.tenant_id.clone());
    let Some(remediation) = store.start_remediation(&scope, &message.remediation_id).await? else {
        return Ok(store.get_remediation(&scope, &message.remediation_id).await?);
    };
    let rec = store.get_recommendation(&scope, &remediation.recommendation_id).await?;
    let mut session = session(ctx, store, &scope, &rec.subscription_id).await?;
    let outcome = attempt(&mut session, store, &scope, &rec, &remediation, now).await;
    let name = format!("{}-{}", remediation.id, remediation.attempts);
    let kept = keep(ctx, &scope, &rec.subscription_id, &name, &session, now).await;
    let (end, transient) = match (outcome, kept) {
        (Ok(end), Ok(())) => (end, None),
        (Err(e), _) | (Ok(_), Err(e)) if e.is_transient() => (RemediationEnd::Retry(e.to_string()), Some(e)),
        (Err(e), _) | (Ok(_), Err(e)) => (RemediationEnd::Failed(e.to_string()), None),
    };
    let finished = store.finish_remediation(&scope, &remediation.id, &end).await?;
    tracing::info!(remediation_id = %finished.id, status = %finished.status, attempts = finished.attempts, "remediation");
    match transient {
        Some(e) => Err(e),
        None => Ok(finished),
    }
}

async fn attempt(
    session: &mut ArmSession<'_>,
    store: &Store,
    scope: &TenantScope,
    rec: &Recommendation,
    remediation: &Remediation,
    now: DateTime<Utc>,
) -> Result<RemediationEnd, RemediationError> {
    let settings = settings(store, scope).await?;
    if !settings.remediation.enabled(&rec.rule_id) {
        return Ok(RemediationEnd::Refused(format!(
            "the action of {} was turned off for the tenant",
            rec.rule_id
        )));
    }
    if rec.status != RecommendationStatus::Approved {
        return Ok(RemediationEnd::Refused(format!("the recommendation is {}, not approved", rec.status)));
    }
    match evaluate(session, (store, scope), rec, &settings, now).await? {
        Ok(plan) => {
            session.perform(&plan).await?;
            Ok(RemediationEnd::Succeeded {
                snapshot_id: plan.snapshot_id,
                snapshot_expires_at: plan.snapshot_expires_at,
            })
        }
        // An earlier delivery's delete went through before it could record it: done, once.
        Err(refused) if refused.reason == "resource_gone" && remediation.attempts > 1 => {
            let snapshot = (rec.rule_id == Action::DeleteDisk.rule_id()
                && settings.remediation.snapshot_before_delete)
                .then(|| plan::snapshot_id_for(&rec.resource_id, &rec.id));
            let expires = snapshot
                .as_ref()
                .map(|_| now + chrono::Duration::days(settings.remediation.snapshot_retention_days));
            Ok(RemediationEnd::Succeeded { snapshot_id: snapshot, snapshot_expires_at: expires })
        }
        Err(refused) => Ok(RemediationEnd::Refused(format!("{}: {}", refused.reason, refused.message))),
    }
}

/// Writes the session's exchanges once at
/// `{tenant}/remediation/{yyyy}/{mm}/{dd}/{subscription}/{name}.json`.
async fn keep(
    ctx: &RemediationContext,
    scope: &TenantScope,
    subscription_id: &str,
    name: &str,
    session: &ArmSession<'_>,
    now: DateTime<Utc>,
) -> Result<(), RemediationError> {
    if session.exchanges.is_empty() {
        return Ok(());
    }
    let path = format!(
        "{}/remediation/{:04}/{:02}/{:02}/{}/{name}.json",
        scope.tenant_id(),
        now.year(),
        now.month(),
        now.day(),
        subscription_id.to_ascii_lowercase()
    );
    let body = serde_json::json!({ "name": name, "recorded_at": now, "exchanges": session.exchanges });
    let bytes = serde_json::to_vec(&body).map_err(|e| RawError::Storage(e.to_string()))?;
    match ctx.raw.put_create_only(&path, &bytes).await {
        Ok(PutOutcome::Created | PutOutcome::AlreadyExists) => Ok(()),
        // A duplicate delivery of the same attempt wrote first: keep this one beside it.
        Err(RawError::Conflict { .. }) => {
            let other = path.replace(".json", &format!("-{}.json", uuid::Uuid::now_v7().simple()));
            ctx.raw.put_create_only(&other, &bytes).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes every pre-deletion snapshot whose retention ended before `now`, as the remediation
/// identity, and records each removal. A snapshot that is not AzCops's (its owner tag is gone)
/// is left in place. Returns how many were removed.
///
/// # Errors
/// The store fails; an ARM failure stops the sweep (the next run picks up where it stopped).
pub async fn sweep_snapshots(
    ctx: &RemediationContext,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<usize, RemediationError> {
    let mut removed = 0;
    for tenant in store.platform_admin().list_active_tenants().await? {
        let scope = TenantScope::from_trusted_trigger(tenant.id.clone());
        for remediation in store.expired_remediation_snapshots(&scope, now).await? {
            let Some(snapshot) = remediation.snapshot_id.as_deref() else { continue };
            let subscription = snapshot.split('/').nth(2).unwrap_or_default();
            let call = CallContext::new(&tenant.azure_tenant_id, subscription);
            let mut session = ArmSession::new(&ctx.arm, call, ctx.wait_cap);
            let result = match session.read_state(snapshot, plan::COMPUTE_API).await {
                Ok(None) => Ok(true),
                Ok(Some((state, _))) if plan::snapshot_expired(&state, now) => {
                    session.delete(snapshot, plan::COMPUTE_API).await.map(|()| true)
                }
                Ok(Some(_)) => {
                    tracing::warn!(snapshot, "snapshot kept: it no longer carries AzCops's expiry tags");
                    Ok(false)
                }
                Err(e) => Err(e),
            };
            keep(ctx, &scope, subscription, &format!("{}-retention", remediation.id), &session, now).await?;
            if result? {
                store.snapshot_removed(&scope, &remediation.id, now).await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
