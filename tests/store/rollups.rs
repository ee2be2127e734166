//! Cost rollups: equal to the sums over `costs_daily` for seeded random questions, unchanged by
//! replays and retries, and the same whether maintained by ingestion, backfilled by migration
//! 0006 or rebuilt.

use std::collections::{BTreeMap, BTreeSet};

use azcops::model::{CostDailyRow, ResourceRow};
use azcops::store::{Dimension, ExploreQuery, Granularity, Metric, Store, TenantScope};
use chrono::{Datelike as _, Days, Months, NaiveDate};
use sqlx::Connection as _;

use crate::store_test;
use crate::support::{Ctx, Kind, day, guid, tenant};

store_test!(
    rollups_equal_sums_over_costs,
    replays_and_retries_leave_rollups_unchanged,
    backfill_and_rebuild_equal_incremental_maintenance,
);

/// A small deterministic generator (SplitMix64), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SERVICES: [&str; 4] = ["Virtual Machines", "Storage", "SQL Database", "Bandwidth"];
const TYPES: [&str; 3] =
    ["microsoft.compute/virtualmachines", "microsoft.storage/storageaccounts", "microsoft.sql/servers"];

/// The seeded estate: resources (some tagged `cost-center`, one with the key spelled
/// differently, some untagged) and cost rows, a few of them for resources never inventoried.
struct Estate {
    resources: Vec<ResourceRow>,
    batches: Vec<Vec<CostDailyRow>>,
}

fn estate(seed: u64) -> Estate {
    let mut rng = Rng(seed);
    let subs = [guid(101), guid(102), guid(103)];
    let mut resources = Vec::new();
    for n in 0..12u32 {
        let sub = &subs[n as usize % 3];
        let kind = TYPES[n as usize % 3];
        let rg = format!("rg-{}", n % 4);
        let name = format!("res{n}");
        let mut id = format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/{kind}/{name}");
        if kind == "microsoft.sql/servers" {
            id.push_str("/databases/db");
        }
        let tags = match n % 4 {
            0 => BTreeMap::from([("cost-center".to_owned(), "cc-1".to_owned())]),
            1 => BTreeMap::from([("Cost-Center".to_owned(), " cc-2 ".to_owned())]),
            2 => BTreeMap::from([("owner".to_owned(), "ops".to_owned())]),
            _ => BTreeMap::new(),
        };
        resources.push(ResourceRow {
            subscription_id: sub.clone(),
            resource_id: id,
            name,
            resource_type: kind.into(),
            kind: None,
            location: if n % 2 == 0 { "westeurope".into() } else { "northeurope".into() },
            resource_group: rg,
            sku: None,
            tags,
            properties: serde_json::json!({}),
            managed_by: None,
        });
    }
    let ghost =
        |sub: &str| format!("/subscriptions/{sub}/resourcegroups/rg-x/providers/microsoft.web/sites/gone");
    let mut batches = Vec::new();
    for sub in &subs {
        for month in 0..3u64 {
            let mut batch = Vec::new();
            for d in 0..30u64 {
                let date = day(2026, 1, 1).checked_add_days(Days::new(month * 30 + d)).unwrap();
                for _ in 0..6 {
                    let (resource_id, rg) = match rng.below(8) {
                        0 => (String::new(), String::new()),
                        1 => (ghost(sub), "rg-x".to_owned()),
                        _ => {
                            let own: Vec<&ResourceRow> =
                                resources.iter().filter(|r| &r.subscription_id == sub).collect();
                            let r = rng.pick(&own);
                            (r.resource_id.clone(), r.resource_group.clone())
                        }
                    };
                    let service = *rng.pick(&SERVICES);
                    let cost = (rng.below(10_000) as f64) / 100.0 - 5.0;
                    batch.push(CostDailyRow {
                        subscription_id: sub.clone(),
                        date,
                        resource_group: rg,
                        service_name: service.into(),
                        meter_category: format!("{service} meter {}", rng.below(2)),
                        resource_id,
                        cost,
                        amortized_cost: cost * 0.8,
                        currency: if sub == &subs[2] && d % 2 == 0 { "USD".into() } else { "EUR".into() },
                    });
                }
            }
            batches.push(batch);
        }
    }
    Estate { resources, batches }
}

/// `<namespace>/<type>` after the first `/providers/`, as the rollups derive it.
fn resource_type_of(id: &str) -> String {
    let Some(at) = id.find("/providers/") else { return String::new() };
    let mut parts = id[at + 11..].split('/');
    match (parts.next(), parts.next()) {
        (Some(ns), Some(kind)) if !ns.is_empty() && !kind.is_empty() => format!("{ns}/{kind}"),
        _ => String::new(),
    }
}

