//! Retail Prices: unauthenticated price lookups by service, region, SKU, meter, price type and
//! reservation term, paged by `NextPageLink` and cached for the run.
//!
//! Filter values are case-sensitive (api-version `2023-01-01-preview`) and trimmed; quotes are
//! doubled per OData. Reservation prices are whole-term totals: [`RetailPrice::hourly`]
//! converts them.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::azure::client::ApiRequest;
use crate::azure::connectors::RETAIL_PRICES_API_VERSION;
use crate::azure::paging::PageGuard;
use crate::azure::{Api, ArmClient, AzureError, CallContext};

/// One lookup; unset fields are not filtered on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PriceQuery {
    /// `serviceName` (`Virtual Machines`, `Storage`, `Azure App Service`, `SQL Database`).
    pub service_name: Option<String>,
    /// `armRegionName` (`eastus`).
    pub arm_region_name: Option<String>,
    /// `armSkuName` (`Standard_D4s_v5`).
    pub arm_sku_name: Option<String>,
    /// `skuName` (`P10 LRS`).
    pub sku_name: Option<String>,
    /// `productName` (`Premium SSD Managed Disks`).
    pub product_name: Option<String>,
    /// `meterName`.
    pub meter_name: Option<String>,
    /// `priceType`: `Consumption`, `Reservation`, `DevTestConsumption`.
    pub price_type: Option<String>,
    /// `reservationTerm`: `1 Year`, `3 Years`.
    pub reservation_term: Option<String>,
    /// `currencyCode` (default USD).
    pub currency: Option<String>,
}

fn some(v: &str) -> Option<String> {
    Some(v.to_owned())
}

impl PriceQuery {
    /// Pay-as-you-go prices of a VM size in a region (all OS / spot variants; see
    /// [`pick_on_demand`]).
    pub fn vm(region: &str, arm_sku: &str) -> Self {
        Self {
            service_name: some("Virtual Machines"),
            arm_region_name: some(region),
            arm_sku_name: some(arm_sku),
            price_type: some("Consumption"),
            ..Default::default()
        }
    }

    /// Reservation prices of a VM size for a term (`1 Year`, `3 Years`).
    pub fn vm_reservation(region: &str, arm_sku: &str, term: &str) -> Self {
        Self { price_type: some("Reservation"), reservation_term: some(term), ..Self::vm(region, arm_sku) }
    }

    /// Managed disk price per month: `productName` (e.g. `Premium SSD Managed Disks`) and
    /// `skuName` (e.g. `P10 LRS`); disks have no `armSkuName`.
    pub fn managed_disk(region: &str, product_name: &str, sku_name: &str) -> Self {
        Self {
            service_name: some("Storage"),
            arm_region_name: some(region),
            product_name: some(product_name),
            sku_name: some(sku_name),
            price_type: some("Consumption"),
            ..Default::default()
        }
    }

    /// App Service plan instance price by `skuName` (e.g. `P1 v3`).
    pub fn app_service_plan(region: &str, sku_name: &str) -> Self {
        Self {
            service_name: some("Azure App Service"),
            arm_region_name: some(region),
            sku_name: some(sku_name),
            price_type: some("Consumption"),
            ..Default::default()
        }
    }

    /// SQL Database price by `skuName` (e.g. `S3`) and optional `productName`.
    pub fn sql_database(region: &str, sku_name: &str) -> Self {
        Self {
            service_name: some("SQL Database"),
            arm_region_name: some(region),
            sku_name: some(sku_name),
            price_type: some("Consumption"),
            ..Default::default()
        }
    }

