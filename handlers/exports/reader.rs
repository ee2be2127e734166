//! Streaming readers of export data files: CSV (plain or gzip) row by row from any blocking
//! [`Read`], with the bytes read counted so a file shorter or longer than the manifest says is
//! caught even when the store reported the expected size. Parquet needs its footer first and is
//! read by ranges instead ([`super::parquet_read`]).

use std::io::Read;

use super::manifest::{Dataset, FileFormat};
use super::mapping::ColumnMap;
use crate::model::CostDailyRow;

/// Counts the bytes that pass through (the file as stored, before decompression).
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What one file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCounts {
    /// Data rows (header excluded).
    pub rows: u64,
    /// Bytes of the file as stored.
    pub bytes: u64,
}

/// Reads one data file, mapping each row and handing it to `each` (which may stop the read
/// with an error).
///
/// # Errors
/// A message naming the line: unreadable or truncated data, a missing column, a bad value, or
/// whatever `each` returned.
pub fn read_file(
    reader: Box<dyn Read + Send>,
    format: FileFormat,
    dataset: Dataset,
    each: &mut dyn FnMut(CostDailyRow) -> Result<(), String>,
) -> Result<FileCounts, String> {
    let mut counting = Counting { inner: reader, bytes: 0 };
    let rows = match format {
        FileFormat::Csv => read_csv(&mut counting, dataset, each)?,
        FileFormat::CsvGzip => {
            let mut gz = flate2::read::MultiGzDecoder::new(&mut counting);
            let rows = read_csv(&mut gz, dataset, each)?;
            // Whatever follows the last gzip member is read too, so the byte count is the file's.
            std::io::copy(&mut gz, &mut std::io::sink()).map_err(|e| format!("cannot read: {e}"))?;
            rows
        }
        FileFormat::Parquet => {
            return Err("a Parquet file is read by ranges (parquet_read), not as a stream".into());
        }
    };
    std::io::copy(&mut counting, &mut std::io::sink()).map_err(|e| format!("cannot read: {e}"))?;
    Ok(FileCounts { rows, bytes: counting.bytes })
}

fn read_csv(
    input: &mut dyn Read,
    dataset: Dataset,
    each: &mut dyn FnMut(CostDailyRow) -> Result<(), String>,
) -> Result<u64, String> {
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    let columns = ColumnMap::resolve(dataset, &header)?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("data row {}: {e}", rows + 1)),
        }
        rows += 1;
        let row = columns.map(&record).map_err(|e| format!("data row {rows}: {e}"))?;
        each(row).map_err(|e| format!("data row {rows}: {e}"))?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const CSV: &str = "BilledCost,BillingCurrency,ChargePeriodStart,EffectiveCost,SubAccountId,ServiceName\n\
        1.5,USD,2026-12-01,1.0,/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333,Storage\n\
        2.5,USD,2026-12-02,2.0,/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333,Storage\n";

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn read(bytes: Vec<u8>, format: FileFormat) -> Result<(FileCounts, f64), String> {
        let mut total = 0.0;
        let counts = read_file(Box::new(std::io::Cursor::new(bytes)), format, Dataset::Focus, &mut |r| {
            total += r.cost;
            Ok(())
        })?;
        Ok((counts, total))
    }

    #[test]
    fn gzip_csv_is_read_row_by_row_and_counted() {
        let bytes = gz(CSV);
        let len = bytes.len() as u64;
        let (counts, total) = read(bytes, FileFormat::CsvGzip).unwrap();
        assert_eq!(counts, FileCounts { rows: 2, bytes: len });
        assert_eq!(total, 4.0);
    }

    #[test]
    fn a_truncated_gzip_file_fails() {
        let mut bytes = gz(CSV);
        bytes.truncate(bytes.len() - 12);
        let e = read(bytes, FileFormat::CsvGzip).unwrap_err();
        assert!(e.contains("data row") || e.contains("cannot read"), "{e}");
    }

    #[test]
    fn a_short_row_names_its_line() {
        let text = format!("{CSV}3.0,USD\n");
        let e = read(text.into_bytes(), FileFormat::Csv).unwrap_err();
        assert!(e.starts_with("data row 3"), "{e}");
    }
}
