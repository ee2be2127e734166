//! The one internal price sheet: it prices the estate's cost rows and backs the Retail Prices API,
//! so inventory × price = cost rows = retail price (monthly = hourly × 730).

/// Hours in a billing month, as Azure's calculators use.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Regions the estate places resources in (all priced alike: a simplification of real Azure).
pub const REGIONS: &[(&str, &str)] =
    &[("eastus", "US East"), ("westeurope", "EU West"), ("northeurope", "EU North"), ("uksouth", "UK South")];
/// Reserved-instance price as a share of pay-as-you-go, 1-year term.
pub const RI_1Y_RATIO: f64 = 0.6;
/// Reserved-instance price as a share of pay-as-you-go, 3-year term.
pub const RI_3Y_RATIO: f64 = 0.4;
/// Savings-plan hourly price as a share of pay-as-you-go, 1-year term.
pub const SP_1Y_RATIO: f64 = 0.72;
/// Savings-plan hourly price as a share of pay-as-you-go, 3-year term.
pub const SP_3Y_RATIO: f64 = 0.5;

/// One priced meter, described with the Retail Prices API's own fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meter {
    /// Cost Management `ServiceName` and Retail `serviceName`.
    pub service_name: &'static str,
    /// Retail `serviceFamily`.
    pub service_family: &'static str,
    /// Cost Management `MeterCategory`.
    pub meter_category: &'static str,
    /// Retail `productName`.
    pub product_name: &'static str,
    /// Retail `skuName`.
    pub sku_name: &'static str,
    /// Retail `meterName`.
    pub meter_name: &'static str,
    /// Retail `armSkuName` (empty for most non-compute meters).
    pub arm_sku_name: &'static str,
    /// Retail `unitOfMeasure`.
    pub unit: &'static str,
    /// Pay-as-you-go USD price per unit.
    pub price: f64,
    /// Whether reservations are sold for this meter.
    pub reservable: bool,
    /// Whether the savings plan for compute covers this meter.
    pub savings_plan: bool,
}

impl Meter {
    /// The hourly cost of `quantity` units (GB for per-GB meters, 1 otherwise).
    pub fn hourly(&self, quantity: f64) -> f64 {
        let per_hour = match self.unit {
            "1 Hour" => self.price,
            "1/Day" => self.price / 24.0,
            _ => self.price / HOURS_PER_MONTH,
        };
        per_hour * quantity
    }

    /// Total price of a reservation for one unit over the term, as Retail reports it.
    pub fn reservation_total(&self, years: u32) -> f64 {
        let ratio = if years == 1 { RI_1Y_RATIO } else { RI_3Y_RATIO };
        round_to(self.hourly(1.0) * ratio * 8760.0 * f64::from(years), 2)
    }

    /// The effective hourly price of a 1-year reservation, derived from the Retail total.
    pub fn reserved_hourly_1y(&self) -> f64 {
        self.reservation_total(1) / 8760.0
    }

    /// Hourly savings-plan price for a term (already hourly in the Retail API).
    pub fn savings_plan_hourly(&self, years: u32) -> f64 {
        let ratio = if years == 1 { SP_1Y_RATIO } else { SP_3Y_RATIO };
        round_to(self.price * ratio, 6)
    }
}

/// Rounds to `places` decimals (prices and reported figures).
pub fn round_to(value: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (value * f).round() / f
}

/// A VM size with its shape and meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VmSize {
    /// ARM size name, e.g. `Standard_D4s_v5`.
    pub name: &'static str,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in GiB.
    pub memory_gb: u32,
    /// The compute meter (Linux pay-as-you-go).
    pub meter: Meter,
}

const fn vm(
    name: &'static str,
    sku: &'static str,
    product: &'static str,
    vcpus: u32,
    memory_gb: u32,
    price: f64,
) -> VmSize {
    VmSize {
        name,
        vcpus,
        memory_gb,
        meter: Meter {
            service_name: "Virtual Machines",
            service_family: "Compute",
            meter_category: "Virtual Machines",
            product_name: product,
            sku_name: sku,
            meter_name: sku,
            arm_sku_name: name,
            unit: "1 Hour",
            price,
            reservable: true,
            savings_plan: true,
        },
    }
}

