//! [`evaluate_subscription`]: the one entry point the blob trigger, `azcops ingest` and
//! `azcops evaluate` call. It gathers what the rules read, runs them, and stores the findings
//! as recommendations idempotently.

use std::collections::HashSet;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::EvaluationError;
use super::prices::PriceSource;
use crate::model::AdvisorRecommendationRow;
use crate::rules::context::{CostMap, EvaluationContext, ObservedCost};
use crate::rules::prices::PriceKey;
use crate::rules::registry;
use crate::rules::scoring::{priority, round2};
use crate::rules::settings::RuleSettings;
use crate::rules::snapshot::SubscriptionSnapshot;
use crate::rules::{Category, Effort, Finding, Risk, Rule};
use crate::store::{RecommendationUpsert, StaleFindingKey, Store, TenantScope};

/// Days of `costs_daily` the rules price with (ending yesterday: today is still accruing).
pub const COST_WINDOW_DAYS: u64 = 30;

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvaluationSummary {
    /// Subscription evaluated.
    pub subscription_id: String,
    /// Rules evaluated.
    pub rules_evaluated: usize,
    /// Resources in the snapshot.
    pub resources: usize,
    /// Findings from our rules.
    pub findings: usize,
    /// Findings per rule id.
    pub findings_by_rule: std::collections::BTreeMap<String, usize>,
    /// Advisor recommendations stored (those agreeing with a rule's finding included).
    pub advisor_recommendations: usize,
    /// Advisor recommendations that agree with a rule's finding: stored and linked to it,
    /// left out of savings.
    pub advisor_duplicates: usize,
    /// Recommendations closed because their finding no longer holds.
    pub closed: usize,
    /// Sum of the monthly savings of everything upserted.
    pub monthly_savings: f64,
    /// Retail prices the rules asked for.
    pub prices_requested: usize,
    /// Retail prices obtained.
    pub prices_found: usize,
}

/// The cost window `[from, to]` for an evaluation at `now`.
pub fn cost_window(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    let to = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let from = to.checked_sub_days(Days::new(COST_WINDOW_DAYS - 1)).unwrap_or(to);
    (from, to)
}

