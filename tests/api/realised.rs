//! Realised savings end to end: recommendations approved and executed over the API, cost
//! histories around the execution day that drop, do not drop, or stop (the resource is gone),
//! the verification the nightly step and `azcops savings verify` run, and what the API shows
//! of it: the recommendation's `realised` object, the `?realised=` filter, the summary's months,
//! the CSV columns and the monthly roll-up. Plus the run's bounds.

use axum::http::{Method, StatusCode};
use azcops::model::CostDailyRow;
use azcops::store::{RealisedLimits, StoreError, TenantScope};
use chrono::{DateTime, Datelike as _, Days, NaiveDate, Utc};
use serde_json::Value;

use crate::support::*;

/// A disk's resource id in tenant A's subscription.
fn disk(name: &str) -> String {
    resource_row(1, name, &[]).resource_id
}

/// `amount` a day for `resource` on each day of `[from, to]`.
fn costs(resource: &str, from: NaiveDate, to: NaiveDate, amount: f64) -> Vec<CostDailyRow> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|date| CostDailyRow { resource_id: resource.to_owned(), ..cost_row(1, date, amount) })
        .collect()
}

fn shift(day: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        day.checked_add_days(Days::new(days as u64)).unwrap()
    } else {
        day.checked_sub_days(Days::new((-days) as u64)).unwrap()
    }
}

/// A finding on disk `name`, approved and executed over the API; its id and execution time.
async fn executed(api: &Api, name: &str, savings: f64) -> (String, DateTime<Utc>) {
    let id = seed_recommendation(api, &api.scope_a, 1, name, savings).await;
    let admin = token(&tid_a(), &[APPROVER, ADMIN]).await;
    for action in ["approve", "execute"] {
        let reply = api
            .call(Method::POST, &format!("/api/v1/recommendations/{id}/{action}"), Some(&admin), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text);
    }
    let reply = api.get(&format!("/api/v1/recommendations/{id}"), &admin).await;
    assert_eq!(reply.json()["status"], "executed");
    assert_eq!(reply.json()["realised"], Value::Null, "nothing verified yet");
    let at: DateTime<Utc> = reply.json()["status_changed_at"].as_str().unwrap().parse().unwrap();
    (id, at)
}

/// Three executed disks with 10 a day before execution; after it one costs 0.5 a day, one
/// 9.5 a day, one nothing (deleted). Returns their ids and the execution day.
async fn seeded(api: &Api) -> ([String; 3], NaiveDate) {
    let (drop, at) = executed(api, "disk-drop", 300.0).await;
    let (flat, _) = executed(api, "disk-flat", 300.0).await;
    let (gone, last) = executed(api, "disk-gone", 300.0).await;
    let day = at.date_naive();
    assert_eq!(day, last.date_naive(), "the test ran across midnight UTC; run it again");
    let mut rows = Vec::new();
    for name in ["disk-drop", "disk-flat", "disk-gone"] {
        rows.extend(costs(&disk(name), shift(day, -30), shift(day, -1), 10.0));
    }
    rows.extend(costs(&disk("disk-drop"), shift(day, 1), shift(day, 30), 0.5));
    rows.extend(costs(&disk("disk-flat"), shift(day, 1), shift(day, 30), 9.5));
    // The execution day itself is in neither window.
    rows.extend(costs(&disk("disk-gone"), day, day, 10.0));
    api.store.upsert_costs_daily(&api.scope_a, &rows).await.unwrap();
    ([drop, flat, gone], day)
}

