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

use super::prices::{self, REGIONS};
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
        /// Index into [`prices::VM_SIZES`].
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
        /// Index into [`prices::DISK_TIERS`].
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
        /// Index into [`prices::PLAN_SKUS`].
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
        /// Index into [`prices::SQL_OBJECTIVES`].
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

const APPS: &[&str] = &["web", "api", "etl", "crm", "erp", "data", "ml", "shop", "auth", "search"];
const ENVS: &[&str] = &["prod", "prod", "test", "dev"];
const COMPANIES: &[&str] = &["Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Adatum", "Proseware"];

/// The unit cycle every subscription walks; its composition fixes the planted proportions.
#[derive(Clone, Copy)]
enum Unit {
    Vm,
    Storage,
    UnattachedDisk,
    Snapshot,
    Plan,
    Sql,
    NicCase,
    OrphanIp,
    NatGateway,
}

const CYCLE: &[Unit] = &[
    Unit::Vm,
    Unit::Storage,
    Unit::Vm,
    Unit::UnattachedDisk,
    Unit::Vm,
    Unit::Snapshot,
    Unit::Plan,
    Unit::Sql,
    Unit::Vm,
    Unit::NicCase,
    Unit::OrphanIp,
    Unit::Vm,
    Unit::Snapshot,
    Unit::Plan,
    Unit::NatGateway,
    Unit::Vm,
];

