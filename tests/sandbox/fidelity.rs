//! Fidelity: each API's sandbox response has the shape of the real example in
//! `../shared/fixtures/azure/`, and both deserialize into the same typed response.

use serde_json::{Value, json};

use crate::shape::{Rules, compare};
use crate::support::{self, client, example_body, fixture, start};
use crate::wire::*;

fn assert_shape(what: &str, actual: &Value, expected: &Value, rules: &Rules<'_>) {
    let errors = compare(actual, expected, rules);
    assert!(errors.is_empty(), "{what}: {errors:#?}\nsandbox: {actual:#}");
}

#[tokio::test]
async fn subscriptions_match_the_arm_example() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let body: Value =
        support::get(&sb, &token, "/subscriptions?api-version=2022-12-01").await.json().await.unwrap();
    let example = example_body("arm-subscriptions-2022-12-01-GetSubscriptions.json");
    assert_shape("subscriptions", &body, &example, &Rules { maps: &["value[].tags"], ..Rules::default() });
    let ours: SubscriptionList = serde_json::from_value(body).unwrap();
    let theirs: SubscriptionList = serde_json::from_value(example).unwrap();
    assert_eq!(theirs.value.len(), 2);
    assert!(ours.value.iter().any(|s| !s.managed_by_tenants.is_empty()));
}

#[tokio::test]
async fn resource_graph_matches_the_first_page_example() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let example = fixture("resourcegraph-2024-04-01-ResourcesFirstPageQuery.json");
    let mut request = example["parameters"]["query"].clone();
    request["subscriptions"] = json!([sb.estate().subscriptions[0].id]);
    request["query"] = json!("Resources | project id, name, type, location | order by id asc");
    let body: Value = support::graph(&sb, &token, &request).await.json().await.unwrap();
    let expected = &example["responses"]["200"]["body"];
    assert_shape("resource graph", &body, expected, &Rules::default());
    let ours: GraphResponse = serde_json::from_value(body).unwrap();
    let theirs: GraphResponse = serde_json::from_value(expected.clone()).unwrap();
    assert_eq!((ours.count, ours.data.len()), (3, 3));
    assert!(ours.skip_token.is_some() && theirs.skip_token.is_some());
    assert_eq!(ours.result_truncated, "false");
    // The full inventory rows carry ARM's top-level resource keys.
    let full = json!({ "subscriptions": [sb.estate().subscriptions[0].id], "query": support::INVENTORY, "options": { "$top": 5, "resultFormat": "objectArray" } });
    let body: Value = support::graph(&sb, &token, &full).await.json().await.unwrap();
    let basic = example_body("resourcegraph-2024-04-01-ResourcesBasicQuery.json");
    let rules = Rules {
        extra: &[
            "$skipToken",
            "data[].kind",
            "data[].resourceGroup",
            "data[].subscriptionId",
            "data[].tenantId",
            "data[].sku",
            "data[].tags",
            "data[].properties",
            "data[].managedBy",
            "data[].zones",
            "data[].identity",
            "data[].plan",
        ],
        maps: &["data[].tags"],
        ..Rules::default()
    };
    assert_shape("inventory", &body, &basic, &rules);
}

fn check_cells(response: &CostResponse) {
    for row in &response.properties.rows {
        assert_eq!(row.len(), response.properties.columns.len());
        for (cell, column) in row.iter().zip(&response.properties.columns) {
            match column.kind.as_str() {
                "Number" => assert!(cell.is_number(), "{cell} in {}", column.name),
                _ => assert!(cell.is_string(), "{cell} in {}", column.name),
            }
        }
    }
}

