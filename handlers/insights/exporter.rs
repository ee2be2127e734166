//! The uploader: a bounded queue drained by one background task that posts gzip-compressed
//! batches to `{endpoint}v2.1/track`. Nothing here can fail or hold up the caller: a full queue
//! drops the item (counted), a failed or slow upload drops its batch after [`UPLOAD_TIMEOUT`],
//! and a flush waits at most the time it is given.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{OnceCell, mpsc, oneshot};
use url::Url;

use crate::azure::credential::TokenSource;

/// Items waiting for upload at most; more are dropped (and counted) rather than held in memory.
pub const MAX_QUEUED: usize = 4096;

/// Items per upload at most.
pub const MAX_BATCH: usize = 512;

/// Longest one upload (token included) may take before its batch is dropped.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// How often queued items are sent when nothing asks for a flush.
const INTERVAL: Duration = Duration::from_secs(5);

enum Command {
    Item(Value),
    Flush(oneshot::Sender<()>),
}

/// How a flush ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushOutcome {
    /// Everything queued before the flush was sent (or dropped by a failed upload).
    Done,
    /// The uploads did not finish in time; the caller went on without them.
    TimedOut,
}

/// Counters of the exporter's own health.
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Items accepted by the endpoint's answer (2xx uploads).
    pub sent: AtomicU64,
    /// Items dropped: queue full, upload failed or timed out, no token.
    pub dropped: AtomicU64,
    /// Uploads that failed.
    pub failed_uploads: AtomicU64,
}

/// The handle the tracing layer and the flush points use.
#[derive(Debug)]
pub struct Exporter {
    tx: mpsc::Sender<Command>,
    stats: Arc<ExportStats>,
}

impl Exporter {
    /// Starts the upload task (inside the tokio runtime) for `endpoint`; with `tokens`, each
    /// upload carries a bearer token for [`super::MONITOR_SCOPE`].
    pub fn start(endpoint: Url, tokens: Option<Arc<dyn TokenSource>>) -> Self {
        let (tx, rx) = mpsc::channel(MAX_QUEUED);
        let stats = Arc::new(ExportStats::default());
        match endpoint.join("v2.1/track") {
            Ok(url) => {
                // The HTTP client (TLS roots and all) is built by the first upload, not here:
                // start-up is on the cold-start path of every instance.
                let uploader = Uploader { client: OnceCell::new(), url, tokens, stats: stats.clone() };
                tokio::spawn(uploader.run(rx));
            }
            // No task: the receiver is dropped and every item counts as dropped.
            Err(_) => drop(rx),
        }
        Self { tx, stats }
    }

    /// Queues an item without waiting; a full queue drops it.
    pub fn offer(&self, item: Value) {
        if self.tx.try_send(Command::Item(item)).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends everything queued, waiting at most `timeout`.
    pub async fn flush(&self, timeout: Duration) -> FlushOutcome {
        let (done, wait) = oneshot::channel();
        let flushed = tokio::time::timeout(timeout, async {
            self.tx.send(Command::Flush(done)).await.ok()?;
            wait.await.ok()
        })
        .await;
        match flushed {
            Ok(_) => FlushOutcome::Done,
            Err(_) => FlushOutcome::TimedOut,
        }
    }

    /// The exporter's counters.
    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }
}

struct Uploader {
    client: OnceCell<reqwest::Client>,
    url: Url,
    tokens: Option<Arc<dyn TokenSource>>,
    stats: Arc<ExportStats>,
}

impl Uploader {
    async fn run(self, mut rx: mpsc::Receiver<Command>) {
        let mut batch: Vec<Value> = Vec::new();
        loop {
            let command = if batch.is_empty() {
                rx.recv().await
            } else {
                match tokio::time::timeout(INTERVAL, rx.recv()).await {
                    Ok(command) => command,
                    Err(_) => {
                        self.upload(std::mem::take(&mut batch)).await;
                        continue;
                    }
                }
            };
            match command {
                None => {
                    self.upload(batch).await;
                    return;
                }
                Some(Command::Item(item)) => {
                    batch.push(item);
                    if batch.len() >= MAX_BATCH {
                        self.upload(std::mem::take(&mut batch)).await;
                    }
                }
                Some(Command::Flush(done)) => {
                    self.upload(std::mem::take(&mut batch)).await;
                    let _ = done.send(());
                }
            }
        }
    }

    async fn upload(&self, batch: Vec<Value>) {
        if batch.is_empty() {
            return;
        }
        let count = batch.len() as u64;
        let sent = tokio::time::timeout(UPLOAD_TIMEOUT, self.post(&batch)).await;
        if matches!(sent, Ok(Ok(()))) {
            self.stats.sent.fetch_add(count, Ordering::Relaxed);
        } else {
            self.stats.failed_uploads.fetch_add(1, Ordering::Relaxed);
            self.stats.dropped.fetch_add(count, Ordering::Relaxed);
        }
    }

    async fn post(&self, batch: &[Value]) -> Result<(), String> {
        let mut body = Vec::new();
        for item in batch {
            body.extend_from_slice(item.to_string().as_bytes());
            body.push(b'\n');
        }
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&body).map_err(|e| e.to_string())?;
        let body = gzip.finish().map_err(|e| e.to_string())?;
        let client = self
            .client
            .get_or_try_init(|| async {
                crate::outbound::client_builder()
                    .timeout(UPLOAD_TIMEOUT)
                    .connect_timeout(UPLOAD_TIMEOUT)
                    .build()
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut request = client
            .post(self.url.clone())
            .header("content-type", "application/x-json-stream")
            .header("content-encoding", "gzip")
            .body(body);
        if let Some(tokens) = &self.tokens {
            let token = tokens.token(None, super::MONITOR_SCOPE).await.map_err(|e| e.to_string())?;
            request = request.bearer_auth(token.token.expose());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() { Ok(()) } else { Err(response.status().to_string()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: u32) -> Value {
        serde_json::json!({"n": n})
    }

    #[tokio::test]
    async fn an_endpoint_that_never_answers_costs_a_flush_its_timeout_only() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let hold = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let exporter = Exporter::start(url, None);
        exporter.offer(item(1));
        let started = tokio::time::Instant::now();
        assert_eq!(exporter.flush(Duration::from_millis(200)).await, FlushOutcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2), "the flush is bounded by its timeout");
        hold.abort();
    }

    #[tokio::test]
    async fn a_refused_connection_drops_the_batch_and_the_flush_completes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let exporter = Exporter::start(url, None);
        exporter.offer(item(1));
        exporter.offer(item(2));
        assert_eq!(exporter.flush(UPLOAD_TIMEOUT * 2).await, FlushOutcome::Done);
        assert_eq!(exporter.stats().dropped.load(Ordering::Relaxed), 2);
        assert_eq!(exporter.stats().sent.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_growing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let exporter = Exporter::start(url, None);
        // The task is parked on its first (never answered) upload once it has a full batch.
        for n in 0..(MAX_QUEUED + MAX_BATCH + 100) as u32 {
            exporter.offer(item(n));
        }
        assert!(exporter.stats().dropped.load(Ordering::Relaxed) >= 100, "{:?}", exporter.stats());
        drop(listener);
    }
}
