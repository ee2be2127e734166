//! Retail prices through the real connector against the sandbox's price sheet.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azcops::azure::connectors::retail_prices::RetailPriceCache;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::azure::{ArmClient, AzureConfig, AzureError, CallContext};
use azcops::config::Secret;
use azcops::evaluation::{PriceSource, RetailPriceSource};
use azcops::rules::PriceKey;
use azcops::sandbox::spec::EstateSpec;
use azcops::sandbox::{Sandbox, SandboxOptions};
use chrono::NaiveDate;

struct NoToken;

#[async_trait]
impl TokenSource for NoToken {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        Ok(BearerToken {
            token: Secret::new("unused"),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retail_prices_are_monthly_per_unit() {
    let spec = EstateSpec { tenants: 1, subscriptions: 1, resources: 20, days: 30 };
    let sandbox =
        Sandbox::start(SandboxOptions::new(spec, 1, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()))
            .await
            .unwrap();
    let client =
        ArmClient::new(AzureConfig::for_base_url(sandbox.base_url()).unwrap(), Arc::new(NoToken)).unwrap();
    let source = RetailPriceSource::new(client, CallContext::new("t", ""), RetailPriceCache::new());
    let r = || "eastus".to_owned();
    let vm = |s: &str| s.to_owned();
    let cases = [
        (PriceKey::Vm { region: r(), size: vm("Standard_D4s_v5") }, Some(0.192 * 730.0)),
        (
            PriceKey::VmReservation { region: r(), size: vm("Standard_D4s_v5"), years: 1 },
            Some(1009.15 / 8760.0 * 730.0),
        ),
        (
            PriceKey::VmSavingsPlan { region: r(), size: vm("Standard_D4s_v5"), years: 1 },
            Some(0.192 * 0.72 * 730.0),
        ),
        (PriceKey::Plan { region: r(), sku: "P1v3".into() }, Some(0.125 * 730.0)),
        (PriceKey::PlanSavingsPlan { region: r(), sku: "P1v3".into(), years: 1 }, Some(0.125 * 0.72 * 730.0)),
        (PriceKey::PlanSavingsPlan { region: r(), sku: "S1".into(), years: 1 }, None),
        (PriceKey::SqlDatabase { region: r(), objective: "S2".into() }, Some(2.4194 / 24.0 * 730.0)),
        (
            PriceKey::Disk {
                region: r(),
                product: "Premium SSD Managed Disks".into(),
                sku_name: "P10 LRS".into(),
            },
            Some(19.71),
        ),
        (PriceKey::Vm { region: r(), size: vm("Standard_Nope") }, None),
    ];
    let keys: Vec<PriceKey> = cases.iter().map(|(k, _)| k.clone()).collect();
    let book = source.prices(&keys).await;
    for (key, want) in cases {
        match (book.get(&key), want) {
            (Some(got), Some(want)) => assert!((got - want).abs() < 1e-6, "{key:?}: {got} != {want}"),
            (got, want) => assert_eq!(got, want, "{key:?}"),
        }
    }
    sandbox.shutdown().await.unwrap();
}
