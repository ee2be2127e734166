//! Prices the rules ask for ([`PriceKey`]), answered as monthly list prices ([`PriceBook`]) by a
//! [`PriceSource`]: the Retail Prices API ([`RetailPriceSource`], cached for the run) or a fixed
//! list ([`FixedPrices`], tests and benchmarks).
//!
//! Every price in the book is per month of one unit (one VM, one plan instance, one database,
//! one disk) at 730 hours a month, so rules never convert units. A key the source cannot price
//! is simply absent: the rule then falls back to its heuristic.

use async_trait::async_trait;
use futures::StreamExt;

use crate::azure::connectors::retail_prices::{PriceQuery, RetailPrice, RetailPriceCache, pick_on_demand};
use crate::azure::{ArmClient, CallContext};

/// Hours in a billing month, as Azure's calculators use.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// One price a rule needs. Regions and SKUs are as ARM names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PriceKey {
    /// Linux pay-as-you-go VM.
    Vm {
        /// Region (`eastus`).
        region: String,
        /// ARM size (`Standard_D4s_v5`).
        size: String,
    },
    /// VM reservation, effective monthly price for a term of `years` (1 or 3).
    VmReservation {
        /// Region.
        region: String,
        /// ARM size.
        size: String,
        /// Term in years.
        years: u8,
    },
    /// VM under the compute savings plan for a term of `years`.
    VmSavingsPlan {
        /// Region.
        region: String,
        /// ARM size.
        size: String,
        /// Term in years.
        years: u8,
    },
    /// One App Service plan instance at pay-as-you-go.
    Plan {
        /// Region.
        region: String,
        /// ARM `sku.name` (`P1v3`).
        sku: String,
    },
    /// One App Service plan instance under the savings plan.
    PlanSavingsPlan {
        /// Region.
        region: String,
        /// ARM `sku.name`.
        sku: String,
        /// Term in years.
        years: u8,
    },
    /// One DTU single database (`S2`).
    SqlDatabase {
        /// Region.
        region: String,
        /// Service objective.
        objective: String,
    },
    /// One managed disk (`Premium SSD Managed Disks`, `P10 LRS`).
    Disk {
        /// Region.
        region: String,
        /// Retail `productName`.
        product: String,
        /// Retail `skuName`.
        sku_name: String,
    },
}

/// Monthly prices by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceBook {
    prices: super::context::FastMap<PriceKey, f64>,
}

impl PriceBook {
    /// The monthly price of `key`, when known.
    pub fn get(&self, key: &PriceKey) -> Option<f64> {
        self.prices.get(key).copied()
    }

    /// Records a monthly price.
    pub fn insert(&mut self, key: PriceKey, monthly: f64) {
        self.prices.insert(key, monthly);
    }

    /// Number of known prices.
    pub fn len(&self) -> usize {
        self.prices.len()
    }

    /// True when no price is known.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }
}

/// Where prices come from.
#[async_trait]
pub trait PriceSource: Send + Sync {
    /// Prices every key it can; a key it cannot price is left out of the book.
    async fn prices(&self, keys: &[PriceKey]) -> PriceBook;
}

/// A fixed list of prices (tests, benchmarks, offline replays).
#[derive(Debug, Clone, Default)]
pub struct FixedPrices {
    book: PriceBook,
}

impl FixedPrices {
    /// A source answering from `book`.
    pub fn new(book: PriceBook) -> Self {
        Self { book }
    }
}

#[async_trait]
impl PriceSource for FixedPrices {
    async fn prices(&self, keys: &[PriceKey]) -> PriceBook {
        let mut out = PriceBook::default();
        for key in keys {
            if let Some(p) = self.book.get(key) {
                out.insert(key.clone(), p);
            }
        }
        out
    }
}

/// Prices from the Retail Prices API through a shared per-run cache.
#[derive(Debug, Clone)]
pub struct RetailPriceSource {
    client: ArmClient,
    ctx: CallContext,
    cache: RetailPriceCache,
}

impl RetailPriceSource {
    /// A source over `client`; share `cache` across subscriptions of one run.
    pub fn new(client: ArmClient, ctx: CallContext, cache: RetailPriceCache) -> Self {
        Self { client, ctx, cache }
    }

    async fn lookup(&self, query: &PriceQuery) -> Option<std::sync::Arc<Vec<RetailPrice>>> {
        match self.cache.lookup(&self.client, &self.ctx, query).await {
            Ok(items) => Some(items),
            Err(e) => {
                tracing::warn!(filter = %query.filter(), error = %e, "retail price lookup failed");
                None
            }
        }
    }

    async fn price(&self, key: &PriceKey) -> Option<f64> {
        match key {
            PriceKey::Vm { region, size } => {
                let items = self.lookup(&PriceQuery::vm(region, size)).await?;
                monthly(pick_on_demand(&items)?)
            }
            PriceKey::VmReservation { region, size, years } => {
                let term = if *years == 1 { "1 Year" } else { "3 Years" };
                let items = self.lookup(&PriceQuery::vm_reservation(region, size, term)).await?;
                let hourly: Vec<f64> = items.iter().filter_map(RetailPrice::hourly).collect();
                let first = *hourly.first()?;
                hourly.iter().all(|h| (h - first).abs() < 1e-9).then_some(first * HOURS_PER_MONTH)
            }
            PriceKey::VmSavingsPlan { region, size, years } => {
                let items = self.lookup(&PriceQuery::vm(region, size)).await?;
                savings_plan_monthly(pick_on_demand(&items)?, *years)
            }
            PriceKey::Plan { region, sku } => {
                let items = self.lookup(&PriceQuery::app_service_plan(region, &retail_plan_sku(sku))).await?;
                monthly(pick_on_demand(&items)?)
            }
            PriceKey::PlanSavingsPlan { region, sku, years } => {
                let items = self.lookup(&PriceQuery::app_service_plan(region, &retail_plan_sku(sku))).await?;
                savings_plan_monthly(pick_on_demand(&items)?, *years)
            }
            PriceKey::SqlDatabase { region, objective } => {
                let items = self.lookup(&PriceQuery::sql_database(region, objective)).await?;
                monthly(pick_on_demand(&items)?)
            }
            PriceKey::Disk { region, product, sku_name } => {
                let items = self.lookup(&PriceQuery::managed_disk(region, product, sku_name)).await?;
                monthly(pick_on_demand(&items)?)
            }
        }
    }
}

