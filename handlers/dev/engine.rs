//! The emulator's core: invokes functions, applies their outputs, runs queue listeners, timers and
//! the blob watcher, and knows when all work has drained.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use crate::appdef::{AppDefinition, FunctionDef};
use crate::invocation::encoding::{
    decode_bytes, encode_bytes, encode_string, host_would_base64_decode, promote_json_properties,
};
use crate::invocation::{InvocationRequest, InvocationResponse};

use super::DevConfig;
use super::StorageMode;
use super::child::Supervisor;
use super::invoker::{Invoker, Outcome, envelope};
use super::queues::{QueueMessage, QueueService, poison_queue_name};
use super::storage::{AzuriteQueues, Queues};

/// How long a delivered message stays hidden while its invocation runs.
const IN_FLIGHT_HOLD: Duration = Duration::from_secs(600);

/// The running emulator.
pub struct Engine {
    /// The function app.
    pub app: AppDefinition,
    /// Emulator settings.
    pub config: DevConfig,
    /// The queues (in memory or on Azurite).
    pub queues: Queues,
    child: Supervisor,
    invoker: Invoker,
    /// The client forwarding public HTTP requests to the handler (redirects are not followed,
    /// as the host does not).
    pub(super) forwarder: reqwest::Client,
    in_flight: AtomicUsize,
    activity: Notify,
    stopping: AtomicBool,
    pub(super) blob_scans: AtomicUsize,
    activity_epoch: AtomicUsize,
}

impl Engine {
    /// Creates the engine around a started handler.
    pub fn new(app: AppDefinition, config: DevConfig, child: Supervisor) -> Self {
        let invoker = Invoker::new(child.port, app.host.function_timeout);
        let queues = match &config.storage {
            StorageMode::Memory => Queues::Memory(QueueService::default()),
            StorageMode::Azurite(account) => {
                Queues::Azurite(AzuriteQueues::new((**account).clone(), app.host.queues.base64_messages))
            }
        };
        Self {
            app,
            config,
            queues,
            child,
            invoker,
            // Forwarding is raw, as the host's: bodies stay encoded (gzip passes through).
            forwarder: reqwest::Client::builder()
                .no_proxy()
                .no_gzip()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            in_flight: AtomicUsize::new(0),
            activity: Notify::new(),
            stopping: AtomicBool::new(false),
            blob_scans: AtomicUsize::new(0),
            activity_epoch: AtomicUsize::new(0),
        }
    }

    /// The handler's port.
    pub fn handler_port(&self) -> u16 {
        self.child.port
    }

    /// Prints the function list, as the host console does at start. The listening line stays on
    /// the console even when the rest goes to a log (it names the URL and the handler's pid).
    pub fn print_banner(&self, public_port: u16) {
        println!(
            "AzCops local host listening on http://127.0.0.1:{public_port} (handler on 127.0.0.1:{}, pid {})",
            self.child.port,
            self.child.pid()
        );
        say!("Functions:");
        for f in &self.app.functions {
            let Some(trigger) = f.trigger() else { continue };
            match trigger.kind.as_str() {
                "httpTrigger" => {
                    let prefix = if self.app.host.route_prefix.is_empty() {
                        String::new()
                    } else {
                        format!("/{}", self.app.host.route_prefix)
                    };
                    let route = trigger.route.clone().unwrap_or_else(|| f.name.clone());
                    say!("    {}: http://127.0.0.1:{public_port}{prefix}/{route}", f.name);
                }
                kind => say!("    {}: {kind}", f.name),
            }
        }
    }

