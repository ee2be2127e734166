//! Resources, Governance and Settings on each backend: filters and bounds, per-currency cost,
//! recommendations per resource, tag coverage (now, per subscription, over time, untagged),
//! Admin-only settings through the API's audited path, and tenant isolation.

use std::collections::BTreeMap;

use azcops::model::{CostDailyRow, ResourceRow};
use azcops::store::{AuditFilter, PageRequest, RecommendationUpsert, TenantScope};
use serde_json::{Value, json};

use crate::support::*;

fn sub(n: usize) -> String {
    format!("00000000-0000-4000-8000-{:012x}", 100 + n)
}

fn day(offset: i64) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Duration::days(offset)
}

fn resource(n: usize, kind: &str, name: &str, tags: &[(&str, &str)]) -> ResourceRow {
    let subscription = sub(n);
    ResourceRow {
        subscription_id: subscription.clone(),
        resource_id: format!("/subscriptions/{subscription}/resourcegroups/rg-app/providers/{kind}/{name}"),
        name: name.into(),
        resource_type: kind.into(),
        kind: None,
        location: if name.starts_with("vm") { "northeurope".into() } else { "westeurope".into() },
        resource_group: "rg-app".into(),
        sku: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        properties: json!({}),
        managed_by: None,
    }
}

fn cost(r: &ResourceRow, offset: i64, amount: f64, currency: &str) -> CostDailyRow {
    CostDailyRow {
        subscription_id: r.subscription_id.clone(),
        date: day(offset),
        resource_group: "rg-app".into(),
        service_name: "Storage".into(),
        meter_category: "Storage".into(),
        resource_id: r.resource_id.clone(),
        cost: amount,
        amortized_cost: amount - 1.0,
        currency: currency.into(),
    }
}

/// Tenant 0: four resources, two carrying the tag (any case), one with a blank value and one
/// without; costs on three. Tenant 1: thirty untagged disks.
async fn seed(site: &Site) -> Vec<ResourceRow> {
    let rows = vec![
        resource(0, "microsoft.compute/disks", "disk-0", &[("Cost-Center", "cc1")]),
        resource(0, "microsoft.compute/virtualmachines", "vm-a", &[("cost-center", " ")]),
        resource(0, "microsoft.network/virtualnetworks", "vnet-b", &[]),
        resource(0, "microsoft.web/sites", "app-c", &[("COST-CENTER", "cc2"), ("env", "prod")]),
    ];
    site.store.upsert_resources(&site.scopes[0], &rows, chrono::Utc::now()).await.unwrap();
    let costs = vec![
        cost(&rows[0], 1, 10.0, "EUR"),
        cost(&rows[0], 30, 1000.0, "EUR"), // 31 days ago: outside the 30-day window
        cost(&rows[1], 1, 30.0, "EUR"),
        cost(&rows[3], 2, 20.0, "EUR"),
    ];
    site.store.upsert_costs_daily(&site.scopes[0], &costs).await.unwrap();
    let disks: Vec<ResourceRow> =
        (0..30).map(|i| resource(1, "microsoft.compute/disks", &format!("disk-{i:02}"), &[])).collect();
    site.store.upsert_resources(&site.scopes[1], &disks, chrono::Utc::now()).await.unwrap();
    // A second recommendation on disk-0, to see the count and the bound of the detail's list.
    site.store
        .upsert_recommendations(
            &site.scopes[0],
            &[RecommendationUpsert {
                subscription_id: sub(0),
                resource_id: rows[0].resource_id.clone(),
                rule_id: "governance.missing_cost_center_tag".into(),
                source: "rule".into(),
                category: "governance".into(),
                title: "Tag disk-0".into(),
                estimated_monthly_savings: 0.0,
                savings_basis: "not_applicable".into(),
                currency: "EUR".into(),
                confidence_score: 1.0,
                risk_level: "low".into(),
                effort_level: "low".into(),
                priority_score: 1.0,
                evidence: json!({}),
                detected_at: azcops::store::now(),
                duplicate_of: None,
            }],
        )
        .await
        .unwrap();
    rows
}

