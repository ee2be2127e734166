//! The emulator's queue storage: in memory (the embedded default) or Azurite, behind one type
//! with storage-queue semantics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_storage_queue::QueueClient;
use azure_storage_queue::models::QueueMessage as WireMessage;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};

use crate::azurite::StorageAccount;

use super::queues::{QueueMessage, QueueService};

/// Queue storage used by the emulator.
pub enum Queues {
    /// In-memory queues.
    Memory(QueueService),
    /// Queues on Azurite.
    Azurite(AzuriteQueues),
}

impl Queues {
    /// Adds a message.
    pub async fn enqueue(&self, queue: &str, body: Vec<u8>) {
        match self {
            Self::Memory(q) => q.enqueue(queue, body),
            Self::Azurite(q) => q.enqueue(queue, &body).await,
        }
    }

    /// Takes up to `max` visible messages, hiding each for `hold`.
    pub async fn receive(&self, queue: &str, max: usize, hold: Duration) -> Vec<QueueMessage> {
        match self {
            Self::Memory(q) => q.receive(queue, max, hold),
            Self::Azurite(q) => q.receive(queue, max, hold).await,
        }
    }

    /// Deletes a delivered message.
    pub async fn delete(&self, queue: &str, message: &QueueMessage) {
        match self {
            Self::Memory(q) => q.delete(queue, &message.id),
            Self::Azurite(q) => q.delete(queue, message).await,
        }
    }

    /// Makes a delivered message visible again after `delay`.
    pub async fn release(&self, queue: &str, message: &QueueMessage, delay: Duration) {
        match self {
            Self::Memory(q) => q.release(queue, &message.id, delay),
            Self::Azurite(q) => q.release(queue, message, delay).await,
        }
    }

    /// Messages in `queue`, visible or not (approximate on Azurite).
    pub async fn len(&self, queue: &str) -> usize {
        match self {
            Self::Memory(q) => q.len(queue),
            Self::Azurite(q) => q.len(queue).await,
        }
    }

    /// The in-memory service, whose changes can be awaited instead of polled.
    pub fn memory(&self) -> Option<&QueueService> {
        match self {
            Self::Memory(q) => Some(q),
            Self::Azurite(_) => None,
        }
    }
}

/// Storage queues on Azurite, through the Azure SDK with an account SAS.
pub struct AzuriteQueues {
    account: StorageAccount,
    base64_messages: bool,
    clients: Mutex<BTreeMap<String, Arc<QueueClient>>>,
}

impl AzuriteQueues {
    /// Queues of `account`, encoding messages as `host.json`'s `messageEncoding` says.
    pub fn new(account: StorageAccount, base64_messages: bool) -> Self {
        Self { account, base64_messages, clients: Mutex::new(BTreeMap::new()) }
    }

    async fn client(&self, queue: &str) -> Option<Arc<QueueClient>> {
        if let Some(client) =
            self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(queue)
        {
            return Some(client.clone());
        }
        let url = self.account.signed_url(&self.account.queue_endpoint, queue).ok()?;
        let client = Arc::new(QueueClient::new(url, None, None).ok()?);
        // Created on demand, as the Functions host does for a trigger's queue and poison queue.
        if let Err(e) = client.create(None).await {
            say_err!("[host] cannot create queue {queue} on Azurite: {e}");
            return None;
        }
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(queue.to_owned(), client.clone());
        Some(client)
    }

    async fn enqueue(&self, queue: &str, body: &[u8]) {
        let Some(client) = self.client(queue).await else { return };
        let text = if self.base64_messages {
            BASE64.encode(body)
        } else {
            String::from_utf8_lossy(body).into_owned()
        };
        let message = WireMessage { message_text: Some(text) };
        let sent = match message.try_into() {
            Ok(content) => client.send_message(content, None).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            say_err!("[host] cannot enqueue to {queue} on Azurite: {e}");
        }
    }

    async fn receive(&self, queue: &str, max: usize, hold: Duration) -> Vec<QueueMessage> {
        let Some(client) = self.client(queue).await else { return Vec::new() };
        let options = azure_storage_queue::models::QueueClientReceiveMessagesOptions {
            number_of_messages: Some(max.clamp(1, 32) as i32),
            visibility_timeout: Some(hold.as_secs().max(1) as i32),
            ..Default::default()
        };
        let received = match client.receive_messages(Some(options)).await.and_then(|r| r.into_model()) {
            Ok(list) => list.items.unwrap_or_default(),
            Err(e) => {
                say_err!("[host] cannot receive from {queue} on Azurite: {e}");
                return Vec::new();
            }
        };
        let when = |t: Option<azure_core::time::OffsetDateTime>| {
            t.and_then(|t| DateTime::<Utc>::from_timestamp(t.unix_timestamp(), 0)).unwrap_or_else(Utc::now)
        };
        let mut messages = Vec::new();
        for item in received {
            let (Some(id), Some(pop_receipt)) = (item.message_id.clone(), item.pop_receipt.clone()) else {
                continue;
            };
            let text = item.message_text.clone().unwrap_or_default();
            let body = if self.base64_messages {
                match BASE64.decode(text.as_bytes()) {
                    Ok(bytes) => bytes,
                    Err(_) => {
                        // The host moves a message it cannot decode to the poison queue at once.
                        say_err!(
                            "[host] message {id} in {queue} is not base64; moved to poison without invoking"
                        );
                        if let Some(poison) = super::queues::poison_queue_name(queue) {
                            self.enqueue(&poison, text.as_bytes()).await;
                        }
                        let _ = client.delete_message(&id, &pop_receipt, None).await;
                        continue;
                    }
                }
            } else {
                text.into_bytes()
            };
            messages.push(QueueMessage {
                id,
                pop_receipt,
                body,
                dequeue_count: item.dequeue_count.unwrap_or(1).max(1) as u32,
                inserted: when(item.insertion_time),
                expires: when(item.expiration_time),
                next_visible: when(item.time_next_visible),
            });
        }
        messages
    }

    async fn delete(&self, queue: &str, message: &QueueMessage) {
        if let Some(client) = self.client(queue).await
            && let Err(e) = client.delete_message(&message.id, &message.pop_receipt, None).await
        {
            say_err!("[host] cannot delete message {} from {queue}: {e}", message.id);
        }
    }

    async fn release(&self, queue: &str, message: &QueueMessage, delay: Duration) {
        if let Some(client) = self.client(queue).await
            && let Err(e) =
                client.update_message(&message.id, &message.pop_receipt, delay.as_secs() as i32, None).await
        {
            say_err!("[host] cannot release message {} in {queue}: {e}", message.id);
        }
    }

    async fn len(&self, queue: &str) -> usize {
        let Some(client) = self.client(queue).await else { return 0 };
        match client.get_properties(None).await {
            Ok(response) => response
                .headers()
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static(
                    "x-ms-approximate-messages-count",
                ))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            Err(_) => 0,
        }
    }
}