    /// Starts queue listeners, timers (unless disabled) and the blob watcher (whose snapshot of
    /// existing blobs is taken before this returns).
    pub async fn start_background(self: &Arc<Self>, timers: bool) {
        for def in self.app.functions.iter().filter(|f| !f.disabled) {
            let Some(trigger) = def.trigger() else { continue };
            match trigger.kind.as_str() {
                "queueTrigger" => {
                    let queue = trigger.queue_name.clone().unwrap_or_default();
                    tokio::spawn(self.clone().listen(def.clone(), queue));
                }
                "timerTrigger" if timers => {
                    tokio::spawn(super::timers::run(self.clone(), def.clone()));
                }
                _ => {}
            }
        }
        tokio::spawn(super::blobs::watch(self.clone()).await);
    }

    /// Runs a non-HTTP function once, as `POST /admin/functions/{name}` does.
    pub async fn run_manually(self: &Arc<Self>, name: &str, input: Option<String>) {
        let Some(def) = self.app.function(name).cloned() else { return };
        let Some(trigger) = def.trigger().cloned() else { return };
        let request = match trigger.kind.as_str() {
            "timerTrigger" => envelope(&trigger.name, super::timers::timer_info(None, None), Map::new()),
            "queueTrigger" => {
                let text = input.unwrap_or_default();
                let message = QueueMessage {
                    id: uuid::Uuid::new_v4().to_string(),
                    pop_receipt: uuid::Uuid::new_v4().to_string(),
                    body: text.into_bytes(),
                    dequeue_count: 1,
                    inserted: chrono::Utc::now(),
                    expires: chrono::Utc::now(),
                    next_visible: chrono::Utc::now(),
                };
                queue_envelope(&trigger.name, trigger.data_type.as_deref(), &message)
            }
            "blobTrigger" => {
                let path = input.unwrap_or_default();
                match super::blobs::blob_envelope(self, &def, &path).await {
                    Some(request) => request,
                    None => {
                        say_err!("[host] {name}: no blob at {path} matching the trigger path");
                        return;
                    }
                }
            }
            _ => {
                say_err!("[host] {name}: HTTP functions are called over HTTP, not run manually");
                return;
            }
        };
        self.invoke(&def, request).await;
    }

    /// Invokes `def`, applies its queue outputs, and tracks it for idleness.
    pub async fn invoke(&self, def: &FunctionDef, request: InvocationRequest) -> Outcome {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.child.ready().await;
        let outcome = self.invoker.invoke(&def.name, request).await;
        match &outcome {
            Outcome::Succeeded(response) => self.apply_queue_outputs(def, response).await,
            Outcome::Unreachable(_) => self.child.report_unreachable(),
            Outcome::Failed(_) => {}
        }
        self.activity_epoch.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.activity.notify_waiters();
        outcome
    }

    /// Enqueues what a function returned on its queue output bindings (spec §6.3).
    pub async fn apply_queue_outputs(&self, def: &FunctionDef, response: &InvocationResponse) {
        for binding in def.outputs().filter(|b| b.kind == "queue") {
            let value = if binding.name == "$return" {
                Some(&response.return_value)
            } else {
                response.outputs.iter().find(|(k, _)| k.eq_ignore_ascii_case(&binding.name)).map(|(_, v)| v)
            };
            let Some(value) = value else { continue };
            let queue = binding.queue_name.clone().unwrap_or_default();
            for message in queue_messages(value, binding.data_type.as_deref() == Some("binary")) {
                self.queues.enqueue(&queue, message).await;
            }
        }
        for binding in def.outputs().filter(|b| b.kind == "blob") {
            if response.outputs.contains_key(&binding.name) {
                say_err!(
                    "[host] {}: blob output bindings are not emulated; `{}` ignored",
                    def.name,
                    binding.name
                );
            }
        }
    }

