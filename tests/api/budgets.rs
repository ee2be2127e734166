//! `/budgets`: Admins change them, every change is audited with the request, the status counts
//! only cost in the budget's currency, and another tenant's budget does not exist.

use axum::http::{Method, StatusCode};
use azcops::model::CostDailyRow;
use azcops::store::{Actor, BudgetInput, MAX_BUDGETS_PER_TENANT};
use chrono::{Datelike, Utc};
use serde_json::json;

use crate::support::*;

fn this_month_cost(sub: &str, currency: &str, cost: f64) -> CostDailyRow {
    let today = Utc::now().date_naive();
    CostDailyRow {
        subscription_id: sub.to_owned(),
        date: today.with_day(1).unwrap(),
        resource_group: "rg".into(),
        service_name: format!("Storage {currency}"),
        meter_category: "Storage".into(),
        resource_id: String::new(),
        cost,
        amortized_cost: cost / 2.0,
        currency: currency.into(),
    }
}

async fn budgets_lifecycle(backend: Backend) {
    let api = Api::on(backend, &[]).await;
    let sub = subscription(1);
    // The support registers subscription 1 to tenant A (2 to tenant B); 9 is no one's.
    let other_sub = subscription(2);
    let costs = [
        this_month_cost(&sub, "EUR", 700.0),
        this_month_cost(&other_sub, "EUR", 200.0),
        this_month_cost(&sub, "USD", 5000.0),
    ];
    api.store.upsert_costs_daily(&api.scope_a, &costs).await.unwrap();
    let admin = token(&tid_a(), &[ADMIN]).await;
    let reader = token(&tid_a(), &[READER]).await;

    // A Reader sees budgets but cannot make one.
    let body = json!({"name": "Platform", "amount": 1000, "currency": "eur"});
    let refused = api.call(Method::POST, "/api/v1/budgets", Some(&reader), Some(body.clone())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    let created = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(body.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let tenant_budget = created.json();
    let id = tenant_budget["id"].as_str().unwrap().to_owned();
    assert_eq!(tenant_budget["currency"], "EUR");
    assert_eq!(tenant_budget["alert_thresholds"], json!([50, 80, 100]));
    // 900 EUR of 1000 this month; the 5000 USD is reported apart, never added.
    assert_eq!(tenant_budget["status"]["spent"], 900.0, "{tenant_budget}");
    assert_eq!(tenant_budget["status"]["percent_spent"], 90.0);
    assert_eq!(tenant_budget["status"]["state"], "at_risk");
    assert_eq!(tenant_budget["status"]["threshold_reached"], 80);
    assert_eq!(tenant_budget["status"]["other_currencies"]["USD"], 5000.0);
    let status = tenant_budget["status"].as_object().unwrap();
    for key in ["forecast", "forecast_lower", "forecast_upper", "percent_forecast"] {
        assert!(status.contains_key(key), "{key} missing from {tenant_budget}");
    }

    let duplicate = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(body)).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text);

    // A subscription budget names a subscription of the tenant, verified against the registry.
    let unknown =
        json!({"name": "Stranger", "amount": 10, "currency": "EUR", "subscription_id": subscription(9)});
    let reply = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(unknown)).await;
    assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("subscription_id"));
    let scoped = json!({"name": "One", "amount": 1400, "currency": "EUR", "subscription_id": sub, "metric": "amortized"});
    let reply = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(scoped)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json()["status"]["spent"], 350.0, "amortized cost of the one subscription only");
    assert_eq!(reply.json()["status"]["state"], "ok");

    for (bad, field) in [
        (json!({"name": "x", "amount": -1, "currency": "EUR"}), "amount"),
        (json!({"name": "x", "amount": 3.7e-210, "currency": "EUR"}), "amount"),
        (json!({"name": "x", "amount": 0.4, "currency": "JPY"}), "amount"),
        (json!({"name": "x", "amount": 1, "currency": "EURO"}), "currency"),
        (json!({"name": "x", "amount": 1, "currency": "EUR", "metric": "blended"}), "metric"),
        (json!({"name": "x", "amount": 1, "currency": "EUR", "alert_thresholds": [0]}), "alert_thresholds"),
        (json!({"name": " ", "amount": 1, "currency": "EUR"}), "name"),
    ] {
        let reply = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(bad)).await;
        assert_eq!(
            error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(),
            Some(field),
            "{}",
            reply.text
        );
    }
    let unknown_field = json!({"name": "x", "amount": 1, "currency": "EUR", "limit": 3});
    let reply = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(unknown_field)).await;
    assert!(reply.status.is_client_error(), "{}", reply.text);

    // A change is audited with the values before and after, under the request's correlation id.
    let path = format!("/api/v1/budgets/{id}");
    let patched = api.call(Method::PATCH, &path, Some(&admin), Some(json!({"amount": 900.004}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json()["amount"], 900.0);
    assert_eq!(patched.json()["status"]["state"], "over");
    let audit = api.get(&format!("/api/v1/audit-logs?target_id={id}"), &reader).await.json();
    let actions: Vec<&str> =
        audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["budget.updated", "budget.created"], "{audit}");
    assert_eq!(audit["items"][0]["metadata"]["before"]["amount"], 1000.0);
    assert_eq!(audit["items"][0]["metadata"]["after"]["amount"], 900.0);
    assert!(audit["items"][0]["metadata"]["correlation_id"].is_string());

    // Another tenant's budget does not exist for it, to read or to change.
    let other = token(&tid_b(), &[ADMIN]).await;
    assert_eq!(api.get(&path, &other).await.status, StatusCode::NOT_FOUND);
    let reply = api.call(Method::DELETE, &path, Some(&other), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/v1/budgets", &other).await.json()["items"], json!([]));

    let list = api.get("/api/v1/budgets", &reader).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    let deleted = api.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&path, &reader).await.status, StatusCode::NOT_FOUND);
    let audit =
        api.get(&format!("/api/v1/audit-logs?target_id={id}&action=budget.deleted"), &reader).await.json();
    assert_eq!(audit["items"][0]["metadata"]["before"]["name"], "Platform", "{audit}");
    api.finish().await;
}

#[tokio::test]
async fn budgets_on_sqlite() {
    budgets_lifecycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn budgets_on_postgres() {
    budgets_lifecycle(Backend::Postgres).await;
}

#[tokio::test]
async fn a_tenant_keeps_a_bounded_number_of_budgets() {
    let api = Api::new().await;
    let by = Actor::named("test");
    for n in 0..MAX_BUDGETS_PER_TENANT {
        let input = BudgetInput {
            name: Some(format!("b{n:03}")),
            amount: Some(1.0),
            currency: Some("USD".into()),
            ..BudgetInput::default()
        };
        api.store.create_budget(&api.scope_a, &input, &by).await.unwrap();
    }
    let admin = token(&tid_a(), &[ADMIN]).await;
    let body = json!({"name": "one too many", "amount": 1, "currency": "USD"});
    let reply = api.call(Method::POST, "/api/v1/budgets", Some(&admin), Some(body)).await;
    assert_eq!(
        error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(),
        Some("budgets"),
        "{}",
        reply.text
    );
    let list = api.get("/api/v1/budgets", &admin).await.json();
    assert_eq!(list["items"].as_array().unwrap().len() as i64, MAX_BUDGETS_PER_TENANT);
    api.finish().await;
}
