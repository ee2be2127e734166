//! Where the rules' prices come from ([`PriceSource`]): the Retail Prices API
//! ([`RetailPriceSource`], cached for the run) or a fixed list ([`FixedPrices`], tests and
//! benchmarks). A key the source cannot price is simply absent from the book.

use async_trait::async_trait;
use futures::StreamExt;

use crate::azure::connectors::retail_prices::{PriceQuery, RetailPrice, RetailPriceCache, pick_on_demand};
use crate::azure::{ArmClient, CallContext};
use crate::rules::prices::{HOURS_PER_MONTH, PriceBook, PriceKey, retail_plan_sku};

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

#[cfg(test)]
mod tests {
    use super::*;

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
