//! The append-only audit log (enforced by the database) and retention.

use azcops::store::{
    AuditFilter, CostFilter, NewAuditEntry, PageRequest, RetentionReport, Store, TenantScope, now,
};
use chrono::{DateTime, Days, Months, Utc};
use sqlx::Connection;

use crate::store_test;
use crate::support::{Ctx, Kind, cost, guid, resource, tenant};

store_test!(audit_log_refuses_update_and_delete, retention_deletes_only_what_aged_out, audit_list_filters);

fn entry(action: &str, target: &str, occurred_at: DateTime<Utc>) -> NewAuditEntry {
    NewAuditEntry {
        actor: "alice".into(),
        action: action.into(),
        target_type: "recommendation".into(),
        target_id: target.into(),
        metadata: serde_json::json!({"n": 1}),
        occurred_at,
    }
}

/// Runs raw statements the store never issues; returns each one's error text (or "ok").
async fn tamper(ctx: &Ctx, statements: &[&'static str]) -> Vec<String> {
    let mut out = Vec::new();
    match ctx.kind {
        Kind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&ctx.url).await.unwrap();
            for s in statements {
                out.push(
                    sqlx::raw_sql(*s)
                        .execute(&mut conn)
                        .await
                        .map_or_else(|e| e.to_string(), |_| "ok".into()),
                );
            }
        }
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&ctx.url).await.unwrap();
            for s in statements {
                out.push(
                    sqlx::raw_sql(*s)
                        .execute(&mut conn)
                        .await
                        .map_or_else(|e| e.to_string(), |_| "ok".into()),
                );
            }
        }
    }
    out
}

/// Rows this file's tests appended (actor `alice`), apart from the seeded tenant's own
/// `tenant.created`/`subscription.created` rows.
async fn audit_count(store: &Store, scope: &TenantScope) -> u64 {
    let filter = AuditFilter { actor: Some("alice".into()), ..AuditFilter::default() };
    store.list_audit(scope, &filter, PageRequest::first(1).unwrap()).await.unwrap().total
}

async fn audit_log_refuses_update_and_delete(ctx: Ctx) {
    let scope = tenant(&ctx.store, 1).await;
    let ancient = now().checked_sub_months(Months::new(12 * 8)).unwrap();
    ctx.store.append_audit(&scope, &entry("recommendation.approved", "r1", now())).await.unwrap();
    ctx.store.append_audit(&scope, &entry("recommendation.approved", "r0", ancient)).await.unwrap();

    let mut statements = vec!["UPDATE audit_logs SET actor = 'mallory'", "DELETE FROM audit_logs"];
    if ctx.kind == Kind::Postgres {
        statements.push("TRUNCATE audit_logs");
    }
    for outcome in tamper(&ctx, &statements).await {
        assert!(outcome.contains("append-only"), "expected the database to refuse, got: {outcome}");
    }
    // Even the retention path cannot remove a recent row when opened by hand.
    let forced: &[&'static str] = match ctx.kind {
        Kind::Sqlite => &[
            "UPDATE audit_retention_gate SET cutoff = '9999-12-31T00:00:00+00:00' WHERE id = 1",
            "DELETE FROM audit_logs WHERE target_id = 'r1'",
        ],
        Kind::Postgres => &[
            "BEGIN; SET LOCAL azcops.audit_retention = 'on'; DELETE FROM audit_logs WHERE target_id = 'r1'; COMMIT",
        ],
    };
    let outcome = tamper(&ctx, forced).await;
    assert!(outcome.last().unwrap().contains("append-only"), "{outcome:?}");
    assert_eq!(audit_count(&ctx.store, &scope).await, 2);
    let untouched =
        ctx.store.list_audit(&scope, &AuditFilter::default(), PageRequest::first(10).unwrap()).await.unwrap();
    assert!(untouched.items.iter().all(|e| e.actor != "mallory"), "no row was rewritten");
}