    /// The OData `$filter` (clauses joined by `and`).
    pub fn filter(&self) -> String {
        let fields = [
            ("serviceName", &self.service_name),
            ("armRegionName", &self.arm_region_name),
            ("armSkuName", &self.arm_sku_name),
            ("skuName", &self.sku_name),
            ("productName", &self.product_name),
            ("meterName", &self.meter_name),
            ("priceType", &self.price_type),
            ("reservationTerm", &self.reservation_term),
        ];
        fields
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k} eq '{}'", v.trim().replace('\'', "''"))))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// Wire: one page.
#[derive(Debug, Clone, Deserialize)]
pub struct PricePage {
    /// Billing currency of the page.
    #[serde(rename = "BillingCurrency")]
    pub billing_currency: Option<String>,
    /// Items.
    #[serde(rename = "Items", default)]
    pub items: Vec<RetailPrice>,
    /// Absolute URL of the next page.
    #[serde(rename = "NextPageLink")]
    pub next_page_link: Option<String>,
    /// Items on this page.
    #[serde(rename = "Count")]
    pub count: Option<i64>,
}

/// Wire and domain: one price item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailPrice {
    /// Currency.
    pub currency_code: Option<String>,
    /// Retail price (whole term for reservations).
    pub retail_price: Option<f64>,
    /// Unit price.
    pub unit_price: Option<f64>,
    /// Region.
    pub arm_region_name: Option<String>,
    /// Meter.
    pub meter_name: Option<String>,
    /// Product.
    pub product_name: Option<String>,
    /// SKU name.
    pub sku_name: Option<String>,
    /// ARM SKU name.
    pub arm_sku_name: Option<String>,
    /// Service.
    pub service_name: Option<String>,
    /// Unit (`1 Hour`, `1/Month`).
    pub unit_of_measure: Option<String>,
    /// `Consumption`, `Reservation`, `DevTestConsumption`.
    #[serde(rename = "type")]
    pub price_type: Option<String>,
    /// `1 Year` / `3 Years` on reservations.
    pub reservation_term: Option<String>,
    /// Primary meter region.
    pub is_primary_meter_region: Option<bool>,
    /// Savings-plan prices (hourly), when eligible.
    #[serde(default)]
    pub savings_plan: Vec<SavingsPlanPrice>,
}

/// Wire: one savings-plan price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavingsPlanPrice {
    /// Hourly unit price.
    pub unit_price: Option<f64>,
    /// Hourly retail price.
    pub retail_price: Option<f64>,
    /// `1 Year` / `3 Years`.
    pub term: Option<String>,
}

impl RetailPrice {
    /// The hourly price: reservation totals divided by the term's hours.
    pub fn hourly(&self) -> Option<f64> {
        let price = self.retail_price.or(self.unit_price)?;
        let is_reservation =
            self.price_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("reservation"));
        if !is_reservation {
            return Some(price);
        }
        match self.reservation_term.as_deref().map(str::trim) {
            Some("1 Year") => Some(price / 8_760.0),
            Some("3 Years") => Some(price / 26_280.0),
            _ => None,
        }
    }
}

/// The Linux, non-spot, primary-region pay-as-you-go item among `items`, when there is
/// exactly one candidate price (ambiguous results are rejected rather than guessed).
pub fn pick_on_demand(items: &[RetailPrice]) -> Option<&RetailPrice> {
    let contains = |v: &Option<String>, needle: &str| v.as_deref().is_some_and(|t| t.contains(needle));
    let candidates: Vec<&RetailPrice> = items
        .iter()
        .filter(|i| i.price_type.as_deref().map(str::trim) == Some("Consumption"))
        .filter(|i| !contains(&i.product_name, "Windows") && !contains(&i.product_name, "Cloud Services"))
        .filter(|i| !contains(&i.meter_name, "Spot") && !contains(&i.meter_name, "Low Priority"))
        .filter(|i| i.is_primary_meter_region != Some(false))
        .collect();
    let first = candidates.first()?;
    candidates.iter().all(|c| c.retail_price == first.retail_price).then_some(*first)
}

/// A per-run cache in front of the Retail Prices API.
#[derive(Debug, Clone, Default)]
pub struct RetailPriceCache {
    entries: Arc<tokio::sync::Mutex<HashMap<PriceQuery, Arc<Vec<RetailPrice>>>>>,
}

impl RetailPriceCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// All items matching `query`, from the cache or the API (all pages).
    ///
    /// # Errors
    /// Any [`AzureError`]; `PagingLoop` on a repeated `NextPageLink`.
    pub async fn lookup(
        &self,
        client: &ArmClient,
        ctx: &CallContext,
        query: &PriceQuery,
    ) -> Result<Arc<Vec<RetailPrice>>, AzureError> {
        if let Some(hit) = self.entries.lock().await.get(query) {
            return Ok(hit.clone());
        }
        let items = Arc::new(fetch_prices(client, ctx, query).await?);
        self.entries.lock().await.insert(query.clone(), items.clone());
        Ok(items)
    }
}