/// The value of `dim` for one cost row, computed from the rows and resources in memory.
fn value_of(dim: &Dimension, row: &CostDailyRow, resources: &[ResourceRow]) -> String {
    let resource = resources.iter().find(|r| r.resource_id == row.resource_id);
    match dim {
        Dimension::Service => row.service_name.clone(),
        Dimension::Subscription => row.subscription_id.clone(),
        Dimension::ResourceGroup => row.resource_group.clone(),
        Dimension::Location => resource.map(|r| r.location.clone()).unwrap_or_default(),
        Dimension::ResourceType => resource_type_of(&row.resource_id),
        Dimension::MeterCategory => row.meter_category.clone(),
        Dimension::Tag(key) => resource
            .and_then(|r| r.tags.iter().find(|(k, _)| k.to_ascii_lowercase() == *key))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default(),
    }
}

fn period_of(date: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => date,
        Granularity::Month => date.with_day(1).unwrap(),
    }
}

type CostKey = (NaiveDate, String, String, String, String, String);

/// The `costs_daily` primary key of a row (without the tenant).
fn cost_key(row: &CostDailyRow) -> CostKey {
    (
        row.date,
        row.subscription_id.clone(),
        row.resource_group.clone(),
        row.service_name.clone(),
        row.meter_category.clone(),
        row.resource_id.clone(),
    )
}

async fn load(store: &Store, scope: &TenantScope, estate: &Estate) -> BTreeMap<CostKey, CostDailyRow> {
    store.upsert_resources(scope, &estate.resources, chrono::Utc::now()).await.unwrap();
    let mut kept = BTreeMap::new();
    for batch in &estate.batches {
        store.upsert_costs_daily(scope, batch).await.unwrap();
        for row in batch {
            kept.insert(cost_key(row), row.clone());
        }
    }
    kept
}

async fn rollups_equal_sums_over_costs(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let other = &tenant(store, 2).await;
    let estate = estate(7);
    let mut costs = load(store, scope, &estate).await;
    // Another tenant's costs on the same days never show up in the first tenant's sums.
    load(store, other, &estate).await;
    // A replayed month with changed figures replaces its slice.
    let mut replay = estate.batches[4].clone();
    for row in &mut replay {
        row.cost += 1.5;
    }
    store.upsert_costs_daily(scope, &replay).await.unwrap();
    for row in replay {
        costs.insert(cost_key(&row), row);
    }
    let rows: Vec<CostDailyRow> = costs.into_values().collect();
    let resources = &estate.resources;
    let values = |dim: &Dimension| -> Vec<String> {
        let set: BTreeSet<String> = rows.iter().map(|r| value_of(dim, r, resources)).collect();
        set.into_iter().collect()
    };
    let tag = Dimension::Tag("cost-center".into());
    let all = [
        Dimension::Service,
        Dimension::Subscription,
        Dimension::ResourceGroup,
        Dimension::Location,
        Dimension::ResourceType,
        Dimension::MeterCategory,
        tag.clone(),
    ];
    let mut rng = Rng(42);
    let mut nonempty = 0;
    let mut whole_months = 0;
    for round in 0..60 {
        let group_by = rng.pick(&all).clone();
        let mut filters = Vec::new();
        for _ in 0..rng.below(3) {
            let dim = rng.pick(&all).clone();
            let tagged = matches!(dim, Dimension::Tag(_)) || matches!(group_by, Dimension::Tag(_));
            let fits =
                |d: &Dimension| matches!(d, Dimension::Service | Dimension::Subscription | Dimension::Tag(_));
            // A tag combines only with service and subscription, across every named dimension.
            let tagged = tagged || filters.iter().any(|(d, _)| matches!(d, Dimension::Tag(_)));
            let all_fit = fits(&dim) && fits(&group_by) && filters.iter().all(|(d, _)| fits(d));
            if (tagged && !all_fit) || filters.iter().any(|(d, _)| *d == dim) {
                continue;
            }
            let candidates = values(&dim);
            let chosen: Vec<String> = (0..1 + rng.below(2)).map(|_| rng.pick(&candidates).clone()).collect();
            filters.push((dim, chosen));
        }
        // A third of the windows start on a month's first day, so by month they span whole
        // months (read from the month-level table) as well as partial ones.
        let from = match rng.below(3) {
            0 => day(2026, 1 + rng.below(2) as u32, 1),
            _ => day(2026, 1, 1).checked_add_days(Days::new(rng.below(80) as u64)).unwrap(),
        };
        let to = from.checked_add_days(Days::new(rng.below(90) as u64)).unwrap();
        let granularity = if rng.below(2) == 0 { Granularity::Day } else { Granularity::Month };
        let metric = if rng.below(2) == 0 { Metric::Actual } else { Metric::Amortized };
        let query = ExploreQuery {
            from,
            to,
            granularity,
            group_by: group_by.clone(),
            metric,
            filters: filters.clone(),
        };
        let mut expected: BTreeMap<(NaiveDate, String, String), f64> = BTreeMap::new();
        for row in &rows {
            if row.date < from || row.date > to {
                continue;
            }
            if !filters.iter().all(|(d, vals)| vals.contains(&value_of(d, row, resources))) {
                continue;
            }
            let amount = if metric == Metric::Actual { row.cost } else { row.amortized_cost };
            *expected
                .entry((
                    period_of(row.date, granularity),
                    value_of(&group_by, row, resources),
                    row.currency.clone(),
                ))
                .or_default() += amount;
        }
        let got: BTreeMap<(NaiveDate, String, String), f64> = store
            .explore_costs(scope, &query)
            .await
            .unwrap_or_else(|e| panic!("round {round} {query:?}: {e}"))
            .into_iter()
            .map(|c| ((c.period, c.key, c.currency), c.amount))
            .collect();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "round {round} {query:?}"
        );
        for (key, amount) in &expected {
            assert!(
                (got[key] - amount).abs() < 1e-6,
                "round {round} {query:?} {key:?}: {} != {amount}",
                got[key]
            );
        }
        nonempty += usize::from(!expected.is_empty());
        let per_subscription_table = matches!(
            group_by,
            Dimension::ResourceGroup
                | Dimension::Location
                | Dimension::ResourceType
                | Dimension::MeterCategory
        );
        let spans_a_month =
            from.day() == 1 && to >= from.checked_add_months(Months::new(1)).unwrap().pred_opt().unwrap();
        whole_months +=
            usize::from(granularity == Granularity::Month && per_subscription_table && spans_a_month);
    }
    assert!(nonempty > 30, "most random questions must have answers ({nonempty})");
    assert!(whole_months > 2, "questions read the month-level table ({whole_months})");

    // The summary: every currency's totals, the largest one at the top level.
    let summary = store.cost_summary(scope, day(2026, 3, 31), 90, None).await.unwrap();
    let mut by_currency: BTreeMap<String, f64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.date >= day(2026, 1, 1) && r.date <= day(2026, 3, 31)) {
        *by_currency.entry(row.currency.clone()).or_default() += row.cost;
    }
    assert_eq!(summary.by_currency.keys().collect::<Vec<_>>(), ["EUR", "USD"]);
    for (currency, total) in &by_currency {
        assert!((summary.by_currency[currency].total_cost - total).abs() < 1e-6, "{currency}");
    }
    assert_eq!(summary.currency.as_deref(), Some("EUR"));
    assert!((summary.total_cost - by_currency["EUR"]).abs() < 1e-6);
    let one = store.cost_summary(scope, day(2026, 3, 31), 90, Some(&guid(103))).await.unwrap();
    let usd: f64 =
        rows.iter().filter(|r| r.subscription_id == guid(103) && r.currency == "USD").map(|r| r.cost).sum();
    assert!((one.by_currency["USD"].total_cost - usd).abs() < 1e-6);
}

