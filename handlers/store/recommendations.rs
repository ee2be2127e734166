//! `recommendations`: idempotent bulk upserts from the rule engine and Advisor, listing, the
//! person-driven lifecycle (audited in the same transaction) and system closing/reopening of
//! findings (see [`super::lifecycle`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::audit::insert_audit;
use super::{
    Changer, NewAuditEntry, Page, PageRequest, RecommendationStatus, SortDirection, Store, StoreError,
    TenantScope, new_id, now, on_pool,
};

const SQLITE_CHUNK: usize = 500;
const POSTGRES_CHUNK: usize = 5_000;
/// Ids per `IN (...)` list.
const ID_CHUNK: usize = 500;

const SELECT: &str = "SELECT id, subscription_id, resource_id, rule_id, source, category, title, \
     estimated_monthly_savings, savings_basis, currency, confidence_score, risk_level, effort_level, priority_score, \
     status, evidence, first_detected_at, last_detected_at, status_changed_at, status_changed_by, created_at, \
     updated_at FROM recommendations WHERE ";

const INSERT_COLUMNS: &str = "tenant_id, id, subscription_id, resource_id, rule_id, source, category, title, \
     estimated_monthly_savings, savings_basis, currency, confidence_score, risk_level, effort_level, priority_score, \
     evidence, first_detected_at, last_detected_at, status, status_changed_at, status_changed_by, created_at, \
     updated_at";

/// Never touches a status a person set; only `closed` comes back to `open` (system reopen).
const ON_CONFLICT: &str = "ON CONFLICT (tenant_id, resource_id, rule_id) DO UPDATE SET \
     subscription_id = excluded.subscription_id, source = excluded.source, category = excluded.category, \
     title = excluded.title, estimated_monthly_savings = excluded.estimated_monthly_savings, \
     savings_basis = excluded.savings_basis, currency = excluded.currency, \
     confidence_score = excluded.confidence_score, risk_level = excluded.risk_level, \
     effort_level = excluded.effort_level, priority_score = excluded.priority_score, evidence = excluded.evidence, \
     last_detected_at = excluded.last_detected_at, \
     status = CASE WHEN recommendations.status = 'closed' THEN 'open' ELSE recommendations.status END, \
     status_changed_at = CASE WHEN recommendations.status = 'closed' THEN excluded.last_detected_at \
         ELSE recommendations.status_changed_at END, \
     status_changed_by = CASE WHEN recommendations.status = 'closed' THEN 'system' \
         ELSE recommendations.status_changed_by END, \
     updated_at = CASE WHEN recommendations.status = 'closed' \
         OR recommendations.subscription_id IS DISTINCT FROM excluded.subscription_id \
         OR recommendations.source IS DISTINCT FROM excluded.source \
         OR recommendations.category IS DISTINCT FROM excluded.category \
         OR recommendations.title IS DISTINCT FROM excluded.title \
         OR recommendations.estimated_monthly_savings IS DISTINCT FROM excluded.estimated_monthly_savings \
         OR recommendations.savings_basis IS DISTINCT FROM excluded.savings_basis \
         OR recommendations.currency IS DISTINCT FROM excluded.currency \
         OR recommendations.confidence_score IS DISTINCT FROM excluded.confidence_score \
         OR recommendations.risk_level IS DISTINCT FROM excluded.risk_level \
         OR recommendations.effort_level IS DISTINCT FROM excluded.effort_level \
         OR recommendations.priority_score IS DISTINCT FROM excluded.priority_score \
         OR recommendations.evidence IS DISTINCT FROM excluded.evidence \
         THEN excluded.updated_at ELSE recommendations.updated_at END";

const POSTGRES_INSERT: &str = "SELECT $1, u.id, u.s, u.r, u.rule, u.src, u.cat, u.title, u.sav, u.basis, u.cur, \
     u.conf, u.risk, u.effort, u.prio, u.ev::jsonb, u.at, u.at, 'open', u.at, 'system', $2, $2 \
     FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
     $10::float8[], $11::text[], $12::text[], $13::float8[], $14::text[], $15::text[], $16::float8[], \
     $17::text[], $18::timestamptz[]) \
     AS u(id, s, r, rule, src, cat, title, sav, basis, cur, conf, risk, effort, prio, ev, at) ";

