//! At most N CSV exports at a time per tenant.
//!
//! An export streams for as long as the client reads, issuing one query per page; without a
//! bound one tenant could open enough of them to occupy the database for everyone. A slot is
//! taken before the export starts and travels inside the response body, so it is given back
//! when the stream ends, fails, or is dropped because the client went away. Like the rate
//! limiter this is per instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Seconds a refused client is told to wait: exports usually finish within seconds.
pub const RETRY_AFTER_SECS: u64 = 10;

/// The export slots of every tenant.
#[derive(Debug)]
pub struct ExportSlots {
    per_tenant: usize,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// One running export's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ExportSlot {
    _permit: OwnedSemaphorePermit,
}

impl ExportSlots {
    /// `per_tenant` concurrent exports per tenant (at least 1).
    pub fn new(per_tenant: usize) -> Self {
        Self { per_tenant: per_tenant.max(1), tenants: Mutex::new(HashMap::new()) }
    }

    /// Concurrent exports allowed per tenant.
    pub fn per_tenant(&self) -> usize {
        self.per_tenant
    }

    /// Takes a slot for `tenant`, or `None` when all of its slots are taken.
    pub fn try_acquire(&self, tenant: &str) -> Option<ExportSlot> {
        let semaphore = {
            let mut tenants = self.tenants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // A semaphore only the map holds has no export running: forget it, so the map
            // holds no more than the tenants exporting right now.
            tenants.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
            Arc::clone(
                tenants.entry(tenant.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(self.per_tenant))),
            )
        };
        semaphore.try_acquire_owned().ok().map(|permit| ExportSlot { _permit: permit })
    }

    /// Tenants with at least one export running (observed by tests).
    pub fn busy_tenants(&self) -> usize {
        let tenants = self.tenants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants.values().filter(|semaphore| Arc::strong_count(semaphore) > 1).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_tenant_and_come_back_when_dropped() {
        let slots = ExportSlots::new(2);
        let first = slots.try_acquire("a").unwrap();
        let second = slots.try_acquire("a").unwrap();
        assert!(slots.try_acquire("a").is_none(), "a third export of one tenant is refused");
        let other = slots.try_acquire("b");
        assert!(other.is_some(), "another tenant is not affected");
        assert_eq!(slots.busy_tenants(), 2);
        drop(first);
        let third = slots.try_acquire("a");
        assert!(third.is_some(), "a finished export frees its slot");
        drop((second, third, other));
        assert_eq!(slots.busy_tenants(), 0);
        let _again = slots.try_acquire("c").unwrap();
        assert_eq!(slots.tenants.lock().unwrap().len(), 1, "idle tenants are forgotten");
    }

    #[test]
    fn zero_means_one() {
        let slots = ExportSlots::new(0);
        assert_eq!(slots.per_tenant(), 1);
        let _slot = slots.try_acquire("a").unwrap();
        assert!(slots.try_acquire("a").is_none());
    }
}
