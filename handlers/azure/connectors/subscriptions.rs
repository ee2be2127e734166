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

/// Reads one subscription (`GET /subscriptions/{id}`) as the platform identity sees it.
///
/// # Errors
/// Any [`AzureError`] of the call.
pub async fn get_subscription(
    client: &ArmClient,
    ctx: &CallContext,
    subscription_id: &str,
) -> Result<SubscriptionInfo, AzureError> {
    let path = format!("/subscriptions/{}", crate::azure::client::encode_query_part(subscription_id));
    let url = client.arm_url(&path, &[("api-version", SUBSCRIPTIONS_API_VERSION)])?;
    let wire: SubscriptionWire = client.send_json(ctx, &ApiRequest::get(Api::Subscriptions, url)).await?;
    map_subscription(&wire).ok_or_else(|| AzureError::Decode {
        api: Api::Subscriptions,
        path: "subscriptionId".into(),
        message: "the subscription has no id".into(),
    })
}

/// Why a subscription cannot be taken into a tenant's scope.
#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    /// ARM does not show the subscription in the tenant's directory: it does not exist, the
    /// platform cannot read it, or it belongs to another tenant. One variant for all three so
    /// callers cannot become an oracle of which subscriptions the platform identity sees.
    #[error("subscription {subscription_id} is not a subscription of Azure tenant {azure_tenant_id}")]
    NotOwned {
        /// The subscription asked about.
        subscription_id: String,
        /// The tenant it was expected in.
        azure_tenant_id: String,
    },
    /// ARM could not answer, so ownership is unknown (never treated as owned).
    #[error("cannot verify the subscription's tenant with Azure Resource Manager: {0}")]
    Unavailable(String),
}

/// Confirms with ARM that `subscription_id` belongs to `azure_tenant_id` before the platform
/// identity, which sees every delegated customer, acts on it for that tenant.
///
/// # Errors
/// [`OwnershipError::NotOwned`] when ARM answers with another tenant, 404, 403 or a 401
/// `InvalidAuthenticationTokenTenant`; [`OwnershipError::Unavailable`] when ARM cannot answer.
pub async fn verify_owner(
    client: &ArmClient,
    azure_tenant_id: &str,
    subscription_id: &str,
) -> Result<SubscriptionInfo, OwnershipError> {
    let not_owned = || OwnershipError::NotOwned {
        subscription_id: subscription_id.to_ascii_lowercase(),
        azure_tenant_id: azure_tenant_id.to_ascii_lowercase(),
    };
    let ctx = CallContext::new(azure_tenant_id, subscription_id);
    match get_subscription(client, &ctx, subscription_id).await {
        Ok(info) if info.tenant_id.eq_ignore_ascii_case(azure_tenant_id) => Ok(info),
        Ok(_) => Err(not_owned()),
        Err(error) if denies_ownership(&error) => Err(not_owned()),
        Err(error) => Err(OwnershipError::Unavailable(error.to_string())),
    }
}

/// ARM answers that say "not this caller's subscription" rather than "ARM is unwell".
fn denies_ownership(error: &AzureError) -> bool {
    match error {
        AzureError::Forbidden { .. } => true,
        AzureError::Http { status, .. } => matches!(status, 400 | 404),
        // A subscription of a directory the token was not issued for; any other 401 means the
        // platform's own credential failed, which says nothing about the subscription.
        AzureError::Auth(message) => message.starts_with("InvalidAuthenticationTokenTenant"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_about_the_subscription_deny_ownership() {
        assert!(denies_ownership(&AzureError::Forbidden { subscription: "s".into() }));
        assert!(denies_ownership(&AzureError::Http {
            status: 404,
            code: "SubscriptionNotFound".into(),
            message: String::new()
        }));
        assert!(denies_ownership(&AzureError::Auth("InvalidAuthenticationTokenTenant: wrong issuer".into())));
        assert!(!denies_ownership(&AzureError::Auth("cannot obtain a token".into())));
        assert!(!denies_ownership(&AzureError::Transport("reset".into())));
        assert!(!denies_ownership(&AzureError::Http {
            status: 500,
            code: String::new(),
            message: String::new()
        }));
        assert!(!denies_ownership(&AzureError::Throttled { api: Api::Subscriptions, retry_after: None }));
    }

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
