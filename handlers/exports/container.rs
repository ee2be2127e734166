//! Where export files are read from: a local directory standing for the exports container, or
//! a Blob container over HTTP (a container URL with a SAS query, or with the app's identity).
//! Blob names come from the manifest only; they are checked to stay inside the container.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use super::ExportError;
use super::ranges::{BlobRanges, FileRanges, RandomRead};
use crate::azure::credential::TokenSource;

/// Storage's OAuth scope.
const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";
/// A Blob REST version that accepts bearer tokens and account/container SAS alike.
const BLOB_VERSION: &str = "2021-08-06";
/// Downloaded chunks buffered between the network and the parser (bounds memory per file).
const CHUNKS_IN_FLIGHT: usize = 8;

/// A container of export files.
#[async_trait]
pub trait Container: Send + Sync + std::fmt::Debug {
    /// The blob's size in bytes, or `None` when it does not exist.
    async fn size(&self, blob: &str) -> Result<Option<u64>, ExportError>;
    /// The whole blob, refused when larger than `limit` bytes.
    async fn read_small(&self, blob: &str, limit: usize) -> Result<Vec<u8>, ExportError>;
    /// A blocking reader of the blob, to be read on a blocking thread.
    async fn open(&self, blob: &str) -> Result<Box<dyn Read + Send>, ExportError>;
    /// Blocking reads of byte ranges of the blob (Parquet keeps its schema and the place of
    /// every column in a footer, so it is read out of order), to be used on a blocking thread.
    async fn open_ranges(&self, blob: &str) -> Result<Arc<dyn RandomRead>, ExportError>;
}

/// A directory standing for the exports container (`azcops exports ingest --container-dir`).
#[derive(Debug, Clone)]
pub struct DirContainer {
    root: PathBuf,
}

impl DirContainer {
    /// The container rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, blob: &str) -> Result<PathBuf, ExportError> {
        if blob.is_empty() || blob.starts_with('/') || blob.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(ExportError::Manifest(format!(
                "blob name {blob:?} is not a path inside the container"
            )));
        }
        Ok(self.root.join(blob))
    }
}

#[async_trait]
impl Container for DirContainer {
    async fn size(&self, blob: &str) -> Result<Option<u64>, ExportError> {
        match tokio::fs::metadata(self.path(blob)?).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ExportError::Container(format!("cannot read {blob}: {e}"))),
        }
    }

    async fn read_small(&self, blob: &str, limit: usize) -> Result<Vec<u8>, ExportError> {
        match self.size(blob).await? {
            None => Err(ExportError::Missing { blob: blob.to_owned() }),
            Some(n) if n > limit as u64 => {
                Err(ExportError::Manifest(format!("{blob} is {n} bytes, more than the {limit} accepted")))
            }
            Some(_) => tokio::fs::read(self.path(blob)?)
                .await
                .map_err(|e| ExportError::Container(format!("cannot read {blob}: {e}"))),
        }
    }

    async fn open(&self, blob: &str) -> Result<Box<dyn Read + Send>, ExportError> {
        let file = std::fs::File::open(self.path(blob)?).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ExportError::Missing { blob: blob.to_owned() },
            _ => ExportError::Container(format!("cannot open {blob}: {e}")),
        })?;
        Ok(Box::new(std::io::BufReader::with_capacity(256 * 1024, file)))
    }

    async fn open_ranges(&self, blob: &str) -> Result<Arc<dyn RandomRead>, ExportError> {
        let file = std::fs::File::open(self.path(blob)?).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ExportError::Missing { blob: blob.to_owned() },
            _ => ExportError::Container(format!("cannot open {blob}: {e}")),
        })?;
        let len =
            file.metadata().map_err(|e| ExportError::Container(format!("cannot read {blob}: {e}")))?.len();
        Ok(Arc::new(FileRanges::new(file, len)))
    }
}

/// A Blob container reached over HTTP: `https://<account>.blob.core.windows.net/<container>`
/// (or Azurite's `http://127.0.0.1:10000/<account>/<container>`), with a SAS in the query or a
/// token from the app's identity.
#[derive(Clone)]
pub struct HttpContainer {
    base: Url,
    http: reqwest::Client,
    tokens: Option<Arc<dyn TokenSource>>,
}

impl std::fmt::Debug for HttpContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The query may hold a SAS signature: never print it.
        let mut shown = self.base.clone();
        shown.set_query(None);
        f.debug_struct("HttpContainer").field("container", &shown.as_str()).finish()
    }
}

