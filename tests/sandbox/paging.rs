//! Paging of every paged API, followed to the end.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{self, client, start};

#[tokio::test]
async fn resource_graph_pages_over_a_thousand_rows_with_skip_tokens() {
    let sb = start("tenants=1,subscriptions=1,resources=1234,days=2", |_| {}).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let mut request = json!({ "subscriptions": [sub], "query": support::INVENTORY, "options": { "$top": 1000, "resultFormat": "objectArray" } });
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    loop {
        let body: Value = support::graph(&sb, &token, &request).await.json().await.unwrap();
        assert_eq!(body["totalRecords"], 1234);
        assert_eq!(body["resultTruncated"], "false");
        pages.push(body["count"].as_u64().unwrap());
        ids.extend(body["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match body.get("$skipToken").and_then(Value::as_str) {
            Some(t) => request["options"]["$skipToken"] = json!(t),
            None => break,
        }
    }
    assert_eq!(pages, [1000, 234]);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "order by id asc holds across pages");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 1234);
    // Without the id column there is no continuation: one page, resultTruncated "true".
    let no_id =
        json!({ "subscriptions": [sub], "query": "Resources | project name", "options": { "$top": 1000 } });
    let body: Value = support::graph(&sb, &token, &no_id).await.json().await.unwrap();
    assert_eq!((body["count"].as_u64(), body["resultTruncated"].as_str()), (Some(1000), Some("true")));
    assert!(body.get("$skipToken").is_none());
}

#[tokio::test]
async fn cost_management_pages_by_posting_the_same_body_to_next_link() {
    let sb = start("tenants=1,subscriptions=1,resources=40,days=10", |o| o.pages.cost = 50).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    let body = support::cost_body("ActualCost", "2026-11-15", "2026-11-24", &["ResourceId"]);
    let mut url = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.CostManagement/query?api-version=2025-03-01",
        sb.base_url()
    );
    let (mut rows, mut pages, mut total) = (0, 0, 0.0);
    loop {
        let page: Value =
            client().post(&url).bearer_auth(&token).json(&body).send().await.unwrap().json().await.unwrap();
        let page_rows = page["properties"]["rows"].as_array().unwrap();
        rows += page_rows.len();
        total += page_rows.iter().map(|r| r[0].as_f64().unwrap()).sum::<f64>();
        pages += 1;
        match page["properties"]["nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert!(pages > 2, "{pages}");
    let all: Value = client()
        .post(format!("{}/subscriptions/{sub}/providers/Microsoft.CostManagement/query?api-version=2025-03-01&$top=5000", sb.base_url()))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["properties"]["rows"].as_array().unwrap().len(), rows);
    assert!(all["properties"]["nextLink"].is_null());
    let all_total: f64 =
        all["properties"]["rows"].as_array().unwrap().iter().map(|r| r[0].as_f64().unwrap()).sum();
    assert!((all_total - total).abs() < 1e-6);
    // A bodyless POST to a nextLink is refused, as the real API does.
    let bodyless = client().post(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(bodyless.status(), 400);
}

async fn follow_get(
    sb: &azcops::sandbox::RunningSandbox,
    token: &str,
    first: String,
    items: &str,
    next: &str,
) -> (usize, usize) {
    let (mut url, mut count, mut pages) = (first, 0, 0);
    loop {
        let page: Value = client().get(&url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        count += page[items].as_array().unwrap().len();
        pages += 1;
        match page.get(next).and_then(Value::as_str) {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    let _ = sb;
    (count, pages)
}

#[tokio::test]
async fn advisor_retail_and_subscriptions_follow_their_links() {
    let sb = start("demo", |o| {
        o.pages.advisor = 3;
        o.pages.retail = 25;
        o.pages.subscriptions = 2;
    })
    .await;
    let token = sb.managed_identity_token();
    let sub = &sb.estate().subscriptions[0].id;
    let base = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01&$filter=Category%20eq%20%27Cost%27",
        sb.base_url()
    );
    let (paged, pages) = follow_get(&sb, &token, base.clone(), "value", "nextLink").await;
    let (whole, one) = follow_get(&sb, &token, format!("{base}&$top=1000"), "value", "nextLink").await;
    assert_eq!((paged, one), (whole, 1));
    assert!(pages > 1 && paged > 3, "{paged} in {pages}");

    let retail = format!(
        "{}/api/retail/prices?api-version=2023-01-01-preview&$filter=armRegionName%20eq%20%27westeurope%27",
        sb.base_url()
    );
    let (items, pages) = follow_get(&sb, &token, retail, "Items", "NextPageLink").await;
    let expected =
        azcops::sandbox::retail::items().iter().filter(|i| i["armRegionName"] == "westeurope").count();
    assert_eq!(items, expected);
    assert_eq!(pages, expected.div_ceil(25));

    let (subs, pages) = follow_get(
        &sb,
        &token,
        format!("{}/subscriptions?api-version=2022-12-01", sb.base_url()),
        "value",
        "nextLink",
    )
    .await;
    let visible = sb.estate().subscriptions.iter().filter(|s| s.delegated).count();
    assert_eq!((subs, pages), (visible, visible.div_ceil(2)));
}