    async fn listen(self: Arc<Self>, def: FunctionDef, queue: String) {
        let options = self.app.host.queues.clone();
        let slots = Arc::new(Semaphore::new(options.batch_size.max(1) as usize));
        // As the extension does: poll again at once after a hit, back off exponentially when idle.
        let mut idle_wait = Duration::from_millis(50);
        let never = Notify::new();
        while !self.stopping.load(Ordering::SeqCst) {
            let changed = self.queues.memory().map_or_else(|| never.notified(), QueueService::changed);
            tokio::pin!(changed);
            changed.as_mut().enable();
            let free = slots.available_permits();
            let batch =
                if free == 0 { Vec::new() } else { self.queues.receive(&queue, free, IN_FLIGHT_HOLD).await };
            if batch.is_empty() {
                let wake = match self.queues.memory() {
                    Some(memory) => memory.next_visible(&queue).map_or(options.max_polling_interval, |at| {
                        at.saturating_duration_since(Instant::now()).min(options.max_polling_interval)
                    }),
                    None => idle_wait,
                };
                idle_wait = (idle_wait * 2).min(options.max_polling_interval);
                tokio::select! {
                    () = &mut changed => {},
                    () = tokio::time::sleep(wake.max(Duration::from_millis(5))) => {},
                }
                continue;
            }
            idle_wait = Duration::from_millis(50);
            for message in batch {
                let Ok(permit) = slots.clone().acquire_owned().await else { return };
                let engine = self.clone();
                let (def, queue) = (def.clone(), queue.clone());
                tokio::spawn(async move {
                    engine.deliver(&def, &queue, message).await;
                    drop(permit);
                });
            }
        }
    }

    /// Delivers one message: success deletes it; a failure releases it after
    /// `visibilityTimeout`, or moves it to `<queue>-poison` once `maxDequeueCount` is reached.
    async fn deliver(&self, def: &FunctionDef, queue: &str, message: QueueMessage) {
        let options = &self.app.host.queues;
        let Some(trigger) = def.trigger() else { return };
        // A message already past the limit (e.g. after crashes) is poisoned without invoking.
        let exhausted = message.dequeue_count > options.max_dequeue_count;
        let succeeded = !exhausted
            && self
                .invoke(def, queue_envelope(&trigger.name, trigger.data_type.as_deref(), &message))
                .await
                .succeeded();
        if succeeded {
            self.queues.delete(queue, &message).await;
        } else if exhausted || message.dequeue_count >= options.max_dequeue_count {
            if let Some(poison) = poison_queue_name(queue) {
                self.queues.enqueue(&poison, message.body.clone()).await;
                say!(
                    "[host] message {} moved to {poison} after {} attempts",
                    message.id,
                    message.dequeue_count
                );
            }
            self.queues.delete(queue, &message).await;
        } else {
            self.queues.release(queue, &message, options.visibility_timeout).await;
        }
        self.activity.notify_waiters();
    }

    /// True when nothing is running, no listened queue holds a message, and the blob watcher has
    /// finished a scan that began after the last invocation ended.
    async fn is_idle(&self, scans_at_last_activity: usize, listened: &[String]) -> bool {
        if self.in_flight.load(Ordering::SeqCst) != 0
            || self.blob_scans.load(Ordering::SeqCst) < scans_at_last_activity + 2
        {
            return false;
        }
        for queue in listened {
            if self.queues.len(queue).await != 0 {
                return false;
            }
        }
        true
    }

    /// Waits until all work has drained.
    pub async fn wait_until_idle(&self) {
        let listened: Vec<String> = self
            .app
            .functions
            .iter()
            .filter_map(|f| {
                f.trigger().filter(|t| t.kind == "queueTrigger").and_then(|t| t.queue_name.clone())
            })
            .collect();
        let mut epoch = usize::MAX;
        let mut scans_at_activity = 0;
        loop {
            let current = self.activity_epoch.load(Ordering::SeqCst);
            if current != epoch {
                epoch = current;
                scans_at_activity = self.blob_scans.load(Ordering::SeqCst);
            }
            if self.is_idle(scans_at_activity, &listened).await
                && self.activity_epoch.load(Ordering::SeqCst) == epoch
            {
                return;
            }
            tokio::select! {
                () = self.activity.notified() => {},
                () = tokio::time::sleep(Duration::from_millis(50)) => {},
            }
        }
    }

