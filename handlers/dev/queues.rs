//! In-memory storage queues with the semantics the Functions queue trigger relies on: dequeue
//! counts, visibility timeouts, message expiry and a `<queue>-poison` queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Messages live this long, the storage default.
const TIME_TO_LIVE: Duration = Duration::from_secs(7 * 24 * 3600);

/// One queue message as a trigger sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Message id.
    pub id: String,
    /// Pop receipt of the current delivery.
    pub pop_receipt: String,
    /// The message content (after the queue's message encoding is removed).
    pub body: Vec<u8>,
    /// Deliveries so far, this one included.
    pub dequeue_count: u32,
    /// When it was enqueued.
    pub inserted: DateTime<Utc>,
    /// When it expires.
    pub expires: DateTime<Utc>,
    /// When it becomes visible again if not deleted.
    pub next_visible: DateTime<Utc>,
}

#[derive(Debug)]
struct Stored {
    message: QueueMessage,
    visible_at: Instant,
}

/// A set of named in-memory queues.
#[derive(Debug, Default)]
pub struct QueueService {
    queues: Mutex<BTreeMap<String, VecDeque<Stored>>>,
    changed: Notify,
}

impl QueueService {
    /// Adds a message to `queue` (created on demand), visible at once.
    pub fn enqueue(&self, queue: &str, body: Vec<u8>) {
        let now = Utc::now();
        let message = QueueMessage {
            id: uuid::Uuid::new_v4().to_string(),
            pop_receipt: String::new(),
            body,
            dequeue_count: 0,
            inserted: now,
            expires: now + chrono::Duration::from_std(TIME_TO_LIVE).unwrap_or_default(),
            next_visible: now,
        };
        self.with(|queues| {
            queues
                .entry(queue.to_owned())
                .or_default()
                .push_back(Stored { message, visible_at: Instant::now() })
        });
        self.changed.notify_waiters();
    }

    /// Takes up to `max` visible messages, hiding each for `hold` and counting the delivery.
    pub fn receive(&self, queue: &str, max: usize, hold: Duration) -> Vec<QueueMessage> {
        let now = Instant::now();
        let wall = Utc::now();
        self.with(|queues| {
            let Some(q) = queues.get_mut(queue) else { return Vec::new() };
            q.retain(|s| s.message.expires > wall);
            let mut taken = Vec::new();
            for stored in q.iter_mut().filter(|s| s.visible_at <= now).take(max) {
                stored.visible_at = now + hold;
                stored.message.dequeue_count += 1;
                stored.message.pop_receipt = uuid::Uuid::new_v4().to_string();
                stored.message.next_visible = wall + chrono::Duration::from_std(hold).unwrap_or_default();
                taken.push(stored.message.clone());
            }
            taken
        })
    }

    /// Deletes a delivered message.
    pub fn delete(&self, queue: &str, id: &str) {
        self.with(|queues| {
            if let Some(q) = queues.get_mut(queue) {
                q.retain(|s| s.message.id != id);
            }
        });
        self.changed.notify_waiters();
    }

    /// Makes a delivered message visible again after `delay`.
    pub fn release(&self, queue: &str, id: &str, delay: Duration) {
        self.with(|queues| {
            if let Some(stored) =
                queues.get_mut(queue).and_then(|q| q.iter_mut().find(|s| s.message.id == id))
            {
                stored.visible_at = Instant::now() + delay;
            }
        });
        self.changed.notify_waiters();
    }

    /// When the next message of `queue` becomes visible (`None` when the queue is empty).
    pub fn next_visible(&self, queue: &str) -> Option<Instant> {
        self.with(|queues| queues.get(queue).and_then(|q| q.iter().map(|s| s.visible_at).min()))
    }

    /// Messages in `queue`, visible or not.
    pub fn len(&self, queue: &str) -> usize {
        self.with(|queues| queues.get(queue).map_or(0, VecDeque::len))
    }

    /// A future completing at the next change of any queue (call `enable` on it before checking
    /// the queues, so no change between the check and the wait is missed).
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, VecDeque<Stored>>) -> T) -> T {
        let mut guard = self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

/// The poison queue of `queue`, or `None` when it has none (already a poison queue, or the name
/// would exceed the 63-character limit), as the extension decides.
pub fn poison_queue_name(queue: &str) -> Option<String> {
    let name = format!("{queue}-poison");
    (!queue.ends_with("-poison") && name.len() <= 63).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delivery_hides_counts_and_releases() {
        let q = QueueService::default();
        q.enqueue("a", b"m1".to_vec());
        let first = q.receive("a", 10, Duration::from_secs(30));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].dequeue_count, 1);
        assert!(q.receive("a", 10, Duration::from_secs(30)).is_empty(), "hidden while in flight");
        q.release("a", &first[0].id, Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(6)).await;
        let second = q.receive("a", 10, Duration::from_secs(30));
        assert_eq!(second[0].dequeue_count, 2);
        q.delete("a", &second[0].id);
        assert_eq!(q.len("a"), 0);
    }

    #[test]
    fn poison_names_follow_the_extension() {
        assert_eq!(poison_queue_name("ingest-subscription").as_deref(), Some("ingest-subscription-poison"));
        assert_eq!(poison_queue_name("x-poison"), None);
        assert_eq!(poison_queue_name(&"q".repeat(60)), None);
    }
}
