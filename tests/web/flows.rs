//! Flows run on each backend.

use azcops::store::{AuditFilter, PageRequest};
use serde_json::Value;

use crate::support::*;

pub async fn roles_csrf_and_tenants(site: &Site) {
    let mut reader = site.browser();
    assert_eq!(reader.get("/").await.location(), "/auth/signin", "signed out: off to sign in");
    let signed_in = reader.sign_in("t0-reader").await;
    assert_eq!((signed_in.status, signed_in.location().as_str()), (303, "/"), "{}", signed_in.text);
    let cookie = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("azcops_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Max-Age=28800"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain-http loopback: not Secure");

    // The overview's totals are the API's for the same tenant.
    let overview = reader.get("/").await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    assert!(overview.text.contains(&site.names[0]));
    let csp = overview.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(
        !overview.text.contains("<script>") && !overview.text.contains(" style="),
        "no inline script or style"
    );
    let token = site.api_token(0, &["AzCops.Reader"]).await;
    let api: Value = site.api_get(&token, "/costs/summary?days=30").await;
    assert_eq!(overview.value_of("cost-30d"), api["total_cost"].as_f64().unwrap());
    assert_eq!(overview.value_of("amortized-30d"), api["total_amortized_cost"].as_f64().unwrap());
    let summary: Value = site.api_get(&token, "/recommendations/summary").await;
    assert_eq!(overview.value_of("open-savings"), summary["open_monthly_savings"].as_f64().unwrap());
    assert!(overview.text.contains("€"), "money in the tenant's currency");

    // A Reader sees no decision buttons, and a forged decision is refused.
    let own = format!("/recommendations/{}", site.recommendation[0]);
    let detail = reader.get(&own).await;
    assert_eq!(detail.status, 200);
    assert!(!detail.text.contains("data-action="), "no action buttons for a Reader");
    assert!(detail.text.contains("https://portal.azure.com/#resource/subscriptions/"));
    let csrf = detail.csrf();
    let forged = reader.post(&format!("{own}/approve"), &[("_csrf", &csrf)], &[]).await;
    assert_eq!(forged.status, 403, "{}", forged.text);
    // Another tenant's recommendation answers 404, as in the API.
    let foreign = reader.get(&format!("/recommendations/{}", site.recommendation[1])).await;
    assert_eq!(foreign.status, 404);
    let list = reader.get("/recommendations?status=open&sort=savings").await;
    assert!(list.text.contains(&site.recommendation[0]) && !list.text.contains(&site.recommendation[1]));
    assert_eq!(reader.get("/recommendations?min_savings=-3").await.status, 422, "bad filters say so");

    // An Approver: refused without the token or from another origin, then approves.
    let mut approver = site.browser();
    approver.sign_in("t0-approver").await;
    let detail = approver.get(&own).await;
    assert!(
        detail.text.contains(r#"data-action="approve""#) && !detail.text.contains(r#"data-action="execute""#)
    );
    let csrf = detail.csrf();
    let without = approver.post(&format!("{own}/approve"), &[], &[]).await;
    assert_eq!(without.status, 403, "no CSRF token");
    let wrong = approver.post(&format!("{own}/approve"), &[("_csrf", "not-the-token")], &[]).await;
    assert_eq!(wrong.status, 403);
    let cross = approver
        .post(&format!("{own}/approve"), &[("_csrf", &csrf)], &[("origin", "http://evil.example")])
        .await;
    assert_eq!(cross.status, 403, "cross-origin");
    let reject_without_reason = approver.post(&format!("{own}/reject"), &[("_csrf", &csrf)], &[]).await;
    assert_eq!(reject_without_reason.status, 422, "the API's rule: a reason is required");
    let approved = approver.post(&format!("{own}/approve"), &[("_csrf", &csrf)], &[]).await;
    assert_eq!((approved.status, approved.location()), (303, own.clone()));
    let after = approver.get(&own).await;
    assert!(after.text.contains("recommendation.approved"), "the audit row is on the page");
    assert!(after.text.contains(r#"data-testid="status" class="status approved""#), "{}", after.text);
    let again = approver.post(&format!("{own}/approve"), &[("_csrf", &csrf)], &[]).await;
    assert_eq!(again.status, 409, "the lifecycle's answer");
    // The store's audit row names the signed-in user, as the API would.
    let filter = AuditFilter { action: Some("recommendation.approved".into()), ..AuditFilter::default() };
    let audit =
        site.store.list_audit(&site.scopes[0], &filter, PageRequest::first(10).unwrap()).await.unwrap();
    assert_eq!(audit.items.len(), 1);
    assert!(uuid::Uuid::parse_str(&audit.items[0].actor).is_ok(), "{}", audit.items[0].actor);

    // With the rule's remediation on, the dashboard cannot record a by-hand execution (only the
    // API's execute queues the remediation); with it off, it records it as before.
    let test = azcops::store::Actor::named("test");
    let on = serde_json::json!({"remediation": {"actions": {"waste.unattached_disk": {"enabled": true}}}});
    site.store.put_rule_settings(&site.scopes[0], &on, &test).await.unwrap();
    let mut admin = site.browser();
    admin.sign_in("t0-admin").await;
    let admin_csrf = admin.get(&own).await.csrf();
    let refused = admin.post(&format!("{own}/execute"), &[("_csrf", &admin_csrf)], &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(admin.get(&own).await.text.contains(r#"class="status approved""#), "still approved");
    site.store.put_rule_settings(&site.scopes[0], &serde_json::json!({}), &test).await.unwrap();
    let executed = admin.post(&format!("{own}/execute"), &[("_csrf", &admin_csrf)], &[]).await;
    assert_eq!(executed.status, 303, "by hand once the action is off: {}", executed.text);

    // Sign-out needs the token, then ends the session.
    assert_eq!(approver.post("/auth/signout", &[], &[]).await.status, 403);
    let out = approver.post("/auth/signout", &[("_csrf", &csrf)], &[]).await;
    assert_eq!(out.status, 200);
    assert!(!approver.cookies.contains_key("azcops_session"));
    assert_eq!(approver.get("/").await.location(), "/auth/signin");
    let boosted = approver
        .client
        .get(format!("{}/recommendations", site.base))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(boosted.status().as_u16(), 200, "htmx is told to navigate, not to follow a redirect");
    assert_eq!(boosted.headers()["hx-redirect"], "/auth/signin");

    // Cost explorer: the stacked view's total is the API's; drill-down and CSV; bad presets.
    let explorer = reader.get("/costs").await;
    assert_eq!(explorer.status, 200, "{}", explorer.text);
    assert_eq!(explorer.value_of("explorer-total"), api["total_cost"].as_f64().unwrap());
    assert!(explorer.text.contains(r#"&quot;kind&quot;:&quot;stacked&quot;"#), "a stacked chart");
    assert!(explorer.text.contains("group=service"), "series link to their services");
    let sub = "00000000-0000-4000-8000-000000000064";
    let services =
        reader.get(&format!("/costs?preset=7d&group=service&metric=amortized&subscription_id={sub}")).await;
    assert_eq!(services.status, 200);
    assert!(services.text.contains("Virtual Machines") && services.text.contains("Storage"));
    let csv = reader.get("/costs/export.csv?preset=7d").await;
    assert_eq!(csv.status, 200);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.text.starts_with("period,group,amount,currency\r\n"), "{}", csv.text);
    assert_eq!(csv.text.lines().count(), 1 + 7, "one row per day of the one subscription");
    assert_eq!(reader.get("/costs?preset=1y").await.status, 422);
    assert_eq!(reader.get("/costs?metric=list").await.status, 422);
    // Every grouping of the rollups answers with the same total; an unknown one is refused.
    for group in ["resource_group", "location", "tag"] {
        let view = reader.get(&format!("/costs?group={group}")).await;
        assert_eq!(view.status, 200, "{group}: {}", view.text);
        assert_eq!(view.value_of("explorer-total"), api["total_cost"].as_f64().unwrap(), "{group}");
        assert!(view.text.contains("explorer-table"), "{group}");
    }
    assert_eq!(reader.get("/costs?group=owner").await.status, 422);

    // Ingestion: the empty state, then a run and its items; another tenant's run is 404.
    let empty = reader.get("/ingestion").await;
    assert_eq!(empty.status, 200);
    assert!(empty.text.contains(r#"data-testid="empty-runs""#), "{}", empty.text);
    let new = |key: &str| azcops::store::NewRun {
        kind: "full".into(),
        schedule_key: key.into(),
        requested_by: "timer".into(),
        subscription_ids: vec![format!("00000000-0000-4000-8000-{:012x}", 100)],
    };
    let (run_a, _) = site.store.create_run(&site.scopes[0], &new("full:a")).await.unwrap();
    let (run_b, _) = site.store.create_run(&site.scopes[1], &new("full:b")).await.unwrap();
    let runs = reader.get("/ingestion").await;
    assert!(
        runs.text.contains(r#"data-testid="run-items""#) && runs.text.contains("queued"),
        "{}",
        runs.text
    );
    assert_eq!(reader.get(&format!("/ingestion?run={}", run_a.run.id)).await.status, 200);
    assert_eq!(reader.get(&format!("/ingestion?run={}", run_b.run.id)).await.status, 404);

    // A tampered cookie is no session.
    let mut tampered = site.browser();
    tampered.cookies.insert("azcops_session".into(), "AAAA".repeat(20));
    assert_eq!(tampered.get("/").await.location(), "/auth/signin");
}

pub async fn sign_in_refusals(site: &Site) {
    // The returned state must be this attempt's.
    let mut browser = site.browser();
    let start = browser.get("/auth/signin").await;
    let (_, params) = browser.at_identity_page(&start.location()).await;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("client_id"), CLIENT_ID);
    assert_eq!(get("code_challenge").len(), 43);
    let mut form = params.clone();
    form.push(("identity".into(), "t0-reader".into()));
    let chosen = browser.client.post(start.location()).form_pairs(&form).send().await.unwrap();
    let callback = chosen.headers()["location"].to_str().unwrap().to_owned();
    let forged_state = callback.replace(&format!("state={}", get("state")), "state=forged");
    assert_ne!(forged_state, callback);
    let refused = browser.get(&forged_state).await;
    assert_eq!(refused.status, 400);
    assert!(refused.text.contains("state"), "{}", refused.text);
    // The code was not spent by the refused attempt; it is spent once redeemed.
    assert_eq!(browser.get(&callback).await.status, 303);
    let mut replay = site.browser();
    let start = replay.get("/auth/signin").await;
    let _ = start;
    let replayed = replay.get(&callback).await;
    assert_eq!(replayed.status, 400, "another attempt's callback");
    // Without the attempt cookie (another browser) nothing is redeemed.
    let mut stranger = site.browser();
    let page = stranger.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("sign in again"), "{}", page.text);

    // The issuer refuses a verifier that does not match the challenge, and a second redemption.
    let mut other = site.browser();
    let start = other.get("/auth/signin").await;
    let (_, params) = other.at_identity_page(&start.location()).await;
    let mut form = params.clone();
    form.push(("identity".into(), "t1-admin".into()));
    let chosen = other.client.post(start.location()).form_pairs(&form).send().await.unwrap();
    let location = url::Url::parse(chosen.headers()["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let redirect = params.iter().find(|(k, _)| k == "redirect_uri").unwrap().1.clone();
    let token_url = format!("{}/organizations/oauth2/v2.0/token", site.sandbox.base_url());
    let redeem = |verifier: &'static str| {
        let pairs = vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("client_id".to_owned(), CLIENT_ID.to_owned()),
            ("client_secret".to_owned(), "s".to_owned()),
            ("code".to_owned(), code.clone()),
            ("redirect_uri".to_owned(), redirect.clone()),
            ("code_verifier".to_owned(), verifier.to_owned()),
        ];
        reqwest::Client::new().post(&token_url).form_pairs(&pairs).send()
    };
    let wrong = redeem("a-verifier-that-was-never-sent-0123456789abc").await.unwrap();
    assert_eq!(wrong.status().as_u16(), 400);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let spent = redeem("a-verifier-that-was-never-sent-0123456789abc").await.unwrap();
    assert_eq!(spent.status().as_u16(), 400, "a code is spent by its first redemption");
}

pub async fn platform_admin(site: &Site) {
    let mut admin = site.browser();
    let signed_in = admin.sign_in("platform-admin").await;
    assert_eq!(signed_in.status, 303);
    let home = admin.get("/").await;
    // The first tenant is both the control plane and a customer: the admin acts on it by default.
    assert_eq!(home.status, 200, "{}", home.text);
    assert!(home.text.contains("Portfolio · switch tenant"));
    let chooser = admin.get("/portfolio").await;
    assert_eq!(chooser.status, 200);
    for name in &site.names {
        assert!(chooser.text.contains(name.as_str()), "{name}");
    }
    assert_eq!(chooser.text.matches("data-tenant=").count(), site.names.len(), "every tenant, once");
    assert_eq!(admin.get("/tenant").await.status, 200, "the switcher's old address still answers");
    let csrf = chooser.csrf();
    let tenant_b = site.scopes[1].tenant_id().to_owned();
    assert_eq!(admin.post("/tenant", &[("tenant_id", &tenant_b)], &[]).await.status, 403, "CSRF");
    let switched = admin.post("/tenant", &[("_csrf", &csrf), ("tenant_id", &tenant_b)], &[]).await;
    assert_eq!((switched.status, switched.location().as_str()), (303, "/"));
    let home = admin.get("/").await;
    assert!(home.text.contains(&site.names[1]), "now acting on tenant B");
    let detail = admin.get(&format!("/recommendations/{}", site.recommendation[1])).await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.text.contains(r#"data-action="execute""#) || detail.text.contains(r#"data-action="approve""#)
    );
    // Each request is audited in the tenant acted on, as with X-AzCops-Tenant.
    let filter = AuditFilter { action: Some("platform_admin.request".into()), ..AuditFilter::default() };
    let audit =
        site.store.list_audit(&site.scopes[1], &filter, PageRequest::first(50).unwrap()).await.unwrap();
    assert!(audit.items.iter().any(|a| a.target_id == "/"), "{:?}", audit.items);
    // The portfolio's reads are audited in every tenant, like any platform-admin request.
    let portfolio_reads =
        site.store.list_audit(&site.scopes[0], &filter, PageRequest::first(50).unwrap()).await.unwrap();
    assert!(portfolio_reads.items.iter().any(|a| a.target_id == "/portfolio"));
    // Nobody else sees the portfolio or uses the switcher.
    let mut reader = site.browser();
    reader.sign_in("t1-reader").await;
    assert_eq!(reader.get("/portfolio").await.status, 403);
    assert_eq!(reader.get("/tenant").await.status, 403);
    let mut tenant_admin = site.browser();
    tenant_admin.sign_in("t0-admin").await;
    assert_eq!(tenant_admin.get("/portfolio").await.status, 403);
}

/// Seeds tenant 0 past every list bound of the pages and checks each page stops at it.
pub async fn bounds(site: &Site) {
    use azcops::model::CostDailyRow;
    use azcops::store::{Actor, NewRun, NewSubscription, RecommendationUpsert};
    let scope = &site.scopes[0];
    let today = chrono::Utc::now().date_naive();
    let mut costs = Vec::new();
    for n in 0..13u32 {
        let sub = format!("00000000-0000-4000-9000-{n:012x}");
        site.store
            .add_subscription(
                scope,
                &NewSubscription {
                    subscription_id: sub.clone(),
                    display_name: format!("bound {n:02}"),
                    billing_scope: None,
                },
                &Actor::named("test"),
            )
            .await
            .unwrap();
        costs.push(CostDailyRow {
            subscription_id: sub,
            date: today - chrono::Duration::days(1),
            resource_group: "rg".into(),
            service_name: format!("Service {n:02}"),
            meter_category: "m".into(),
            resource_id: String::new(),
            cost: 100.0 + f64::from(n),
            amortized_cost: 100.0,
            currency: "EUR".into(),
        });
    }
    site.store.upsert_costs_daily(scope, &costs).await.unwrap();
    let findings: Vec<RecommendationUpsert> = (0..60)
        .map(|n| RecommendationUpsert {
            subscription_id: "00000000-0000-4000-9000-000000000000".into(),
            resource_id: format!("/subscriptions/00000000-0000-4000-9000-000000000000/resourcegroups/rg/providers/microsoft.compute/disks/b{n}"),
            rule_id: "waste.unattached_disk".into(),
            source: "rule".into(),
            category: "waste".into(),
            title: format!("Bound disk {n:02}"),
            estimated_monthly_savings: f64::from(n) + 1.0,
            savings_basis: "observed_cost".into(),
            currency: "EUR".into(),
            confidence_score: 0.9,
            risk_level: "low".into(),
            effort_level: "low".into(),
            priority_score: f64::from(n) + 1.0,
            evidence: serde_json::json!({}),
            detected_at: azcops::store::now(),
            duplicate_of: None,
        })
        .collect();
    site.store.upsert_recommendations(scope, &findings).await.unwrap();
    for n in 0..21 {
        let run = NewRun {
            kind: "full".into(),
            schedule_key: format!("full:bound-{n}"),
            requested_by: "timer".into(),
            subscription_ids: vec!["00000000-0000-4000-9000-000000000000".into()],
        };
        site.store.create_run(scope, &run).await.unwrap();
    }
    let mut reader = site.browser();
    reader.sign_in("t0-reader").await;
    let rows = |page: &crate::support::Page| page.text.matches("<tr data-id=").count();
    let overview = reader.get("/").await;
    let top = &overview.text[overview.text.find("Top recommendations").unwrap()..];
    assert_eq!(
        top.split("</table>").next().unwrap().matches("<tr data-id=").count(),
        10,
        "top 10 on the overview"
    );
    let chart = &overview.text[overview.text.find(r#"id="service-chart""#).unwrap()..];
    let labels = chart.split("&quot;labels&quot;:[").nth(1).unwrap().split(']').next().unwrap();
    assert_eq!(labels.matches("&quot;,").count() + 1, 10, "the chart draws the 10 largest services");
    assert!(overview.text.contains("Service 00"), "the table lists all services");
    let list = reader.get("/recommendations").await;
    assert_eq!(rows(&list), 50, "50 a page");
    assert!(list.text.contains("Page 1 of 2") && list.text.contains("page=2"));
    let second = reader.get("/recommendations?page=2").await;
    assert_eq!(rows(&second), 61 - 50, "the rest (the site's own finding included)");
    let explorer = reader.get("/costs?preset=7d").await;
    assert_eq!(explorer.text.matches(r#"class="swatch-"#).count(), 12 + 1, "12 series and the others");
    assert!(explorer.text.contains("Other subscriptions"));
    let ingestion = reader.get("/ingestion").await;
    assert!(ingestion.text.contains("Latest 20 of 21 runs"), "{}", ingestion.text);
}