/// Fetches every page of `query` (uncached).
///
/// # Errors
/// Any [`AzureError`].
pub async fn fetch_prices(
    client: &ArmClient,
    ctx: &CallContext,
    query: &PriceQuery,
) -> Result<Vec<RetailPrice>, AzureError> {
    let filter = query.filter();
    let mut params = vec![("api-version", RETAIL_PRICES_API_VERSION)];
    let currency = query.currency.as_deref().map(|c| format!("'{}'", c.trim()));
    if let Some(c) = &currency {
        params.push(("currencyCode", c));
    }
    if !filter.is_empty() {
        params.push(("$filter", &filter));
    }
    let mut url = client.retail_url("/api/retail/prices", &params)?;
    let mut guard = PageGuard::new(Api::RetailPrices, client.config().page_cap);
    let mut out = Vec::new();
    loop {
        let page: PricePage = client.send_json(ctx, &ApiRequest::get(Api::RetailPrices, url.clone())).await?;
        guard.page_received()?;
        out.extend(page.items);
        match guard.next_url(&url, page.next_page_link.as_deref())? {
            Some(next) => url = next,
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_joins_clauses_and_escapes_quotes() {
        let q = PriceQuery {
            service_name: Some("Virtual Machines".into()),
            arm_region_name: Some(" eastus ".into()),
            arm_sku_name: Some("Standard_D4s_v5".into()),
            price_type: Some("Reservation".into()),
            reservation_term: Some("1 Year".into()),
            meter_name: Some("O'Brien".into()),
            ..Default::default()
        };
        assert_eq!(
            q.filter(),
            "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq 'Standard_D4s_v5' and meterName eq 'O''Brien' and priceType eq 'Reservation' and reservationTerm eq '1 Year'"
        );
        assert_eq!(PriceQuery::default().filter(), "");
    }

    #[test]
    fn helpers_build_the_documented_filters() {
        assert_eq!(
            PriceQuery::vm_reservation("eastus", "Standard_D4s_v5", "3 Years").filter(),
            "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' and armSkuName eq 'Standard_D4s_v5' and priceType eq 'Reservation' and reservationTerm eq '3 Years'"
        );
        assert_eq!(
            PriceQuery::managed_disk("westeurope", "Premium SSD Managed Disks", "P10 LRS").filter(),
            "serviceName eq 'Storage' and armRegionName eq 'westeurope' and skuName eq 'P10 LRS' and productName eq 'Premium SSD Managed Disks' and priceType eq 'Consumption'"
        );
    }

    #[test]
    fn on_demand_pick_skips_windows_and_spot_and_rejects_ambiguity() {
        let item = |product: &str, meter: &str, price: f64| RetailPrice {
            currency_code: None,
            retail_price: Some(price),
            unit_price: Some(price),
            arm_region_name: None,
            meter_name: Some(meter.into()),
            product_name: Some(product.into()),
            sku_name: None,
            arm_sku_name: None,
            service_name: None,
            unit_of_measure: None,
            price_type: Some("Consumption".into()),
            reservation_term: None,
            is_primary_meter_region: Some(true),
            savings_plan: vec![],
        };
        let items = vec![
            item("Virtual Machines Dsv5 Series Windows", "D4s v5", 0.4),
            item("Virtual Machines Dsv5 Series", "D4s v5 Spot", 0.05),
            item("Virtual Machines Dsv5 Series", "D4s v5", 0.192),
        ];
        assert_eq!(pick_on_demand(&items).and_then(|i| i.retail_price), Some(0.192));
        let ambiguous = vec![item("A", "m", 1.0), item("B", "m", 2.0)];
        assert!(pick_on_demand(&ambiguous).is_none());
    }

    #[test]
    fn reservation_totals_become_hourly() {
        let mut p = RetailPrice {
            currency_code: Some("USD".into()),
            retail_price: Some(8760.0),
            unit_price: Some(8760.0),
            arm_region_name: None,
            meter_name: None,
            product_name: None,
            sku_name: None,
            arm_sku_name: None,
            service_name: None,
            unit_of_measure: Some("1 Hour".into()),
            price_type: Some("Reservation".into()),
            reservation_term: Some("1 Year".into()),
            is_primary_meter_region: None,
            savings_plan: vec![],
        };
        assert_eq!(p.hourly(), Some(1.0));
        p.reservation_term = Some("3 Years".into());
        assert_eq!(p.hourly(), Some(8760.0 / 26_280.0));
        p.price_type = Some("Consumption".into());
        assert_eq!(p.hourly(), Some(8760.0));
    }
}
