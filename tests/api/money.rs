//! Money leaves the API rounded to its currency's minor unit, and amounts of different
//! currencies are never added.

use azcops::model::CostDailyRow;
use azcops::store::RecommendationUpsert;

use crate::support::*;

#[tokio::test]
async fn amounts_are_rounded_and_currencies_kept_apart() {
    let api = Api::new().await;
    let awkward = 1301.1399999999999;
    let rows = [
        finding(1, "disk-1", awkward),
        RecommendationUpsert { currency: "USD".into(), ..finding(1, "disk-2", 0.105) },
        RecommendationUpsert { currency: "JPY".into(), ..finding(1, "disk-3", 1234.5) },
    ];
    api.store.upsert_recommendations(&api.scope_a, &rows).await.unwrap();
    let sub = subscription(1);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let cost = CostDailyRow {
        subscription_id: sub.clone(),
        date: day,
        resource_group: "rg".into(),
        service_name: "Storage".into(),
        meter_category: "Storage".into(),
        resource_id: String::new(),
        cost: 0.1 + 0.2,
        amortized_cost: 2.0 / 3.0,
        currency: "EUR".into(),
    };
    api.store.upsert_costs_daily(&api.scope_a, &[cost]).await.unwrap();
    let t = token(&tid_a(), &[READER]).await;

    let list = api.get("/api/v1/recommendations?sort=savings", &t).await.json();
    let savings: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["estimated_monthly_savings"].to_string())
        .collect();
    assert_eq!(savings, ["1301.14", "1235.0", "0.11"]);

    let summary = api.get("/api/v1/recommendations/summary", &t).await.json();
    assert_eq!(summary["currency"], "EUR", "{summary}");
    assert_eq!(summary["open_monthly_savings"].to_string(), "1301.14");
    assert_eq!(summary["by_currency"]["USD"]["open_monthly_savings"], 0.11);
    assert_eq!(summary["by_currency"]["JPY"]["open_monthly_savings"], 1235.0);
    assert_eq!(summary["by_currency"].as_object().unwrap().len(), 3, "{summary}");

    let costs = api.get("/api/v1/costs", &t).await.json();
    assert_eq!(costs["items"][0]["cost"].to_string(), "0.3");
    assert_eq!(costs["items"][0]["amortized_cost"].to_string(), "0.67");
    let summary = api.get("/api/v1/costs/summary?days=30&to=2026-11-30", &t).await.json();
    assert_eq!(summary["total_cost"].to_string(), "0.3", "{summary}");
    assert_eq!(summary["total_amortized_cost"].to_string(), "0.67");

    // The same rounding in the CSV exports.
    let costs = api.get("/api/v1/costs/export.csv", &t).await.text;
    assert!(costs.lines().nth(1).unwrap().ends_with(",0.3,0.67,EUR"), "{costs}");
    let recommendations = api.get("/api/v1/recommendations/export.csv", &t).await.text;
    assert!(recommendations.contains(",1301.14,") && recommendations.contains(",0.11,"), "{recommendations}");
    assert!(!recommendations.contains("1301.1399"), "{recommendations}");
}
