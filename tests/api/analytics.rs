//! Cost anomalies and forecasts over the API: list and filters, acknowledgement by role and
//! tenant, the forecast's shape (one answer per currency), and bad parameters.

use axum::http::{Method, StatusCode};
use azcops::model::CostDailyRow;
use azcops::store::{AuditFilter, DetectionLimits, PageRequest};
use chrono::{Days, NaiveDate};
use serde_json::Value;

use crate::support::*;

fn nth(i: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 8, 1).unwrap().checked_add_days(Days::new(i)).unwrap()
}

/// 70 days of tenant `n`'s subscription: weekly-seasonal Storage with a spike on day 50 and a
/// service first billed on day 60, all in EUR, plus a small USD charge every day.
fn rows(n: u32) -> Vec<CostDailyRow> {
    let mut out = Vec::new();
    for i in 0..70u64 {
        let weekend = matches!(nth(i).format("%a").to_string().as_str(), "Sat" | "Sun");
        let noise = ((i * 7919 + 13) % 101) as f64 / 100.0 - 0.5;
        let mut amount = if weekend { 30.0 } else { 50.0 } * (1.0 + 0.06 * noise);
        if i == 50 {
            amount *= 3.0;
        }
        out.push(cost_row(n, nth(i), amount));
        if i >= 60 {
            out.push(CostDailyRow { service_name: "Cognitive Services".into(), ..cost_row(n, nth(i), 25.0) });
        }
        out.push(CostDailyRow {
            service_name: "Marketplace".into(),
            currency: "USD".into(),
            ..cost_row(n, nth(i), 4.0)
        });
    }
    out
}

async fn seeded(backend: Backend) -> Api {
    let api = Api::on(backend, &[]).await;
    for (scope, n) in [(&api.scope_a, 1), (&api.scope_b, 2)] {
        api.store.upsert_costs_daily(scope, &rows(n)).await.unwrap();
        api.store
            .detect_anomalies(scope, &subscription(n), nth(70), DetectionLimits::default())
            .await
            .unwrap();
    }
    api
}

