//! FOCUS 1.0 cost exports of an estate, as Cost Management delivers them to a storage container:
//! per customer tenant and month, a run folder
//! `<root>/<export>/<YYYYMMDD-YYYYMMDD>/<export time>/<run id>/` holding gzip CSV partitions
//! (`part_<n>_0001.csv.gz`) or snappy Parquet ones (`part_<n>_0001.snappy.parquet`) with
//! Microsoft's 96 FOCUS 1.0 columns in their export order, and a
//! `manifest.json` (`exportConfig`, `deliveryConfig`, `runInfo`, `blobs[]` with `blobName`,
//! `byteCount`, `dataRowCount`).
//!
//! The rows are the same costs the sandbox's Cost Management query answers (one row per resource
//! and day, one per charge without a resource), with `BilledCost` the actual and
//! `EffectiveCost` the amortized figure, so the query and export views can be compared. Every
//! subscription of the tenant is exported, delegated or not (an export at a billing scope sees
//! them all).

use chrono::{Datelike as _, Days, Months, NaiveDate};

use super::estate::{Estate, Kind};
use super::usage;

/// Microsoft's FOCUS 1.0 columns in export order (`FocusCost` 1.0 dataset metadata).
pub const FOCUS_COLUMNS: [&str; 96] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
    "x_AccountId",
    "x_AccountName",
    "x_AccountOwnerId",
    "x_BilledCostInUsd",
    "x_BilledUnitPrice",
    "x_BillingAccountId",
    "x_BillingAccountName",
    "x_BillingExchangeRate",
    "x_BillingExchangeRateDate",
    "x_BillingProfileId",
    "x_BillingProfileName",
    "x_ContractedCostInUsd",
    "x_CostAllocationRuleName",
    "x_CostCenter",
    "x_CustomerId",
    "x_CustomerName",
    "x_EffectiveCostInUsd",
    "x_EffectiveUnitPrice",
    "x_InvoiceId",
    "x_InvoiceIssuerId",
    "x_InvoiceSectionId",
    "x_InvoiceSectionName",
    "x_ListCostInUsd",
    "x_PartnerCreditApplied",
    "x_PartnerCreditRate",
    "x_PricingBlockSize",
    "x_PricingCurrency",
    "x_PricingSubcategory",
    "x_PricingUnitDescription",
    "x_PublisherCategory",
    "x_PublisherId",
    "x_ResellerId",
    "x_ResellerName",
    "x_ResourceGroupName",
    "x_ResourceType",
    "x_ServicePeriodEnd",
    "x_ServicePeriodStart",
    "x_SkuDescription",
    "x_SkuDetails",
    "x_SkuIsCreditEligible",
    "x_SkuMeterCategory",
    "x_SkuMeterId",
    "x_SkuMeterName",
    "x_SkuMeterSubcategory",
    "x_SkuOfferId",
    "x_SkuOrderId",
    "x_SkuOrderName",
    "x_SkuPartNumber",
    "x_SkuRegion",
    "x_SkuServiceFamily",
    "x_SkuTerm",
    "x_SkuTier",
];

fn column(name: &str) -> usize {
    FOCUS_COLUMNS.iter().position(|c| *c == name).unwrap_or(0)
}

/// The months an estate's cost history spans: (first day of month, first cost day in it,
/// last cost day in it), oldest first. Cost history runs from `as_of - days` to the day before
/// `as_of`, as the query answers.
pub fn months(estate: &Estate) -> Vec<(NaiveDate, NaiveDate, NaiveDate)> {
    let first = estate.as_of.checked_sub_days(Days::new(u64::from(estate.spec.days))).unwrap_or(estate.as_of);
    let Some(last) = estate.as_of.pred_opt() else { return Vec::new() };
    let mut out = Vec::new();
    let mut month = first.with_day(1).unwrap_or(first);
    while month <= last {
        let month_end = month.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(month);
        out.push((month, first.max(month), last.min(month_end)));
        match month.checked_add_months(Months::new(1)) {
            Some(next) => month = next,
            None => break,
        }
    }
    out
}

/// One FOCUS row as the 96 column values (most are empty, as for a pay-as-you-go meter).
pub type FocusRow = Vec<String>;

