//! Blob-created events for new files under the local storage root (each sub-directory is a
//! container), delivered as the EventGrid-source blob trigger's envelope (spec §4.7).
//!
//! Like Event Grid, only blobs created after start-up raise events. Files whose name starts with
//! `.` are in-progress writes (the raw store writes a temporary file and renames it) and ignored.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::appdef::{FunctionDef, match_blob_path};
use crate::invocation::InvocationRequest;
use crate::invocation::encoding::{encode_bytes, encode_string};

use super::engine::Engine;
use super::invoker::envelope;

/// How often the storage root is scanned.
const SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// The queue the host puts poisoned blob work items on.
pub const BLOB_POISON_QUEUE: &str = "webjobs-blobtrigger-poison";

type Seen = BTreeMap<String, (u64, Option<SystemTime>)>;

/// Takes the snapshot of existing blobs (which raise no events), then returns the task that scans
/// for new ones until the engine stops. The snapshot is taken before the caller announces the
/// emulator as started, so a blob written after start-up always raises its event.
pub fn watch(engine: Arc<Engine>) -> impl std::future::Future<Output = ()> {
    let seen = scan(&engine.config.storage_root);
    engine.blob_scans.fetch_add(1, Ordering::SeqCst);
    watch_from(engine, seen)
}

async fn watch_from(engine: Arc<Engine>, mut seen: Seen) {
    let triggers: Vec<FunctionDef> = engine
        .app
        .functions
        .iter()
        .filter(|f| !f.disabled && f.trigger().is_some_and(|t| t.kind == "blobTrigger"))
        .cloned()
        .collect();
    let root = engine.config.storage_root.clone();
    let mut tick = tokio::time::interval(SCAN_INTERVAL);
    while !engine.is_stopping() {
        tick.tick().await;
        let current = scan(&root);
        let mut work = Vec::new();
        for (path, stamp) in &current {
            if seen.get(path) != Some(stamp) {
                for def in &triggers {
                    if let Some(request) = blob_envelope(&engine, def, path) {
                        work.push((def.clone(), request));
                    }
                }
            }
        }
        seen = current;
        for (def, request) in work {
            deliver(&engine, &def, request).await;
        }
        engine.blob_scans.fetch_add(1, Ordering::SeqCst);
    }
}

/// Invokes a blob trigger, retrying up to `poisonBlobThreshold` attempts, then poisons it.
async fn deliver(engine: &Engine, def: &FunctionDef, request: InvocationRequest) {
    let attempts = engine.app.host.poison_blob_threshold.max(1);
    for _ in 0..attempts {
        if engine.invoke(def, request.clone()).await.succeeded() {
            return;
        }
    }
    let uri = request.meta("Uri").cloned().unwrap_or(Value::Null);
    let item = json!({"Type": "BlobTrigger", "FunctionId": format!("Host.Functions.{}", def.name), "BlobType": "BlockBlob", "Uri": uri});
    engine.queues.enqueue(BLOB_POISON_QUEUE, item.to_string().into_bytes());
    println!("[host] blob for {} moved to {BLOB_POISON_QUEUE} after {attempts} attempts", def.name);
}

/// Builds the blob-trigger envelope for the blob at `path` (`container/name`), or `None` when the
/// path does not match the function's trigger pattern or the file cannot be read.
pub fn blob_envelope(engine: &Engine, def: &FunctionDef, path: &str) -> Option<InvocationRequest> {
    let trigger = def.trigger()?;
    let tokens = match_blob_path(trigger.path.as_deref()?, path)?;
    let file = engine.config.storage_root.join(path);
    let content = std::fs::read(&file).ok()?;
    let modified = std::fs::metadata(&file)
        .ok()
        .and_then(|m| m.modified().ok())
        .map(chrono::DateTime::<chrono::Utc>::from);
    let data = if trigger.data_type.as_deref() == Some("binary") {
        encode_bytes(&content)
    } else {
        encode_string(&String::from_utf8_lossy(&content))
    };
    let stamp = modified.map(|m| m.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
    let mut metadata = Map::new();
    metadata.insert("Uri".into(), encode_string(&format!("http://127.0.0.1:10000/devstoreaccount1/{path}")));
    metadata.insert(
        "Properties".into(),
        json!({"LastModified": stamp, "CreatedOn": stamp, "Metadata": {}, "BlobType": 0, "ContentLength": content.len(),
               "ContentType": "application/json", "ETag": {}, "LeaseState": 0, "LeaseStatus": 1, "AccessTier": "Hot"}),
    );
    metadata.insert("Metadata".into(), json!({}));
    for (name, value) in tokens {
        metadata.insert(name, encode_string(&value));
    }
    Some(envelope(&trigger.name, data, metadata))
}

/// Every file under `root` as `container/path` with its size and modification time.
fn scan(root: &Path) -> Seen {
    let mut seen = Seen::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with('.')
                && let Ok(relative) = path.strip_prefix(root)
            {
                let key = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                seen.insert(key, (meta.len(), meta.modified().ok()));
            }
        }
    }
    seen
}