/// Longest wait for the storage account to accept a connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest silence while reading a blob: a stalled download fails instead of holding the run.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl HttpContainer {
    /// The container at `url`; without a SAS in its query, `tokens` must be given.
    ///
    /// # Errors
    /// [`ExportError::Container`] for a URL that is not http(s) or has neither SAS nor identity.
    pub fn new(url: &str, tokens: Option<Arc<dyn TokenSource>>) -> Result<Self, ExportError> {
        let base = Url::parse(url.trim())
            .map_err(|_| ExportError::Container("the container URL is not a URL".into()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ExportError::Container("the container URL must be http(s)".into()));
        }
        let signed = Self::is_signed(&base);
        if !signed && tokens.is_none() {
            return Err(ExportError::Container(
                "the container URL carries no SAS and no identity is configured".into(),
            ));
        }
        // The identity's storage token is a bearer: never sent in clear text.
        if !signed && base.scheme() != "https" {
            return Err(ExportError::Container(
                "a container reached with the Azure identity must be https (http needs a SAS)".into(),
            ));
        }
        let http = crate::outbound::client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| ExportError::Container(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { base, http, tokens: if signed { None } else { tokens } })
    }

    /// Whether `url` carries a SAS (its `sig` parameter).
    pub fn is_signed(url: &Url) -> bool {
        url.query_pairs().any(|(k, _)| k == "sig")
    }

    fn blob_url(&self, blob: &str) -> Result<Url, ExportError> {
        if blob.is_empty() || blob.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(ExportError::Manifest(format!(
                "blob name {blob:?} is not a path inside the container"
            )));
        }
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| ExportError::Container("the container URL cannot hold a path".into()))?;
            segments.pop_if_empty();
            segments.extend(blob.split('/'));
        }
        Ok(url)
    }

    async fn request(&self, method: reqwest::Method, blob: &str) -> Result<reqwest::Response, ExportError> {
        self.request_range(method, blob, None).await
    }

    /// A request for the blob, or for bytes `first..=last` of it.
    pub(super) async fn request_range(
        &self,
        method: reqwest::Method,
        blob: &str,
        range: Option<(u64, u64)>,
    ) -> Result<reqwest::Response, ExportError> {
        let mut request =
            self.http.request(method, self.blob_url(blob)?).header("x-ms-version", BLOB_VERSION);
        if let Some((first, last)) = range {
            request = request.header(reqwest::header::RANGE, format!("bytes={first}-{last}"));
        }
        if let Some(tokens) = &self.tokens {
            let token = tokens
                .token(None, STORAGE_SCOPE)
                .await
                .map_err(|e| ExportError::Container(format!("no storage token: {e}")))?;
            request = request.bearer_auth(token.token.expose());
        }
        // Transport errors quote the URL (and its SAS): report the kind only.
        request.send().await.map_err(|e| {
            ExportError::Container(format!("cannot reach the container for {blob}: {}", kind_of(&e)))
        })
    }
}

pub(super) fn kind_of(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

pub(super) fn status_error(blob: &str, status: reqwest::StatusCode) -> ExportError {
    if status == reqwest::StatusCode::NOT_FOUND {
        ExportError::Missing { blob: blob.to_owned() }
    } else {
        ExportError::Container(format!("reading {blob} answered {status}"))
    }
}

#[async_trait]
impl Container for HttpContainer {
    async fn size(&self, blob: &str) -> Result<Option<u64>, ExportError> {
        let response = self.request(reqwest::Method::HEAD, blob).await?;
        match response.status() {
            s if s.is_success() => Ok(response
                .headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            s => Err(status_error(blob, s)),
        }
    }

    async fn read_small(&self, blob: &str, limit: usize) -> Result<Vec<u8>, ExportError> {
        let mut response = self.request(reqwest::Method::GET, blob).await?;
        if !response.status().is_success() {
            return Err(status_error(blob, response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ExportError::Container(format!("reading {blob}: {}", kind_of(&e))))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(ExportError::Manifest(format!("{blob} is more than the {limit} bytes accepted")));
            }
        }
        Ok(body)
    }

    async fn open(&self, blob: &str) -> Result<Box<dyn Read + Send>, ExportError> {
        let mut response = self.request(reqwest::Method::GET, blob).await?;
        if !response.status().is_success() {
            return Err(status_error(blob, response.status()));
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<bytes::Bytes>>(CHUNKS_IN_FLIGHT);
        let name = blob.to_owned();
        tokio::spawn(async move {
            loop {
                let next = response.chunk().await;
                let item = match next {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => break,
                    Err(e) => Err(std::io::Error::other(format!("reading {name}: {}", kind_of(&e)))),
                };
                let failed = item.is_err();
                // The reader may have stopped early (an error in the data): stop downloading.
                let sender = tx.clone();
                let sent = tokio::task::spawn_blocking(move || sender.send(item).is_ok()).await;
                if failed || !matches!(sent, Ok(true)) {
                    break;
                }
            }
        });
        Ok(Box::new(ChannelReader { rx, current: bytes::Bytes::new() }))
    }

    async fn open_ranges(&self, blob: &str) -> Result<Arc<dyn RandomRead>, ExportError> {
        let len = self.size(blob).await?.ok_or_else(|| ExportError::Missing { blob: blob.to_owned() })?;
        Ok(Arc::new(BlobRanges::new(self.clone(), blob, len)))
    }
}

/// A blocking reader over downloaded chunks.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(chunk) => self.current = chunk?,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_are_appended_as_path_segments_and_keep_the_sas() {
        let c =
            HttpContainer::new("http://127.0.0.1:10000/devstoreaccount1/exports?sv=1&sig=abc", None).unwrap();
        let url = c.blob_url("t1/focus/2026 12/part_0.csv.gz").unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/exports/t1/focus/2026%2012/part_0.csv.gz?sv=1&sig=abc"
        );
        assert!(!format!("{c:?}").contains("sig="), "the SAS is never printed");
        assert!(c.blob_url("t1/../x").is_err());
    }

    #[test]
    fn a_url_without_sas_needs_an_identity() {
        let e = HttpContainer::new("https://acct.blob.core.windows.net/exports", None).unwrap_err();
        assert!(e.to_string().contains("no SAS"), "{e}");
    }
}
