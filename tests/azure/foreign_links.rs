//! Paging links are followed only to the origin that served the first page: a response naming
//! another host (or the same host under another scheme, name or port) fails the fetch, and that
//! host never sees a request, so the ARM token cannot be sent where a response points.

use azcops::azure::client::ApiRequest;
use azcops::azure::connectors::cost_management::{self, CostScope};
use azcops::azure::connectors::retail_prices::{PriceQuery, RetailPriceCache};
use azcops::azure::connectors::{advisor, subscriptions};
use azcops::azure::{Api, AzureError, CallContext};
use serde_json::json;

use crate::fake::{Fake, Reply};

const SUB: &str = "11111111-1111-1111-1111-111111111111";

/// A server that must never be called; it answers an empty last page if it is.
async fn rogue() -> Fake {
    Fake::start(|_, _| Reply::json(200, json!({"value": [], "nextLink": null}))).await
}

fn assert_foreign(err: &AzureError, api: Api, link: &str, first: &str) {
    match err {
        AzureError::ForeignPageLink { api: got, link_origin, first_origin } => {
            assert_eq!(*got, api);
            assert_eq!(link_origin, link);
            assert_eq!(first_origin, first);
            let message = err.to_string();
            assert!(message.contains("not followed") && message.contains(link), "{message}");
        }
        other => panic!("expected ForeignPageLink, got {other:?}"),
    }
}

#[tokio::test]
async fn advisor_next_link_to_another_host_is_refused_before_any_request() {
    let rogue = rogue().await;
    let next = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.Advisor/recommendations?$skiptoken=x",
        rogue.base
    );
    let home = Fake::start(move |_, _| Reply::json(200, json!({"value": [], "nextLink": next}))).await;
    let err =
        advisor::fetch_recommendations(&home.client(), &CallContext::new("t", SUB), SUB).await.unwrap_err();
    assert_foreign(&err, Api::Advisor, &rogue.base, &home.base);
    assert_eq!(home.requests().len(), 1, "only the first page was fetched");
    assert!(rogue.requests().is_empty(), "the foreign host never received the token");
}

#[tokio::test]
async fn cost_management_next_link_to_another_host_is_refused() {
    let rogue = rogue().await;
    let next = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.CostManagement/query?$skiptoken=AQAA",
        rogue.base
    );
    let home = Fake::start(move |_, _| {
        Reply::json(
            200,
            json!({"id": "x", "name": "x", "type": "microsoft.costmanagement/Query", "properties": {
                "nextLink": next, "rows": [],
                "columns": [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"}, {"name": "Currency", "type": "String"}]}}),
        )
    })
    .await;
    let err = cost_management::query_all(
        &home.client(),
        &CallContext::new("t", SUB),
        &CostScope::Subscription(SUB.into()),
        &json!({"type": "ActualCost"}),
        1,
    )
    .await
    .unwrap_err();
    assert_foreign(&err, Api::CostManagement, &rogue.base, &home.base);
    assert_eq!(home.requests().len(), 1);
    assert!(rogue.requests().is_empty());
}

#[tokio::test]
async fn subscription_listing_refuses_the_same_machine_under_another_name() {
    let home = Fake::start(|seen, _| {
        // The same server, spelled `localhost` instead of 127.0.0.1: another origin all the same.
        let port = seen.header("host").unwrap().rsplit(':').next().unwrap().to_owned();
        let next = format!("http://localhost:{port}/subscriptions?api-version=2022-12-01&$skiptoken=2");
        Reply::json(200, json!({"value": [], "nextLink": next}))
    })
    .await;
    let err =
        subscriptions::list_subscriptions(&home.client(), &CallContext::new("t", "")).await.unwrap_err();
    let port = home.base.rsplit(':').next().unwrap();
    assert_foreign(&err, Api::Subscriptions, &format!("http://localhost:{port}"), &home.base);
    assert_eq!(home.requests().len(), 1, "the link was not followed");
}

#[tokio::test]
async fn retail_prices_next_page_link_to_another_host_is_refused() {
    let rogue = rogue().await;
    let next = format!("{}/api/retail/prices?$skip=1000", rogue.base);
    let home = Fake::start(move |_, _| {
        Reply::json(200, json!({"BillingCurrency": "USD", "Items": [], "NextPageLink": next, "Count": 0}))
    })
    .await;
    let query = PriceQuery { service_name: Some("Virtual Machines".into()), ..Default::default() };
    let err =
        RetailPriceCache::new().lookup(&home.client(), &CallContext::new("t", ""), &query).await.unwrap_err();
    assert_foreign(&err, Api::RetailPrices, &rogue.base, &home.base);
    assert!(rogue.requests().is_empty());
}

#[tokio::test]
async fn the_client_sends_the_arm_token_only_to_the_arm_endpoint() {
    let rogue = rogue().await;
    let home = Fake::start(|_, _| Reply::json(200, json!({}))).await;
    let url = url::Url::parse(&format!("{}/subscriptions/{SUB}", rogue.base)).unwrap();
    let err = home
        .client()
        .send(&CallContext::new("t", SUB), &ApiRequest::get(Api::Advisor, url))
        .await
        .unwrap_err();
    assert!(matches!(&err, AzureError::InvalidRequest(m) if m.contains("AZCOPS_ARM_ENDPOINT")), "{err:?}");
    assert!(rogue.requests().is_empty());
    assert!(home.requests().is_empty());
}