/// The `data-chart` JSON of the element with `id`.
fn chart_of(text: &str, id: &str) -> Value {
    let at = text.find(&format!(r#"id="{id}" data-chart=""#)).unwrap_or_else(|| panic!("{id} missing"));
    let rest = &text[at + id.len() + 18..];
    let raw = &rest[..rest.find('"').unwrap()];
    serde_json::from_str(&raw.replace("&quot;", "\"").replace("&amp;", "&")).unwrap()
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

pub async fn resources_and_governance(site: &Site) {
    let rows = seed(site).await;
    let mut reader = site.browser();
    reader.sign_in("t0-reader").await;

    // The inventory: every resource, its tags, its 30-day cost in its currency, its recommendations.
    let list = reader.get("/resources").await;
    assert_eq!(list.status, 200, "{}", list.text);
    for r in &rows {
        assert!(list.text.contains(&format!(r#"href="/resources{}""#, r.resource_id)), "{}", r.name);
    }
    assert!(list.text.contains("4 resources"), "{}", list.text);
    assert!(list.text.contains("env</span>=prod"), "tags shown");
    assert!(
        list.text.contains(r#"data-currency="EUR" data-value="10""#),
        "disk-0's 30 days only: {}",
        list.text
    );
    assert!(!list.text.contains("1,010"), "the cost of 31 days ago is outside the window");
    assert!(list.text.contains("2 open"), "disk-0 has two open recommendations");
    assert!(!list.text.contains("disk-00"), "another tenant's resources are not listed");
    // Filters: type, location, tag key in any case, tag value, name search, subscription.
    let only = |page: &Page| {
        rows.iter().filter(|r| page.text.contains(&format!(r#"data-id="{}""#, r.resource_id))).count()
    };
    assert_eq!(only(&reader.get("/resources?type=Microsoft.Compute/Disks").await), 1);
    assert_eq!(only(&reader.get("/resources?location=northeurope").await), 1);
    assert_eq!(only(&reader.get("/resources?tag=cost-center").await), 3, "key present, any case");
    assert_eq!(only(&reader.get("/resources?tag=cost-center&tag_value=cc2").await), 1);
    assert_eq!(only(&reader.get("/resources?q=VNET").await), 1, "name search ignores case");
    assert_eq!(only(&reader.get("/resources?q=_").await), 0, "LIKE wildcards are literal");
    assert_eq!(only(&reader.get(&format!("/resources?subscription_id={}", sub(0))).await), 4);
    let none = reader.get("/resources?q=nothing-like-this").await;
    assert!(none.text.contains(r#"data-testid="empty-resources""#) && none.text.contains("Clear"));
    // Bounds: page size 1..=100, name search at most 200 characters, a value needs a key.
    let paged = reader.get("/resources?page_size=3").await;
    assert_eq!(only(&paged), 3);
    assert!(paged.text.contains("Page 1 of 2") && paged.text.contains("page=2"), "{}", paged.text);
    assert_eq!(only(&reader.get("/resources?page_size=3&page=2").await), 1);
    assert_eq!(reader.get("/resources?page_size=101").await.status, 422);
    assert_eq!(reader.get("/resources?page_size=100").await.status, 200);
    assert_eq!(reader.get(&format!("/resources?q={}", "a".repeat(201))).await.status, 422);
    assert_eq!(reader.get(&format!("/resources?q={}", "a".repeat(200))).await.status, 200);
    assert_eq!(reader.get("/resources?tag_value=x").await.status, 422);
    assert_eq!(reader.get("/resources?colour=red").await.status, 400, "unknown filters are refused");
    let facets = site.store.inventory_facets(&site.scopes[0], 2).await.unwrap();
    assert_eq!(facets.types.len(), 2, "the facet bound");
    assert_eq!(facets.locations, ["northeurope", "westeurope"]);

    // One resource: tags, cost per currency, its recommendations, the Portal link.
    let disk = reader.get(&format!("/resources{}", rows[0].resource_id)).await;
    assert_eq!(disk.status, 200, "{}", disk.text);
    assert!(disk.text.contains(&format!("https://portal.azure.com/#resource{}", rows[0].resource_id)));
    assert!(disk.text.contains("Cost-Center") && disk.text.contains("cc1"));
    assert_eq!(disk.value_of("resource-cost"), 10.0);
    assert!(disk.text.contains(&site.recommendation[0]) && disk.text.contains("Tag disk-0"), "{}", disk.text);
    let limited =
        site.store.recommendations_of_resource(&site.scopes[0], &rows[0].resource_id, 1).await.unwrap();
    assert_eq!(limited.len(), 1, "the detail's bound");
    let vnet = reader.get(&format!("/resources{}", rows[2].resource_id)).await;
    assert!(
        vnet.text.contains(r#"data-testid="no-tags""#)
            && vnet.text.contains(r#"data-testid="no-recommendations""#)
    );
    // Another tenant's resource answers 404, as in the API.
    let foreign = format!(
        "/resources/subscriptions/{}/resourcegroups/rg-app/providers/microsoft.compute/disks/disk-00",
        sub(1)
    );
    assert_eq!(reader.get(&foreign).await.status, 404);
    let mut other = site.browser();
    other.sign_in("t1-reader").await;
    assert_eq!(other.get(&foreign).await.status, 200, "its own tenant sees it");
    assert_eq!(other.get(&format!("/resources{}", rows[0].resource_id)).await.status, 404);

    // Governance: coverage now, per subscription, of cost, the untagged list and the trend.
    let gov = reader.get("/governance").await;
    assert_eq!(gov.status, 200, "{}", gov.text);
    assert!(gov.text.contains(r#"data-value="cost-center""#), "the tenant's tag");
    assert_eq!(gov.value_of("resource-coverage"), 0.5, "disk-0 and app-c of four");
    assert_eq!(gov.value_of("row-resource-coverage"), 0.5);
    // The site's seeded costs (no resource, so untagged) plus 60 on resources, 30 of it tagged.
    let untagged_rows: f64 = (0..30).map(|d| 10.0 + f64::from(d)).sum();
    let coverage = gov.value_of("cost-coverage");
    assert!((coverage - 30.0 / (untagged_rows + 60.0)).abs() < 1e-9, "{coverage}");
    assert!(gov.text.contains(r#"data-testid="untagged""#));
    assert!(gov.text.contains("2 without the tag"), "vm-a (blank value) and vnet-b");
    let vm_at = gov.text.find(&format!(r#"data-id="{}""#, rows[1].resource_id)).unwrap();
    let vnet_at = gov.text.find(&format!(r#"data-id="{}""#, rows[2].resource_id)).unwrap();
    assert!(vm_at < vnet_at, "the costly one first");
    assert!(
        gov.text.contains(r#"id="coverage-chart""#)
            && gov.text.contains("&quot;kind&quot;:&quot;coverage&quot;")
    );
    let chart = chart_of(&gov.text, "coverage-chart");
    assert_eq!(chart["dates"].as_array().unwrap().last().unwrap(), &json!(day(0).to_string()));
    assert_eq!(chart["resources"].as_array().unwrap().last().unwrap(), &json!(50.0), "today's coverage");
    let cost_line = chart["cost"].as_array().unwrap();
    assert_eq!(cost_line.len(), chart["dates"].as_array().unwrap().len());
    // Yesterday: disk-0's 10 tagged of 51 (vm-a's 30 and the seeded 11 are not); the day before:
    // app-c's 20 of 32.
    assert_eq!(cost_line[cost_line.len() - 2], json!(19.6));
    assert_eq!(cost_line[cost_line.len() - 3], json!(62.5));
    // The other tenant: thirty untagged, 25 a page.
    let other_gov = other.get("/governance").await;
    assert_eq!(other_gov.value_of("resource-coverage"), 0.0);
    assert!(other_gov.text.contains("30 without the tag") && other_gov.text.contains("Page 1 of 2"));
    assert_eq!(count(&other_gov.text, r#"<tr data-id="/subscriptions/"#), 25, "the page bound");
    let second = other.get("/governance?page=2").await;
    assert_eq!(count(&second.text, r#"<tr data-id="/subscriptions/"#), 5);
    assert!(second.text.contains("30 without the tag"), "the total comes with the page");
    let past = other.get("/governance?page=3").await;
    assert!(
        past.text.contains("30 without the tag") && past.text.contains(r#"data-testid="empty-untagged""#)
    );
    let narrowed = other.get(&format!("/governance?subscription_id={}", sub(0))).await;
    assert!(narrowed.text.contains("0 without the tag"), "a subscription filter stays in the tenant");
    assert_eq!(other.get("/governance?x=1").await.status, 400);

    // Ingestion records one coverage row per subscription and day, idempotently.
    let history = site.store.tag_coverage_history(&site.scopes[0], &sub(0)).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].0, history[0].1.as_str(), history[0].2, history[0].3),
        (day(0), "cost-center", 4, 2)
    );
    let mut retagged = rows.clone();
    retagged[2].tags = BTreeMap::from([("cost-center".to_owned(), "cc3".to_owned())]);
    site.store.upsert_resources(&site.scopes[0], &retagged, chrono::Utc::now()).await.unwrap();
    site.store.upsert_resources(&site.scopes[0], &retagged, chrono::Utc::now()).await.unwrap();
    let history = site.store.tag_coverage_history(&site.scopes[0], &sub(0)).await.unwrap();
    assert_eq!(history.len(), 1, "one row per day");
    assert_eq!((history[0].2, history[0].3), (4, 3), "the day's latest inventory wins");
    assert_eq!(reader.get("/governance").await.value_of("resource-coverage"), 0.75);
    let other_history = site.store.tag_coverage_history(&site.scopes[1], &sub(0)).await.unwrap();
    assert!(other_history.is_empty(), "scoped by tenant");
}

pub async fn settings(site: &Site) {
    let scope: &TenantScope = &site.scopes[0];
    let mut reader = site.browser();
    reader.sign_in("t0-reader").await;
    let overview = reader.get("/resources").await;
    assert!(!overview.text.contains(r#"href="/settings""#), "no Settings entry for a Reader");
    let csrf = overview.csrf();
    assert_eq!(reader.get("/settings").await.status, 403);
    let forged = reader.post("/settings", &[("_csrf", &csrf), ("stale_snapshot_days", "5")], &[]).await;
    assert_eq!(forged.status, 403, "a Reader cannot change settings");
    assert_eq!(site.store.rule_settings(scope).await.unwrap(), None);

    let mut admin = site.browser();
    admin.sign_in("t0-admin").await;
    let form = admin.get("/settings").await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert!(form.text.contains(r#"href="/settings""#) && form.text.contains(r#"name="vm_cpu_p95_max""#));
    let csrf = form.csrf();
    assert_eq!(admin.post("/settings", &[("stale_snapshot_days", "5")], &[]).await.status, 403, "no token");
    let cross = admin
        .post(
            "/settings",
            &[("_csrf", &csrf), ("stale_snapshot_days", "5")],
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(cross.status, 403);
    // Invalid values: 422, the form again with the message and the text typed, nothing stored.
    let invalid = admin.post("/settings", &[("_csrf", &csrf), ("vm_cpu_p95_max", "150")], &[]).await;
    assert_eq!(invalid.status, 422);
    assert!(invalid.text.contains("vm_cpu_p95_max must be a percentage"), "{}", invalid.text);
    assert!(invalid.text.contains(r#"value="150""#) && invalid.text.contains(r#"aria-invalid="true""#));
    let typed = admin.post("/settings", &[("_csrf", &csrf), ("stale_snapshot_days", "soon")], &[]).await;
    assert_eq!(typed.status, 422);
    assert!(typed.text.contains("whole number"));
    assert_eq!(site.store.rule_settings(scope).await.unwrap(), None);
    // A valid change: stored, audited in the tenant, visible through the API and in the form.
    let saved = admin
        .post(
            "/settings",
            &[
                ("_csrf", &csrf),
                ("cost_center_tag", "Owner"),
                ("stale_snapshot_days", "30"),
                ("vm_cpu_p95_max", ""),
            ],
            &[],
        )
        .await;
    assert_eq!((saved.status, saved.location().as_str()), (303, "/settings?saved=1"), "{}", saved.text);
    let token = site.api_token(0, &["AzCops.Reader"]).await;
    let api: Value = site.api_get(&token, "/settings/rules").await;
    assert_eq!(api["overrides"], json!({"cost_center_tag": "Owner", "stale_snapshot_days": 30}));
    assert_eq!(api["effective"]["vm_cpu_p95_max"], json!(20.0), "a blank field keeps the default");
    let filter = AuditFilter { action: Some("rule_settings.updated".into()), ..AuditFilter::default() };
    let audit = site.store.list_audit(scope, &filter, PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(audit.items.len(), 1);
    assert!(
        uuid::Uuid::parse_str(&audit.items[0].actor).is_ok(),
        "the admin's oid: {}",
        audit.items[0].actor
    );
    assert_eq!(
        audit.items[0].metadata.0["after"]["cost_center_tag"], "Owner",
        "{:?}",
        audit.items[0].metadata
    );
    let shown = admin.get("/settings?saved=1").await;
    assert!(shown.text.contains(r#"data-testid="saved""#) && shown.text.contains(r#"value="Owner""#));
    assert!(
        site.store.rule_settings(&site.scopes[1]).await.unwrap().is_none(),
        "another tenant's settings are untouched"
    );
    let governance = admin.get("/governance").await;
    assert!(governance.text.contains(r#"data-value="owner""#), "the new tag name applies");
    // Remediation settings (set through the API; not on the form) survive a save of the form.
    let with_remediation = json!({"cost_center_tag": "Owner", "remediation": {"actions": {"waste.orphaned_nic": {"enabled": true}}}});
    site.store
        .put_rule_settings(scope, &with_remediation, &azcops::store::Actor::named("test"))
        .await
        .unwrap();
    let resaved = admin.post("/settings", &[("_csrf", &csrf), ("cost_center_tag", "Team")], &[]).await;
    assert_eq!(resaved.status, 303, "{}", resaved.text);
    let kept = site.store.rule_settings(scope).await.unwrap().unwrap();
    assert_eq!(
        (
            kept["cost_center_tag"].as_str(),
            kept["remediation"]["actions"]["waste.orphaned_nic"]["enabled"].as_bool()
        ),
        (Some("Team"), Some(true))
    );
}

#[tokio::test]
async fn resources_and_governance_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    resources_and_governance(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn resources_and_governance_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    resources_and_governance(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn settings_are_admin_only_validated_and_audited_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    settings(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn settings_are_admin_only_validated_and_audited_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    settings(&site).await;
    site.finish().await;
}
