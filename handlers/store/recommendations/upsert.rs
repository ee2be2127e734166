//! Bulk upserts of findings.

use std::collections::{HashMap, HashSet};

use sqlx::QueryBuilder;

use super::{ID_CHUNK, RecommendationUpsert, system_audit};
use crate::store::audit::insert_audit;
use crate::store::{Store, StoreError, TenantScope, new_id, now, sqlite_values};

const SQLITE_CHUNK: usize = 500;
const POSTGRES_CHUNK: usize = 5_000;

const INSERT_COLUMNS: &str = "tenant_id, id, subscription_id, resource_id, rule_id, source, category, title, \
     estimated_monthly_savings, savings_basis, currency, confidence_score, risk_level, effort_level, priority_score, \
     evidence, first_detected_at, last_detected_at, status, status_changed_at, status_changed_by, created_at, \
     updated_at, duplicate_of";

/// Never touches a status a person set; only `closed` comes back to `open` (system reopen).
const ON_CONFLICT: &str = "ON CONFLICT (tenant_id, resource_id, rule_id) DO UPDATE SET \
     subscription_id = excluded.subscription_id, source = excluded.source, category = excluded.category, \
     title = excluded.title, estimated_monthly_savings = excluded.estimated_monthly_savings, \
     savings_basis = excluded.savings_basis, currency = excluded.currency, \
     confidence_score = excluded.confidence_score, risk_level = excluded.risk_level, \
     effort_level = excluded.effort_level, priority_score = excluded.priority_score, evidence = excluded.evidence, \
     last_detected_at = excluded.last_detected_at, duplicate_of = excluded.duplicate_of, \
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
         OR recommendations.duplicate_of IS DISTINCT FROM excluded.duplicate_of \
         THEN excluded.updated_at ELSE recommendations.updated_at END";

const POSTGRES_INSERT: &str = "SELECT $1, u.id, u.s, u.r, u.rule, u.src, u.cat, u.title, u.sav, u.basis, u.cur, \
     u.conf, u.risk, u.effort, u.prio, u.ev::jsonb, u.at, u.at, 'open', u.at, 'system', $2, $2, u.dup \
     FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
     $10::float8[], $11::text[], $12::text[], $13::float8[], $14::text[], $15::text[], $16::float8[], \
     $17::text[], $18::timestamptz[], $19::text[]) \
     AS u(id, s, r, rule, src, cat, title, sav, basis, cur, conf, risk, effort, prio, ev, at, dup) ";

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
    sql.push_str(&sqlite_values(rows, 24));
    sql.push(' ');
    sql.push_str(ON_CONFLICT);
    sql
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
            crate::store::connect::Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let reopened = find_reopened!(tx);
                for (c, chunk) in rows.chunks(SQLITE_CHUNK).enumerate() {
                    let base = c * SQLITE_CHUNK;
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sqlite_sql(chunk.len())));
                    for (i, r) in chunk.iter().enumerate() {
                        query = query
                            .bind(scope.tenant_id())
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
                            .bind(r.detected_at)
                            .bind(r.detected_at)
                            .bind("open")
                            .bind(r.detected_at)
                            .bind("system")
                            .bind(at)
                            .bind(at)
                            .bind(&r.duplicate_of);
                    }
                    query.execute(&mut *tx).await?;
                }
                audit_reopened!(tx, reopened);
                crate::store::notify::outbox::record_new_findings!(tx, scope, ids, at);
                tx.commit().await?;
            }
            crate::store::connect::Db::Postgres(pool) => {
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
                        .bind(chunk.iter().map(|r| r.duplicate_of.clone()).collect::<Vec<_>>())
                        .execute(&mut *tx)
                        .await?;
                }
                audit_reopened!(tx, reopened);
                crate::store::notify::outbox::record_new_findings!(tx, scope, ids, at);
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
