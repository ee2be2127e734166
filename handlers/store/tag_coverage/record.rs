//! Recording tag coverage with each inventory: one `tag_coverage_daily` row per subscription
//! and day, written in the inventory upsert's transaction (the day's latest inventory wins).

use std::collections::BTreeMap;

use crate::model::ResourceRow;
use crate::store::Backend;

/// Whether `tags` carry `key` (lower-cased) with a non-blank value.
pub fn carries_tag(tags: &BTreeMap<String, String>, key: &str) -> bool {
    tags.iter().any(|(k, v)| k.to_ascii_lowercase() == key && !v.trim().is_empty())
}

/// Resources and tagged resources per subscription of an inventory batch.
pub(in crate::store) fn coverage_of<'a>(
    rows: impl Iterator<Item = &'a ResourceRow>,
    key: &str,
) -> BTreeMap<&'a str, (i64, i64)> {
    let mut out: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for row in rows {
        let entry = out.entry(row.subscription_id.as_str()).or_default();
        entry.0 += 1;
        entry.1 += i64::from(carries_tag(&row.tags, key));
    }
    out
}

/// The tenant's allocation tag key (lower-cased) as a query of `$1`.
pub(in crate::store) fn tag_key_select(backend: Backend) -> String {
    format!("SELECT {}", crate::store::rollups::tag_key_sql(backend))
}

/// Upsert of one subscription's coverage of a day; the day's latest inventory wins.
pub(in crate::store) const COVERAGE_UPSERT: &str = "INSERT INTO tag_coverage_daily (tenant_id, subscription_id, date, \
     tag_key, resources, tagged_resources, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (tenant_id, subscription_id, date) DO UPDATE SET tag_key = excluded.tag_key, \
     resources = excluded.resources, tagged_resources = excluded.tagged_resources, \
     recorded_at = excluded.recorded_at";

/// Records the coverage of an inventory batch on `$tx` (the inventory upsert's transaction):
/// one row per subscription of `$rows` for `$day`, measured with the tenant's tag.
macro_rules! record_tag_coverage {
    ($tx:ident, $backend:expr, $tenant:expr, $day:expr, $at:expr, $rows:expr) => {{
        let key: String = sqlx::query_scalar(sqlx::AssertSqlSafe(
            $crate::store::tag_coverage::record::tag_key_select($backend),
        ))
        .bind($tenant)
        .fetch_one(&mut *$tx)
        .await?;
        if !key.is_empty() {
            for (subscription, (resources, tagged)) in
                $crate::store::tag_coverage::record::coverage_of($rows, &key)
            {
                sqlx::query($crate::store::tag_coverage::record::COVERAGE_UPSERT)
                    .bind($tenant)
                    .bind(subscription)
                    .bind($day)
                    .bind(&key)
                    .bind(resources)
                    .bind(tagged)
                    .bind($at)
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}
pub(crate) use record_tag_coverage;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(subscription: &str, tags: &[(&str, &str)]) -> ResourceRow {
        ResourceRow {
            subscription_id: subscription.into(),
            resource_id: format!("/subscriptions/{subscription}/x"),
            name: "x".into(),
            resource_type: "t".into(),
            kind: None,
            location: "l".into(),
            resource_group: "g".into(),
            sku: None,
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            properties: serde_json::json!({}),
            managed_by: None,
        }
    }

    #[test]
    fn a_tag_counts_with_any_case_and_a_non_blank_value() {
        let rows = [
            row("a", &[("Cost-Center", "cc1")]),
            row("a", &[("cost-center", " ")]),
            row("a", &[("owner", "x")]),
            row("b", &[("COST-CENTER", "cc2")]),
        ];
        let coverage = coverage_of(rows.iter(), "cost-center");
        assert_eq!(coverage.get("a"), Some(&(3, 1)));
        assert_eq!(coverage.get("b"), Some(&(1, 1)));
        assert!(!carries_tag(&rows[2].tags, "cost-center"));
    }
}