fn items(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn anomalies_list_filter_and_acknowledge_sqlite() {
    anomalies_list_filter_and_acknowledge(seeded(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn anomalies_list_filter_and_acknowledge_postgres() {
    anomalies_list_filter_and_acknowledge(seeded(Backend::Postgres).await).await;
}

async fn anomalies_list_filter_and_acknowledge(api: Api) {
    let reader = token(&tid_a(), &[READER]).await;
    let approver = token(&tid_a(), &[APPROVER]).await;
    let approver_b = token(&tid_b(), &[APPROVER]).await;
    let sub = subscription(1);

    let all = items(&api.get("/api/v1/costs/anomalies", &reader).await);
    let spike = all
        .iter()
        .find(|a| a["scope"] == sub.as_str() && a["kind"] == "spike")
        .unwrap_or_else(|| panic!("{all:?}"))
        .clone();
    assert_eq!(spike["day"], nth(50).to_string());
    assert_eq!(
        (spike["dimension"].as_str(), spike["dimension_value"].as_str()),
        (Some("service"), Some("Storage"))
    );
    assert_eq!((spike["status"].as_str(), spike["currency"].as_str()), (Some("open"), Some("EUR")));
    assert!(all.iter().any(|a| a["kind"] == "new_service" && a["dimension_value"] == "Cognitive Services"));
    assert!(all.iter().any(|a| a["scope"] == "tenant"), "the tenant total is listed too");
    assert!(all.iter().all(|a| a["scope"] != subscription(2).as_str()), "only tenant A's");

    let of_sub = items(&api.get(&format!("/api/v1/costs/anomalies?subscription_id={sub}"), &reader).await);
    assert!(!of_sub.is_empty() && of_sub.iter().all(|a| a["scope"] == sub.as_str()));
    let window =
        items(&api.get(&format!("/api/v1/costs/anomalies?from={}&to={}", nth(50), nth(50)), &reader).await);
    assert!(!window.is_empty() && window.iter().all(|a| a["day"] == nth(50).to_string()));
    let high = items(&api.get("/api/v1/costs/anomalies?severity=high", &reader).await);
    assert_eq!(high.len(), all.iter().filter(|a| a["severity"] == "high").count());
    let page = api.get("/api/v1/costs/anomalies?page=2&page_size=1", &reader).await;
    assert_eq!(items(&page).len(), 1);
    assert_eq!(page.json()["total"].as_u64(), Some(all.len() as u64));

    let id = spike["id"].as_str().unwrap();
    let path = format!("/api/v1/costs/anomalies/{id}/acknowledge");
    let denied = api.call(Method::POST, &path, Some(&reader), None).await;
    assert_eq!(error_field(&denied, StatusCode::FORBIDDEN), None);
    let foreign = api.call(Method::POST, &path, Some(&approver_b), None).await;
    assert_eq!(error_field(&foreign, StatusCode::NOT_FOUND), None);
    let acked = api.call(Method::POST, &path, Some(&approver), None).await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    assert_eq!(acked.json()["status"], "acknowledged");
    assert!(acked.json()["acknowledged_by"].is_string() && acked.json()["acknowledged_at"].is_string());
    let again = api.call(Method::POST, &path, Some(&approver), None).await;
    assert_eq!(error_field(&again, StatusCode::CONFLICT), None);
    let audit = api
        .store
        .list_audit(
            &api.scope_a,
            &AuditFilter { target_id: Some(id.into()), ..Default::default() },
            PageRequest::new(1, 10).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 1);
    assert_eq!(audit.items[0].action, "cost_anomaly.acknowledged");
    let open = items(&api.get("/api/v1/costs/anomalies?status=open", &reader).await);
    assert_eq!(open.len(), all.len() - 1);
    let acked = items(&api.get("/api/v1/costs/anomalies?status=acknowledged", &reader).await);
    assert_eq!(acked.len(), 1);
    api.finish().await;
}

#[tokio::test]
async fn forecast_shape_one_answer_per_currency() {
    let api = seeded(Backend::Sqlite).await;
    let reader = token(&tid_a(), &[READER]).await;
    let sub = subscription(1);
    let by = azcops::store::Actor::named("test");
    let usd_budget = azcops::store::BudgetInput {
        name: Some("tenant USD".into()),
        amount: Some(100.0),
        currency: Some("USD".into()),
        ..Default::default()
    };
    api.store.create_budget(&api.scope_a, &usd_budget, &by).await.unwrap();
    let sub_budget = azcops::store::BudgetInput {
        name: Some("one subscription".into()),
        subscription_id: Some(Some(sub.clone())),
        amount: Some(1_000_000.0),
        currency: Some("EUR".into()),
        ..Default::default()
    };
    api.store.create_budget(&api.scope_a, &sub_budget, &by).await.unwrap();
    let reply = api.get(&format!("/api/v1/costs/forecast?as_of={}", nth(70)), &reader).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["as_of"], nth(70).to_string());
    assert!(body["method"].as_str().unwrap().contains("backtest"));
    let forecasts = body["forecasts"].as_array().unwrap();
    let keys: Vec<(String, String)> = forecasts
        .iter()
        .map(|f| (f["scope"].as_str().unwrap().to_owned(), f["currency"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        keys,
        [("tenant", "EUR"), ("tenant", "USD"), ("subscription", "EUR"), ("subscription", "USD")]
            .map(|(s, c)| (s.to_owned(), c.to_owned()))
    );
    for f in forecasts {
        assert_eq!(f["month"], "2026-10-01");
        assert_eq!(f["data_through"], nth(69).to_string());
        for measure in ["actual", "amortized"] {
            let m = &f[measure];
            let mtd = m["month_to_date"].as_f64().unwrap();
            for horizon in ["month_end", "next_month"] {
                let e = &m[horizon];
                let (lo, mid, hi) = (
                    e["lower"].as_f64().unwrap(),
                    e["forecast"].as_f64().unwrap(),
                    e["upper"].as_f64().unwrap(),
                );
                assert!(lo <= mid && mid <= hi, "{f}");
                if horizon == "month_end" {
                    assert!(lo >= mtd, "{f}");
                }
            }
        }
        assert!(["backtest", "residuals"].contains(&f["interval_basis"].as_str().unwrap()));
    }
    // USD: 4 a day, so 9 days to date and 31 in the month.
    let usd = &forecasts[1]["actual"];
    assert_eq!(usd["month_to_date"].as_f64(), Some(36.0));
    assert!((usd["month_end"]["forecast"].as_f64().unwrap() - 124.0).abs() < 0.01, "{usd}");
    assert_eq!(forecasts[2]["subscription_id"], sub.as_str());
    // Each budget stands against its own scope's forecast in its own currency.
    let budgets = body["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 2, "{body}");
    let tenant_usd = budgets.iter().find(|b| b["name"] == "tenant USD").unwrap();
    assert_eq!(tenant_usd["status"]["spent"], 36.0, "{tenant_usd}");
    assert_eq!(tenant_usd["status"]["forecast"], 124.0, "{tenant_usd}");
    assert_eq!(
        tenant_usd["status"]["state"], "at_risk",
        "below every threshold, but forecast over the amount"
    );

    let one =
        api.get(&format!("/api/v1/costs/forecast?as_of={}&subscription_id={sub}", nth(70)), &reader).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let one = one.json();
    assert!(
        one["forecasts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["scope"] == "subscription" && f["subscription_id"] == sub.as_str())
    );
    let names: Vec<&str> =
        one["budgets"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["one subscription"], "only the subscription's own budgets");
    let other = api
        .get(
            &format!("/api/v1/costs/forecast?as_of={}&subscription_id={}", nth(70), subscription(2)),
            &reader,
        )
        .await;
    assert_eq!(other.json()["forecasts"], serde_json::json!([]), "tenant B's subscription is not visible");
    api.finish().await;
}

#[tokio::test]
async fn bad_parameters_are_rejected_with_json_naming_the_field() {
    let api = Api::new().await;
    let reader = token(&tid_a(), &[READER]).await;
    for (path, field) in [
        ("/api/v1/costs/anomalies?status=closed", Some("status")),
        ("/api/v1/costs/anomalies?severity=extreme", Some("severity")),
        ("/api/v1/costs/anomalies?from=2026-13-01", Some("from")),
        ("/api/v1/costs/anomalies?from=2026-11-02&to=2026-11-01", Some("from")),
        ("/api/v1/costs/anomalies?page_size=0", Some("page_size")),
        ("/api/v1/costs/anomalies?colour=red", None),
        ("/api/v1/costs/forecast?as_of=yesterday", Some("as_of")),
        ("/api/v1/costs/forecast?subscription_id=", Some("subscription_id")),
    ] {
        let reply = api.get(path, &reader).await;
        // The API's validation status (like every other list): 422 with `details.field`.
        let got = error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        if field.is_some() {
            assert_eq!(got.as_deref(), field, "{path}: {}", reply.text);
        }
    }
    let empty = api.get("/api/v1/costs/forecast?as_of=2026-10-10", &reader).await;
    assert_eq!(empty.json()["forecasts"], serde_json::json!([]), "no costs, no forecast");
    api.finish().await;
}
