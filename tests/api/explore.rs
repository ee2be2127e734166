//! The cost explorer (`/costs/explore` and its CSV) and the per-currency cost summary, on both
//! backends: grouping, filters, top-N with "other", months, tags, currencies, bounds, isolation.

use axum::http::StatusCode;
use azcops::model::CostDailyRow;
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::support::*;

const WINDOW: &str = "from=2026-10-01&to=2026-11-30";

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// Tenant A: disk-1 tagged cc-1, disk-2 tagged cc-2 (key spelled `Cost-Center`), disk-3
/// untagged; 36 EUR over two months and 2 USD.
async fn seed(api: &Api) {
    let disks = [
        resource_row(1, "disk-1", &[("cost-center", "cc-1")]),
        resource_row(1, "disk-2", &[("Cost-Center", "cc-2")]),
        resource_row(1, "disk-3", &[]),
    ];
    api.store.upsert_resources(&api.scope_a, &disks, azcops::store::now()).await.unwrap();
    let row = |date, service: &str, resource: &str, amount: f64, currency: &str| CostDailyRow {
        service_name: service.into(),
        meter_category: service.into(),
        resource_id: resource.into(),
        currency: currency.into(),
        ..cost_row(1, date, amount)
    };
    let mut vm = row(day(11, 5), "Virtual Machines", "", 20.0, "EUR");
    vm.amortized_cost = 15.0;
    let rows = [
        row(day(10, 10), "Storage", &disks[0].resource_id, 10.0, "EUR"),
        row(day(11, 5), "Storage", &disks[1].resource_id, 5.0, "EUR"),
        vm,
        row(day(11, 5), "Bandwidth", "", 1.0, "EUR"),
        row(day(11, 6), "Storage", &disks[2].resource_id, 2.0, "USD"),
    ];
    api.store.upsert_costs_daily(&api.scope_a, &rows).await.unwrap();
}