async fn retention_deletes_only_what_aged_out(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let sub = guid(101);
    let at = now();
    let today = at.date_naive();
    let months_ago = |m: u32| today.checked_sub_months(Months::new(m)).unwrap();
    store
        .upsert_costs_daily(
            &scope,
            &[
                cost(&sub, months_ago(14), "VM", "", 1.0),
                cost(&sub, months_ago(12), "VM", "", 2.0),
                cost(&sub, today, "VM", "", 3.0),
            ],
        )
        .await
        .unwrap();
    let disk = resource(&sub, "disk1", "microsoft.compute/disks", "westeurope", "prod");
    for days_ago in [45u64, 31, 29, 0] {
        let observed = at.checked_sub_days(Days::new(days_ago)).unwrap();
        store.upsert_resources(&scope, std::slice::from_ref(&disk), observed).await.unwrap();
    }
    // An inventory of another subscription 14 months ago: its tag-coverage row ages out with the
    // costs, its history snapshot with the history.
    let old_sub = guid(102);
    let old_disk = resource(&old_sub, "disk0", "microsoft.compute/disks", "westeurope", "prod");
    let long_ago = at.checked_sub_months(Months::new(14)).unwrap();
    store.upsert_resources(&scope, std::slice::from_ref(&old_disk), long_ago).await.unwrap();
    let years_ago = |y: u32| at.checked_sub_months(Months::new(12 * y)).unwrap();
    for (i, when) in [years_ago(9), years_ago(8), years_ago(6), at].into_iter().enumerate() {
        store.append_audit(&scope, &entry("tenant.updated", &format!("t{i}"), when)).await.unwrap();
    }

    let report = store.apply_retention(at).await.unwrap();
    assert_eq!(
        report,
        RetentionReport {
            costs_daily: 1,
            cost_rollups: 5,
            tag_coverage: 1,
            resource_history: 3,
            audit_logs: 2
        }
    );
    let costs =
        store.list_costs(&scope, &CostFilter::default(), PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(costs.items.iter().map(|c| c.cost).collect::<Vec<_>>(), [3.0, 2.0]);
    let history = store.resource_history_dates(&scope, &disk.resource_id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|d| *d >= today.checked_sub_days(Days::new(30)).unwrap()));
    assert_eq!(audit_count(store, &scope).await, 2);
    // The resource itself is current inventory, not history: it stays.
    assert!(store.get_resource(&scope, &disk.resource_id).await.is_ok());

    // A second pass finds nothing, and the audit gate is closed again afterwards.
    assert_eq!(store.apply_retention(at).await.unwrap(), RetentionReport::default());
    store.append_audit(&scope, &entry("tenant.updated", "old", years_ago(10))).await.unwrap();
    let outcome = tamper(&ctx, &["DELETE FROM audit_logs WHERE target_id = 'old'"]).await;
    assert!(outcome[0].contains("append-only"), "{outcome:?}");
}

async fn audit_list_filters(ctx: Ctx) {
    let store = &ctx.store;
    let scope = tenant(store, 1).await;
    let base = now().checked_sub_days(Days::new(10)).unwrap();
    for i in 0..5u64 {
        let when = base.checked_add_days(Days::new(i)).unwrap();
        let action = if i % 2 == 0 { "recommendation.approved" } else { "recommendation.rejected" };
        store.append_audit(&scope, &entry(action, &format!("r{i}"), when)).await.unwrap();
    }
    let page = PageRequest::first(10).unwrap();
    let everything = store.list_audit(&scope, &AuditFilter::default(), page).await.unwrap();
    assert_eq!(everything.total, 7, "five decisions and the seeded tenant's two creation rows");
    let recommendations = AuditFilter { target_type: Some("recommendation".into()), ..Default::default() };
    let all = store.list_audit(&scope, &recommendations, page).await.unwrap();
    assert_eq!(
        all.items.iter().map(|e| e.target_id.as_str()).collect::<Vec<_>>(),
        ["r4", "r3", "r2", "r1", "r0"]
    );
    let approved = AuditFilter { action: Some("recommendation.approved".into()), ..Default::default() };
    assert_eq!(store.list_audit(&scope, &approved, page).await.unwrap().total, 3);
    let window = AuditFilter {
        from: Some(base.checked_add_days(Days::new(1)).unwrap()),
        to: Some(base.checked_add_days(Days::new(3)).unwrap()),
        ..Default::default()
    };
    let got = store.list_audit(&scope, &window, page).await.unwrap();
    assert_eq!(got.items.iter().map(|e| e.target_id.as_str()).collect::<Vec<_>>(), ["r2", "r1"]);
    let serialized = serde_json::to_value(&got.items[0]).unwrap();
    assert!(serialized.get("timestamp").is_some(), "{serialized}");
}
