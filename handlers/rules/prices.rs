//! Prices the rules ask for ([`PriceKey`]), answered as monthly list prices ([`PriceBook`]).
//! Where the book comes from (the Retail Prices API, or a fixed list) is the evaluation's
//! business: see `crate::evaluation::prices`.
//!
//! Every price in the book is per month of one unit (one VM, one plan instance, one database,
//! one disk) at 730 hours a month, so rules never convert units. A key the source cannot price
//! is simply absent: the rule then falls back to its heuristic.

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
}
