//! Pure mapping of export rows to curated cost rows: which column of FOCUS 1.0/1.2 or of the
//! legacy ActualCost/AmortizedCost datasets feeds which `costs_daily` field (the README's
//! mapping table is this file), and the aggregation of export rows to the curated key.
//!
//! FOCUS carries both figures in one row (`BilledCost` → actual, `EffectiveCost` → amortized);
//! a legacy export carries one, so the other is left at zero and only its own figure is
//! replaced (see the store's slice replacement).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike as _, NaiveDate};

use super::manifest::Dataset;
use crate::model::CostDailyRow;

/// Access to the fields of one data row by column position.
pub trait Fields {
    /// The text of column `index` ('' when the row is shorter).
    fn field(&self, index: usize) -> &str;
}

impl Fields for csv::StringRecord {
    fn field(&self, index: usize) -> &str {
        self.get(index).unwrap_or("")
    }
}

impl Fields for Vec<String> {
    fn field(&self, index: usize) -> &str {
        self.get(index).map_or("", String::as_str)
    }
}

/// Column names per curated field, first match wins (compared case-insensitively).
struct Names {
    date: &'static [&'static str],
    subscription: &'static [&'static str],
    resource_group: &'static [&'static str],
    service: &'static [&'static str],
    meter: &'static [&'static str],
    resource: &'static [&'static str],
    cost: &'static [&'static str],
    amortized: &'static [&'static str],
    currency: &'static [&'static str],
}

const FOCUS: Names = Names {
    date: &["ChargePeriodStart"],
    subscription: &["SubAccountId"],
    resource_group: &["x_ResourceGroupName"],
    service: &["ServiceName"],
    meter: &["x_SkuMeterCategory", "ServiceCategory"],
    resource: &["ResourceId"],
    cost: &["BilledCost"],
    amortized: &["EffectiveCost"],
    currency: &["BillingCurrency"],
};

/// EA (`Date`, `CostInBillingCurrency`, `BillingCurrencyCode`) and MCA (`date`,
/// `costInBillingCurrency`, `billingCurrency`) spellings of the cost details columns.
const LEGACY: Names = Names {
    date: &["Date", "UsageDate"],
    subscription: &["SubscriptionId", "SubscriptionGuid"],
    resource_group: &["ResourceGroup", "ResourceGroupName"],
    service: &["ServiceName", "ConsumedService", "MeterCategory"],
    meter: &["MeterCategory"],
    resource: &["ResourceId", "InstanceId", "InstanceName"],
    cost: &["CostInBillingCurrency", "Cost", "PreTaxCost"],
    amortized: &["CostInBillingCurrency", "Cost", "PreTaxCost"],
    currency: &["BillingCurrencyCode", "BillingCurrency", "Currency"],
};

/// What a column holds, so a typed file (Parquet) can be checked against it before any row is
/// read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// The charge day (a date, a timestamp or their text).
    Date,
    /// An amount (a decimal, a float, an integer or its text).
    Amount,
    /// Text (an id, a name or a currency code).
    Text,
}

/// Where each curated field is in a file, resolved once from its header.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    dataset: Dataset,
    date: usize,
    subscription: usize,
    resource_group: Option<usize>,
    service: Option<usize>,
    meter: Option<usize>,
    resource: Option<usize>,
    cost: Option<usize>,
    amortized: Option<usize>,
    currency: usize,
}

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n)))
}

fn require(header: &[String], names: &[&str]) -> Result<usize, String> {
    find(header, names).ok_or_else(|| format!("the header has no {} column", names.join(" or ")))
}

impl ColumnMap {
    /// Resolves the columns of `dataset` in `header` (a leading byte-order mark is ignored).
    ///
    /// # Errors
    /// The name of the first required column that is missing.
    pub fn resolve(dataset: Dataset, header: &[String]) -> Result<Self, String> {
        let header: Vec<String> =
            header.iter().map(|h| h.trim_start_matches('\u{feff}').to_owned()).collect();
        let names = if dataset == Dataset::Focus { &FOCUS } else { &LEGACY };
        let (cost, amortized) = match dataset {
            Dataset::Focus => (Some(require(&header, names.cost)?), Some(require(&header, names.amortized)?)),
            Dataset::ActualCost => (Some(require(&header, names.cost)?), None),
            Dataset::AmortizedCost => (None, Some(require(&header, names.amortized)?)),
        };
        Ok(Self {
            dataset,
            date: require(&header, names.date)?,
            subscription: require(&header, names.subscription)?,
            resource_group: find(&header, names.resource_group),
            service: find(&header, names.service),
            meter: find(&header, names.meter),
            resource: find(&header, names.resource),
            cost,
            amortized,
            currency: require(&header, names.currency)?,
        })
    }

