//! Work slots of one process ingesting many subscriptions (`azcops ingest`, standing for one
//! Functions instance and its `host.json` concurrency).
//!
//! A slot bounds how many subscriptions hold data at once. A subscription gives its slot back
//! while it waits on its tenant's Cost Management quota ([`crate::azure::slot`]), so another
//! tenant's subscription works meanwhile, and takes one again **before** any subscription that
//! has not started: finishing work in hand frees memory, starting more work takes it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::azure::slot::Slot;

#[derive(Debug)]
struct State {
    free: usize,
    resuming: VecDeque<oneshot::Sender<()>>,
    starting: VecDeque<oneshot::Sender<()>>,
}

/// A fixed number of slots, handed to resuming work first.
#[derive(Debug)]
pub struct Slots {
    state: Mutex<State>,
}

impl Slots {
    /// `n` free slots (at least one).
    pub fn new(n: usize) -> Arc<Self> {
        let state = State { free: n.max(1), resuming: VecDeque::new(), starting: VecDeque::new() };
        Arc::new(Self { state: Mutex::new(state) })
    }

    async fn take(&self, resuming: bool) {
        let handed = {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.free > 0 && (resuming || s.resuming.is_empty()) {
                s.free -= 1;
                return;
            }
            let (tx, rx) = oneshot::channel();
            if resuming {
                s.resuming.push_back(tx)
            } else {
                s.starting.push_back(tx)
            }
            rx
        };
        // The giver hands its slot over by sending; `Slots` outlives every waiter, so an error
        // (the sender gone without sending) cannot happen while a slot is owed.
        let _ = handed.await;
    }

    fn give_back(&self) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(next) = s.resuming.pop_front().or_else(|| s.starting.pop_front()) {
            if next.send(()).is_ok() {
                return;
            }
        }
        s.free += 1;
    }

    /// Slots free now (for tests and diagnostics).
    pub fn free(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).free
    }

    /// Waits for a slot for new work, behind any resuming work.
    pub async fn start(self: &Arc<Self>) -> Arc<SlotHandle> {
        self.take(false).await;
        Arc::new(SlotHandle { slots: Arc::clone(self), held: AtomicBool::new(true) })
    }
}

/// One piece of work's slot; given back when dropped.
#[derive(Debug)]
pub struct SlotHandle {
    slots: Arc<Slots>,
    held: AtomicBool,
}

impl Slot for SlotHandle {
    fn release(&self) {
        if self.held.swap(false, Ordering::SeqCst) {
            self.slots.give_back();
        }
    }

    fn reacquire(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if !self.held.load(Ordering::SeqCst) {
                self.slots.take(true).await;
                self.held.store(true, Ordering::SeqCst);
            }
        })
    }
}

impl Drop for SlotHandle {
    fn drop(&mut self) {
        if self.held.swap(false, Ordering::SeqCst) {
            self.slots.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resuming_work_gets_a_slot_before_new_work() {
        let slots = Slots::new(1);
        let first = slots.start().await;
        assert_eq!(slots.free(), 0);
        first.release();
        let second = slots.start().await;
        // `first` wants its slot back while a third piece of work waits to start.
        let order = Arc::new(Mutex::new(Vec::new()));
        let third = {
            let (slots, order) = (Arc::clone(&slots), Arc::clone(&order));
            tokio::spawn(async move {
                let h = slots.start().await;
                order.lock().unwrap().push("third");
                drop(h);
            })
        };
        tokio::task::yield_now().await;
        let resumed = {
            let (first, order) = (Arc::clone(&first), Arc::clone(&order));
            tokio::spawn(async move {
                first.reacquire().await;
                order.lock().unwrap().push("first");
                first.release();
            })
        };
        tokio::task::yield_now().await;
        drop(second);
        resumed.await.unwrap();
        third.await.unwrap();
        assert_eq!(*order.lock().unwrap(), vec!["first", "third"]);
        drop(first);
        assert_eq!(slots.free(), 1, "every slot came back");
    }
}