#[async_trait]
impl PriceSource for RetailPriceSource {
    async fn prices(&self, keys: &[PriceKey]) -> PriceBook {
        let priced: Vec<(PriceKey, Option<f64>)> = futures::stream::iter(keys.iter().cloned())
            .map(|key| async move {
                let p = self.price(&key).await;
                (key, p)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut book = PriceBook::default();
        for (key, price) in priced {
            if let Some(p) = price {
                book.insert(key, p);
            }
        }
        book
    }
}

/// An item's price per month, by its unit of measure.
fn monthly(item: &RetailPrice) -> Option<f64> {
    let price = item.retail_price.or(item.unit_price)?;
    let unit = item.unit_of_measure.as_deref().unwrap_or("1 Hour").trim();
    match unit {
        "1 Hour" => Some(price * HOURS_PER_MONTH),
        "1/Day" | "1 Day" => Some(price / 24.0 * HOURS_PER_MONTH),
        "1/Month" | "1 Month" => Some(price),
        _ => None,
    }
}

fn savings_plan_monthly(item: &RetailPrice, years: u8) -> Option<f64> {
    let term = if years == 1 { "1 Year" } else { "3 Years" };
    let sp = item.savings_plan.iter().find(|s| s.term.as_deref().map(str::trim) == Some(term))?;
    sp.retail_price.or(sp.unit_price).map(|h| h * HOURS_PER_MONTH)
}

/// Retail names plan SKUs with a space before the generation (`P1v3` → `P1 v3`).
pub fn retail_plan_sku(arm: &str) -> String {
    match arm.find(['v', 'V']) {
        Some(i) if i > 0 => format!("{} {}", &arm[..i], &arm[i..].to_ascii_lowercase()),
        _ => arm.to_owned(),
    }
}

/// The Retail `(productName, skuName)` of a managed disk from its ARM SKU and size: the
/// smallest performance tier that holds `size_gb`.
pub fn disk_retail_sku(arm_sku: &str, size_gb: f64) -> Option<(&'static str, String)> {
    const SIZES: [(u32, u32); 10] = [
        (4, 32),
        (6, 64),
        (10, 128),
        (15, 256),
        (20, 512),
        (30, 1024),
        (40, 2048),
        (50, 4096),
        (60, 8192),
        (70, 16384),
    ];
    let (product, letter) = match arm_sku.split('_').next()?.to_ascii_lowercase().as_str() {
        "premium" => ("Premium SSD Managed Disks", 'P'),
        "standardssd" => ("Standard SSD Managed Disks", 'E'),
        "standard" => ("Standard HDD Managed Disks", 'S'),
        _ => return None,
    };
    let redundancy = arm_sku.split('_').nth(1).unwrap_or("LRS").to_ascii_uppercase();
    let (tier, _) = SIZES.iter().find(|(_, gb)| f64::from(*gb) >= size_gb)?;
    Some((product, format!("{letter}{tier} {redundancy}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_name_mappings() {
        let cases = [("P1v3", "P1 v3"), ("P2V3", "P2 v3"), ("S1", "S1"), ("B2", "B2")];
        for (arm, retail) in cases {
            assert_eq!(retail_plan_sku(arm), retail);
        }
        let disks = [
            ("Premium_LRS", 128.0, Some(("Premium SSD Managed Disks", "P10 LRS".to_owned()))),
            ("StandardSSD_LRS", 100.0, Some(("Standard SSD Managed Disks", "E10 LRS".to_owned()))),
            ("Standard_LRS", 1024.0, Some(("Standard HDD Managed Disks", "S30 LRS".to_owned()))),
            ("Premium_LRS", 99999.0, None),
            ("UltraSSD_LRS", 128.0, None),
        ];
        for (sku, gb, want) in disks {
            assert_eq!(disk_retail_sku(sku, gb), want, "{sku} {gb}");
        }
    }

    #[test]
    fn units_convert_to_months() {
        let item = |price: f64, unit: &str| RetailPrice {
            currency_code: None,
            retail_price: Some(price),
            unit_price: None,
            arm_region_name: None,
            meter_name: None,
            product_name: None,
            sku_name: None,
            arm_sku_name: None,
            service_name: None,
            unit_of_measure: Some(unit.into()),
            price_type: Some("Consumption".into()),
            reservation_term: None,
            is_primary_meter_region: None,
            savings_plan: Vec::new(),
        };
        assert_eq!(monthly(&item(0.1, "1 Hour")), Some(73.0));
        assert_eq!(monthly(&item(2.4, "1/Day")), Some(73.0));
        assert_eq!(monthly(&item(19.71, "1/Month")), Some(19.71));
        assert_eq!(monthly(&item(1.0, "1 GB/Month")), None);
    }
}
