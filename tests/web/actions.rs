//! The dashboard's actions on both backends: bulk decisions on the Recommendations list (roles,
//! CSRF, audit rows, the bound), "Run now" on the Ingestion view (through the
//! `web_ingestion_run` function's envelope, as the host delivers it), and the overview's
//! forecast and budget figures against the API's answers.

use azcops::store::{
    Actor, AuditFilter, BudgetInput, ItemStatus, ItemUpdate, PageRequest, RecommendationFilter,
    RecommendationStatus, RecommendationUpsert,
};
use serde_json::{Value, json};

use crate::support::*;

/// Adds `n` open recommendations to tenant `t` and returns every open id of the tenant.
async fn seed_open(site: &Site, t: usize, n: usize) -> Vec<String> {
    let sub = format!("00000000-0000-4000-8000-{:012x}", 100 + t);
    let rows: Vec<RecommendationUpsert> = (0..n)
        .map(|i| RecommendationUpsert {
            subscription_id: sub.clone(),
            resource_id: format!(
                "/subscriptions/{sub}/resourcegroups/rg-app/providers/microsoft.compute/disks/bulk-{i}"
            ),
            rule_id: "waste.unattached_disk".into(),
            source: "rule".into(),
            category: "waste".into(),
            title: format!("Delete bulk-{i}"),
            estimated_monthly_savings: 1.0 + i as f64,
            savings_basis: "observed_cost".into(),
            currency: "EUR".into(),
            confidence_score: 0.9,
            risk_level: "low".into(),
            effort_level: "low".into(),
            priority_score: 10.0,
            evidence: json!({"diskState": "Unattached"}),
            detected_at: azcops::store::now(),
            duplicate_of: None,
        })
        .collect();
    site.store.upsert_recommendations(&site.scopes[t], &rows).await.unwrap();
    let open = RecommendationFilter { status: Some(RecommendationStatus::Open), ..Default::default() };
    let found = site
        .store
        .list_recommendations(&site.scopes[t], &open, PageRequest::first(500).unwrap())
        .await
        .unwrap();
    found.items.into_iter().map(|r| r.id).collect()
}

async fn audit_count(site: &Site, t: usize, action: &str) -> usize {
    let filter = AuditFilter { action: Some(action.into()), ..AuditFilter::default() };
    site.store.list_audit(&site.scopes[t], &filter, PageRequest::first(500).unwrap()).await.unwrap().total
        as usize
}

