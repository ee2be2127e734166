//! Blob-created events for new blobs — files under the local storage root (each sub-directory is
//! a container) or blobs on Azurite — delivered as the EventGrid-source blob trigger's envelope
//! (spec §4.7).
//!
//! Like Event Grid, only blobs created after start-up raise events. Local files whose name starts
//! with `.` are in-progress writes (the raw store writes a temporary file and renames it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use azure_storage_blob::BlobContainerClient;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use serde_json::{Map, Value, json};

use crate::appdef::{FunctionDef, match_blob_path};
use crate::azurite::StorageAccount;
use crate::invocation::InvocationRequest;
use crate::invocation::encoding::{encode_bytes, encode_string};

use super::StorageMode;
use super::engine::Engine;
use super::invoker::envelope;

/// How often storage is scanned.
const SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// The queue the host puts poisoned blob work items on.
pub const BLOB_POISON_QUEUE: &str = "webjobs-blobtrigger-poison";

/// Blob path (`container/name`) → a version stamp (size and mtime, or the ETag).
type Seen = BTreeMap<String, String>;

/// Where blobs live.
enum Source {
    Local(PathBuf),
    Azurite { account: Box<StorageAccount>, containers: BTreeSet<String> },
}

impl Source {
    fn of(engine: &Engine) -> Self {
        match &engine.config.storage {
            StorageMode::Memory => Self::Local(engine.config.storage_root.clone()),
            StorageMode::Azurite(account) => Self::Azurite {
                account: account.clone(),
                containers: blob_triggers(engine)
                    .iter()
                    .filter_map(|f| f.trigger()?.path.as_deref()?.split('/').next().map(str::to_owned))
                    .collect(),
            },
        }
    }

    async fn scan(&self) -> Seen {
        match self {
            Self::Local(root) => scan_local(root),
            Self::Azurite { account, containers } => {
                let mut seen = Seen::new();
                for container in containers {
                    let Some(client) = container_client(account, container) else { continue };
                    let Ok(mut pager) = client.list_blobs(None) else { continue };
                    // A container that does not exist yet simply has no blobs.
                    while let Ok(Some(item)) = pager.try_next().await {
                        let Some(name) = item.name.clone() else { continue };
                        let etag =
                            item.properties.as_ref().and_then(|p| p.etag.as_ref()).map(ToString::to_string);
                        seen.insert(format!("{container}/{name}"), etag.unwrap_or_default());
                    }
                }
                seen
            }
        }
    }

    async fn read(&self, path: &str) -> Option<(Vec<u8>, Option<DateTime<Utc>>)> {
        match self {
            Self::Local(root) => {
                let file = root.join(path);
                let content = std::fs::read(&file).ok()?;
                let modified = std::fs::metadata(&file).ok()?.modified().ok().map(DateTime::<Utc>::from);
                Some((content, modified))
            }
            Self::Azurite { account, .. } => {
                let (container, name) = path.split_once('/')?;
                let blob = container_client(account, container)?.blob_client(name);
                let response = blob.download(None).await.ok()?;
                let bytes = response.body.collect().await.ok()?;
                Some((bytes.to_vec(), Some(Utc::now())))
            }
        }
    }
}

fn container_client(account: &StorageAccount, container: &str) -> Option<BlobContainerClient> {
    let url = account.signed_url(&account.blob_endpoint, container).ok()?;
    BlobContainerClient::new(url, None, None).ok()
}

fn blob_triggers(engine: &Engine) -> Vec<FunctionDef> {
    engine
        .app
        .functions
        .iter()
        .filter(|f| !f.disabled && f.trigger().is_some_and(|t| t.kind == "blobTrigger"))
        .cloned()
        .collect()
}

/// Takes the snapshot of existing blobs (which raise no events), then returns the task that scans
/// for new ones until the engine stops. The snapshot is taken before the caller announces the
/// emulator as started, so a blob written after start-up always raises its event.
pub async fn watch(engine: Arc<Engine>) -> impl std::future::Future<Output = ()> {
    let source = Source::of(&engine);
    let seen = source.scan().await;
    engine.blob_scans.fetch_add(1, Ordering::SeqCst);
    watch_from(engine, source, seen)
}

async fn watch_from(engine: Arc<Engine>, source: Source, mut seen: Seen) {
    let triggers = blob_triggers(&engine);
    let mut tick = tokio::time::interval(SCAN_INTERVAL);
    while !engine.is_stopping() {
        tick.tick().await;
        let current = source.scan().await;
        let mut work = Vec::new();
        for (path, stamp) in &current {
            if seen.get(path) == Some(stamp) {
                continue;
            }
            for def in &triggers {
                if let Some(request) = envelope_for(&source, def, path).await {
                    work.push((def.clone(), request));
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
    engine.queues.enqueue(BLOB_POISON_QUEUE, item.to_string().into_bytes()).await;
    say!("[host] blob for {} moved to {BLOB_POISON_QUEUE} after {attempts} attempts", def.name);
}

/// The envelope for the blob at `path` in the engine's storage, for a manual run.
pub async fn blob_envelope(engine: &Engine, def: &FunctionDef, path: &str) -> Option<InvocationRequest> {
    envelope_for(&Source::of(engine), def, path).await
}

async fn envelope_for(source: &Source, def: &FunctionDef, path: &str) -> Option<InvocationRequest> {
    let pattern = def.trigger()?.path.as_deref()?;
    match_blob_path(pattern, path)?;
    let (content, modified) = source.read(path).await?;
    let uri = match source {
        Source::Local(_) => format!("http://127.0.0.1:10000/devstoreaccount1/{path}"),
        Source::Azurite { account, .. } => {
            format!("{}/{path}", account.blob_endpoint.as_str().trim_end_matches('/'))
        }
    };
    build_envelope(def, path, &uri, &content, modified)
}

/// Builds the blob-trigger envelope, or `None` when `path` does not match the trigger pattern.
pub fn build_envelope(
    def: &FunctionDef,
    path: &str,
    uri: &str,
    content: &[u8],
    modified: Option<DateTime<Utc>>,
) -> Option<InvocationRequest> {
    let trigger = def.trigger()?;
    let tokens = match_blob_path(trigger.path.as_deref()?, path)?;
    let data = if trigger.data_type.as_deref() == Some("binary") {
        encode_bytes(content)
    } else {
        encode_string(&String::from_utf8_lossy(content))
    };
    let stamp = modified.map(|m| m.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
    let mut metadata = Map::new();
    metadata.insert("Uri".into(), encode_string(uri));
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
fn scan_local(root: &Path) -> Seen {
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
                seen.insert(key, format!("{}:{:?}", meta.len(), meta.modified().ok()));
            }
        }
    }
    seen
}