impl Estate {
    /// Generates the estate for (seed, spec, as-of); the same inputs always give the same estate.
    pub fn generate(seed: u64, spec: EstateSpec, as_of: NaiveDate) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let tenants: Vec<Tenant> = (0..spec.tenants as usize)
            .map(|t| {
                let company = COMPANIES[t % COMPANIES.len()];
                let suffix = if t < COMPANIES.len() { String::new() } else { format!("{}", t / COMPANIES.len()) };
                let name = if t == 0 { format!("{company}{suffix} FinOps") } else { format!("{company}{suffix}") };
                Tenant { id: guid(&mut rng), domain: format!("{}{suffix}.onmicrosoft.com", company.to_lowercase()), name }
            })
            .collect();
        let mut subscriptions = Vec::new();
        for t in 0..tenants.len() {
            for s in 0..spec.subscriptions as usize {
                // The last subscription of the last customer tenant is never delegated, so
                // the estate always holds a subscription the managing tenant cannot read.
                let delegated = !(t > 0 && t + 1 == tenants.len() && s + 1 == spec.subscriptions as usize && s > 0);
                let index = subscriptions.len();
                subscriptions.push(Subscription {
                    id: guid(&mut rng),
                    tenant: t,
                    name: format!("{} {}-{:02}", tenants[t].name, ENVS[s % ENVS.len()], s + 1),
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
            SubBuilder::new(index, sub, sub_seed, spec, &mut resources).fill();
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

struct SubBuilder<'a> {
    index: usize,
    sub: &'a Subscription,
    rng: ChaCha8Rng,
    spec: EstateSpec,
    out: &'a mut Vec<Resource>,
    budget: usize,
    seq: usize,
    counters: [usize; 9],
}

impl<'a> SubBuilder<'a> {
    fn new(index: usize, sub: &'a Subscription, seed: u64, spec: EstateSpec, out: &'a mut Vec<Resource>) -> Self {
        let budget = spec.resources as usize;
        Self { index, sub, rng: ChaCha8Rng::seed_from_u64(seed), spec, out, budget, seq: 0, counters: [0; 9] }
    }

    fn fill(mut self) {
        if self.budget > 0 {
            let rg = "rg-network".to_owned();
            let id = self.id(&rg, "Microsoft.Network/virtualNetworks", "vnet-hub");
            self.push(id, "vnet-hub".into(), rg, Kind::Vnet, Plant::None, 400);
        }
        let mut step = 0;
        while self.budget > 0 {
            let unit = CYCLE[step % CYCLE.len()];
            step += 1;
            let n = self.counters[unit as usize];
            self.counters[unit as usize] += 1;
            let needed = match unit {
                Unit::Vm => 4,
                Unit::Sql | Unit::NicCase | Unit::NatGateway => 2,
                _ => 1,
            };
            if needed > self.budget {
                self.storage();
                continue;
            }
            match unit {
                Unit::Vm => self.vm(n),
                Unit::Storage => self.storage(),
                Unit::UnattachedDisk => self.unattached_disk(),
                Unit::Snapshot => self.snapshot(n),
                Unit::Plan => self.plan(n),
                Unit::Sql => self.sql(n),
                Unit::NicCase => self.nic_case(n),
                Unit::OrphanIp => self.orphan_ip(),
                Unit::NatGateway => self.nat_gateway(),
            }
        }
    }

    fn id(&self, rg: &str, rtype: &str, name: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}/providers/{rtype}/{name}", self.sub.id)
    }

    fn rg(&mut self) -> String {
        let groups = (self.spec.resources as usize / 12).max(1);
        let g = self.rng.random_range(0..groups);
        format!("rg-{}-{}-{:02}", APPS[g % APPS.len()], ENVS[g % ENVS.len()], g / APPS.len() + 1)
    }

    fn name(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}-{}-{:04}", APPS[self.seq % APPS.len()], self.seq)
    }

    fn push(&mut self, id: String, name: String, rg: String, kind: Kind, plant: Plant, age_days: u32) {
        let roll: f64 = self.rng.random();
        let cost_center = if roll < 0.06 {
            None
        } else if roll < 0.09 {
            Some(String::new())
        } else {
            Some(format!("cc-{}", 1000 + self.rng.random_range(1..=20)))
        };
        let env = ENVS[self.rng.random_range(0..ENVS.len())];
        let key = splitmix64(((self.index as u64) << 24) ^ self.out.len() as u64 ^ 0xA5A5);
        self.out.push(Resource {
            sub: self.index,
            key,
            id,
            name,
            rg,
            location: self.sub.region,
            cost_center,
            env,
            age_days,
            kind,
            plant,
        });
        self.budget = self.budget.saturating_sub(1);
    }

    fn old_age(&mut self) -> u32 {
        self.spec.days + self.rng.random_range(30..400)
    }

    fn util(&mut self, mean: f64, amp: f64, noise: f64, mem_used: f64, gap: f64) -> Util {
        let jitter: f64 = self.rng.random_range(-1.0..1.0);
        Util { mean: mean + jitter, amp, noise, mem_used, gap }
    }

    fn vm(&mut self, n: usize) {
        let rg = self.rg();
        let name = self.name("vm");
        let vm_id = self.id(&rg, "Microsoft.Compute/virtualMachines", &name);
        let nic_id = self.id(&rg, "Microsoft.Network/networkInterfaces", &format!("{name}-nic"));
        let os_name = format!("{name}_OsDisk_1_{:032x}", self.rng.random::<u128>());
        let os_id = self.id(&rg, "Microsoft.Compute/disks", &os_name);
        // (variant, downsizable sizes only for the underutilised ones)
        let variant = n % 10;
        let size = match variant {
            2 | 6 | 9 => [1, 2, 3, 5, 6, 9][self.rng.random_range(0..6)],
            1 | 3 | 7 => [1, 2, 4, 5][self.rng.random_range(0..4)],
            _ => self.rng.random_range(0..prices::VM_SIZES.len()),
        };
        let normal = self.util(45.0, 15.0, 8.0, 0.55, 0.02);
        let low = self.util(11.0, 3.0, 2.0, 0.2, 0.02);
        let (power, schedule, reserved, util, plant) = match variant {
            1 | 7 => (PowerState::Running, Schedule::Always, false, normal, Plant::Finding("rate.reserved_instance_gap")),
            2 => (PowerState::Running, Schedule::Always, false, low, Plant::Finding("rightsizing.underutilised_vm")),
            3 => (PowerState::Running, Schedule::Always, true, normal, Plant::NearMiss("reservation-covered VM")),
            5 => (PowerState::Deallocated, Schedule::Never, false, normal, Plant::None),
            6 => (
                PowerState::Running,
                Schedule::Always,
                true,
                Util { gap: 0.5, ..low },
                Plant::NearMiss("low CPU but under 80% metric coverage"),
            ),
            8 => (PowerState::Stopped, Schedule::Always, false, normal, Plant::None),
            9 => (
                PowerState::Running,
                Schedule::Always,
                true,
                Util { mem_used: 0.88, ..low },
                Plant::NearMiss("low CPU but memory under pressure"),
            ),
            _ => (PowerState::Running, Schedule::Weekdays, false, normal, Plant::None),
        };
        let mut disks = vec![os_id.clone()];
        let data_disk = (n % 3 == 2).then(|| {
            let data_name = format!("{name}-data-01");
            self.id(&rg, "Microsoft.Compute/disks", &data_name)
        });
        disks.extend(data_disk.clone());
        let age = self.old_age();
        let vm_kind = Kind::Vm { size, power, schedule, reserved, nic: nic_id.clone(), disks, util };
        self.push(vm_id.clone(), name.clone(), rg.clone(), vm_kind, plant, age);
        let nic = Kind::Nic { vm: Some(vm_id.clone()), private_endpoint: None };
        self.push(nic_id, format!("{name}-nic"), rg.clone(), nic, Plant::None, age);
        let dealloc = power == PowerState::Deallocated;
        let os_tier = [2, 1, 7, 10][self.rng.random_range(0..4)];
        let os_disk = Kind::Disk { tier: os_tier, owner: Some(vm_id.clone()), owner_deallocated: dealloc, os: true };
        self.push(os_id, os_name, rg.clone(), os_disk, Plant::NearMiss("attached disk"), age);
        if let Some(data_id) = data_disk {
            let tier = [3, 4, 8, 11][self.rng.random_range(0..4)];
            let disk = Kind::Disk { tier, owner: Some(vm_id), owner_deallocated: dealloc, os: false };
            self.push(data_id, format!("{name}-data-01"), rg, disk, Plant::None, age);
        }
    }

    fn storage(&mut self) {
        let rg = self.rg();
        self.seq += 1;
        let name = format!("st{}{:06}", APPS[self.seq % APPS.len()], self.seq);
        let id = self.id(&rg, "Microsoft.Storage/storageAccounts", &name);
        let size_gb = self.rng.random_range(50..2000);
        let age = self.old_age();
        self.push(id, name, rg, Kind::Storage { size_gb }, Plant::None, age);
    }

    fn unattached_disk(&mut self) {
        let rg = self.rg();
        let name = self.name("disk");
        let id = self.id(&rg, "Microsoft.Compute/disks", &name);
        let tier = self.rng.random_range(0..prices::DISK_TIERS.len());
        let kind = Kind::Disk { tier, owner: None, owner_deallocated: false, os: false };
        let age = self.old_age();
        self.push(id, name, rg, kind, Plant::Finding("waste.unattached_disk"), age);
    }

    fn snapshot(&mut self, n: usize) {
        let rg = self.rg();
        let name = self.name("snap");
        let id = self.id(&rg, "Microsoft.Compute/snapshots", &name);
        let (age, plant) = if n % 2 == 0 {
            (self.rng.random_range(120..400), Plant::Finding("waste.stale_snapshot"))
        } else {
            (self.rng.random_range(5..80), Plant::NearMiss("snapshot younger than 90 days"))
        };
        let size_gb = [32, 64, 128, 256, 512][self.rng.random_range(0..5)];
        let source = self.id(&rg, "Microsoft.Compute/disks", &format!("{name}-source"));
        self.push(id, name, rg, Kind::Snapshot { size_gb, source }, plant, age);
    }

    fn plan(&mut self, n: usize) {
        let rg = self.rg();
        let name = self.name("asp");
        let id = self.id(&rg, "Microsoft.Web/serverfarms", &name);
        let high = self.util(55.0, 15.0, 8.0, 0.65, 0.02);
        let low = self.util(10.0, 3.0, 2.0, 0.3, 0.02);
        let (sku, workers, sites, util, plant) = match n % 4 {
            1 => {
                let sku = [2, 4, 5][self.rng.random_range(0..3)];
                let workers = self.rng.random_range(1..=3);
                (sku, workers, 2, low, Plant::Finding("rightsizing.app_service_plan"))
            }
            2 => {
                let sku = self.rng.random_range(0..prices::PLAN_SKUS.len());
                (sku, 1, 0, Util { mean: 0.0, amp: 0.0, noise: 0.5, ..low }, Plant::Finding("rightsizing.app_service_plan"))
            }
            3 => (self.rng.random_range(3..6), 2, 4, high, Plant::Finding("rate.savings_plan")),
            _ => (self.rng.random_range(0..3), 2, 3, high, Plant::None),
        };
        let age = self.old_age();
        self.push(id, name, rg, Kind::Plan { sku, workers, sites, util }, plant, age);
    }

    fn sql(&mut self, n: usize) {
        let rg = self.rg();
        let server = self.name("sql");
        let server_id = self.id(&rg, "Microsoft.Sql/servers", &server);
        let age = self.old_age();
        self.push(server_id.clone(), server.clone(), rg.clone(), Kind::SqlServer, Plant::None, age);
        let db = format!("db-{}", APPS[n % APPS.len()]);
        let id = format!("{server_id}/databases/{db}");
        let (objective, util, plant) = match n % 3 {
            1 => {
                let objective = [3, 4][self.rng.random_range(0..2)];
                (objective, self.util(17.0, 4.0, 3.0, 0.0, 0.02), Plant::Finding("rightsizing.sql_dtu"))
            }
            2 => (self.rng.random_range(0..2), self.util(50.0, 12.0, 8.0, 0.0, 0.02), Plant::None),
            _ => (self.rng.random_range(2..6), self.util(60.0, 15.0, 8.0, 0.0, 0.02), Plant::None),
        };
        self.push(id, db, rg, Kind::SqlDb { objective, util }, plant, age);
    }

    fn nic_case(&mut self, n: usize) {
        let rg = self.rg();
        let name = self.name("nic");
        let nic_id = self.id(&rg, "Microsoft.Network/networkInterfaces", &name);
        let age = self.old_age();
        if n % 2 == 0 {
            let nic = Kind::Nic { vm: None, private_endpoint: None };
            self.push(nic_id, name, rg, nic, Plant::Finding("waste.orphaned_nic"), age);
            self.storage();
        } else {
            let pe_name = format!("pe-{name}");
            let pe_id = self.id(&rg, "Microsoft.Network/privateEndpoints", &pe_name);
            let target = self.id(&rg, "Microsoft.Storage/storageAccounts", "stshared");
            let nic = Kind::Nic { vm: None, private_endpoint: Some(pe_id.clone()) };
            self.push(nic_id.clone(), name, rg.clone(), nic, Plant::NearMiss("NIC on a private endpoint"), age);
            self.push(pe_id, pe_name, rg, Kind::PrivateEndpoint { nic: nic_id, target }, Plant::None, age);
        }
    }

    fn orphan_ip(&mut self) {
        let rg = self.rg();
        let name = self.name("pip");
        let id = self.id(&rg, "Microsoft.Network/publicIPAddresses", &name);
        let age = self.old_age();
        let kind = Kind::PublicIp { ip_configuration: None, nat_gateway: None };
        self.push(id, name, rg, kind, Plant::Finding("waste.orphaned_public_ip"), age);
    }

    fn nat_gateway(&mut self) {
        let rg = self.rg();
        let name = self.name("ng");
        let nat_id = self.id(&rg, "Microsoft.Network/natGateways", &name);
        let ip_id = self.id(&rg, "Microsoft.Network/publicIPAddresses", &format!("{name}-pip"));
        let age = self.old_age();
        self.push(nat_id.clone(), name.clone(), rg.clone(), Kind::NatGateway { public_ip: ip_id.clone() }, Plant::None, age);
        let ip = Kind::PublicIp { ip_configuration: None, nat_gateway: Some(nat_id) };
        self.push(ip_id, format!("{name}-pip"), rg, ip, Plant::NearMiss("public IP on a NAT gateway"), age);
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
