//! The MSP model: the managing tenant's token reads a delegated customer subscription.

use azcops::azure::connectors::{advisor, subscriptions};
use azcops::azure::{AzureError, CallContext};
use serde_json::json;

use crate::fake::{Fake, Reply};

const HOME: &str = "aaaaaaaa-0000-0000-0000-000000000000";
const CUSTOMER: &str = "cccccccc-0000-0000-0000-000000000000";
const OWN_SUB: &str = "10000000-0000-0000-0000-000000000001";
const DELEGATED_SUB: &str = "20000000-0000-0000-0000-000000000002";
const OTHER_SUB: &str = "30000000-0000-0000-0000-000000000003";

#[tokio::test]
async fn delegated_subscription_is_read_with_the_managing_token() {
    let fake = Fake::start(|seen, _| {
        if seen.header("authorization").as_deref() != Some("Bearer test-token") {
            return Reply::json(401, json!({"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}}));
        }
        if seen.path == "/subscriptions" {
            return Reply::json(200, json!({"value": [
                {"id": format!("/subscriptions/{OWN_SUB}"), "subscriptionId": OWN_SUB, "tenantId": HOME, "displayName": "Platform", "state": "Enabled", "managedByTenants": []},
                {"id": format!("/subscriptions/{DELEGATED_SUB}"), "subscriptionId": DELEGATED_SUB, "tenantId": CUSTOMER, "displayName": "Customer Prod", "state": "Enabled",
                 "managedByTenants": [{"tenantId": HOME}]}
            ]}));
        }
        if seen.path.starts_with(&format!("/subscriptions/{OTHER_SUB}/")) {
            return Reply::json(403, json!({"error": {"code": "AuthorizationFailed", "message": "not delegated"}}));
        }
        Reply::json(200, json!({"value": []}))
    })
    .await;
    let client = fake.client();
    let subs = subscriptions::list_subscriptions(&client, &CallContext::new(HOME, "")).await.unwrap();
    assert_eq!(subs.len(), 2);
    let delegated: Vec<_> = subs.iter().filter(|s| s.is_delegated_to(HOME)).collect();
    assert_eq!(delegated.len(), 1);
    assert_eq!(delegated[0].subscription_id, DELEGATED_SUB);
    assert_eq!(delegated[0].tenant_id, CUSTOMER);

    let ctx = delegated[0].context();
    assert_eq!(ctx.tenant_id, CUSTOMER, "logged under the customer tenant");
    advisor::fetch_recommendations(&client, &ctx, DELEGATED_SUB).await.unwrap();
    let last = fake.requests().pop().unwrap();
    assert!(last.path.starts_with(&format!("/subscriptions/{DELEGATED_SUB}/providers/Microsoft.Advisor")));

    let err = advisor::fetch_recommendations(&client, &CallContext::new(CUSTOMER, OTHER_SUB), OTHER_SUB)
        .await
        .unwrap_err();
    assert!(matches!(&err, AzureError::Forbidden { subscription } if subscription == OTHER_SUB), "{err:?}");
}