#[tokio::test]
async fn cost_management_matches_the_query_examples() {
    let sb = start("demo", |o| o.pages.cost = 3).await;
    let token = sb.managed_identity_token();
    let sub = sb.estate().subscriptions[0].id.clone();
    for name in [
        "costmanagement-2025-03-01-SubscriptionQueryGrouping.json",
        "costmanagement-2025-03-01-MCABillingAccountQueryGrouping.json",
    ] {
        let example = fixture(name);
        let request = example["parameters"]["parameters"].clone();
        let body: Value = support::cost(&sb, &token, &sub, &request).await.json().await.unwrap();
        let expected = &example["responses"]["200"]["body"];
        assert_shape(name, &body, expected, &Rules { skip: &["properties.rows"], ..Rules::default() });
        let ours: CostResponse = serde_json::from_value(body).unwrap();
        let theirs: CostResponse = serde_json::from_value(expected.clone()).unwrap();
        check_cells(&ours);
        check_cells(&theirs);
        let names =
            |r: &CostResponse| r.properties.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs));
        assert!(ours.properties.next_link.is_some(), "3-row pages must link on");
    }
    let daily =
        support::cost_body("ActualCost", "2026-11-01", "2026-11-03", &["ResourceGroupName", "ServiceName"]);
    let body: CostResponse = support::cost(&sb, &token, &sub, &daily).await.json().await.unwrap();
    let names: Vec<_> = body.properties.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Cost", "ResourceGroupName", "ServiceName", "UsageDate", "Currency"]);
    check_cells(&body);
    assert!(body.properties.rows.iter().all(|r| (20261101..=20261103).contains(&r[3].as_u64().unwrap())));
}

#[tokio::test]
async fn advisor_matches_the_list_example() {
    let sb = start("demo", |o| o.pages.advisor = 2).await;
    let token = sb.managed_identity_token();
    let sub = &sb.estate().subscriptions[1].id;
    let path = format!(
        "/subscriptions/{sub}/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01&$filter=Category%20eq%20%27Cost%27"
    );
    let body: Value = support::get(&sb, &token, &path).await.json().await.unwrap();
    let example = example_body("advisor-2023-01-01-ListRecommendations.json");
    let rules = Rules {
        extra: &["value[].properties.extendedProperties", "value[].properties.recommendationTypeId"],
        ..Rules::default()
    };
    assert_shape("advisor", &body, &example, &rules);
    let ours: AdvisorList = serde_json::from_value(body).unwrap();
    let _theirs: AdvisorList = serde_json::from_value(example).unwrap();
    assert!(ours.next_link.is_some());
    assert!(ours.value.iter().all(|r| r.properties.category == "Cost"));
}

#[tokio::test]
async fn metrics_match_the_monitor_example() {
    let sb = start("demo", |_| {}).await;
    let token = sb.managed_identity_token();
    let vm = sb
        .estate()
        .resources
        .iter()
        .find(|r| r.plant == azcops::sandbox::estate::Plant::Finding("rightsizing.underutilised_vm"))
        .unwrap();
    let path = format!(
        "{}/providers/microsoft.insights/metrics?api-version=2023-10-01&metricnames=Percentage%20CPU,Available%20Memory%20Bytes&timespan=2026-11-10T00:00:00Z/2026-11-24T00:00:00Z&interval=PT1H&aggregation=average,maximum,minimum",
        vm.id
    );
    let body: Value = support::get(&sb, &token, &path).await.json().await.unwrap();
    let example = example_body("monitor-2023-10-01-GetMetric.json");
    assert_shape("metrics", &body, &example, &Rules::default());
    let ours: MetricsResponse = serde_json::from_value(body.clone()).unwrap();
    let theirs: MetricsResponse = serde_json::from_value(example).unwrap();
    assert_eq!((ours.interval.as_str(), theirs.interval.as_str()), ("PT1H", "PT1H"));
    assert_eq!(ours.value[0].name.value, "Percentage CPU");
    assert!(ours.value[0].timeseries[0].data.iter().all(|p| p.average.is_none() || p.maximum >= p.average));
    let cpu = &body["value"][0]["timeseries"][0]["data"];
    assert_eq!(cpu.as_array().unwrap().len(), 14 * 24);
    assert_eq!(body["value"][1]["unit"], "Bytes");
}