/// Every price the rules will want for `snapshot`, sorted and de-duplicated.
pub fn price_queries(
    rules: &[Box<dyn Rule>],
    snapshot: &SubscriptionSnapshot,
    settings: &RuleSettings,
) -> Vec<PriceKey> {
    let mut keys: Vec<PriceKey> = rules.iter().flat_map(|r| r.price_queries(snapshot, settings)).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A finding as a recommendation row.
pub fn to_upsert(
    rule: &dyn Rule,
    f: &Finding,
    subscription_id: &str,
    currency: &str,
    at: DateTime<Utc>,
) -> RecommendationUpsert {
    let savings = round2(f.monthly_savings);
    RecommendationUpsert {
        subscription_id: subscription_id.to_owned(),
        resource_id: f.resource_id.clone(),
        rule_id: f.rule_id.to_owned(),
        source: "rule".into(),
        category: rule.category().as_str().into(),
        title: f.title.clone(),
        estimated_monthly_savings: savings,
        savings_basis: f.basis.as_str().into(),
        currency: currency.to_owned(),
        confidence_score: f.confidence,
        risk_level: rule.risk().as_str().into(),
        effort_level: rule.effort().as_str().into(),
        priority_score: priority(savings, f.confidence, rule.risk()),
        evidence: f.evidence.to_value(),
        detected_at: at,
        duplicate_of: None,
    }
}

/// An Advisor recommendation as a recommendation row (`rule_id` `advisor:<type>`), linked to
/// the rule whose finding on the same resource it duplicates, if any.
pub fn advisor_upsert(
    a: &AdvisorRecommendationRow,
    duplicate_of: Option<&str>,
    at: DateTime<Utc>,
) -> RecommendationUpsert {
    let category = registry::advisor_equivalent(&a.recommendation_type_id)
        .and_then(|id| id.split('.').next())
        .unwrap_or("advisor");
    let risk = Risk::Medium;
    let savings = round2(a.monthly_savings);
    RecommendationUpsert {
        subscription_id: a.subscription_id.clone(),
        resource_id: a.resource_id.clone(),
        rule_id: format!("advisor:{}", a.recommendation_type_id.to_ascii_lowercase()),
        source: "advisor".into(),
        category: category.into(),
        title: if a.solution.is_empty() { a.problem.clone() } else { a.solution.clone() },
        estimated_monthly_savings: savings,
        savings_basis: if a.savings_estimated { "advisor_impact_heuristic".into() } else { "advisor".into() },
        currency: a.currency.clone(),
        confidence_score: a.confidence,
        risk_level: risk.as_str().into(),
        effort_level: Effort::Medium.as_str().into(),
        priority_score: priority(savings, a.confidence, risk),
        evidence: serde_json::json!({
            "advisor_id": a.advisor_id, "problem": a.problem, "solution": a.solution, "impact": a.impact,
            "impacted_field": a.impacted_field, "impacted_value": a.impacted_value,
            "extended_properties": a.extended_properties,
        }),
        detected_at: at,
        duplicate_of: duplicate_of.map(str::to_owned),
    }
}

/// Observed monthly costs from the store's per-resource window sums.
fn observed_costs(
    rows: Vec<crate::store::ResourceCost>,
    from: NaiveDate,
    to: NaiveDate,
) -> (CostMap, Option<String>) {
    let mut currency = None;
    let costs = rows
        .into_iter()
        .map(|r| {
            let first =
                NaiveDate::parse_from_str(r.first_date.get(..10).unwrap_or(&r.first_date), "%Y-%m-%d")
                    .unwrap_or(from)
                    .max(from);
            let days = (to - first).num_days() + 1;
            currency.get_or_insert(r.currency.clone());
            (r.resource_id, ObservedCost::from_window(r.cost, r.amortized_cost, days, r.days_with_cost))
        })
        .collect();
    (costs, currency)
}

/// Evaluates every rule for one subscription's snapshot and stores the outcome.
///
/// Loads the tenant's rule settings and the resources' last-30-day costs, asks the rules which
/// retail prices they need and gets them from `prices`, evaluates every rule, adds the
/// Advisor recommendations no rule duplicates (`source = advisor`), upserts all of them (a
/// status a person set is never overwritten; re-running with the same inputs changes
/// nothing), closes this subscription's open findings that no longer hold (audited), and emits
/// `rule_engine.rules_evaluated` and `recommendations.savings_identified`.
///
/// # Errors
/// [`EvaluationError::Store`] when loading or storing fails; [`EvaluationError::Rules`] when
/// the tenant's stored settings are invalid. Nothing is closed when the upsert fails.
pub async fn evaluate_subscription(
    store: &Store,
    prices: &dyn PriceSource,
    scope: &TenantScope,
    snapshot: &SubscriptionSnapshot,
    now: DateTime<Utc>,
) -> Result<EvaluationSummary, EvaluationError> {
    let started = std::time::Instant::now();
    let subscription_id = snapshot.subscription_id.trim().to_ascii_lowercase();
    let settings = RuleSettings::from_overrides(store.rule_settings(scope).await?.as_ref())?;
    let (from, to) = cost_window(now);
    let (costs, currency) =
        observed_costs(store.resource_costs(scope, &subscription_id, from, to).await?, from, to);
    let currency = currency.unwrap_or_else(|| "USD".into());
    let rules = registry::all();
    let keys = price_queries(&rules, snapshot, &settings);
    let book = prices.prices(&keys).await;
    let ctx = EvaluationContext::new(snapshot, &settings, &costs, &book, now);
    let findings = registry::evaluate(&rules, &ctx);

    let mut summary = EvaluationSummary {
        subscription_id: subscription_id.clone(),
        rules_evaluated: rules.len(),
        resources: snapshot.resources.len(),
        findings: findings.len(),
        prices_requested: keys.len(),
        prices_found: book.len(),
        ..Default::default()
    };
    let mut upserts: Vec<RecommendationUpsert> = Vec::with_capacity(findings.len());
    let mut found: HashSet<(String, &'static str)> = HashSet::new();
    for (i, f) in &findings {
        *summary.findings_by_rule.entry(f.rule_id.to_owned()).or_default() += 1;
        found.insert((f.resource_id.clone(), f.rule_id));
        upserts.push(to_upsert(rules[*i].as_ref(), f, &subscription_id, &currency, now));
    }
    let mut advisor_rule_ids: HashSet<String> =
        registry::ADVISOR_EQUIVALENTS.iter().map(|(t, _)| format!("advisor:{t}")).collect();
    for a in &snapshot.advisor {
        if a.resource_id.is_empty() {
            continue;
        }
        // Azure agreeing with a finding is evidence a reviewer wants: keep it, linked, but
        // never as a second saving.
        let duplicate_of = registry::advisor_equivalent(&a.recommendation_type_id)
            .filter(|rule| found.contains(&(a.resource_id.clone(), *rule)));
        summary.advisor_duplicates += usize::from(duplicate_of.is_some());
        let row = advisor_upsert(a, duplicate_of, now);
        advisor_rule_ids.insert(row.rule_id.clone());
        upserts.push(row);
        summary.advisor_recommendations += 1;
    }
    summary.monthly_savings = round2(
        upserts.iter().filter(|u| u.duplicate_of.is_none()).map(|u| u.estimated_monthly_savings).sum(),
    );
    store.upsert_recommendations(scope, &upserts).await?;

    let mut evaluated: Vec<String> = rules.iter().map(|r| r.id().to_owned()).collect();
    evaluated.extend(advisor_rule_ids);
    evaluated.sort();
    let present: Vec<StaleFindingKey> = upserts
        .iter()
        .map(|u| StaleFindingKey { resource_id: u.resource_id.clone(), rule_id: u.rule_id.clone() })
        .collect();
    let reason = format!("finding no longer holds in the snapshot of {}", snapshot.as_of.to_rfc3339());
    summary.closed = store.close_stale(scope, &subscription_id, &evaluated, &present, &reason).await?.len();

    tracing::info!(
        tenant_id = scope.tenant_id(),
        subscription_id = %subscription_id,
        rules = summary.rules_evaluated,
        resources = summary.resources,
        findings = summary.findings,
        advisor = summary.advisor_recommendations,
        closed = summary.closed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "rule_engine.rules_evaluated"
    );
    for category in [Category::Waste, Category::Rightsizing, Category::Rate, Category::Governance] {
        let (count, savings) = upserts
            .iter()
            .filter(|u| u.source == "rule" && u.category == category.as_str())
            .fold((0usize, 0.0f64), |(n, s), u| (n + 1, s + u.estimated_monthly_savings));
        tracing::info!(
            tenant_id = scope.tenant_id(),
            subscription_id = %subscription_id,
            category = category.as_str(),
            recommendations = count,
            monthly_savings = round2(savings),
            currency = %currency,
            "recommendations.savings_identified"
        );
    }
    Ok(summary)
}