    /// Stops background work and the handler.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.child.stop().await;
    }

    /// True once shutdown began.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// The queue-trigger envelope the host sends for `message` (spec §4.5).
pub fn queue_envelope(binding: &str, data_type: Option<&str>, message: &QueueMessage) -> InvocationRequest {
    let text = String::from_utf8_lossy(&message.body).into_owned();
    let data = if data_type == Some("binary") { encode_bytes(&message.body) } else { encode_string(&text) };
    let date =
        |d: chrono::DateTime<chrono::Utc>| Value::String(d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
    let mut metadata = Map::new();
    metadata.insert("DequeueCount".into(), Value::String(message.dequeue_count.to_string()));
    metadata.insert("ExpirationTime".into(), date(message.expires));
    metadata.insert("Id".into(), encode_string(&message.id));
    metadata.insert("InsertionTime".into(), date(message.inserted));
    metadata.insert("NextVisibleTime".into(), date(message.next_visible));
    metadata.insert("PopReceipt".into(), encode_string(&message.pop_receipt));
    promote_json_properties(&mut metadata, &text);
    envelope(binding, data, metadata)
}

/// The messages a queue output value turns into (spec §6.3).
pub fn queue_messages(value: &Value, binary: bool) -> Vec<Vec<u8>> {
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    match value {
        Value::Null => Vec::new(),
        Value::String(text) if binary => vec![text.clone().into_bytes()],
        Value::String(text) if host_would_base64_decode(text) => {
            decode_bytes("output", value).map(|b| vec![b]).unwrap_or_else(|_| vec![text.clone().into_bytes()])
        }
        Value::String(text) => {
            let trimmed = text.trim();
            match serde_json::from_str::<Value>(trimmed) {
                Ok(parsed @ Value::Array(_)) if trimmed.starts_with('[') => queue_messages(&parsed, false),
                Ok(parsed @ Value::Object(_)) if trimmed.starts_with('{') => vec![pretty(&parsed)],
                _ => vec![text.clone().into_bytes()],
            }
        }
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone().into_bytes(),
                Value::Object(_) | Value::Array(_) => pretty(item),
                other => other.to_string().into_bytes(),
            })
            .collect(),
        Value::Object(_) => vec![pretty(value)],
        other => vec![other.to_string().into_bytes()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queue_outputs_fan_out_like_the_host() {
        assert_eq!(queue_messages(&json!(["a b", {"x": 1}]), false).len(), 2);
        assert_eq!(queue_messages(&json!("[\"x y\",\"z w\"]"), false).len(), 2);
        assert_eq!(queue_messages(&json!({"x": 1}), false), vec![b"{\n  \"x\": 1\n}".to_vec()]);
        // Valid base64 text is decoded to bytes, the pitfall the protocol spec warns about.
        assert_eq!(queue_messages(&json!("dGVzdA=="), false), vec![b"test".to_vec()]);
        assert_eq!(queue_messages(&json!("hello world"), false), vec![b"hello world".to_vec()]);
        assert!(queue_messages(&Value::Null, false).is_empty());
    }

    #[test]
    fn queue_envelopes_decode_in_the_handler() {
        use crate::invocation::{QueueTrigger, TriggerPayload};
        let message = QueueMessage {
            id: "m1".into(),
            pop_receipt: "p".into(),
            body: br#"{"run_id":"r1","kind":"full"}"#.to_vec(),
            dequeue_count: 2,
            inserted: chrono::Utc::now(),
            expires: chrono::Utc::now(),
            next_visible: chrono::Utc::now(),
        };
        let request = queue_envelope("message", None, &message);
        let decoded = QueueTrigger::decode("message", &request).unwrap();
        assert_eq!(decoded.dequeue_count, 2);
        assert_eq!(decoded.message, r#"{"run_id":"r1","kind":"full"}"#);
        assert_eq!(request.metadata.get("kind"), Some(&json!("\"full\"")));
    }
}
