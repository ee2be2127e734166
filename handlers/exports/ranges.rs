//! Blobs read by byte ranges, for formats read out of order (Parquet): a local file, or a blob
//! fetched range by range over HTTP.

use std::io::Read as _;

use super::ExportError;
use super::container::{HttpContainer, kind_of, status_error};

/// A blob read by byte ranges: each call reads exactly the range asked for, nothing is cached.
pub trait RandomRead: Send + Sync {
    /// The blob's size in bytes.
    fn len(&self) -> u64;
    /// Whether the blob is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `len` bytes from `offset` (blocking).
    ///
    /// # Errors
    /// The range is past the end, or the read failed.
    fn read_at(&self, offset: u64, len: usize) -> std::io::Result<bytes::Bytes>;
}

/// A local file read by ranges.
pub(super) struct FileRanges {
    file: std::sync::Mutex<std::fs::File>,
    len: u64,
}

impl FileRanges {
    /// `file`, of `len` bytes.
    pub(super) fn new(file: std::fs::File, len: u64) -> Self {
        Self { file: std::sync::Mutex::new(file), len }
    }
}

impl RandomRead for FileRanges {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> std::io::Result<bytes::Bytes> {
        use std::io::{Seek as _, SeekFrom};
        let mut file = self.file.lock().map_err(|_| std::io::Error::other("the file lock is poisoned"))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; len];
        file.read_exact(&mut buf)?;
        Ok(buf.into())
    }
}

/// A blob read by ranged GETs (the Blob service's `Range` header, which Azurite honours too).
///
/// Why ranges rather than a download to a temporary file: Parquet is read from its footer, then
/// column chunk by column chunk, and ingestion reads only the ~10 of the 96 FOCUS columns it
/// maps, so ranged reads fetch a fraction of the file, need no local disk (the Functions host's
/// is small), and hold in memory only the ranges being decoded, which the Parquet reader bounds.
pub(super) struct BlobRanges {
    container: HttpContainer,
    blob: String,
    len: u64,
    handle: tokio::runtime::Handle,
}

impl BlobRanges {
    /// `blob` of `container`, `len` bytes, read from the current runtime.
    pub(super) fn new(container: HttpContainer, blob: &str, len: u64) -> Self {
        Self { container, blob: blob.to_owned(), len, handle: tokio::runtime::Handle::current() }
    }

    async fn fetch(&self, offset: u64, len: usize) -> Result<bytes::Bytes, ExportError> {
        let last = offset + len as u64 - 1;
        let mut response =
            self.container.request_range(reqwest::Method::GET, &self.blob, Some((offset, last))).await?;
        let status = response.status();
        // 200 is the whole blob: accepted only when that is the range asked for.
        let whole = status == reqwest::StatusCode::OK && offset == 0 && len as u64 == self.len;
        if status != reqwest::StatusCode::PARTIAL_CONTENT && !whole {
            return Err(status_error(&self.blob, status));
        }
        let mut body = bytes::BytesMut::with_capacity(len);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ExportError::Container(format!("reading {}: {}", self.blob, kind_of(&e))))?
        {
            if body.len() + chunk.len() > len {
                return Err(ExportError::Container(format!(
                    "reading {}: more than the {len} bytes asked for at {offset}",
                    self.blob
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if body.len() != len {
            return Err(ExportError::Container(format!(
                "reading {}: {} bytes at {offset} where {len} were asked for",
                self.blob,
                body.len()
            )));
        }
        Ok(body.freeze())
    }
}

impl RandomRead for BlobRanges {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> std::io::Result<bytes::Bytes> {
        if len == 0 {
            return Ok(bytes::Bytes::new());
        }
        if offset.saturating_add(len as u64) > self.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{len} bytes at {offset} is past the end of the {}-byte blob", self.len),
            ));
        }
        self.handle.block_on(self.fetch(offset, len)).map_err(std::io::Error::other)
    }
}