    /// The dataset these columns belong to.
    pub fn dataset(&self) -> Dataset {
        self.dataset
    }

    /// The columns read, each once, in header order, with what each must hold (a typed reader
    /// reads only these).
    pub fn columns(&self) -> Vec<(usize, ColumnKind)> {
        let text = [self.resource_group, self.service, self.meter, self.resource];
        let mut out: Vec<(usize, ColumnKind)> = [self.cost, self.amortized]
            .into_iter()
            .flatten()
            .map(|i| (i, ColumnKind::Amount))
            .chain([(self.date, ColumnKind::Date), (self.subscription, ColumnKind::Text)])
            .chain([(self.currency, ColumnKind::Text)])
            .chain(text.into_iter().flatten().map(|i| (i, ColumnKind::Text)))
            .collect();
        out.sort_by_key(|(i, _)| *i);
        out.dedup_by_key(|(i, _)| *i);
        out
    }

    /// Maps one data row to a curated row (not yet aggregated).
    ///
    /// # Errors
    /// What is wrong with the row (a bad date, subscription or amount).
    pub fn map(&self, row: &dyn Fields) -> Result<CostDailyRow, String> {
        let opt = |i: Option<usize>| i.map_or("", |i| row.field(i).trim());
        let date = parse_day(row.field(self.date).trim())?;
        let subscription_id = subscription_of(row.field(self.subscription))?;
        let resource_id = opt(self.resource).to_ascii_lowercase();
        let mut resource_group = opt(self.resource_group).to_ascii_lowercase();
        if resource_group.is_empty() {
            resource_group = group_of(&resource_id);
        }
        let meter_category = opt(self.meter).to_owned();
        let service = opt(self.service);
        let service_name = if service.is_empty() { meter_category.clone() } else { service.to_owned() };
        let currency = row.field(self.currency).trim().to_ascii_uppercase();
        if currency.is_empty() {
            return Err("the billing currency is empty".into());
        }
        Ok(CostDailyRow {
            subscription_id,
            date,
            resource_group,
            service_name,
            meter_category,
            resource_id,
            cost: amount(opt(self.cost))?,
            amortized_cost: amount(opt(self.amortized))?,
            currency,
        })
    }
}

/// `2026-12-01`, `2026-12-01T00:00:00Z` (FOCUS, MCA) or `12/01/2026` (EA).
fn parse_day(value: &str) -> Result<NaiveDate, String> {
    value
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .or_else(|| NaiveDate::parse_from_str(value, "%m/%d/%Y").ok())
        .ok_or_else(|| format!("{value:?} is not a date"))
}

/// The subscription GUID of `/subscriptions/<guid>` (FOCUS `SubAccountId`) or of a bare GUID.
fn subscription_of(value: &str) -> Result<String, String> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let guid = lower.strip_prefix("/subscriptions/").unwrap_or(&lower);
    let guid = guid.split('/').next().unwrap_or("");
    uuid::Uuid::parse_str(guid)
        .map(|g| g.hyphenated().to_string())
        .map_err(|_| format!("{value:?} is not a subscription"))
}

/// The resource group named in a lower-cased resource id ('' when it names none).
fn group_of(resource_id: &str) -> String {
    let mut parts = resource_id.split('/');
    while let Some(part) = parts.next() {
        if part == "resourcegroups" {
            return parts.next().unwrap_or("").to_owned();
        }
    }
    String::new()
}

/// An amount in the billing currency; empty is zero.
fn amount(value: &str) -> Result<f64, String> {
    if value.is_empty() {
        return Ok(0.0);
    }
    value.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("{value:?} is not an amount"))
}

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

