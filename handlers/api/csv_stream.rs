//! Streamed CSV exports: keyset pages are read from the store one at a time and written as the
//! client reads them, so an export of any size holds one page in memory and, between pages, no
//! database connection.
//!
//! Bounds: a tenant runs at most `AZCOPS_API_EXPORT_CONCURRENCY` exports at once (429 beyond,
//! see [`super::export_slots`]), and an export whose filters match more than
//! `AZCOPS_API_EXPORT_MAX_ROWS` rows is refused with 413 before anything is streamed: a file
//! that silently ends at an arbitrary row is worse than no file. Rows can still arrive between
//! that count and the last page (ingestion writing meanwhile); the stream then stops at the
//! cap and ends with a note row saying the file is truncated, so a spreadsheet user sees it.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::csv_cell::write_record;
use super::export_slots::{ExportSlot, RETRY_AFTER_SECS};
use super::{ApiConfig, ApiError};
use crate::state::AppState;
use crate::store::StoreError;

/// Rows per store page while exporting.
const EXPORT_PAGE: u32 = 500;

/// The header naming the row cap an export ran under.
pub const MAX_ROWS_HEADER: &str = "x-azcops-export-max-rows";

/// What one export writes.
#[derive(Debug)]
pub struct CsvSpec<T> {
    /// `Content-Disposition` file name.
    pub filename: &'static str,
    /// Column names.
    pub header: &'static [&'static str],
    /// One row's cells.
    pub row: fn(&T) -> Vec<String>,
}

/// The trailing row of an export cut short at the cap. It starts with `#` so it can never be
/// mistaken for data, and says in words what happened.
pub fn truncation_note(max_rows: u64) -> String {
    format!(
        "# TRUNCATED: this export stops at {max_rows} rows (AZCOPS_API_EXPORT_MAX_ROWS) and more rows match. \
         Narrow the filters and export again."
    )
}

/// Takes one of the tenant's export slots and counts the matching rows up to the cap, then
/// streams the header and every row `fetch` returns, page after page, each page starting after
/// the `cursor` of the previous page's last row.
///
/// `count(upto)` counts matching rows, stopping at `upto`; `fetch(after, limit)` reads up to
/// `limit` rows after `after`, in a total order.
///
/// # Errors
/// 429 when the tenant's exports are all running, 413 when more rows match than the cap, and
/// the count's store error (503 for an unavailable database). A failure after the response has
/// started ends the body early (the client sees an aborted transfer, never a short file with a
/// clean end).
pub async fn export<T, C, N, NF, F, FF, K>(
    state: &AppState,
    tenant_id: &str,
    spec: CsvSpec<T>,
    count: N,
    fetch: F,
    cursor: K,
) -> Result<Response, ApiError>
where
    T: Send + 'static,
    C: Send + 'static,
    N: FnOnce(u64) -> NF,
    NF: Future<Output = Result<u64, StoreError>>,
    F: Fn(Option<C>, u32) -> FF + Send + 'static,
    FF: Future<Output = Result<Vec<T>, StoreError>> + Send + 'static,
    K: Fn(&T) -> C + Send + 'static,
{
    let Some(api) = state.api() else {
        return Err(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"));
    };
    let max_rows = api.config.export_max_rows;
    let slot = api.export_slots.try_acquire(tenant_id).ok_or(ApiError::ExportsBusy {
        limit: api.export_slots.per_tenant(),
        retry_after: RETRY_AFTER_SECS,
    })?;
    if count(max_rows.saturating_add(1)).await? > max_rows {
        return Err(ApiError::ExportTooLarge { max_rows });
    }
    let filename = spec.filename;
    let mut head = String::new();
    write_record(&mut head, spec.header);
    let walk = Walk { spec, fetch, cursor, after: None, remaining: max_rows, max_rows, slot: Some(slot) };
    let rows = futures::stream::unfold(walk, Walk::next);
    let stream = futures::StreamExt::chain(futures::stream::iter([Ok(Bytes::from(head))]), rows);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(MAX_ROWS_HEADER, HeaderValue::from(max_rows));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// An export in progress. It owns the tenant's export slot: the slot is freed when the walk is
/// dropped, which happens when the last page has been written, after a failure, or when the
/// client disconnects and the server drops the body.
struct Walk<T, C, F, K> {
    spec: CsvSpec<T>,
    fetch: F,
    cursor: K,
    after: Option<C>,
    /// Rows that may still be written before the cap.
    remaining: u64,
    max_rows: u64,
    /// `None` once the walk is finished.
    slot: Option<ExportSlot>,
}

impl<T, C, F, FF, K> Walk<T, C, F, K>
where
    F: Fn(Option<C>, u32) -> FF,
    FF: Future<Output = Result<Vec<T>, StoreError>>,
    K: Fn(&T) -> C,
{
    /// The next chunk of the body, or `None` when the export is complete.
    async fn next(mut self) -> Option<(Result<Bytes, StoreError>, Self)> {
        self.slot.as_ref()?;
        // One row more than the cap leaves room for is enough to tell whether rows were cut.
        let want =
            u32::try_from(self.remaining.saturating_add(1)).map_or(EXPORT_PAGE, |n| n.min(EXPORT_PAGE));
        let rows = match (self.fetch)(self.after.take(), want).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(error = %error, "export aborted");
                self.slot = None;
                return Some((Err(error), self));
            }
        };
        let fits = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        let mut out = String::new();
        for row in rows.iter().take(fits) {
            write_record(&mut out, &(self.spec.row)(row));
        }
        if rows.len() > fits {
            tracing::warn!(max_rows = self.max_rows, "export truncated at the row cap");
            write_record(&mut out, &[truncation_note(self.max_rows)]);
            self.slot = None;
        } else if rows.len() < want as usize {
            self.slot = None;
        } else {
            self.after = rows.last().map(&self.cursor);
        }
        self.remaining -= u64::try_from(rows.len().min(fits)).unwrap_or(self.remaining);
        if out.is_empty() && self.slot.is_none() {
            return None;
        }
        Some((Ok(Bytes::from(out)), self))
    }
}

