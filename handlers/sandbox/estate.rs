//! The estate model and its deterministic generator.
//!
//! An estate is a pure function of (seed, [`EstateSpec`], as-of date): every subscription is
//! filled from its own `ChaCha8Rng` seeded from (seed, subscription index), by walking a fixed
//! cycle of "units" (a VM with its NIC and disks, a storage account, an unattached disk, …) so
//! the share of each planted finding is known exactly. Costs and metrics are not stored: each
//! resource keeps its meter and usage profile, and [`super::usage`] computes a day or an hour on
//! demand.

use std::collections::HashMap;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::prices::REGIONS;
use super::spec::EstateSpec;

/// A tenant; index 0 is the managing tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Tenant GUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Default domain.
    pub domain: String,
}

/// A subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Subscription GUID.
    pub id: String,
    /// Index of the owning tenant.
    pub tenant: usize,
    /// Display name.
    pub name: String,
    /// Readable by the managing tenant (own subscription or Lighthouse-delegated).
    pub delegated: bool,
    /// Region most of its resources live in.
    pub region: &'static str,
    /// Whether a monthly support plan is billed to it (a charge without a resource).
    pub support_plan: bool,
}

/// VM power state as Resource Graph reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    /// `PowerState/running`.
    Running,
    /// `PowerState/deallocated` (compute not billed).
    Deallocated,
    /// `PowerState/stopped` (stopped in the OS, compute still billed).
    Stopped,
}

/// When a resource's hourly meter runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every hour of every day.
    Always,
    /// 08:00–20:00 UTC, Monday to Friday (an auto-shutdown schedule).
    Weekdays,
    /// Never (deallocated).
    Never,
}

/// A utilisation profile for hourly metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Util {
    /// Mean CPU (or DTU) percentage.
    pub mean: f64,
    /// Diurnal amplitude in percentage points.
    pub amp: f64,
    /// Uniform noise half-width in percentage points.
    pub noise: f64,
    /// Share of memory in use (0–1).
    pub mem_used: f64,
    /// Probability that an hourly datapoint is missing.
    pub gap: f64,
}

/// What a resource is, with the facts its properties, cost and metrics derive from.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A virtual network (free).
    Vnet,
    /// A virtual machine.
    Vm {
        /// Index into [`super::prices::VM_SIZES`].
        size: usize,
        /// Power state.
        power: PowerState,
        /// When compute is billed.
        schedule: Schedule,
        /// Covered by a reservation.
        reserved: bool,
        /// NIC id.
        nic: String,
        /// OS disk id, then data disk ids.
        disks: Vec<String>,
        /// Metrics profile.
        util: Util,
    },
    /// A managed disk.
    Disk {
        /// Index into [`super::prices::DISK_TIERS`].
        tier: usize,
        /// Owning VM id.
        owner: Option<String>,
        /// The owner is deallocated (disk state `Reserved`).
        owner_deallocated: bool,
        /// OS disk of its VM.
        os: bool,
    },
    /// A network interface.
    Nic {
        /// Attached VM id.
        vm: Option<String>,
        /// Private endpoint id when the NIC belongs to one.
        private_endpoint: Option<String>,
        /// Public IP bound to its ip configuration.
        public_ip: Option<String>,
    },
    /// A Standard static public IP.
    PublicIp {
        /// NIC ip configuration id it is bound to.
        ip_configuration: Option<String>,
        /// NAT gateway id it is attached to.
        nat_gateway: Option<String>,
    },
    /// A NAT gateway.
    NatGateway {
        /// Its public IP id.
        public_ip: String,
    },
    /// A private endpoint.
    PrivateEndpoint {
        /// Its NIC id.
        nic: String,
        /// The storage account it connects to.
        target: String,
    },
    /// An incremental disk snapshot.
    Snapshot {
        /// Size in GiB.
        size_gb: u32,
        /// Source disk id.
        source: String,
    },
    /// An App Service plan.
    Plan {
        /// Index into [`super::prices::PLAN_SKUS`].
        sku: usize,
        /// Worker count.
        workers: u32,
        /// Number of sites (apps).
        sites: u32,
        /// Metrics profile.
        util: Util,
    },
    /// A logical SQL server (free).
    SqlServer,
    /// A DTU single database.
    SqlDb {
        /// Index into [`super::prices::SQL_OBJECTIVES`].
        objective: usize,
        /// Metrics profile (`dtu_consumption_percent`).
        util: Util,
    },
    /// A StorageV2 account.
    Storage {
        /// Hot data stored in GiB.
        size_gb: u32,
    },
}

/// What was planted on a resource: a finding, or a near miss that must not become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// Nothing of note.
    None,
    /// A finding of this kind (one of [`super::truth::FINDING_KINDS`]).
    Finding(&'static str),
    /// A near miss, with a short reason.
    NearMiss(&'static str),
}

/// One resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Index of its subscription in [`Estate::subscriptions`].
    pub sub: usize,
    /// A per-resource key for the on-demand hashes of usage and metrics.
    pub key: u64,
    /// ARM id, case as ARM returns it.
    pub id: String,
    /// Name.
    pub name: String,
    /// Resource group (lower case).
    pub rg: String,
    /// Region.
    pub location: &'static str,
    /// The `cost-center` tag: `None` absent, `Some("")` present but empty.
    pub cost_center: Option<String>,
    /// The `env` tag.
    pub env: &'static str,
    /// Days before the as-of date the resource was created.
    pub age_days: u32,
    /// What it is.
    pub kind: Kind,
    /// What was planted on it (besides a missing cost-center tag).
    pub plant: Plant,
}