/// Every rollup row of every tenant as (table|key, cost, amortized cost), in key order.
/// Amounts are compared to 1e-9: a recomputed sum may add the same terms in another order
/// (PostgreSQL scans in physical order), which moves only the last bits.
async fn dump(ctx: &Ctx) -> Vec<(String, f64, f64)> {
    let tables = [
        (
            "cost_rollup_daily",
            "tenant_id, date, subscription_id, resource_group, service_name, meter_category, location, resource_type, currency",
        ),
        (
            "cost_rollup_tag_daily",
            "tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency",
        ),
        ("cost_rollup_tenant_daily", "tenant_id, date, service_name, currency"),
        ("cost_rollup_tag_tenant_daily", "tenant_id, date, tag_key, service_name, tag_value, currency"),
        (
            "cost_rollup_monthly",
            "tenant_id, month, subscription_id, resource_group, service_name, meter_category, location, resource_type, currency",
        ),
    ];
    let mut out = Vec::new();
    for (table, key) in tables {
        let columns: Vec<String> = key.split(", ").map(|c| format!("CAST({c} AS TEXT)")).collect();
        let sql = format!(
            "SELECT '{table}|' || {}, cost, amortized_cost FROM {table} ORDER BY {key}",
            columns.join(" || '|' || ")
        );
        let rows: Vec<(String, f64, f64)> = match ctx.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&ctx.url).await.unwrap();
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap()
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&ctx.url).await.unwrap();
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap()
            }
        };
        out.extend(rows);
    }
    out
}

fn assert_same(a: &[(String, f64, f64)], b: &[(String, f64, f64)], what: &str) {
    assert_eq!(
        a.iter().map(|r| &r.0).collect::<Vec<_>>(),
        b.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "{what}"
    );
    for (x, y) in a.iter().zip(b) {
        assert!((x.1 - y.1).abs() < 1e-9 && (x.2 - y.2).abs() < 1e-9, "{what}: {x:?} != {y:?}");
    }
}

