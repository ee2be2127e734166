//! `GET /subscriptions`: the subscriptions the identity can read, including Azure Lighthouse
//! delegations (listed with the customer's `tenantId` and the managing tenant in
//! `managedByTenants`).

use serde::{Deserialize, Serialize};

use crate::azure::client::ApiRequest;
use crate::azure::connectors::SUBSCRIPTIONS_API_VERSION;
use crate::azure::paging::PageGuard;
use crate::azure::{Api, ArmClient, AzureError, CallContext};

/// Wire: one page of `GET /subscriptions`.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionListResponse {
    /// The subscriptions on this page.
    #[serde(default)]
    pub value: Vec<SubscriptionWire>,
    /// Absolute URL of the next page.
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
}

/// Wire: one subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionWire {
    /// `/subscriptions/{guid}`.
    pub id: Option<String>,
    /// The GUID.
    pub subscription_id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// The tenant that owns the subscription.
    pub tenant_id: Option<String>,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    pub state: Option<String>,
    /// Tenants managing it through Lighthouse.
    #[serde(default)]
    pub managed_by_tenants: Option<Vec<ManagedByTenant>>,
}

/// Wire: `{ "tenantId": guid }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedByTenant {
    /// The managing tenant.
    pub tenant_id: Option<String>,
}

/// A subscription the identity can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    /// Subscription GUID, lower-cased.
    pub subscription_id: String,
    /// Display name.
    pub display_name: String,
    /// Owning tenant, lower-cased.
    pub tenant_id: String,
    /// Subscription state.
    pub state: String,
    /// Managing tenants (Lighthouse), lower-cased.
    pub managed_by_tenants: Vec<String>,
}

impl SubscriptionInfo {
    /// True when `home_tenant` reads this subscription through a Lighthouse delegation.
    pub fn is_delegated_to(&self, home_tenant: &str) -> bool {
        !self.tenant_id.eq_ignore_ascii_case(home_tenant)
            && self.managed_by_tenants.iter().any(|t| t.eq_ignore_ascii_case(home_tenant))
    }

    /// The call context for reading this subscription: logged under its owning tenant.
    pub fn context(&self) -> CallContext {
        CallContext::new(self.tenant_id.clone(), self.subscription_id.clone())
    }
}

/// Maps the wire shape; `None` when the entry has no subscription id at all.
pub fn map_subscription(w: &SubscriptionWire) -> Option<SubscriptionInfo> {
    let id = w
        .subscription_id
        .clone()
        .or_else(|| w.id.as_deref().map(crate::azure::connectors::subscription_of))
        .filter(|s| !s.is_empty())?;
    Some(SubscriptionInfo {
        subscription_id: id.to_ascii_lowercase(),
        display_name: w.display_name.clone().unwrap_or_default(),
        tenant_id: w.tenant_id.clone().unwrap_or_default().to_ascii_lowercase(),
        state: w.state.clone().unwrap_or_default(),
        managed_by_tenants: w
            .managed_by_tenants
            .iter()
            .flatten()
            .filter_map(|t| t.tenant_id.as_deref().map(str::to_ascii_lowercase))
            .collect(),
    })
}

/// Lists every subscription visible to the identity (all pages).
///
/// # Errors
/// Any [`AzureError`] of the calls; `PagingLoop` when `nextLink` repeats.
pub async fn list_subscriptions(
    client: &ArmClient,
    ctx: &CallContext,
) -> Result<Vec<SubscriptionInfo>, AzureError> {
    let mut url = client.arm_url("/subscriptions", &[("api-version", SUBSCRIPTIONS_API_VERSION)])?;
    let mut guard = PageGuard::new(Api::Subscriptions, client.config().page_cap);
    let mut out = Vec::new();
    loop {
        let page: SubscriptionListResponse =
            client.send_json(ctx, &ApiRequest::get(Api::Subscriptions, url.clone())).await?;
        guard.page_received()?;
        out.extend(page.value.iter().filter_map(map_subscription));
        match guard.next_url(&url, page.next_link.as_deref())? {
            Some(next) => url = next,
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lighthouse_delegation_is_recognised() {
        let w: SubscriptionWire = serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/AAAA", "subscriptionId": "AAAA", "displayName": "Customer",
            "tenantId": "CUST", "state": "Enabled", "managedByTenants": [{"tenantId": "HOME"}]
        }))
        .unwrap();
        let s = map_subscription(&w).unwrap();
        assert_eq!(s.subscription_id, "aaaa");
        assert!(s.is_delegated_to("home"));
        assert!(!s.is_delegated_to("cust"), "the owner's own view is not a delegation");
        let own: SubscriptionWire =
            serde_json::from_value(serde_json::json!({"id": "/subscriptions/BBBB"})).unwrap();
        let own = map_subscription(&own).unwrap();
        assert_eq!(own.subscription_id, "bbbb");
        assert!(own.managed_by_tenants.is_empty());
    }
}
