//! A task's share of a bounded pool of work (a slot), which a long quota wait gives back.
//!
//! A process ingesting many subscriptions bounds how many it works on at once, for memory. A
//! subscription whose tenant's Cost Management windows are spent would otherwise hold its slot
//! for the seconds until they reopen, while subscriptions of other tenants wait for a slot with
//! quota to spare. [`crate::azure::ArmClient::reserve`] therefore gives the slot back while it
//! waits and takes it again (ahead of work not yet started) before it sends.
//!
//! The slot travels with the task (a task-local), so the pipeline between the pool and the
//! connector needs no parameter for it; a task outside any pool simply waits.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A slot that can be given back and taken again.
pub trait Slot: Send + Sync {
    /// Gives the slot back (no effect when not held).
    fn release(&self);
    /// Takes the slot again (at once when held).
    fn reacquire(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

tokio::task_local! {
    static SLOT: Arc<dyn Slot>;
}

/// Runs `work` in `slot`: quota waits inside it give the slot back.
pub async fn run_in<F: Future>(slot: Arc<dyn Slot>, work: F) -> F::Output {
    SLOT.scope(slot, work).await
}

/// The slot of the current task, if it runs in one.
pub fn current() -> Option<Arc<dyn Slot>> {
    SLOT.try_with(Arc::clone).ok()
}