/// A generated estate.
#[derive(Debug, Clone)]
pub struct Estate {
    /// The seed it was generated from.
    pub seed: u64,
    /// Its size.
    pub spec: EstateSpec,
    /// The as-of date: "today" for the estate; cost history ends the day before.
    pub as_of: NaiveDate,
    /// Tenants; index 0 manages the others through Lighthouse.
    pub tenants: Vec<Tenant>,
    /// Subscriptions, grouped by tenant.
    pub subscriptions: Vec<Subscription>,
    /// Resources, grouped by subscription in generation order.
    pub resources: Vec<Resource>,
    /// Per subscription, the range of its resources in `resources`.
    pub sub_ranges: Vec<std::ops::Range<usize>>,
    sub_index: HashMap<String, usize>,
    resource_index: HashMap<String, usize>,
}

/// SplitMix64: the small, documented hash behind every per-day and per-hour value.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform value in [0, 1) from a hash of `parts`.
pub fn unit_hash(parts: &[u64]) -> f64 {
    let h = parts.iter().fold(0u64, |acc, p| splitmix64(acc ^ p));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn guid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string()
}

const COMPANIES: &[&str] =
    &["Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Adatum", "Proseware"];

impl Estate {
    /// Generates the estate for (seed, spec, as-of); the same inputs always give the same estate.
    pub fn generate(seed: u64, spec: EstateSpec, as_of: NaiveDate) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let tenants: Vec<Tenant> = (0..spec.tenants as usize)
            .map(|t| {
                let company = COMPANIES[t % COMPANIES.len()];
                let suffix =
                    if t < COMPANIES.len() { String::new() } else { format!("{}", t / COMPANIES.len()) };
                let name =
                    if t == 0 { format!("{company}{suffix} FinOps") } else { format!("{company}{suffix}") };
                Tenant {
                    id: guid(&mut rng),
                    domain: format!("{}{suffix}.onmicrosoft.com", company.to_lowercase()),
                    name,
                }
            })
            .collect();
        let mut subscriptions = Vec::new();
        for t in 0..tenants.len() {
            for s in 0..spec.subscriptions as usize {
                // The last subscription of the last customer tenant is never delegated, so
                // the estate always holds a subscription the managing tenant cannot read.
                let delegated =
                    !(t > 0 && t + 1 == tenants.len() && s + 1 == spec.subscriptions as usize && s > 0);
                let index = subscriptions.len();
                subscriptions.push(Subscription {
                    id: guid(&mut rng),
                    tenant: t,
                    name: format!(
                        "{} {}-{:02}",
                        tenants[t].name,
                        super::generate::ENVS[s % super::generate::ENVS.len()],
                        s + 1
                    ),
                    delegated,
                    region: REGIONS[index % REGIONS.len()].0,
                    support_plan: index % 3 == 0,
                });
            }
        }
        let mut resources = Vec::with_capacity(subscriptions.len() * spec.resources as usize);
        let mut sub_ranges = Vec::with_capacity(subscriptions.len());
        for (index, sub) in subscriptions.iter().enumerate() {
            let start = resources.len();
            let sub_seed = splitmix64(seed ^ splitmix64(index as u64 + 1));
            super::generate::fill_subscription(index, sub, sub_seed, spec, &mut resources);
            sub_ranges.push(start..resources.len());
        }
        let sub_index = subscriptions.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let resource_index = resources.iter().enumerate().map(|(i, r)| (r.id.to_lowercase(), i)).collect();
        Self { seed, spec, as_of, tenants, subscriptions, resources, sub_ranges, sub_index, resource_index }
    }

    /// The subscription with this GUID (case-insensitive).
    pub fn subscription(&self, id: &str) -> Option<usize> {
        self.sub_index.get(&id.to_lowercase()).copied()
    }

    /// The resource with this ARM id (case-insensitive).
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resource_index.get(&id.to_lowercase()).and_then(|i| self.resources.get(*i))
    }

    /// The resources of one subscription.
    pub fn resources_of(&self, sub: usize) -> &[Resource] {
        self.sub_ranges.get(sub).and_then(|r| self.resources.get(r.clone())).unwrap_or(&[])
    }

    /// The tenant of a subscription.
    pub fn tenant_of(&self, sub: usize) -> &Tenant {
        let t = self.subscriptions.get(sub).map_or(0, |s| s.tenant);
        &self.tenants[t.min(self.tenants.len() - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact_and_lookups_work() {
        let spec = EstateSpec { tenants: 2, subscriptions: 2, resources: 37, days: 10 };
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let estate = Estate::generate(1, spec, day);
        assert_eq!(estate.subscriptions.len(), 4);
        assert_eq!(estate.resources.len(), 4 * 37);
        let r = &estate.resources[5];
        assert_eq!(estate.resource(&r.id.to_uppercase()).unwrap().id, r.id);
        assert!(estate.subscriptions.iter().any(|s| !s.delegated));
    }
}