pub async fn bulk_decisions(site: &Site) {
    let open = seed_open(site, 0, 3).await;
    assert_eq!(open.len(), 4);
    let foreign = site.recommendation[1].clone();

    // A Reader sees no checkboxes and a forged bulk POST is refused.
    let mut reader = site.browser();
    reader.sign_in("t0-reader").await;
    let list = reader.get("/recommendations").await;
    assert!(!list.text.contains(r#"data-testid="select""#) && !list.text.contains("/recommendations/bulk"));
    let csrf = list.csrf();
    let forged = reader
        .post("/recommendations/bulk", &[("_csrf", &csrf), ("action", "approve"), ("id", &open[0])], &[])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    assert_eq!(audit_count(site, 0, "recommendation.approved").await, 0);

    let mut approver = site.browser();
    approver.sign_in("t0-approver").await;
    let list = approver.get("/recommendations?status=open").await;
    assert_eq!(list.text.matches(r#"data-testid="select""#).count(), 4, "a checkbox per row");
    assert!(list.text.contains(r#"action="/recommendations/bulk""#));
    let csrf = list.csrf();
    let no_token =
        approver.post("/recommendations/bulk", &[("action", "approve"), ("id", &open[0])], &[]).await;
    assert_eq!(no_token.status, 403, "no CSRF token");

    // Two ticked rows and another tenant's id: two approved, one not found, each audited.
    let form = [
        ("_csrf", csrf.as_str()),
        ("action", "approve"),
        ("id", open[0].as_str()),
        ("id", open[1].as_str()),
        ("id", foreign.as_str()),
    ];
    let done = approver.post("/recommendations/bulk", &form, &[]).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!((done.value_of("bulk-changed"), done.value_of("bulk-skipped")), (2.0, 0.0));
    assert_eq!(done.value_of("bulk-not-found"), 1.0, "another tenant's id is not found");
    assert_eq!(audit_count(site, 0, "recommendation.approved").await, 2, "one audit row per change");
    let other = site.store.get_recommendation(&site.scopes[1], &foreign).await.unwrap();
    assert_eq!(other.status, RecommendationStatus::Open, "another tenant's recommendation is untouched");
    let detail = approver.get(&format!("/recommendations/{}", open[0])).await;
    assert!(detail.text.contains("recommendation.approved"), "the audit row is on the detail page");

    // The same rows again: their status no longer allows it.
    let again = approver.post("/recommendations/bulk", &form, &[]).await;
    assert_eq!((again.value_of("bulk-changed"), again.value_of("bulk-skipped")), (0.0, 2.0));

    // Dismiss needs a reason; then everything matching the filter, in one POST.
    let all = [("_csrf", csrf.as_str()), ("action", "dismiss"), ("all", "1"), ("status", "open")];
    assert_eq!(approver.post("/recommendations/bulk", &all, &[]).await.status, 422, "a reason is required");
    let mut with_reason = all.to_vec();
    with_reason.push(("reason", "not ours"));
    let dismissed = approver.post("/recommendations/bulk", &with_reason, &[]).await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text);
    assert_eq!((dismissed.value_of("bulk-changed"), dismissed.value_of("bulk-skipped")), (2.0, 0.0));
    assert_eq!(audit_count(site, 0, "recommendation.dismissed").await, 2);

    // The bound: more ticked ids than the maximum are refused before anything changes.
    let many: Vec<String> = (0..=500).map(|i| format!("id-{i}")).collect();
    let mut over: Vec<(&str, &str)> = vec![("_csrf", &csrf), ("action", "approve")];
    over.extend(many.iter().map(|id| ("id", id.as_str())));
    let refused = approver.post("/recommendations/bulk", &over, &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("501") && refused.text.contains("500"), "{}", refused.text);
}

/// "Select all in this filter" stops at the bound too.
pub async fn bulk_filter_bound(site: &Site) {
    seed_open(site, 0, 500).await;
    let mut approver = site.browser();
    approver.sign_in("t0-approver").await;
    let list = approver.get("/recommendations?status=open").await;
    assert!(list.text.contains("501 recommendations"), "the seeded rows");
    let csrf = list.csrf();
    let all = [("_csrf", csrf.as_str()), ("action", "approve"), ("all", "1"), ("status", "open")];
    let refused = approver.post("/recommendations/bulk", &all, &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(audit_count(site, 0, "recommendation.approved").await, 0, "nothing changed");
    // A filter matching exactly the bound (all but bulk-0, which saves 1.0) is decided.
    let narrower = [
        ("_csrf", csrf.as_str()),
        ("action", "approve"),
        ("all", "1"),
        ("status", "open"),
        ("min_savings", "1.5"),
    ];
    let done = approver.post("/recommendations/bulk", &narrower, &[]).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.value_of("bulk-changed"), 500.0);
    assert_eq!(audit_count(site, 0, "recommendation.approved").await, 500);
}

/// `POST /ingestion/run` as the Functions host delivers it to `web_ingestion_run`: the `res`
/// output and the number of queue messages.
async fn run_now(browser: &Browser, csrf: Option<&str>) -> (u16, String, String, usize) {
    let outputs = run_now_outputs(browser, csrf).await;
    let res = &outputs["Outputs"]["res"];
    (
        u16::try_from(res["statusCode"].as_u64().unwrap()).unwrap(),
        res["headers"]["location"].as_str().or(res["headers"]["Location"].as_str()).unwrap_or("").to_owned(),
        res["body"].as_str().unwrap_or("").to_owned(),
        outputs["Outputs"]["messages"].as_array().map_or(0, Vec::len),
    )
}

/// The function's outputs for one `POST /ingestion/run`, as the host receives them.
async fn run_now_outputs(browser: &Browser, csrf: Option<&str>) -> Value {
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let host = browser.base.trim_start_matches("http://").to_owned();
    let body = csrf.map(|t| format!("_csrf={t}"));
    let envelope = json!({
        "Data": {"req": {
            "Url": format!("{}/ingestion/run", browser.base),
            "Method": "POST",
            "Query": {},
            "Headers": {"Cookie": [cookie], "Host": [host], "Content-Type": ["application/x-www-form-urlencoded"]},
            "Params": {},
            "Body": body,
        }},
        "Metadata": {},
    });
    browser
        .client
        .post(format!("{}/web_ingestion_run", browser.base))
        .header(azcops::invocation::INVOCATION_ID_HEADER, uuid::Uuid::new_v4().to_string())
        .header("content-type", "application/json")
        .body(envelope.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The dashboard's security headers on a "Run now" answer, as on every page.
fn assert_security_headers(outputs: &Value) {
    let res = &outputs["Outputs"]["res"];
    let header = |name: &str| res["headers"][name].as_str().unwrap_or_default().to_owned();
    assert!(header("content-security-policy").contains("default-src 'self'"), "{res}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{res}");
    assert_eq!(header("x-frame-options"), "DENY", "{res}");
    assert_eq!(header("referrer-policy"), "same-origin", "{res}");
    assert_eq!(header("cache-control"), "no-store", "{res}");
}

pub async fn run_now_for_admins(site: &Site) {
    let mut approver = site.browser();
    approver.sign_in("t0-approver").await;
    let page = approver.get("/ingestion").await;
    assert!(!page.text.contains(r#"data-testid="run-now""#), "no button for an Approver");
    let csrf = page.csrf();
    let (status, _, _, messages) = run_now(&approver, Some(&csrf)).await;
    assert_eq!((status, messages), (403, 0), "a forged run is refused");

    let mut admin = site.browser();
    admin.sign_in("t0-admin").await;
    let page = admin.get("/ingestion").await;
    assert!(page.text.contains(r#"data-testid="run-now""#), "{}", page.text);
    let csrf = page.csrf();
    let (status, _, _, messages) = run_now(&admin, None).await;
    assert_eq!((status, messages), (403, 0), "no CSRF token");
    let refused = run_now_outputs(&admin, None).await;
    assert_eq!(refused["Outputs"]["res"]["statusCode"], 403);
    assert_security_headers(&refused);

    let (status, location, _, messages) = run_now(&admin, Some(&csrf)).await;
    assert_eq!((status, messages), (303, 1), "{location}");
    assert!(location.contains("outcome=started"), "{location}");
    let runs = site.store.list_runs(&site.scopes[0], PageRequest::first(5).unwrap()).await.unwrap();
    let run_id = runs.items[0].id.clone();
    assert!(location.contains(&run_id), "{location}");
    assert_eq!(audit_count(site, 0, "ingestion.triggered").await, 1, "audited as the API's trigger");
    let shown = admin.get(&location).await;
    assert!(shown.text.contains(r#"data-outcome="started""#) && shown.text.contains(&run_id));

    // One active on-demand run per tenant: the 409 names it.
    let (status, location, _, messages) = run_now(&admin, Some(&csrf)).await;
    assert_eq!((status, messages), (303, 0));
    assert!(location.contains("outcome=active") && location.contains(&run_id), "{location}");
    let redirected = run_now_outputs(&admin, Some(&csrf)).await;
    assert_eq!(redirected["Outputs"]["res"]["statusCode"], 303);
    assert_security_headers(&redirected);
    let shown = admin.get(&location).await;
    assert!(shown.text.contains(r#"data-outcome="active""#), "{}", shown.text);

    // Once it finished, the cooldown: the page says when it can run again.
    let run = site.store.get_run(&site.scopes[0], &run_id).await.unwrap();
    for item in run.items {
        let update = ItemUpdate {
            status: ItemStatus::Succeeded,
            attempts: Some(1),
            error: None,
            counts: None,
            duration_ms: None,
        };
        site.store.update_run_item(&site.scopes[0], &run_id, &item.subscription_id, &update).await.unwrap();
    }
    let before = chrono::Utc::now();
    let (status, location, _, messages) = run_now(&admin, Some(&csrf)).await;
    assert_eq!((status, messages), (303, 0));
    assert!(location.contains("outcome=cooldown"), "{location}");
    let until = url::Url::parse(&format!("http://x{location}")).unwrap();
    let until = until.query_pairs().find(|(k, _)| k == "until").unwrap().1.into_owned();
    let until = chrono::DateTime::parse_from_rfc3339(&until).unwrap();
    assert!(until > before && until <= before + chrono::Duration::minutes(16), "{until}");
    let shown = admin.get(&location).await;
    assert!(shown.text.contains(r#"data-testid="run-again-at""#), "{}", shown.text);
    let runs = site.store.list_runs(&site.scopes[0], PageRequest::first(5).unwrap()).await.unwrap();
    assert_eq!(runs.total, 1, "refused runs created nothing");
}

pub async fn overview_forecast_and_budgets(site: &Site) {
    let mut reader = site.browser();
    reader.sign_in("t0-reader").await;
    let empty = reader.get("/").await;
    assert!(empty.text.contains(r#"data-testid="empty-budgets""#), "says how to create a budget");
    site.store
        .create_budget(
            &site.scopes[0],
            &BudgetInput {
                name: Some("Monthly".into()),
                subscription_id: Some(None),
                amount: Some(100.0),
                currency: Some("EUR".into()),
                metric: None,
                alert_thresholds: None,
            },
            &Actor::named("test"),
        )
        .await
        .unwrap();
    let overview = reader.get("/").await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    let token = site.api_token(0, &["AzCops.Reader"]).await;
    let api: Value = site.api_get(&token, "/costs/forecast").await;
    let tenant =
        api["forecasts"].as_array().unwrap().iter().find(|f| f["subscription_id"].is_null()).unwrap();
    assert_eq!(tenant["currency"], "EUR");
    let month_end = &tenant["actual"]["month_end"];
    assert_eq!(overview.value_of("forecast-EUR"), month_end["forecast"].as_f64().unwrap());
    assert_eq!(overview.value_of("forecast-lower-EUR"), month_end["lower"].as_f64().unwrap());
    assert_eq!(overview.value_of("forecast-upper-EUR"), month_end["upper"].as_f64().unwrap());
    let budgets: Value = site.api_get(&token, "/budgets").await;
    let status = &budgets["items"][0]["status"];
    assert_eq!(overview.value_of("budget-spent"), status["spent"].as_f64().unwrap());
    assert_eq!(overview.value_of("budget-forecast"), status["forecast"].as_f64().unwrap());
    assert!(overview.text.contains(&format!(">{}<", status["state"].as_str().unwrap().replace('_', " "))));

    // A subscription's budget is compared with that subscription's forecast, as in the API.
    let sub = "00000000-0000-4000-8000-000000000064";
    let input = BudgetInput {
        name: Some("A subscription".into()),
        subscription_id: Some(Some(sub.into())),
        amount: Some(50.0),
        currency: Some("EUR".into()),
        metric: None,
        alert_thresholds: None,
    };
    let created = site.store.create_budget(&site.scopes[0], &input, &Actor::named("test")).await.unwrap();
    let overview = reader.get("/").await;
    assert_eq!(
        overview.value_of("forecast-EUR"),
        month_end["forecast"].as_f64().unwrap(),
        "the same tenant figure"
    );
    let budgets: Value = site.api_get(&token, "/budgets").await;
    let api_sub =
        budgets["items"].as_array().unwrap().iter().find(|b| b["id"] == created.id.as_str()).unwrap();
    let row = &overview.text[overview.text.find(&format!(r#"data-budget="{}""#, created.id)).unwrap()..];
    let forecast_at = row.find(r#"data-testid="budget-forecast""#).unwrap();
    let shown = &row[forecast_at..];
    let shown = &shown[shown.find(r#"data-value=""#).unwrap() + 12..];
    let shown: f64 = shown[..shown.find('"').unwrap()].parse().unwrap();
    assert_eq!(shown, api_sub["status"]["forecast"].as_f64().unwrap());
}

#[tokio::test]
async fn bulk_decisions_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    bulk_decisions(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn bulk_decisions_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    bulk_decisions(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn bulk_select_all_stops_at_the_bound_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    bulk_filter_bound(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn run_now_is_for_admins_with_the_apis_limits_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    run_now_for_admins(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn run_now_is_for_admins_with_the_apis_limits_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    run_now_for_admins(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn the_overview_forecast_and_budget_equal_the_apis_on_sqlite() {
    let site = Site::start(Backend::Sqlite, true).await;
    overview_forecast_and_budgets(&site).await;
    site.finish().await;
}

#[tokio::test]
async fn the_overview_forecast_and_budget_equal_the_apis_on_postgres() {
    let site = Site::start(Backend::Postgres, true).await;
    overview_forecast_and_budgets(&site).await;
    site.finish().await;
}
