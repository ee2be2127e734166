//! `budget.threshold`: after costs are written, each threshold a budget's month-to-date spend
//! and (separately) its month-end forecast reach is announced once per month, however often
//! ingestion runs, with money rounded to the currency's minor unit.

use std::collections::BTreeSet;

use azcops::store::{Actor, BudgetInput};
use chrono::NaiveDate;

use crate::on_both;
use crate::receiver::Receiver;
use crate::support::*;

fn day(m: u32, d: u32) -> NaiveDate {
    let year = if m >= 10 { 2026 } else { 2027 };
    NaiveDate::from_ymd_opt(year, m, d).unwrap()
}

/// (basis, threshold, budget name) of the `budget.threshold` events the receiver saw.
fn crossings(receiver: &Receiver) -> BTreeSet<(String, u64, String)> {
    receiver
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["type"] == "budget.threshold")
        .map(|b| {
            let d = &b["data"];
            (
                d["basis"].as_str().unwrap().to_owned(),
                d["threshold_percent"].as_u64().unwrap(),
                d["budget_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn thresholds_are_announced_once_per_month(backend: Backend) {
    let (api, notifier) = instance(backend, config()).await;
    let receiver = Receiver::start().await;
    webhook(&api, &api.scope_a, "hook", &receiver.url, "whsec-0123456789abcdef").await;
    let by = Actor::named("test");
    let team = BudgetInput {
        name: Some("Team".into()),
        subscription_id: Some(Some(subscription(1))),
        amount: Some(100.0),
        currency: Some("EUR".into()),
        ..BudgetInput::default()
    };
    api.store.create_budget(&api.scope_a, &team, &by).await.unwrap();
    let tenant = BudgetInput {
        name: Some("Tenant".into()),
        subscription_id: Some(None),
        amount: Some(1000.0),
        currency: Some("EUR".into()),
        alert_thresholds: Some(vec![5, 50]),
        ..BudgetInput::default()
    };
    api.store.create_budget(&api.scope_a, &tenant, &by).await.unwrap();
    // Two months of 3 EUR a day: 60 EUR through December 20th, about 93 forecast.
    let mut rows = Vec::new();
    let mut d = day(10, 21);
    while d <= day(12, 20) {
        rows.push(cost_row(1, d, 3.0));
        d = d.succ_opt().unwrap();
    }
    api.store.upsert_costs_daily(&api.scope_a, &rows).await.unwrap();
    let sub = subscription(1);
    let recorded = api.store.record_budget_thresholds(&api.scope_a, &sub, day(12, 20)).await.unwrap();
    notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    let seen = crossings(&receiver);
    let expected: BTreeSet<(String, u64, String)> = [
        ("actual", 50, "Team"),
        ("forecast", 50, "Team"),
        ("forecast", 80, "Team"),
        ("actual", 5, "Tenant"),
        ("forecast", 5, "Tenant"),
    ]
    .into_iter()
    .map(|(b, t, n)| (b.to_owned(), t, n.to_owned()))
    .collect();
    assert_eq!(seen, expected);
    assert_eq!(recorded, expected.len());
    let event = receiver
        .received()
        .iter()
        .map(|r| r.json())
        .find(|b| b["data"]["basis"] == "actual" && b["data"]["budget_name"] == "Team")
        .unwrap();
    assert_eq!(event["data"]["spent"], 60.0);
    assert_eq!(event["data"]["threshold_amount"], 50.0);
    assert_eq!(event["data"]["currency"], "EUR");
    assert_eq!(event["data"]["month"], "2026-12");
    assert_eq!(event["data"]["subscription_id"], sub);

    // Ingestion runs again over the same costs: nothing is announced twice.
    api.store.upsert_costs_daily(&api.scope_a, &rows).await.unwrap();
    assert_eq!(api.store.record_budget_thresholds(&api.scope_a, &sub, day(12, 20)).await.unwrap(), 0);
    // More spend crosses the next thresholds, each once.
    api.store.upsert_costs_daily(&api.scope_a, &[cost_row(1, day(12, 20), 43.0)]).await.unwrap();
    api.store.record_budget_thresholds(&api.scope_a, &sub, day(12, 20)).await.unwrap();
    assert_eq!(api.store.record_budget_thresholds(&api.scope_a, &sub, day(12, 20)).await.unwrap(), 0);
    notifier.process_tenant(&api.scope_a, azcops::store::now()).await.unwrap();
    let now_seen = crossings(&receiver);
    for t in [80, 100] {
        assert!(now_seen.contains(&("actual".into(), t, "Team".into())), "{now_seen:?}");
    }
    let actual_team = receiver
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["data"]["basis"] == "actual" && b["data"]["budget_name"] == "Team")
        .count();
    assert_eq!(actual_team, 3, "50, 80 and 100 once each");
    // A new month announces its crossings again; another tenant's budgets are not touched.
    api.store.upsert_costs_daily(&api.scope_a, &[cost_row(1, day(1, 2), 55.0)]).await.unwrap();
    assert!(api.store.record_budget_thresholds(&api.scope_a, &sub, day(1, 2)).await.unwrap() >= 1);
    assert_eq!(
        api.store.record_budget_thresholds(&api.scope_b, &subscription(2), day(1, 2)).await.unwrap(),
        0
    );
    api.finish().await;
}
on_both!(thresholds_are_announced_once_per_month, thresholds_are_announced_once_per_month);
