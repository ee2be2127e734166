//! Streamed RFC 4180 CSV: pages are read from the store one at a time and written as they come,
//! so an export of any size holds one page in memory.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::store::{Page, PageRequest, StoreError};

/// Rows per store page while exporting.
const EXPORT_PAGE: u32 = 500;

/// Streams `header` then every row `fetch` returns, page by page, through `row`.
///
/// The first page is read before answering, so an unavailable database is a proper 503; a
/// failure later ends the stream early (the client sees a truncated body and an aborted
/// transfer rather than a silently short file with a 200 trailer).
///
/// # Errors
/// The first page fails.
pub async fn export<T, F, Fut>(
    filename: &'static str,
    header_row: &'static [&'static str],
    fetch: F,
    row: fn(&T) -> Vec<String>,
) -> Result<Response, ApiError>
where
    T: Send + 'static,
    F: Fn(PageRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>, StoreError>> + Send + 'static,
{
    let first_request = PageRequest::new(1, EXPORT_PAGE)?;
    let first = fetch(first_request).await?;
    let mut head = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    head.write_record(header_row).map_err(|e| ApiError::Internal(e.to_string()))?;
    let head = head.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?;
    let first_chunk = encode(&first.items, row);
    let pages = first.total_pages;
    let rest = futures::stream::unfold(2u64, move |page| {
        let next = u32::try_from(page)
            .ok()
            .filter(|_| page <= pages)
            .and_then(|p| PageRequest::new(p, EXPORT_PAGE).ok());
        let fut = next.map(&fetch);
        async move {
            match fut?.await {
                Ok(page_rows) => {
                    Some((Ok::<Bytes, StoreError>(Bytes::from(encode(&page_rows.items, row))), page + 1))
                }
                Err(error) => {
                    tracing::warn!(error = %error, "export aborted");
                    Some((Err(error), u64::MAX))
                }
            }
        }
    });
    let stream = futures::StreamExt::chain(
        futures::stream::iter([Ok(Bytes::from(head)), Ok(Bytes::from(first_chunk))]),
        rest,
    );
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn encode<T>(items: &[T], row: fn(&T) -> Vec<String>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for item in items {
        // Writing to a Vec cannot fail; a record that somehow does is skipped, not fatal.
        let _ = writer.write_record(row(item));
    }
    writer.into_inner().unwrap_or_default()
}