/// One finding to upsert (from a rule or from Advisor).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationUpsert {
    /// Subscription GUID.
    pub subscription_id: String,
    /// Lower-cased resource id.
    pub resource_id: String,
    /// Rule id (or `advisor:<recommendationTypeId>`).
    pub rule_id: String,
    /// `rule` or `advisor`.
    pub source: String,
    /// Category (waste, rightsizing, rate, governance, ...).
    pub category: String,
    /// Human title.
    pub title: String,
    /// Estimated monthly savings.
    pub estimated_monthly_savings: f64,
    /// How the savings were estimated.
    pub savings_basis: String,
    /// Currency of the savings.
    pub currency: String,
    /// Confidence 0..=1.
    pub confidence_score: f64,
    /// Risk level (low|medium|high).
    pub risk_level: String,
    /// Effort level (low|medium|high).
    pub effort_level: String,
    /// Priority used for ordering.
    pub priority_score: f64,
    /// Evidence for the finding.
    pub evidence: serde_json::Value,
    /// When this evaluation detected it.
    pub detected_at: DateTime<Utc>,
}

/// A stored recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Recommendation {
    /// Id (UUID v7).
    pub id: String,
    /// Subscription GUID.
    pub subscription_id: String,
    /// Resource id.
    pub resource_id: String,
    /// Rule id.
    pub rule_id: String,
    /// `rule` or `advisor`.
    pub source: String,
    /// Category.
    pub category: String,
    /// Title.
    pub title: String,
    /// Estimated monthly savings.
    pub estimated_monthly_savings: f64,
    /// Savings basis.
    pub savings_basis: String,
    /// Currency.
    pub currency: String,
    /// Confidence.
    pub confidence_score: f64,
    /// Risk level.
    pub risk_level: String,
    /// Effort level.
    pub effort_level: String,
    /// Priority.
    pub priority_score: f64,
    /// Lifecycle status.
    #[sqlx(try_from = "String")]
    pub status: RecommendationStatus,
    /// Evidence.
    pub evidence: Json<serde_json::Value>,
    /// First detection.
    pub first_detected_at: DateTime<Utc>,
    /// Latest detection.
    pub last_detected_at: DateTime<Utc>,
    /// When the status last changed.
    pub status_changed_at: DateTime<Utc>,
    /// Who changed the status last (`system` for detection, closing and reopening).
    pub status_changed_by: String,
    /// Row creation.
    pub created_at: DateTime<Utc>,
    /// Last real change.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<String> for RecommendationStatus {
    type Error = StoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Sort order for [`Store::list_recommendations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecommendationSort {
    /// By priority score (default).
    #[default]
    Priority,
    /// By estimated monthly savings.
    Savings,
}

/// Filters for [`Store::list_recommendations`].
#[derive(Debug, Clone, Default)]
pub struct RecommendationFilter {
    /// One status.
    pub status: Option<RecommendationStatus>,
    /// One category.
    pub category: Option<String>,
    /// One rule.
    pub rule_id: Option<String>,
    /// One subscription.
    pub subscription_id: Option<String>,
    /// At least these monthly savings.
    pub min_savings: Option<f64>,
    /// Sort key.
    pub sort: RecommendationSort,
    /// Direction (default descending: most important first).
    pub direction: Option<SortDirection>,
}

/// A finding that still holds after an evaluation, passed to [`Store::close_stale`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaleFindingKey {
    /// Resource id.
    pub resource_id: String,
    /// Rule id.
    pub rule_id: String,
}

fn push_filters<DB>(qb: &mut QueryBuilder<DB>, scope: &TenantScope, filter: &RecommendationFilter)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
    f64: for<'q> Encode<'q, DB> + Type<DB>,
{
    qb.push("tenant_id = ").push_bind(scope.tenant_id().to_owned());
    if let Some(status) = filter.status {
        qb.push(" AND status = ").push_bind(status.as_str().to_owned());
    }
    if let Some(category) = &filter.category {
        qb.push(" AND category = ").push_bind(category.clone());
    }
    if let Some(rule) = &filter.rule_id {
        qb.push(" AND rule_id = ").push_bind(rule.clone());
    }
    if let Some(subscription) = &filter.subscription_id {
        qb.push(" AND subscription_id = ").push_bind(subscription.trim().to_ascii_lowercase());
    }
    if let Some(min) = filter.min_savings {
        qb.push(" AND estimated_monthly_savings >= ").push_bind(min);
    }
}

fn validate(rows: &[RecommendationUpsert]) -> Result<Vec<&RecommendationUpsert>, StoreError> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut kept: Vec<&RecommendationUpsert> = Vec::with_capacity(rows.len());
    for row in rows {
        if row.source != "rule" && row.source != "advisor" {
            return Err(StoreError::validation("source", "must be rule or advisor"));
        }
        if row.resource_id.is_empty() || row.rule_id.is_empty() {
            return Err(StoreError::validation("resource_id", "resource_id and rule_id are required"));
        }
        let key = (row.resource_id.as_str(), row.rule_id.as_str());
        match index.get(&key) {
            Some(&at) => kept[at] = row,
            None => {
                index.insert(key, kept.len());
                kept.push(row);
            }
        }
    }
    Ok(kept)
}

fn sqlite_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO recommendations ({INSERT_COLUMNS}) VALUES ");
    for i in 0..rows {
        let p = 3 + i * 16;
        if i > 0 {
            sql.push(',');
        }
        let n = |k: usize| format!("${}", p + k);
        let fields: Vec<String> = (0..15).map(n).collect();
        let at = n(15);
        sql.push_str(&format!("($1,{},{at},{at},'open',{at},'system',$2,$2)", fields.join(",")));
    }
    sql.push(' ');
    sql.push_str(ON_CONFLICT);
    sql
}

fn system_audit(action: &str, id: &str, metadata: serde_json::Value, at: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry {
        actor: "system".into(),
        action: action.into(),
        target_type: "recommendation".into(),
        target_id: id.into(),
        metadata,
        occurred_at: at,
    }
}

impl Store {
    /// Upserts findings in one transaction. Existing rows keep their id, `first_detected_at`
    /// and any status a person set; a `closed` finding that reappears is reopened (and the
    /// reopening audited). Re-applying a batch changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Validation`] for an unknown source or missing key; database errors.
    pub async fn upsert_recommendations(
        &self,
        scope: &TenantScope,
        rows: &[RecommendationUpsert],
    ) -> Result<(), StoreError> {
        let rows = validate(rows)?;
        if rows.is_empty() {
            return Ok(());
        }
        let at = now();
        let evidence: Vec<String> = rows.iter().map(|r| r.evidence.to_string()).collect();
        let ids: Vec<String> = rows.iter().map(|_| new_id()).collect();
        let wanted: HashSet<(&str, &str)> =
            rows.iter().map(|r| (r.resource_id.as_str(), r.rule_id.as_str())).collect();
        // Which of these findings are closed now and will be reopened by this upsert.
        macro_rules! find_reopened {
            ($tx:expr) => {{
                let mut reopened: Vec<(String, String, String)> = Vec::new();
                for chunk in rows.chunks(ID_CHUNK) {
                    let mut qb = QueryBuilder::new(
                        "SELECT id, resource_id, rule_id FROM recommendations WHERE status = 'closed' AND tenant_id = ",
                    );
                    qb.push_bind(scope.tenant_id().to_owned()).push(" AND resource_id IN (");
                    let mut list = qb.separated(", ");
                    for row in chunk {
                        list.push_bind(row.resource_id.clone());
                    }
                    qb.push(")");
                    let found: Vec<(String, String, String)> = qb.build_query_as().fetch_all(&mut *$tx).await?;
                    reopened.extend(found.into_iter().filter(|(_, r, k)| wanted.contains(&(r.as_str(), k.as_str()))));
                }
                reopened.sort();
                reopened.dedup();
                reopened
            }};
        }
        macro_rules! audit_reopened {
            ($tx:expr, $reopened:expr) => {
                for (id, resource_id, rule_id) in &$reopened {
                    let metadata = serde_json::json!({
                        "from": "closed", "to": "open", "resource_id": resource_id, "rule_id": rule_id,
                        "reason": "finding detected again",
                    });
                    insert_audit!(&mut *$tx, scope.tenant_id(), &system_audit("recommendation.reopened", id, metadata, at))?;
                }
            };
        }
        match self.db() {
            super::connect::Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let reopened = find_reopened!(tx);
                for (c, chunk) in rows.chunks(SQLITE_CHUNK).enumerate() {
                    let base = c * SQLITE_CHUNK;
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sqlite_sql(chunk.len())))
                        .bind(scope.tenant_id())
                        .bind(at);
                    for (i, r) in chunk.iter().enumerate() {
                        query = query
                            .bind(&ids[base + i])
                            .bind(r.subscription_id.trim().to_ascii_lowercase())
                            .bind(&r.resource_id)
                            .bind(&r.rule_id)
                            .bind(&r.source)
                            .bind(&r.category)
                            .bind(&r.title)
                            .bind(r.estimated_monthly_savings)
                            .bind(&r.savings_basis)
                            .bind(&r.currency)
                            .bind(r.confidence_score)
                            .bind(&r.risk_level)
                            .bind(&r.effort_level)
                            .bind(r.priority_score)
                            .bind(&evidence[base + i])
                            .bind(r.detected_at);
                    }
                    query.execute(&mut *tx).await?;
                }
                audit_reopened!(tx, reopened);
                tx.commit().await?;
            }
            super::connect::Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let reopened = find_reopened!(tx);
                let sql = std::sync::Arc::new(format!(
                    "INSERT INTO recommendations ({INSERT_COLUMNS}) {POSTGRES_INSERT}{ON_CONFLICT}"
                ));
                for (c, chunk) in rows.chunks(POSTGRES_CHUNK).enumerate() {
                    let base = c * POSTGRES_CHUNK;
                    let text =
                        |f: fn(&RecommendationUpsert) -> &str| chunk.iter().map(|r| f(r)).collect::<Vec<_>>();
                    let num =
                        |f: fn(&RecommendationUpsert) -> f64| chunk.iter().map(|r| f(r)).collect::<Vec<_>>();
                    sqlx::query(sqlx::AssertSqlSafe(std::sync::Arc::clone(&sql)))
                        .bind(scope.tenant_id())
                        .bind(at)
                        .bind(ids[base..base + chunk.len()].to_vec())
                        .bind(
                            chunk
                                .iter()
                                .map(|r| r.subscription_id.trim().to_ascii_lowercase())
                                .collect::<Vec<_>>(),
                        )
                        .bind(text(|r| &r.resource_id))
                        .bind(text(|r| &r.rule_id))
                        .bind(text(|r| &r.source))
                        .bind(text(|r| &r.category))
                        .bind(text(|r| &r.title))
                        .bind(num(|r| r.estimated_monthly_savings))
                        .bind(text(|r| &r.savings_basis))
                        .bind(text(|r| &r.currency))
                        .bind(num(|r| r.confidence_score))
                        .bind(text(|r| &r.risk_level))
                        .bind(text(|r| &r.effort_level))
                        .bind(num(|r| r.priority_score))
                        .bind(evidence[base..base + chunk.len()].to_vec())
                        .bind(chunk.iter().map(|r| r.detected_at).collect::<Vec<_>>())
                        .execute(&mut *tx)
                        .await?;
                }
                audit_reopened!(tx, reopened);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Lists recommendations, most important first by default.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_recommendations(
        &self,
        scope: &TenantScope,
        filter: &RecommendationFilter,
        page: PageRequest,
    ) -> Result<Page<Recommendation>, StoreError> {
        let column = match filter.sort {
            RecommendationSort::Priority => "priority_score",
            RecommendationSort::Savings => "estimated_monthly_savings",
        };
        let direction = filter.direction.unwrap_or(SortDirection::Desc).sql();
        let (items, total) = on_pool!(self, pool => {
            let mut qb = QueryBuilder::new(SELECT);
            push_filters(&mut qb, scope, filter);
            qb.push(format_args!(" ORDER BY {column} {direction}, id LIMIT ")).push_bind(page.limit());
            qb.push(" OFFSET ").push_bind(page.offset());
            let items: Vec<Recommendation> = qb.build_query_as().fetch_all(pool).await?;
            let mut count = QueryBuilder::new("SELECT COUNT(*) FROM recommendations WHERE ");
            push_filters(&mut count, scope, filter);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            (items, total)
        });
        Ok(page.into_page(items, total))
    }

    /// Reads one recommendation.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for another tenant's id).
    pub async fn get_recommendation(
        &self,
        scope: &TenantScope,
        id: &str,
    ) -> Result<Recommendation, StoreError> {
        on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT}tenant_id = $1 AND id = $2")))
                .bind(scope.tenant_id())
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// Moves a recommendation to `to` on behalf of a person, writing the audit row in the same
    /// transaction. The update is conditional on the status read, so two concurrent decisions
    /// cannot both apply.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::InvalidTransition`] when the lifecycle refuses
    /// (including when a concurrent change got there first).
    pub async fn transition_recommendation(
        &self,
        scope: &TenantScope,
        id: &str,
        to: RecommendationStatus,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Recommendation, StoreError> {
        let at = now();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let current: Option<String> =
                sqlx::query_scalar("SELECT status FROM recommendations WHERE tenant_id = $1 AND id = $2")
                    .bind(scope.tenant_id())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let from: RecommendationStatus = current.ok_or(StoreError::NotFound)?.parse()?;
            from.transition(to, Changer::Person)?;
            let updated = sqlx::query(
                "UPDATE recommendations SET status = $4, status_changed_at = $5, status_changed_by = $6, \
                 updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3",
            )
            .bind(scope.tenant_id())
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(at)
            .bind(actor)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::InvalidTransition { from, to });
            }
            let entry = NewAuditEntry {
                actor: actor.to_owned(),
                action: format!("recommendation.{to}"),
                target_type: "recommendation".into(),
                target_id: id.to_owned(),
                metadata: serde_json::json!({ "from": from, "to": to, "reason": reason }),
                occurred_at: at,
            };
            insert_audit!(&mut *tx, scope.tenant_id(), &entry)?;
            tx.commit().await?;
        });
        self.get_recommendation(scope, id).await
    }

    /// Closes the `open` findings of `subscription_id` produced by `rule_ids_evaluated` that are
    /// not in `still_present` (the evaluation no longer finds them), auditing each closure.
    /// Findings in a status a person set are left alone. Returns the closed ids.
    ///
    /// # Errors
    /// Database errors; nothing is closed when one occurs.
    pub async fn close_stale(
        &self,
        scope: &TenantScope,
        subscription_id: &str,
        rule_ids_evaluated: &[String],
        still_present: &[StaleFindingKey],
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        if rule_ids_evaluated.is_empty() {
            return Ok(Vec::new());
        }
        let subscription = subscription_id.trim().to_ascii_lowercase();
        let present: HashSet<(&str, &str)> =
            still_present.iter().map(|k| (k.resource_id.as_str(), k.rule_id.as_str())).collect();
        let at = now();
        let closed = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut candidates: Vec<(String, String, String)> = Vec::new();
            for rules in rule_ids_evaluated.chunks(ID_CHUNK) {
                let mut qb = QueryBuilder::new(
                    "SELECT id, resource_id, rule_id FROM recommendations WHERE status = 'open' AND tenant_id = ",
                );
                qb.push_bind(scope.tenant_id().to_owned());
                qb.push(" AND subscription_id = ").push_bind(subscription.clone()).push(" AND rule_id IN (");
                let mut list = qb.separated(", ");
                for rule in rules {
                    list.push_bind(rule.clone());
                }
                qb.push(")");
                let found: Vec<(String, String, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                candidates.extend(found);
            }
            let mut closed = Vec::new();
            for (id, resource_id, rule_id) in candidates {
                if present.contains(&(resource_id.as_str(), rule_id.as_str())) {
                    continue;
                }
                let done = sqlx::query(
                    "UPDATE recommendations SET status = 'closed', status_changed_at = $3, \
                     status_changed_by = 'system', updated_at = $3 \
                     WHERE tenant_id = $1 AND id = $2 AND status = 'open'",
                )
                .bind(scope.tenant_id())
                .bind(&id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    let metadata = serde_json::json!({
                        "from": "open", "to": "closed", "resource_id": resource_id, "rule_id": rule_id,
                        "reason": reason,
                    });
                    insert_audit!(&mut *tx, scope.tenant_id(), &system_audit("recommendation.closed", &id, metadata, at))?;
                    closed.push(id);
                }
            }
            tx.commit().await?;
            closed
        });
        Ok(closed)
    }
}