/// VM sizes, grouped by family in ascending size so the next-lower size is the previous entry.
pub const VM_SIZES: &[VmSize] = &[
    vm("Standard_D2s_v5", "D2s v5", "Virtual Machines Dsv5 Series", 2, 8, 0.096),
    vm("Standard_D4s_v5", "D4s v5", "Virtual Machines Dsv5 Series", 4, 16, 0.192),
    vm("Standard_D8s_v5", "D8s v5", "Virtual Machines Dsv5 Series", 8, 32, 0.384),
    vm("Standard_D16s_v5", "D16s v5", "Virtual Machines Dsv5 Series", 16, 64, 0.768),
    vm("Standard_E2s_v5", "E2s v5", "Virtual Machines Esv5 Series", 2, 16, 0.126),
    vm("Standard_E4s_v5", "E4s v5", "Virtual Machines Esv5 Series", 4, 32, 0.252),
    vm("Standard_E8s_v5", "E8s v5", "Virtual Machines Esv5 Series", 8, 64, 0.504),
    vm("Standard_B2s", "B2s", "Virtual Machines BS Series", 2, 4, 0.0416),
    vm("Standard_B2ms", "B2ms", "Virtual Machines BS Series", 2, 8, 0.0832),
    vm("Standard_B4ms", "B4ms", "Virtual Machines BS Series", 4, 16, 0.166),
];

/// The next-lower size in the same family (same product), if any.
pub fn vm_step_down(index: usize) -> Option<usize> {
    let current = VM_SIZES.get(index)?;
    let lower = index.checked_sub(1)?;
    (VM_SIZES.get(lower)?.meter.product_name == current.meter.product_name).then_some(lower)
}

/// A managed-disk tier: ARM SKU, tier name, size and monthly meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskTier {
    /// ARM `sku.name` (`Premium_LRS`, `StandardSSD_LRS`, `Standard_LRS`).
    pub sku: &'static str,
    /// ARM `sku.tier` (`Premium` / `Standard`).
    pub sku_tier: &'static str,
    /// Performance tier (`P10`, `E10`, `S10`).
    pub tier: &'static str,
    /// Provisioned size in GiB.
    pub size_gb: u32,
    /// The per-disk-month meter.
    pub meter: Meter,
}

const fn disk(
    sku: &'static str,
    tier: &'static str,
    size_gb: u32,
    product: &'static str,
    sku_name: &'static str,
    meter_name: &'static str,
    price: f64,
) -> DiskTier {
    let sku_tier = if sku.as_bytes()[0] == b'P' { "Premium" } else { "Standard" };
    DiskTier {
        sku,
        sku_tier,
        tier,
        size_gb,
        meter: Meter {
            service_name: "Storage",
            service_family: "Storage",
            meter_category: "Storage",
            product_name: product,
            sku_name,
            meter_name,
            arm_sku_name: "",
            unit: "1/Month",
            price,
            reservable: false,
            savings_plan: false,
        },
    }
}

const PREMIUM: &str = "Premium SSD Managed Disks";
const STD_SSD: &str = "Standard SSD Managed Disks";
const STD_HDD: &str = "Standard HDD Managed Disks";

/// Managed-disk tiers.
pub const DISK_TIERS: &[DiskTier] = &[
    disk("Premium_LRS", "P4", 32, PREMIUM, "P4 LRS", "P4 LRS Disk", 5.28),
    disk("Premium_LRS", "P6", 64, PREMIUM, "P6 LRS", "P6 LRS Disk", 10.21),
    disk("Premium_LRS", "P10", 128, PREMIUM, "P10 LRS", "P10 LRS Disk", 19.71),
    disk("Premium_LRS", "P15", 256, PREMIUM, "P15 LRS", "P15 LRS Disk", 38.02),
    disk("Premium_LRS", "P20", 512, PREMIUM, "P20 LRS", "P20 LRS Disk", 73.22),
    disk("Premium_LRS", "P30", 1024, PREMIUM, "P30 LRS", "P30 LRS Disk", 135.17),
    disk("StandardSSD_LRS", "E4", 32, STD_SSD, "E4 LRS", "E4 LRS Disk", 2.4),
    disk("StandardSSD_LRS", "E10", 128, STD_SSD, "E10 LRS", "E10 LRS Disk", 9.6),
    disk("StandardSSD_LRS", "E20", 512, STD_SSD, "E20 LRS", "E20 LRS Disk", 38.4),
    disk("Standard_LRS", "S4", 32, STD_HDD, "S4 LRS", "S4 LRS Disk", 1.54),
    disk("Standard_LRS", "S10", 128, STD_HDD, "S10 LRS", "S10 LRS Disk", 5.89),
    disk("Standard_LRS", "S30", 1024, STD_HDD, "S30 LRS", "S30 LRS Disk", 40.96),
];