#[tokio::test]
async fn retail_items_match_the_docs_examples() {
    let sb = start("tenants=1,subscriptions=1,resources=5,days=3", |_| {}).await;
    let url = format!(
        "{}/api/retail/prices?api-version=2023-01-01-preview&$filter=serviceName%20eq%20%27Virtual%20Machines%27%20and%20armRegionName%20eq%20%27eastus%27%20and%20armSkuName%20eq%20%27Standard_D4s_v5%27",
        sb.base_url()
    );
    let page: Value = client().get(url).send().await.unwrap().json().await.unwrap();
    let keys: Vec<&str> = page.as_object().unwrap().keys().map(String::as_str).collect();
    for key in ["BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items", "NextPageLink", "Count"]
    {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let items = page["Items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "consumption + two reservation terms");
    let reservation = fixture("retailprices-docs-2021-09-27-sample-item-reservation.json");
    let consumption = fixture("retailprices-docs-2021-09-27-sample-item-eur.json");
    for item in items {
        let example = if item["type"] == "Reservation" { &reservation } else { &consumption };
        assert_shape("retail item", item, example, &Rules { extra: &["savingsPlan"], ..Rules::default() });
        let ours: RetailItem = serde_json::from_value(item.clone()).unwrap();
        let theirs: RetailItem = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(ours.reservation_term.is_some(), theirs.reservation_term.is_some());
    }
}

#[tokio::test]
async fn token_endpoints_match_the_docs_examples() {
    let sb = start("demo", |_| {}).await;
    let exports: std::collections::HashMap<_, _> = sb.exports().into_iter().collect();
    let msi: Value = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://management.azure.com/",
            exports["IDENTITY_ENDPOINT"]
        ))
        .header("X-IDENTITY-HEADER", &exports["IDENTITY_HEADER"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape(
        "msi",
        &msi,
        &fixture("token-appservice-2019-08-01-docs-sample-response.json"),
        &Rules::default(),
    );
    let ours: ManagedIdentityToken = serde_json::from_value(msi).unwrap();
    let _theirs: ManagedIdentityToken =
        serde_json::from_value(fixture("token-appservice-2019-08-01-docs-sample-response.json")).unwrap();
    assert!(ours.expires_on.parse::<i64>().is_ok());
    let (client_id, secret) = sb.app_credential(1).unwrap();
    let tenant = &sb.estate().tenants[1].id;
    let url = format!("{}/{tenant}/oauth2/v2.0/token", sb.base_url());
    let form = |secret: &str| {
        format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
        )
    };
    let send = |body: String| {
        client()
            .post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let ok: Value = send(form(&urlencode(secret.expose()))).await.unwrap().json().await.unwrap();
    assert_shape(
        "entra",
        &ok,
        &fixture("token-entra-v2-docs-client-credentials-success.json"),
        &Rules { extra: &["ext_expires_in"], ..Rules::default() },
    );
    let ours: EntraToken = serde_json::from_value(ok).unwrap();
    let _theirs: EntraToken =
        serde_json::from_value(fixture("token-entra-v2-docs-client-credentials-success.json")).unwrap();
    assert_eq!(ours.token_type, "Bearer");
    let response = send(form("wrong")).await.unwrap();
    assert_eq!(response.status(), 401);
    let err: Value = response.json().await.unwrap();
    assert_shape(
        "entra error",
        &err,
        &fixture("token-entra-v2-docs-client-credentials-error.json"),
        &Rules::default(),
    );
    let ours: EntraError = serde_json::from_value(err).unwrap();
    let _theirs: EntraError =
        serde_json::from_value(fixture("token-entra-v2-docs-client-credentials-error.json")).unwrap();
    assert_eq!((ours.error.as_str(), ours.error_codes.as_slice()), ("invalid_client", &[7_000_215][..]));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