/// The export settings of [`ApiConfig`], validated.
///
/// # Errors
/// A value is 0.
pub(super) fn check_settings(config: &ApiConfig) -> Result<(), crate::config::ConfigError> {
    if config.export_max_rows == 0 {
        return Err(crate::config::ConfigError::invalid("AZCOPS_API_EXPORT_MAX_ROWS", "must be at least 1"));
    }
    if config.export_concurrency == 0 {
        return Err(crate::config::ConfigError::invalid(
            "AZCOPS_API_EXPORT_CONCURRENCY",
            "must be at least 1",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SettingsSource;

    #[test]
    fn export_settings_default_and_refuse_zero_or_garbage() {
        let config = ApiConfig::from_source(&SettingsSource::default()).unwrap();
        assert_eq!((config.export_max_rows, config.export_concurrency), (100_000, 2));
        for key in ["AZCOPS_API_EXPORT_MAX_ROWS", "AZCOPS_API_EXPORT_CONCURRENCY"] {
            for bad in ["0", "-1", "many"] {
                let error = ApiConfig::from_source(&SettingsSource::from_pairs([(key, bad)])).unwrap_err();
                assert!(error.to_string().contains(key), "{key}={bad}: {error}");
            }
        }
        let set = SettingsSource::from_pairs([
            ("AZCOPS_API_EXPORT_MAX_ROWS", "7"),
            ("AZCOPS_API_EXPORT_CONCURRENCY", "1"),
        ]);
        let config = ApiConfig::from_source(&set).unwrap();
        assert_eq!((config.export_max_rows, config.export_concurrency), (7, 1));
    }

    #[test]
    fn the_note_says_truncated_and_is_no_formula() {
        let note = truncation_note(100_000);
        assert!(note.starts_with("# TRUNCATED: this export stops at 100000 rows"));
        let mut record = String::new();
        write_record(&mut record, &[note.as_str()]);
        assert_eq!(record, format!("{note}\r\n"), "one unquoted cell");
    }
}