/// The FOCUS rows of one subscription's day, in a stable order.
pub fn focus_rows(estate: &Estate, sub: usize, day: NaiveDate) -> Vec<FocusRow> {
    let subscription = &estate.subscriptions[sub];
    let tenant = estate.tenant_of(sub);
    let mut rows = Vec::new();
    let base = |category: &str, meter: &super::prices::Meter, actual: f64, amortized: f64| {
        let mut row = vec![String::new(); FOCUS_COLUMNS.len()];
        let mut set = |name: &str, value: String| row[column(name)] = value;
        let money = |v: f64| format!("{v}");
        set("BilledCost", money(actual));
        set("EffectiveCost", money(amortized));
        set("ListCost", money(actual.max(amortized)));
        set("ContractedCost", money(actual.max(amortized)));
        set("BillingAccountId", format!("/providers/Microsoft.Billing/billingAccounts/{}", tenant.id));
        set("BillingAccountName", tenant.name.clone());
        set("BillingAccountType", "Billing Profile".into());
        set("BillingCurrency", "USD".into());
        set("x_PricingCurrency", "USD".into());
        set("ChargeCategory", category.into());
        set("ChargeFrequency", if category == "Purchase" { "One-Time" } else { "Usage-Based" }.into());
        set("ChargeDescription", meter.meter_name.into());
        set("ChargePeriodStart", format!("{day}T00:00:00Z"));
        set("ChargePeriodEnd", format!("{}T00:00:00Z", day.succ_opt().unwrap_or(day)));
        let month = day.with_day(1).unwrap_or(day);
        set("BillingPeriodStart", format!("{month}T00:00:00Z"));
        let next = month.checked_add_months(Months::new(1)).unwrap_or(month);
        set("BillingPeriodEnd", format!("{next}T00:00:00Z"));
        set("ProviderName", "Microsoft".into());
        set("PublisherName", "Microsoft".into());
        set("InvoiceIssuerName", "Microsoft".into());
        set("ServiceName", meter.service_name.into());
        set("ServiceCategory", meter.service_family.into());
        set("SubAccountId", format!("/subscriptions/{}", subscription.id));
        set("SubAccountName", subscription.name.clone());
        set("SubAccountType", "Subscription".into());
        set("PricingUnit", meter.unit.into());
        set("ConsumedUnit", meter.unit.into());
        set("x_SkuMeterCategory", meter.meter_category.into());
        set("x_SkuMeterName", meter.meter_name.into());
        set("x_SkuServiceFamily", meter.service_family.into());
        row
    };
    for r in estate.resources_of(sub) {
        let Some((actual, amortized)) = usage::day_cost(estate, r, day) else { continue };
        let Some((meter, quantity)) = usage::charge(r) else { continue };
        let mut row = base("Usage", &meter, actual, amortized);
        let mut set = |name: &str, value: String| row[column(name)] = value;
        let reserved = matches!(r.kind, Kind::Vm { reserved: true, .. });
        set("PricingCategory", if reserved { "Committed" } else { "Standard" }.into());
        set("ConsumedQuantity", format!("{quantity}"));
        set("PricingQuantity", format!("{quantity}"));
        set("RegionId", r.location.into());
        set("RegionName", r.location.into());
        set("x_SkuRegion", r.location.into());
        set("ResourceId", r.id.clone());
        set("ResourceName", r.name.clone());
        set("ResourceType", usage::arm_type(&r.kind).into());
        set("x_ResourceType", usage::arm_type(&r.kind).to_ascii_lowercase());
        set("x_ResourceGroupName", r.rg.clone());
        let mut tags = serde_json::Map::new();
        if let Some(cc) = &r.cost_center {
            tags.insert("cost-center".into(), cc.clone().into());
        }
        tags.insert("env".into(), r.env.into());
        set("Tags", serde_json::Value::Object(tags).to_string());
        rows.push(row);
    }
    for charge in usage::subscription_charges(estate, sub, day) {
        let actual = charge.actual.max(0.0);
        let amortized = charge.amortized.max(0.0);
        if actual <= 0.0 && amortized <= 0.0 {
            continue;
        }
        let purchase = charge.charge_type == "Purchase";
        let mut row = base(if purchase { "Purchase" } else { "Usage" }, &charge.meter, actual, amortized);
        row[column("PricingCategory")] = if purchase { "Committed" } else { "Standard" }.into();
        row[column("Tags")] = "{}".into();
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_cover_the_cost_history_and_nothing_else() {
        let spec = "tenants=2,subscriptions=2,resources=10,days=35".parse().unwrap();
        let estate = Estate::generate(3, spec, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let m = months(&estate);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        assert_eq!(
            m[1],
            (
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
            )
        );
    }

    #[test]
    fn rows_carry_both_figures_and_the_microsoft_columns() {
        let spec = "tenants=1,subscriptions=1,resources=20,days=35".parse().unwrap();
        let estate = Estate::generate(3, spec, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let rows = focus_rows(&estate, 0, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.len() == 96));
        let sub = &estate.subscriptions[0].id;
        assert!(rows.iter().all(|r| r[column("SubAccountId")] == format!("/subscriptions/{sub}")));
        assert!(rows.iter().all(|r| r[column("EffectiveCost")].parse::<f64>().is_ok()));
    }
}