// Table constructors: one positional argument per Retail field keeps each table row on one line.
#[allow(clippy::too_many_arguments)]
const fn simple(
    service: &'static str,
    family: &'static str,
    category: &'static str,
    product: &'static str,
    sku: &'static str,
    meter: &'static str,
    unit: &'static str,
    price: f64,
) -> Meter {
    Meter {
        service_name: service,
        service_family: family,
        meter_category: category,
        product_name: product,
        sku_name: sku,
        meter_name: meter,
        arm_sku_name: "",
        unit,
        price,
        reservable: false,
        savings_plan: false,
    }
}

/// Incremental managed-disk snapshots, per GB-month.
pub const SNAPSHOT: Meter =
    simple("Storage", "Storage", "Storage", STD_HDD, "Snapshots LRS", "LRS Snapshots", "1 GB/Month", 0.05);
/// Standard static public IPv4 address.
pub const PUBLIC_IP: Meter = simple(
    "Virtual Network",
    "Networking",
    "Virtual Network",
    "IP Addresses",
    "Standard",
    "Standard IPv4 Static Public IP",
    "1 Hour",
    0.005,
);
/// NAT gateway hours.
pub const NAT_GATEWAY: Meter = simple(
    "NAT Gateway",
    "Networking",
    "Virtual Network",
    "NAT Gateway",
    "Standard",
    "Standard Gateway",
    "1 Hour",
    0.045,
);
/// Private endpoint hours.
pub const PRIVATE_ENDPOINT: Meter = simple(
    "Virtual Network",
    "Networking",
    "Virtual Network",
    "Virtual Network Private Link",
    "Standard",
    "Standard Private Endpoint",
    "1 Hour",
    0.01,
);
/// Hot LRS block blob storage, per GB-month.
pub const BLOB_HOT: Meter = simple(
    "Storage",
    "Storage",
    "Storage",
    "General Block Blob v2",
    "Hot LRS",
    "Hot LRS Data Stored",
    "1 GB/Month",
    0.0184,
);
/// A support plan billed monthly outside any resource.
pub const SUPPORT: Meter = simple(
    "Azure Support",
    "Azure Support",
    "Azure Support",
    "Azure Support",
    "Standard",
    "Standard Support",
    "1/Month",
    100.0,
);

/// An App Service plan SKU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanSku {
    /// ARM `sku.name`, e.g. `P1v3`.
    pub name: &'static str,
    /// ARM `sku.tier`, e.g. `PremiumV3`.
    pub tier: &'static str,
    /// ARM `sku.family`.
    pub family: &'static str,
    /// The per-instance hourly meter.
    pub meter: Meter,
}

#[allow(clippy::too_many_arguments)]
const fn plan(
    name: &'static str,
    tier: &'static str,
    family: &'static str,
    product: &'static str,
    sku: &'static str,
    meter: &'static str,
    price: f64,
    sp: bool,
) -> PlanSku {
    let mut m =
        simple("Azure App Service", "Compute", "Azure App Service", product, sku, meter, "1 Hour", price);
    m.savings_plan = sp;
    PlanSku { name, tier, family, meter: m }
}

const PV3: &str = "Azure App Service Premium v3 Plan - Linux";
const STD_PLAN: &str = "Azure App Service Standard Plan - Linux";