type Key = (String, NaiveDate, String, String, String, String);

/// Sums export rows to the curated key in bounded batches: a batch is handed over once it holds
/// `capacity` keys, so memory does not grow with the size of the export. One subscription's
/// rows must all be in one currency (amounts of different currencies are never added).
#[derive(Debug)]
pub struct Aggregator {
    capacity: usize,
    sums: HashMap<Key, (f64, f64)>,
    currencies: BTreeMap<String, String>,
    /// Export rows per (subscription, month) slice.
    pub slice_rows: BTreeMap<(String, NaiveDate), u64>,
}

impl Aggregator {
    /// An aggregator handing over batches of at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            sums: HashMap::new(),
            currencies: BTreeMap::new(),
            slice_rows: BTreeMap::new(),
        }
    }

    /// Adds one row; returns a full batch when the capacity is reached.
    ///
    /// # Errors
    /// The subscription already had rows in another currency.
    pub fn push(&mut self, row: CostDailyRow) -> Result<Option<Vec<CostDailyRow>>, String> {
        match self.currencies.get(&row.subscription_id) {
            Some(c) if *c != row.currency => {
                return Err(format!(
                    "subscription {} has rows in {c} and in {}; amounts of different currencies are never added",
                    row.subscription_id, row.currency
                ));
            }
            Some(_) => {}
            None => {
                self.currencies.insert(row.subscription_id.clone(), row.currency.clone());
            }
        }
        *self.slice_rows.entry((row.subscription_id.clone(), month_of(row.date))).or_default() += 1;
        let key = (
            row.subscription_id,
            row.date,
            row.resource_group,
            row.service_name,
            row.meter_category,
            row.resource_id,
        );
        let sum = self.sums.entry(key).or_default();
        sum.0 += row.cost;
        sum.1 += row.amortized_cost;
        Ok((self.sums.len() >= self.capacity).then(|| self.take()))
    }

    /// Hands over what is held (empty when nothing is).
    pub fn take(&mut self) -> Vec<CostDailyRow> {
        let currencies = &self.currencies;
        self.sums
            .drain()
            .map(
                |(
                    (subscription_id, date, resource_group, service_name, meter_category, resource_id),
                    (c, a),
                )| {
                    let currency = currencies.get(&subscription_id).cloned().unwrap_or_default();
                    CostDailyRow {
                        subscription_id,
                        date,
                        resource_group,
                        service_name,
                        meter_category,
                        resource_id,
                        cost: c,
                        amortized_cost: a,
                        currency,
                    }
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "0b1f6471-1bf0-4dda-aec3-111122223333";

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn focus_header() -> Vec<String> {
        header(&[
            "\u{feff}BilledCost",
            "BillingCurrency",
            "ChargePeriodStart",
            "EffectiveCost",
            "RegionId",
            "ResourceId",
            "ServiceName",
            "SubAccountId",
            "Tags",
            "x_ResourceGroupName",
            "x_SkuMeterCategory",
        ])
    }

    fn row(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn focus_columns_map_to_the_curated_row() {
        let map = ColumnMap::resolve(Dataset::Focus, &focus_header()).unwrap();
        let rid = format!(
            "/subscriptions/{SUB}/resourceGroups/RG-Web/providers/Microsoft.Compute/virtualMachines/VM1"
        );
        let r = map
            .map(&row(&[
                "1.25",
                "eur",
                "2026-11-30T00:00:00Z",
                "0.75",
                "westeurope",
                &rid,
                "Virtual Machines",
                &format!("/subscriptions/{}", SUB.to_uppercase()),
                "{}",
                "RG-Web",
                "Compute",
            ]))
            .unwrap();
        assert_eq!(r.subscription_id, SUB);
        assert_eq!(r.date, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(r.resource_group, "rg-web");
        assert_eq!((r.service_name.as_str(), r.meter_category.as_str()), ("Virtual Machines", "Compute"));
        assert_eq!(r.resource_id, rid.to_ascii_lowercase());
        assert_eq!((r.cost, r.amortized_cost, r.currency.as_str()), (1.25, 0.75, "EUR"));
    }

    #[test]
    fn the_columns_read_are_listed_once_with_their_kind() {
        let map = ColumnMap::resolve(Dataset::Focus, &focus_header()).unwrap();
        let names: Vec<(String, ColumnKind)> =
            map.columns().into_iter().map(|(i, k)| (focus_header()[i].clone(), k)).collect();
        assert_eq!(names.len(), 9, "RegionId and Tags are not read: {names:?}");
        assert!(names.contains(&("\u{feff}BilledCost".to_owned(), ColumnKind::Amount)));
        assert!(names.contains(&("ChargePeriodStart".to_owned(), ColumnKind::Date)));
        assert!(names.contains(&("SubAccountId".to_owned(), ColumnKind::Text)));
        // A legacy export reads one amount column for both figures: listed once.
        let h = header(&["Date", "SubscriptionId", "Cost", "Currency"]);
        let legacy = ColumnMap::resolve(Dataset::ActualCost, &h).unwrap();
        assert_eq!(legacy.columns().len(), 4);
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let mut h = focus_header();
        h.retain(|c| c != "EffectiveCost");
        let e = ColumnMap::resolve(Dataset::Focus, &h).unwrap_err();
        assert!(e.contains("EffectiveCost"), "{e}");
    }

    #[test]
    fn legacy_actual_cost_fills_only_the_actual_figure() {
        let h = header(&[
            "Date",
            "SubscriptionId",
            "ResourceGroup",
            "MeterCategory",
            "ResourceId",
            "CostInBillingCurrency",
            "BillingCurrencyCode",
        ]);
        let map = ColumnMap::resolve(Dataset::ActualCost, &h).unwrap();
        let r = map.map(&row(&["12/01/2026", SUB, "", "Bandwidth", "", "3.5", "USD"])).unwrap();
        assert_eq!(r.date, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!((r.cost, r.amortized_cost), (3.5, 0.0));
        assert_eq!(r.service_name, "Bandwidth", "no service column: the meter category stands in");
    }

    #[test]
    fn bad_values_are_refused_with_the_value() {
        let map = ColumnMap::resolve(Dataset::Focus, &focus_header()).unwrap();
        let good = ["1", "USD", "2026-12-01", "1", "", "", "S", SUB, "", "", ""];
        let mut bad = good;
        bad[0] = "1,5";
        assert!(map.map(&row(&bad)).unwrap_err().contains("\"1,5\" is not an amount"));
        let mut bad = good;
        bad[7] = "not-a-guid";
        assert!(map.map(&row(&bad)).unwrap_err().contains("is not a subscription"));
        let mut bad = good;
        bad[2] = "yesterday";
        assert!(map.map(&row(&bad)).unwrap_err().contains("is not a date"));
    }

    fn cost(day: u32, c: f64, currency: &str) -> CostDailyRow {
        CostDailyRow {
            subscription_id: SUB.into(),
            date: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            resource_group: "rg".into(),
            service_name: "S".into(),
            meter_category: "M".into(),
            resource_id: String::new(),
            cost: c,
            amortized_cost: c,
            currency: currency.into(),
        }
    }

    #[test]
    fn the_aggregator_sums_keys_and_hands_over_at_capacity() {
        let mut agg = Aggregator::new(2);
        assert!(agg.push(cost(1, 1.0, "USD")).unwrap().is_none());
        assert!(agg.push(cost(1, 2.0, "USD")).unwrap().is_none(), "same key: still one");
        let batch = agg.push(cost(2, 4.0, "USD")).unwrap().expect("capacity of two keys reached");
        assert_eq!(batch.len(), 2);
        let day1 = batch.iter().find(|r| r.date.day() == 1).unwrap();
        assert_eq!(day1.cost, 3.0);
        assert!(agg.take().is_empty());
        assert_eq!(agg.slice_rows.values().sum::<u64>(), 3);
    }

    #[test]
    fn two_currencies_in_one_subscription_are_refused() {
        let mut agg = Aggregator::new(10);
        agg.push(cost(1, 1.0, "USD")).unwrap();
        let e = agg.push(cost(2, 1.0, "EUR")).unwrap_err();
        assert!(e.contains("never added"), "{e}");
    }
}