/// (currency, label, total) of every group, in answer order.
fn groups(body: &Value) -> Vec<(String, String, f64)> {
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["currency"].as_str().unwrap().to_owned(),
                g["label"].as_str().unwrap().to_owned(),
                g["total"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn g(currency: &str, label: &str, total: f64) -> (String, String, f64) {
    (currency.to_owned(), label.to_owned(), total)
}

#[tokio::test]
async fn explorer_answers_sqlite() {
    explorer_answers(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn explorer_answers_postgres() {
    explorer_answers(Api::on(Backend::Postgres, &[]).await).await;
}

async fn explorer_answers(api: Api) {
    seed(&api).await;
    let t = token(&tid_a(), &[READER]).await;
    let ask = |query: String| {
        let api = &api;
        let t = &t;
        async move {
            let reply = api.get(&format!("/api/v1/costs/explore?{WINDOW}&{query}"), t).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
            reply.json()
        }
    };

    // By service (the default): one grand total per currency, never added together.
    let body = ask(String::new()).await;
    assert_eq!(
        body["totals"],
        json!([{"currency": "EUR", "amount": 36.0}, {"currency": "USD", "amount": 2.0}])
    );
    assert_eq!(
        groups(&body),
        [
            g("EUR", "Virtual Machines", 20.0),
            g("EUR", "Storage", 15.0),
            g("EUR", "Bandwidth", 1.0),
            g("USD", "Storage", 2.0)
        ]
    );
    assert_eq!(body["periods"].as_array().unwrap().len(), 61);
    assert_eq!(body["group_by"], "service");
    let storage = &body["groups"][1]["series"];
    assert_eq!((storage[9].as_f64(), storage[35].as_f64()), (Some(10.0), Some(5.0)), "Oct 10 and Nov 5");

    // Top-N: the rest of a currency becomes one "other" group.
    let body = ask("top=1".into()).await;
    assert_eq!(
        groups(&body),
        [g("EUR", "Virtual Machines", 20.0), g("EUR", "(other)", 16.0), g("USD", "Storage", 2.0)]
    );
    assert_eq!(body["groups"][1]["other"], true);
    assert_eq!(body["groups"][1]["key"], Value::Null);

    // Months.
    let body = ask("granularity=month&service=Storage".into()).await;
    assert_eq!(body["periods"], json!(["2026-10-01", "2026-11-01"]));
    assert_eq!(body["groups"][0]["series"], json!([10.0, 5.0]));

    // Tags: the allocation tag, its key matched case-insensitively; untagged cost is shown.
    let body = ask("group_by=tag:cost-center".into()).await;
    assert_eq!(
        groups(&body),
        [
            g("EUR", "(untagged)", 21.0),
            g("EUR", "cc-1", 10.0),
            g("EUR", "cc-2", 5.0),
            g("USD", "(untagged)", 2.0)
        ]
    );
    let body = ask("group_by=subscription&tag:Cost-Center=cc-1".into()).await;
    assert_eq!(groups(&body), [g("EUR", &subscription(1), 10.0)]);

    // Filters: values of one dimension are ORed, dimensions ANDed.
    let body = ask(format!(
        "group_by=resource_type&service=Storage&service=Bandwidth&subscription={}",
        subscription(1).to_uppercase()
    ))
    .await;
    assert_eq!(
        groups(&body),
        [
            g("EUR", "microsoft.compute/disks", 15.0),
            g("EUR", "(none)", 1.0),
            g("USD", "microsoft.compute/disks", 2.0)
        ]
    );
    let body = ask("group_by=location&meter_category=Storage&resource_group=RG-APP".into()).await;
    assert_eq!(groups(&body), [g("EUR", "westeurope", 15.0), g("USD", "westeurope", 2.0)]);

    // Amortized.
    let body = ask("metric=amortized&service=Virtual%20Machines".into()).await;
    assert_eq!(groups(&body), [g("EUR", "Virtual Machines", 15.0)]);

    // The summary keeps its fields, reports the largest currency at the top and each apart.
    let summary = api.get("/api/v1/costs/summary?days=61&to=2026-11-30", &t).await.json();
    assert_eq!(summary["currency"], "EUR", "{summary}");
    assert_eq!(summary["total_cost"], 36.0);
    assert_eq!(summary["total_amortized_cost"], 31.0);
    assert_eq!(
        summary["by_currency"],
        json!({
            "EUR": {"total_cost": 36.0, "total_amortized_cost": 31.0},
            "USD": {"total_cost": 2.0, "total_amortized_cost": 2.0}
        })
    );
    assert_eq!(summary["daily"].as_array().unwrap().len(), 61);
    assert_eq!(summary["by_service"][0]["service_name"], "Virtual Machines");

    // Tenant B sees none of it.
    let b = token(&tid_b(), &[READER]).await;
    let theirs =
        api.get(&format!("/api/v1/costs/explore?{WINDOW}&group_by=tag:cost-center"), &b).await.json();
    assert_eq!(theirs["totals"], json!([]));
    assert_eq!(theirs["groups"], json!([]));
    let csv = api.get(&format!("/api/v1/costs/explore/export.csv?{WINDOW}"), &b).await.text;
    assert_eq!(csv.lines().count(), 1, "{csv}");
    api.finish().await;
}

#[tokio::test]
async fn explorer_csv_is_the_view_with_safe_cells() {
    let api = Api::new().await;
    seed(&api).await;
    let hostile = CostDailyRow { service_name: "=HYPERLINK(\"x\")".into(), ..cost_row(1, day(11, 7), 0.125) };
    api.store.upsert_costs_daily(&api.scope_a, &[hostile]).await.unwrap();
    let t = token(&tid_a(), &[READER]).await;
    let reply =
        api.get(&format!("/api/v1/costs/explore/export.csv?{WINDOW}&granularity=month&top=2"), &t).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = reply.text.lines().collect();
    assert_eq!(lines[0], "period,group,label,currency,amount");
    assert!(lines.contains(&"2026-11-01,Virtual Machines,Virtual Machines,EUR,20"), "{lines:?}");
    assert!(lines.contains(&"2026-10-01,,(other),EUR,0"), "{lines:?}");
    assert!(
        lines.contains(&"2026-11-01,,(other),EUR,1.13"),
        "Bandwidth and the 0.125 row, rounded: {lines:?}"
    );
    // (2 EUR groups + other) x 2 months + 1 USD group x 2 months.
    assert_eq!(lines.len(), 1 + 8, "{lines:?}");
    let reply = api.get(&format!("/api/v1/costs/explore/export.csv?{WINDOW}&top=50"), &t).await;
    assert!(reply.text.contains("'=HYPERLINK"), "{}", reply.text);
    assert!(!reply.text.contains(",=HYPERLINK"), "{}", reply.text);

    // The row cap of every export applies.
    let capped = Api::with(&[("AZCOPS_API_EXPORT_MAX_ROWS", "10")]).await;
    seed(&capped).await;
    let reply = capped.get(&format!("/api/v1/costs/explore/export.csv?{WINDOW}"), &t).await;
    assert_eq!(error_field(&reply, StatusCode::PAYLOAD_TOO_LARGE), None);
    assert_eq!(reply.json()["error"]["code"], "export_too_large");
}

#[tokio::test]
async fn explorer_refuses_questions_it_cannot_answer() {
    let api = Api::new().await;
    let t = token(&tid_a(), &[READER]).await;
    let status = |query: &str| {
        let api = &api;
        let t = &t;
        let query = query.to_owned();
        async move { api.get(&format!("/api/v1/costs/explore?{query}"), t).await }
    };
    for (query, code) in [
        ("group_by=region", StatusCode::BAD_REQUEST),
        ("colour=red", StatusCode::BAD_REQUEST),
        ("group_by=tag:", StatusCode::BAD_REQUEST),
        ("from=2025-10-01&to=2026-11-05", StatusCode::BAD_REQUEST),
        ("top=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("top=51", StatusCode::UNPROCESSABLE_ENTITY),
        ("granularity=week", StatusCode::UNPROCESSABLE_ENTITY),
        ("metric=list", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=2026-11-02&to=2026-11-01", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=1800-01-01", StatusCode::UNPROCESSABLE_ENTITY),
        ("top=3&top=4", StatusCode::BAD_REQUEST),
        ("group_by=tag:owner", StatusCode::UNPROCESSABLE_ENTITY),
        ("group_by=tag:cost-center&location=westeurope", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let reply = status(query).await;
        error_field(&reply, code);
        assert!(reply.json()["error"]["message"].as_str().unwrap().len() > 10, "{query}: {}", reply.text);
    }
    // 13 months are the longest window: 400 days pass, 401 do not.
    let reply = status("from=2025-10-01&to=2026-11-05").await;
    assert!(reply.text.contains("is 401 days; at most 400 days"), "{}", reply.text);
    assert_eq!(status("from=2025-10-01&to=2026-11-04").await.status, StatusCode::OK);
    // At most 100 filter values.
    let many = |n: usize| (0..n).map(|i| format!("service=s{i}")).collect::<Vec<_>>().join("&");
    assert_eq!(status(&many(100)).await.status, StatusCode::OK);
    let reply = status(&many(101)).await;
    error_field(&reply, StatusCode::BAD_REQUEST);
    assert!(reply.text.contains("at most 100 filter values"), "{}", reply.text);
    // Reader or more, like every data route.
    assert_eq!(
        api.call(axum::http::Method::GET, "/api/v1/costs/explore", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}
