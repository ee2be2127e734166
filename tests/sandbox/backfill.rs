//! A first night's backfill across tenants against the sandbox's enforced Cost Management
//! quotas (12 QPU per 10 s, 60 per minute, 600 per hour per tenant) with lognormal latency: the
//! client's model of the fixed QPU windows keeps every query inside them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azcops::azure::connectors::cost_management::{self, CostScope};
use azcops::azure::connectors::cost_plan;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::azure::{ArmClient, AzureConfig, AzureError, CallContext};
use azcops::config::Secret;
use azcops::sandbox::{Api, LatencyConfig, QuotaConfig};
use chrono::Days;

use crate::support::{as_of, start};

/// The platform identity's token, as the sandbox's managed-identity endpoint issues it.
struct PlatformToken(String);

#[async_trait]
impl TokenSource for PlatformToken {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        Ok(BearerToken {
            token: Secret::new(self.0.clone()),
            expires_at: SystemTime::now() + Duration::from_secs(3000),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_of_subscriptions_of_two_tenants_receives_no_429() {
    let sb = start("tenants=3,subscriptions=2,resources=8,days=40", |o| {
        o.quotas = QuotaConfig { cost_management: true, ..QuotaConfig::default() };
        o.latency = LatencyConfig::LogNormal { median_ms: 100, sigma: 0.5 };
    })
    .await;
    // Two subscriptions in each of two customer tenants, all read at once.
    let estate = sb.estate();
    let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in estate.subscriptions.iter().filter(|s| s.delegated) {
        by_tenant.entry(estate.tenants[s.tenant].id.clone()).or_default().push(s.id.clone());
    }
    let work: Vec<(String, String)> = by_tenant
        .iter()
        .filter(|(_, subs)| subs.len() >= 2)
        .take(2)
        .flat_map(|(tenant, subs)| subs.iter().take(2).map(|s| (tenant.clone(), s.clone())))
        .collect();
    assert_eq!(work.len(), 4, "{by_tenant:?}");

    let config = AzureConfig::for_base_url(sb.base_url()).unwrap();
    let client = ArmClient::new(config, Arc::new(PlatformToken(sb.managed_identity_token()))).unwrap();
    // 35 days ending yesterday: two calendar months, 16 QPU a subscription, 32 a tenant.
    let (from, to) = (as_of() - Days::new(35), as_of() - Days::new(1));
    let plan = cost_plan::plan(from, to);
    assert_eq!(cost_plan::plan_qpu(&plan), 16);
    let runs = work.iter().map(|(tenant, sub)| {
        let client = &client;
        async move {
            let ctx = CallContext::new(tenant, sub);
            cost_management::query_range(client, &ctx, &CostScope::Subscription(sub.clone()), from, to).await
        }
    });
    let reports = futures::future::try_join_all(runs).await.unwrap();

    let stats = sb.stats();
    let cost = &stats[&Api::CostManagement];
    assert_eq!(cost.throttled, 0, "the sandbox refused no Cost Management query: {cost:?}");
    let counters = client.counters().snapshot();
    assert_eq!(counters.get("cost_management.throttle_429").copied().unwrap_or(0), 0, "{counters:?}");
    // Every subscription has charges without a resource (metered services), so every planned
    // query was sent, once, on one page each.
    assert!(reports.iter().all(|r| r.queries == 16), "{reports:?}");
    assert_eq!(cost.requests, 16 * work.len() as u64);
}
