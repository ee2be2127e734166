//! Waste rules: resources paid for and not used.

pub mod orphaned_nic;
pub mod orphaned_public_ip;
pub mod stale_snapshot;
pub mod unattached_disk;
