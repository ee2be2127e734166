//! Streaming reader of Parquet export files (FOCUS and the legacy datasets), yielding the same
//! curated rows as the CSV reader through the same column mapping.
//!
//! Memory does not grow with the file: the footer is read first, then one row group at a time
//! and, inside it, page by page for only the columns the mapping reads (about 10 of FOCUS's 96).
//! What is held at once is the footer, one page per column read (Parquet writers cut pages at
//! about 1 MiB), the reader's batch of 1,024 values per column and a read-ahead window of at
//! most [`MAX_WINDOW`]; any single read larger than [`MAX_READ_BYTES`] (a page or a footer a
//! file claims to have) is refused rather than allocated.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, FileReader as _, Length};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::record::reader::RowIter;
use parquet::schema::types::Type;

use super::manifest::Dataset;
use super::mapping::ColumnMap;
use super::parquet_values::{check_column, value_text};
use super::ranges::RandomRead;
use super::reader::FileCounts;
use crate::model::CostDailyRow;

/// The largest single read of a Parquet file (a page, or the footer): 64 MiB.
pub const MAX_READ_BYTES: usize = 64 * 1024 * 1024;
/// The first read-ahead for data of unknown length (a page header, usually tens of bytes):
/// small, because every page's header is a read of its own and over HTTP every byte of the
/// window is fetched.
const FIRST_WINDOW: usize = 512;
/// The largest read-ahead, reached by doubling while a stream keeps reading.
pub const MAX_WINDOW: usize = 1024 * 1024;

/// Parquet's view of a blob read by ranges.
struct Ranges {
    src: Arc<dyn RandomRead>,
    max_read: usize,
}

impl Length for Ranges {
    fn len(&self) -> u64 {
        self.src.len()
    }
}

impl ChunkReader for Ranges {
    type T = Window;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Window> {
        // Nothing is fetched until the reader reads: the page reader asks for one per page and
        // often reads nothing from it.
        Ok(Window { src: self.src.clone(), pos: start, buf: Bytes::new(), next: FIRST_WINDOW })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        if length > self.max_read {
            return Err(ParquetError::General(format!(
                "a read of {length} bytes at offset {start} is more than the {} read at once",
                self.max_read
            )));
        }
        Ok(self.src.read_at(start, length)?)
    }
}

/// A stream from an offset, fetched in windows that double up to [`MAX_WINDOW`].
struct Window {
    src: Arc<dyn RandomRead>,
    pos: u64,
    buf: Bytes,
    next: usize,
}

impl Read for Window {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            let left = self.src.len().saturating_sub(self.pos);
            if left == 0 || out.is_empty() {
                return Ok(0);
            }
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(self.next);
            self.buf = self.src.read_at(self.pos, n)?;
            self.pos += n as u64;
            self.next = (self.next * 2).min(MAX_WINDOW);
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// Reads one Parquet data file, mapping each row and handing it to `each` (see the module docs
/// for what is held in memory).
///
/// # Errors
/// A message: not a complete Parquet file, a missing column or one of the wrong type, a bad
/// value (naming the row), or whatever `each` returned.
pub fn read_parquet(
    src: Arc<dyn RandomRead>,
    dataset: Dataset,
    each: &mut dyn FnMut(CostDailyRow) -> Result<(), String>,
) -> Result<FileCounts, String> {
    read_parquet_bounded(src, dataset, each, MAX_READ_BYTES)
}

/// As [`read_parquet`], refusing any single read larger than `max_read` bytes.
///
/// # Errors
/// As [`read_parquet`], and a read larger than `max_read`.
pub fn read_parquet_bounded(
    src: Arc<dyn RandomRead>,
    dataset: Dataset,
    each: &mut dyn FnMut(CostDailyRow) -> Result<(), String>,
    max_read: usize,
) -> Result<FileCounts, String> {
    // The Parquet library asserts on some malformed files instead of returning an error; a
    // file from a customer's storage account must fail its run, not the process.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_groups(src, dataset, each, max_read)))
        .unwrap_or_else(|_| Err("the Parquet reader could not decode the file (malformed Parquet)".into()))
}

fn read_groups(
    src: Arc<dyn RandomRead>,
    dataset: Dataset,
    each: &mut dyn FnMut(CostDailyRow) -> Result<(), String>,
    max_read: usize,
) -> Result<FileCounts, String> {
    let bytes = src.len();
    let file = SerializedFileReader::new(Ranges { src, max_read })
        .map_err(|e| format!("not a complete Parquet file (truncated, or not Parquet): {e}"))?;
    let schema = file.metadata().file_metadata().schema();
    let header: Vec<String> = schema.get_fields().iter().map(|f| f.name().to_owned()).collect();
    let full = ColumnMap::resolve(dataset, &header)?;
    // Only the mapped columns are read: a projection of the file's top-level fields.
    let mut fields = Vec::new();
    let mut names = Vec::new();
    let mut decodes = Vec::new();
    for (index, kind) in full.columns() {
        let field = schema.get_fields()[index].clone();
        decodes.push(check_column(&field, kind)?);
        names.push(header[index].clone());
        fields.push(field);
    }
    let columns = ColumnMap::resolve(dataset, &names)?;
    let projection = Type::group_type_builder(schema.name())
        .with_fields(fields)
        .build()
        .map_err(|e| format!("cannot select the columns read: {e}"))?;
    let mut values = vec![String::new(); names.len()];
    let mut rows = 0u64;
    for group in 0..file.num_row_groups() {
        let reader = file.get_row_group(group).map_err(|e| format!("row group {group}: {e}"))?;
        let iter = RowIter::from_row_group(Some(projection.clone()), reader.as_ref())
            .map_err(|e| format!("row group {group}: {e}"))?;
        for row in iter {
            let row = row.map_err(|e| format!("data row {}: {e}", rows + 1))?;
            rows += 1;
            for (i, (_, field)) in row.get_column_iter().enumerate() {
                let (Some(slot), Some(decode)) = (values.get_mut(i), decodes.get(i)) else { break };
                slot.clear();
                value_text(field, *decode, slot)
                    .map_err(|e| format!("data row {rows}: column {}: {e}", names[i]))?;
            }
            let mapped = columns.map(&values).map_err(|e| format!("data row {rows}: {e}"))?;
            each(mapped).map_err(|e| format!("data row {rows}: {e}"))?;
        }
    }
    Ok(FileCounts { rows, bytes })
}

#[cfg(test)]
#[path = "parquet_read_tests.rs"]
mod tests;