/// App Service plan SKUs, ascending within a tier so the next-lower size is the previous entry.
pub const PLAN_SKUS: &[PlanSku] = &[
    plan("S1", "Standard", "S", STD_PLAN, "S1", "S1 App", 0.095, false),
    plan("S2", "Standard", "S", STD_PLAN, "S2", "S2 App", 0.19, false),
    plan("S3", "Standard", "S", STD_PLAN, "S3", "S3 App", 0.38, false),
    plan("P1v3", "PremiumV3", "Pv3", PV3, "P1 v3", "P1 v3 App", 0.125, true),
    plan("P2v3", "PremiumV3", "Pv3", PV3, "P2 v3", "P2 v3 App", 0.25, true),
    plan("P3v3", "PremiumV3", "Pv3", PV3, "P3 v3", "P3 v3 App", 0.5, true),
];

/// The next-lower plan size in the same tier, if any.
pub fn plan_step_down(index: usize) -> Option<usize> {
    let current = PLAN_SKUS.get(index)?;
    let lower = index.checked_sub(1)?;
    (PLAN_SKUS.get(lower)?.tier == current.tier).then_some(lower)
}

/// A SQL Database DTU service objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SqlObjective {
    /// Service objective (`Basic`, `S0`..`S3`, `P1`).
    pub name: &'static str,
    /// ARM `sku.tier` / edition.
    pub tier: &'static str,
    /// DTUs.
    pub dtu: u32,
    /// The per-day meter (DTU databases bill per day).
    pub meter: Meter,
}

const fn sql(
    name: &'static str,
    tier: &'static str,
    dtu: u32,
    product: &'static str,
    meter: &'static str,
    per_day: f64,
) -> SqlObjective {
    SqlObjective {
        name,
        tier,
        dtu,
        meter: simple("SQL Database", "Databases", "SQL Database", product, name, meter, "1/Day", per_day),
    }
}

/// DTU service objectives in ascending order.
pub const SQL_OBJECTIVES: &[SqlObjective] = &[
    sql("Basic", "Basic", 5, "SQL Database Single Basic", "B DTU", 0.1613),
    sql("S0", "Standard", 10, "SQL Database Single Standard", "S0 DTUs", 0.4839),
    sql("S1", "Standard", 20, "SQL Database Single Standard", "S1 DTUs", 0.9677),
    sql("S2", "Standard", 50, "SQL Database Single Standard", "S2 DTUs", 2.4194),
    sql("S3", "Standard", 100, "SQL Database Single Standard", "S3 DTUs", 4.8387),
    sql("P1", "Premium", 125, "SQL Database Single Premium", "P1 DTUs", 15.0),
];

/// Every meter in the sheet (each is offered in every region of [`REGIONS`]).
pub fn all_meters() -> Vec<Meter> {
    let mut meters: Vec<Meter> = VM_SIZES.iter().map(|v| v.meter).collect();
    meters.extend(DISK_TIERS.iter().map(|d| d.meter));
    meters.extend([SNAPSHOT, PUBLIC_IP, NAT_GATEWAY, PRIVATE_ENDPOINT, BLOB_HOT, SUPPORT]);
    meters.extend(PLAN_SKUS.iter().map(|p| p.meter));
    meters.extend(SQL_OBJECTIVES.iter().map(|s| s.meter));
    meters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_is_hourly_times_730() {
        let d4 = VM_SIZES[1].meter;
        assert!((d4.hourly(1.0) * HOURS_PER_MONTH - 140.16).abs() < 1e-9);
        let p10 = DISK_TIERS[2].meter;
        assert!((p10.hourly(1.0) * HOURS_PER_MONTH - 19.71).abs() < 1e-9);
        assert!((SNAPSHOT.hourly(100.0) * HOURS_PER_MONTH - 5.0).abs() < 1e-9);
        assert_eq!(d4.reservation_total(1), 1009.15);
    }

    #[test]
    fn step_downs_stay_in_family() {
        assert_eq!(vm_step_down(1), Some(0));
        assert_eq!(vm_step_down(4), None);
        assert_eq!(plan_step_down(4), Some(3));
        assert_eq!(plan_step_down(3), None);
    }
}