fn month(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

#[tokio::test]
async fn realised_savings_end_to_end_sqlite() {
    realised_savings_end_to_end(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn realised_savings_end_to_end_postgres() {
    realised_savings_end_to_end(Api::on(Backend::Postgres, &[]).await).await;
}

async fn realised_savings_end_to_end(api: Api) {
    let ([drop, flat, gone], day) = seeded(&api).await;
    let reader = token(&tid_a(), &[READER]).await;

    // Ten days after execution every verdict is pending, with a partial estimate.
    let early = api
        .store
        .verify_realised_savings(&api.scope_a, shift(day, 10), None, RealisedLimits::default())
        .await
        .unwrap();
    assert_eq!((early.due, early.verified.len(), early.deferred), (3, 3, 0));
    let one = api.get(&format!("/api/v1/recommendations/{drop}"), &reader).await.json();
    assert_eq!(one["realised"]["verdict"], "pending", "{one}");
    assert_eq!(one["realised"]["after_days"], 9);
    assert_eq!(one["realised"]["realised_monthly_savings"], 285.0);

    // Thirty-one days after: the final verdicts.
    let report = api
        .store
        .verify_realised_savings(&api.scope_a, shift(day, 31), None, RealisedLimits::default())
        .await
        .unwrap();
    assert_eq!((report.due, report.verified.len(), report.deferred), (3, 3, 0));
    let printed = azcops::ops::savings::render(&report);
    assert!(
        printed.contains(&drop) && printed.contains("not_realised") && printed.contains("resource_gone"),
        "{printed}"
    );
    assert!(printed.contains("3 verified as of"), "{printed}");

    let realised = |id: &str| {
        let (api, reader, id) = (&api, &reader, id.to_owned());
        async move {
            let reply = api.get(&format!("/api/v1/recommendations/{id}"), reader).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.json()["realised"].clone()
        }
    };
    let r = realised(&drop).await;
    assert_eq!(r["verdict"], "realised", "{r}");
    assert_eq!(r["basis"], "resource_cost_before_after");
    assert_eq!(r["realised_monthly_savings"], 285.0);
    assert_eq!(r["identified_monthly_savings"], 300.0);
    assert_eq!(r["confidence"], "high");
    assert_eq!(r["confidence_score"], 1.0);
    assert_eq!(r["currency"], "EUR");
    assert_eq!((r["before_amount"].as_f64(), r["before_days"].as_i64()), (Some(300.0), Some(30)));
    assert_eq!((r["after_amount"].as_f64(), r["after_days"].as_i64()), (Some(15.0), Some(30)));
    assert_eq!(r["as_of"], shift(day, 31).to_string());
    let r = realised(&flat).await;
    assert_eq!(
        (r["verdict"].as_str(), r["realised_monthly_savings"].as_f64()),
        (Some("not_realised"), Some(15.0)),
        "{r}"
    );
    let r = realised(&gone).await;
    assert_eq!(r["verdict"], "realised", "{r}");
    assert_eq!(r["basis"], "resource_gone");
    assert_eq!(r["realised_monthly_savings"], 300.0);
    assert_eq!(r["after_cost_days"], 0);

    // The list carries the object too, and `?realised=` filters by verdict.
    let list = api.get("/api/v1/recommendations?realised=not_realised", &reader).await.json();
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["id"], flat.as_str());
    assert_eq!(list["items"][0]["realised"]["verdict"], "not_realised");
    let list = api.get("/api/v1/recommendations?realised=realised&status=executed", &reader).await.json();
    assert_eq!(list["total"], 2, "{list}");
    let reply = api.get("/api/v1/recommendations?realised=maybe", &reader).await;
    assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("realised"));

    // The summary: identified vs realised for the month of execution.
    let summary = api.get("/api/v1/recommendations/summary", &reader).await.json();
    let months = summary["realised_by_month"].as_array().unwrap();
    assert_eq!(months.len(), 1, "{summary}");
    let m = &months[0];
    assert_eq!((m["month"].as_str(), m["currency"].as_str()), (Some(month(day).as_str()), Some("EUR")));
    assert_eq!(m["executed"], 3);
    assert_eq!(m["identified_monthly_savings"], 900.0);
    assert_eq!(m["realised_monthly_savings"], 600.0);
    assert_eq!((m["realised_count"].as_i64(), m["not_realised_count"].as_i64()), (Some(2), Some(1)));

    // The CSV's realised columns.
    let csv = api.get("/api/v1/recommendations/export.csv", &reader).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    let mut lines = csv.text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col =
        |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (amount, basis, confidence, verdict) = (
        col("realised_monthly_savings"),
        col("realised_basis"),
        col("realised_confidence"),
        col("realised_verdict"),
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    let r = row(&drop);
    assert_eq!(
        [r[amount], r[basis], r[confidence], r[verdict]],
        ["285", "resource_cost_before_after", "high", "realised"]
    );
    let r = row(&flat);
    assert_eq!([r[amount], r[verdict]], ["15", "not_realised"]);
    let r = row(&gone);
    assert_eq!([r[amount], r[basis], r[verdict]], ["300", "resource_gone", "realised"]);

    // The monthly roll-up.
    let path = format!("/api/v1/savings/realised?from={}&to={}", month(shift(day, -62)), month(day));
    let reply = api.get(&path, &reader).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let rollup = reply.json();
    assert_eq!(rollup["to"], month(day));
    let months = rollup["months"].as_array().unwrap();
    assert_eq!(months.len(), 1, "{rollup}");
    assert_eq!(months[0]["realised_monthly_savings"], 600.0);
    assert_eq!(months[0]["verified_identified_monthly_savings"], 900.0);
    assert_eq!(months[0]["not_realised_count"], 1);
    // A month before any execution is empty; tenant B sees none of tenant A's.
    let before = month(shift(day, -62));
    let empty = api.get(&format!("/api/v1/savings/realised?from={before}&to={before}"), &reader).await.json();
    assert_eq!(empty["months"], serde_json::json!([]));
    let other = token(&tid_b(), &[READER]).await;
    let theirs = api.get(&format!("/api/v1/savings/realised?to={}", month(day)), &other).await.json();
    assert_eq!(theirs["months"], serde_json::json!([]), "{theirs}");
    // Bad months and spans are refused, naming the field.
    assert_eq!(
        error_field(
            &api.get("/api/v1/savings/realised?from=2026-13", &reader).await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .as_deref(),
        Some("from")
    );
    assert_eq!(
        error_field(
            &api.get("/api/v1/savings/realised?from=2026-05&to=2026-04", &reader).await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .as_deref(),
        Some("from")
    );
    assert_eq!(
        error_field(
            &api.get("/api/v1/savings/realised?from=2020-01&to=2023-01", &reader).await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .as_deref(),
        Some("to")
    );
    let reply = api.get("/api/v1/savings/realised?month=2026-01", &reader).await;
    assert_eq!(error_field(&reply, StatusCode::UNPROCESSABLE_ENTITY).as_deref(), Some("month"));

    // A recommendation in another currency gets its own roll-up row; nothing is added across.
    let mut usd = finding(1, "disk-usd", 50.0);
    usd.currency = "USD".into();
    api.store.upsert_recommendations(&api.scope_a, &[usd]).await.unwrap();
    let admin = token(&tid_a(), &[APPROVER, ADMIN]).await;
    let all = api.get("/api/v1/recommendations?status=open", &admin).await.json();
    let usd_id = all["items"].as_array().unwrap().iter().find(|r| r["currency"] == "USD").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["approve", "execute"] {
        let reply = api
            .call(Method::POST, &format!("/api/v1/recommendations/{usd_id}/{action}"), Some(&admin), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let mut rows = costs(&disk("disk-usd"), shift(day, -30), shift(day, 30), 2.0);
    for row in &mut rows {
        row.currency = "USD".into();
        if row.date > day {
            row.cost = 0.0;
        }
    }
    api.store.upsert_costs_daily(&api.scope_a, &rows).await.unwrap();
    api.store
        .verify_realised_savings(&api.scope_a, shift(day, 31), None, RealisedLimits::default())
        .await
        .unwrap();
    let rollup = api.get(&format!("/api/v1/savings/realised?to={}", month(day)), &reader).await.json();
    let months = rollup["months"].as_array().unwrap();
    assert_eq!(months.len(), 2, "{rollup}");
    assert_eq!((months[0]["currency"].as_str(), months[1]["currency"].as_str()), (Some("EUR"), Some("USD")));
    assert_eq!(months[0]["realised_monthly_savings"], 600.0);
    assert_eq!(
        (months[1]["realised_monthly_savings"].as_f64(), months[1]["executed"].as_i64()),
        (Some(60.0), Some(1))
    );

    // Verifying again replaces the rows rather than adding any.
    let again = api
        .store
        .verify_realised_savings(&api.scope_a, shift(day, 31), None, RealisedLimits::default())
        .await
        .unwrap();
    assert_eq!(again.verified.len(), 4);
    let all = api
        .store
        .realised_savings_of(&api.scope_a, &[drop.clone(), flat.clone(), gone.clone()])
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    // Tenant B's verification sees none of tenant A's recommendations.
    let theirs = api
        .store
        .verify_realised_savings(&api.scope_b, shift(day, 31), None, RealisedLimits::default())
        .await
        .unwrap();
    assert_eq!((theirs.due, theirs.verified.len()), (0, 0));
    api.finish().await;
}

#[tokio::test]
async fn verification_bounds_sqlite() {
    verification_bounds(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn verification_bounds_postgres() {
    verification_bounds(Api::on(Backend::Postgres, &[]).await).await;
}

async fn verification_bounds(api: Api) {
    let (ids, day) = seeded(&api).await;
    let scope: &TenantScope = &api.scope_a;
    let as_of = shift(day, 31);

    // Recommendations per run: two of three, then the one never verified goes first.
    let limits = RealisedLimits { max_recommendations: 2, ..RealisedLimits::default() };
    let first = api.store.verify_realised_savings(scope, as_of, None, limits).await.unwrap();
    assert_eq!((first.due, first.verified.len(), first.deferred), (3, 2, 1));
    let done: Vec<&str> = first.verified.iter().map(|r| r.recommendation_id.as_str()).collect();
    let left = ids.iter().find(|id| !done.contains(&id.as_str())).unwrap();
    let second = api.store.verify_realised_savings(scope, as_of, None, limits).await.unwrap();
    assert_eq!(second.verified[0].recommendation_id, *left, "the unverified one goes first");
    assert_eq!(api.store.realised_savings_of(scope, &ids).await.unwrap().len(), 3);

    // Cost rows per run: the smallest budget fits one recommendation's windows.
    let rows = RealisedLimits { max_cost_rows: 244, ..RealisedLimits::default() };
    let bounded = api.store.verify_realised_savings(scope, as_of, None, rows).await.unwrap();
    assert_eq!((bounded.verified.len(), bounded.deferred), (1, 2));
    assert!(bounded.cost_rows <= 244 && bounded.cost_rows >= 30, "{}", bounded.cost_rows);

    // Limits out of range are refused.
    for bad in [
        RealisedLimits { max_cost_rows: 243, ..RealisedLimits::default() },
        RealisedLimits { max_recommendations: 0, ..RealisedLimits::default() },
        RealisedLimits { min_days_after: 0, ..RealisedLimits::default() },
        RealisedLimits { min_days_after: 31, ..RealisedLimits::default() },
    ] {
        let result = api.store.verify_realised_savings(scope, as_of, None, bad).await;
        assert!(matches!(result, Err(StoreError::Validation { .. })), "{bad:?}: {result:?}");
    }

    // Only executions within the window plus the waiting days are due: 61 days later, none.
    let late = api
        .store
        .verify_realised_savings(scope, shift(day, 61), None, RealisedLimits::default())
        .await
        .unwrap();
    assert_eq!(late.due, 0);
    // One subscription's run leaves the others alone.
    let other = api
        .store
        .verify_realised_savings(scope, as_of, Some(&subscription(2)), RealisedLimits::default())
        .await
        .unwrap();
    assert_eq!(other.due, 0);
    api.finish().await;
}

#[tokio::test]
async fn openapi_documents_realised_savings() {
    let api = Api::new().await;
    let doc = api.call(Method::GET, "/api/openapi.json", None, None).await.json();
    let rollup = &doc["paths"]["/api/v1/savings/realised"]["get"];
    assert!(rollup["responses"]["200"].is_object(), "{rollup}");
    let params: Vec<&str> =
        rollup["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["from", "to"]);
    let list = &doc["paths"]["/api/v1/recommendations"]["get"]["parameters"];
    assert!(list.as_array().unwrap().iter().any(|p| p["name"] == "realised"), "{list}");
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["Recommendation"]["properties"]["realised"].is_object(), "{}", schemas["Recommendation"]);
    assert!(schemas["RecommendationSummary"]["properties"]["realised_by_month"].is_object());
    for field in ["verdict", "basis", "confidence", "realised_monthly_savings", "before_days", "after_days"] {
        assert!(schemas["RealisedSavings"]["properties"][field].is_object(), "RealisedSavings.{field}");
    }
    api.finish().await;
}
