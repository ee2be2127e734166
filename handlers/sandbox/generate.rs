//! Fills one subscription of an estate by walking a fixed cycle of units (a VM with its NIC
//! and disks, a storage account, an unattached disk, …), so the share of each planted finding
//! and near miss is known exactly; sizes and ages come from the subscription's own RNG.
//!
//! Proportions (each unit kind cycles through its variants; counters start at the
//! subscription's index):
//! - unit cycle of 16: 6 VMs, 2 snapshots, 2 App Service plans, 1 each of storage account,
//!   unattached disk (finding), SQL server + database, NIC case, orphaned public IP (finding),
//!   NAT gateway + its public IP (near miss); a virtual network opens every subscription and
//!   storage accounts fill the remainder;
//! - VMs, cycle of 10: weekday-scheduled ×2, steady uncovered (`rate.reserved_instance_gap`)
//!   ×2, underutilised (`rightsizing.underutilised_vm`), reservation-covered (near miss),
//!   deallocated, low CPU with < 80 % metric coverage (near miss, covered), stopped, low CPU
//!   with memory pressure (near miss, covered); every VM has a NIC and an attached OS disk
//!   (near miss), every third a data disk, every fourth a public IP on its NIC (near miss);
//! - snapshots alternate stale (120–399 days, finding) and young (5–79 days, near miss);
//! - NIC cases alternate orphaned (finding) and on a private endpoint (near miss);
//! - plans, cycle of 6: busy ×3, underutilised and empty (`rightsizing.app_service_plan`),
//!   steady Premium v3 (`rate.savings_plan`);
//! - SQL databases, cycle of 3: busy ×2, over-provisioned S2/S3 (`rightsizing.sql_dtu`);
//! - every resource: `cost-center` tag absent with probability 6 %, empty 3 %.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::estate::{Kind, Plant, PowerState, Resource, Schedule, Subscription, Util, splitmix64};
use super::prices;
use super::spec::EstateSpec;

pub(super) const APPS: &[&str] = &["web", "api", "etl", "crm", "erp", "data", "ml", "shop", "auth", "search"];
pub(super) const ENVS: &[&str] = &["prod", "prod", "test", "dev"];

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

/// Appends the resources of subscription `index` to `out`.
pub fn fill_subscription(
    index: usize,
    sub: &Subscription,
    seed: u64,
    spec: EstateSpec,
    out: &mut Vec<Resource>,
) {
    SubBuilder::new(index, sub, seed, spec, out).fill();
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
    fn new(
        index: usize,
        sub: &'a Subscription,
        seed: u64,
        spec: EstateSpec,
        out: &'a mut Vec<Resource>,
    ) -> Self {
        let budget = spec.resources as usize;
        // Variant counters start at the subscription's index so that small subscriptions
        // still cover every variant across the estate.
        Self {
            index,
            sub,
            rng: ChaCha8Rng::seed_from_u64(seed),
            spec,
            out,
            budget,
            seq: 0,
            counters: [index; 9],
        }
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
                Unit::Vm => 5,
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
            1 | 7 => (
                PowerState::Running,
                Schedule::Always,
                false,
                normal,
                Plant::Finding("rate.reserved_instance_gap"),
            ),
            2 => (
                PowerState::Running,
                Schedule::Always,
                false,
                low,
                Plant::Finding("rightsizing.underutilised_vm"),
            ),
            3 => (
                PowerState::Running,
                Schedule::Always,
                true,
                normal,
                Plant::NearMiss("reservation-covered VM"),
            ),
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
        let public_ip = n
            .is_multiple_of(4)
            .then(|| self.id(&rg, "Microsoft.Network/publicIPAddresses", &format!("{name}-pip")));
        let nic = Kind::Nic { vm: Some(vm_id.clone()), private_endpoint: None, public_ip: public_ip.clone() };
        self.push(nic_id.clone(), format!("{name}-nic"), rg.clone(), nic, Plant::None, age);
        if let Some(ip_id) = public_ip {
            let ip = Kind::PublicIp {
                ip_configuration: Some(format!("{nic_id}/ipConfigurations/ipconfig1")),
                nat_gateway: None,
            };
            self.push(
                ip_id,
                format!("{name}-pip"),
                rg.clone(),
                ip,
                Plant::NearMiss("public IP bound to a NIC"),
                age,
            );
        }
        let dealloc = power == PowerState::Deallocated;
        let os_tier = [2, 1, 7, 10][self.rng.random_range(0..4)];
        let os_disk =
            Kind::Disk { tier: os_tier, owner: Some(vm_id.clone()), owner_deallocated: dealloc, os: true };
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
        let (age, plant) = if n.is_multiple_of(2) {
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
        let (sku, workers, sites, util, plant) = match n % 6 {
            1 => {
                let sku = [2, 4, 5][self.rng.random_range(0..3)];
                let workers = self.rng.random_range(1..=3);
                (sku, workers, 2, low, Plant::Finding("rightsizing.app_service_plan"))
            }
            3 => {
                let sku = self.rng.random_range(0..prices::PLAN_SKUS.len());
                (
                    sku,
                    1,
                    0,
                    Util { mean: 0.0, amp: 0.0, noise: 0.5, ..low },
                    Plant::Finding("rightsizing.app_service_plan"),
                )
            }
            5 => (self.rng.random_range(3..6), 2, 4, high, Plant::Finding("rate.savings_plan")),
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
        if n.is_multiple_of(2) {
            let nic = Kind::Nic { vm: None, private_endpoint: None, public_ip: None };
            self.push(nic_id, name, rg, nic, Plant::Finding("waste.orphaned_nic"), age);
            self.storage();
        } else {
            let pe_name = format!("pe-{name}");
            let pe_id = self.id(&rg, "Microsoft.Network/privateEndpoints", &pe_name);
            let target = self.id(&rg, "Microsoft.Storage/storageAccounts", "stshared");
            let nic = Kind::Nic { vm: None, private_endpoint: Some(pe_id.clone()), public_ip: None };
            self.push(
                nic_id.clone(),
                name,
                rg.clone(),
                nic,
                Plant::NearMiss("NIC on a private endpoint"),
                age,
            );
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
        self.push(
            nat_id.clone(),
            name.clone(),
            rg.clone(),
            Kind::NatGateway { public_ip: ip_id.clone() },
            Plant::None,
            age,
        );
        let ip = Kind::PublicIp { ip_configuration: None, nat_gateway: Some(nat_id) };
        self.push(ip_id, format!("{name}-pip"), rg, ip, Plant::NearMiss("public IP on a NAT gateway"), age);
    }
}