async fn replays_and_retries_leave_rollups_unchanged(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let estate = estate(11);
    load(store, scope, &estate).await;
    let before = dump(&ctx).await;
    assert!(before.len() > 500, "{}", before.len());

    // A retried message: the same batch again.
    store.upsert_costs_daily(scope, &estate.batches[1]).await.unwrap();
    assert_same(&dump(&ctx).await, &before, "a retried batch");

    // A replayed day with the same figures, then with one changed figure.
    let day_rows: Vec<CostDailyRow> =
        estate.batches[0].iter().filter(|r| r.date == day(2026, 1, 5)).cloned().collect();
    store.upsert_costs_daily(scope, &day_rows).await.unwrap();
    assert_same(&dump(&ctx).await, &before, "a replayed day");
    let base = dump(&ctx).await;
    let mut changed = day_rows.clone();
    changed[0].cost += 100.0;
    store.upsert_costs_daily(scope, &changed).await.unwrap();
    let after = dump(&ctx).await;
    assert_eq!(after.len(), base.len());
    let moved: Vec<&(String, f64, f64)> = after
        .iter()
        .zip(&base)
        .filter(|(a, b)| a.0 != b.0 || (a.1 - b.1).abs() > 1e-9)
        .map(|(a, _)| a)
        .collect();
    // The row's slice in each of the four daily tables, on that day only, and its month's row.
    assert_eq!(moved.len(), 5, "{moved:?}");
    let (monthly, daily): (Vec<&&(String, f64, f64)>, Vec<_>) =
        moved.iter().partition(|r| r.0.starts_with("cost_rollup_monthly|"));
    assert!(daily.iter().all(|r| r.0.contains("|2026-01-05|")), "{daily:?}");
    assert!(monthly.len() == 1 && monthly[0].0.contains("|2026-01-01|"), "{monthly:?}");
}

async fn backfill_and_rebuild_equal_incremental_maintenance(ctx: Ctx) {
    let store = &ctx.store;
    let scope = &tenant(store, 1).await;
    let other = &tenant(store, 2).await;
    // The second tenant names its allocation tag differently.
    store
        .put_rule_settings(
            other,
            &serde_json::json!({"cost_center_tag": "Owner"}),
            &azcops::store::Actor::named("test"),
        )
        .await
        .unwrap();
    let estate = estate(23);
    load(store, scope, &estate).await;
    load(store, other, &estate).await;
    let incremental = dump(&ctx).await;
    assert!(incremental.iter().any(|r| r.0.contains("|owner|") && r.0.contains("|ops|")));
    assert!(incremental.iter().any(|r| r.0.contains("|cost-center|") && r.0.contains("|cc-2|")));

    // Migrations 0006 and 0015 run on a store that has costs but no rollups yet.
    let migrations = match ctx.kind {
        Kind::Sqlite => [
            include_str!("../../handlers/store/migrations/sqlite/0006_cost_rollups.sql"),
            include_str!("../../handlers/store/migrations/sqlite/0015_cost_rollup_monthly.sql"),
        ],
        Kind::Postgres => [
            include_str!("../../handlers/store/migrations/postgres/0006_cost_rollups.sql"),
            include_str!("../../handlers/store/migrations/postgres/0015_cost_rollup_monthly.sql"),
        ],
    };
    let drop = "DROP TABLE cost_rollup_daily; DROP TABLE cost_rollup_tag_daily; DROP TABLE cost_rollup_tenant_daily; \
                DROP TABLE cost_rollup_tag_tenant_daily; DROP TABLE cost_rollup_monthly;";
    match ctx.kind {
        Kind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&ctx.url).await.unwrap();
            sqlx::raw_sql(drop).execute(&mut conn).await.unwrap();
            for migration in migrations {
                sqlx::raw_sql(migration).execute(&mut conn).await.unwrap();
            }
        }
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&ctx.url).await.unwrap();
            sqlx::raw_sql(drop).execute(&mut conn).await.unwrap();
            for migration in migrations {
                sqlx::raw_sql(migration).execute(&mut conn).await.unwrap();
            }
        }
    }
    assert_same(&dump(&ctx).await, &incremental, "backfill");

    // Rebuilding from scratch gives the same rows, and rebuilding again changes nothing.
    for run in 0..2 {
        for s in [scope, other] {
            let months = store.cost_rollup_months(s).await.unwrap();
            assert_eq!(months, [day(2026, 1, 1), day(2026, 2, 1), day(2026, 3, 1)]);
            for month in months {
                store.rebuild_cost_rollups(s, month).await.unwrap();
            }
        }
        assert_same(&dump(&ctx).await, &incremental, &format!("rebuild {run}"));
    }
}
