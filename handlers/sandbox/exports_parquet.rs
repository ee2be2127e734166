//! Parquet partitions of the sandbox's FOCUS exports (`part_<n>_0001.snappy.parquet`, snappy
//! compressed): the same 96 columns and values as the CSV partitions, typed as the FOCUS dataset
//! metadata describes them: amounts and quantities as decimals (here `DECIMAL(38,18)`), the
//! period columns as UTC timestamps, everything else (ids, names, `Tags` JSON) as strings.
//! Rows are written in row groups of a bounded number of rows, so a partition holds several.

use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::exports::{FOCUS_COLUMNS, FocusRow};

/// Scale of the decimal columns (`DECIMAL(38,18)`).
const SCALE: u32 = 18;

/// Columns holding amounts, prices, quantities or rates.
const DECIMALS: [&str; 17] = [
    "BilledCost",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingQuantity",
    "x_BilledCostInUsd",
    "x_BilledUnitPrice",
    "x_BillingExchangeRate",
    "x_ContractedCostInUsd",
    "x_EffectiveCostInUsd",
    "x_EffectiveUnitPrice",
    "x_ListCostInUsd",
    "x_PartnerCreditRate",
    "x_PricingBlockSize",
];

/// Columns holding instants.
const TIMESTAMPS: [&str; 7] = [
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "x_BillingExchangeRateDate",
    "x_ServicePeriodEnd",
    "x_ServicePeriodStart",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Decimal,
    Timestamp,
    Text,
}

fn kind(name: &str) -> Kind {
    if DECIMALS.contains(&name) {
        Kind::Decimal
    } else if TIMESTAMPS.contains(&name) {
        Kind::Timestamp
    } else {
        Kind::Text
    }
}

/// The FOCUS 1.0 schema as a Parquet message type.
pub fn focus_schema() -> String {
    let fields: Vec<String> = FOCUS_COLUMNS
        .iter()
        .map(|name| match kind(name) {
            Kind::Decimal => format!("optional fixed_len_byte_array(16) {name} (DECIMAL(38,{SCALE}));"),
            Kind::Timestamp => format!("optional int64 {name} (TIMESTAMP(MICROS,true));"),
            Kind::Text => format!("optional binary {name} (STRING);"),
        })
        .collect();
    format!("message FocusCost {{ {} }}", fields.join(" "))
}

/// The unscaled value of decimal text at `scale` digits (extra digits are cut), or `None` for
/// what is not a plain decimal number.
pub fn decimal_units(text: &str, scale: u32) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut units: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut frac_digits = frac.chars();
    for _ in 0..scale {
        let d = frac_digits.next().and_then(|c| c.to_digit(10)).unwrap_or(0);
        units = units.checked_mul(10)?.checked_add(i128::from(d))?;
    }
    Some(if negative { -units } else { units })
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// A Parquet partition being written: rows are buffered up to a row group, then written
/// column by column.
pub struct ParquetPartition {
    writer: SerializedFileWriter<std::fs::File>,
    pending: Vec<FocusRow>,
    row_group_rows: usize,
    rows: u64,
}

impl ParquetPartition {
    /// A new partition at `path` with row groups of `row_group_rows` rows.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path, row_group_rows: usize) -> std::io::Result<Self> {
        let schema = Arc::new(parse_message_type(&focus_schema()).map_err(invalid)?);
        let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
        let file = std::fs::File::create(path)?;
        let writer = SerializedFileWriter::new(file, schema, props).map_err(invalid)?;
        Ok(Self { writer, pending: Vec::new(), row_group_rows: row_group_rows.max(1), rows: 0 })
    }

    /// Rows written or buffered.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Adds one row (96 values).
    ///
    /// # Errors
    /// A value that does not fit its column, or a write error.
    pub fn push(&mut self, row: FocusRow) -> std::io::Result<()> {
        self.pending.push(row);
        self.rows += 1;
        if self.pending.len() >= self.row_group_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let mut group = self.writer.next_row_group().map_err(invalid)?;
        for (index, name) in FOCUS_COLUMNS.iter().enumerate() {
            let mut column = group
                .next_column()
                .map_err(invalid)?
                .ok_or_else(|| invalid(format!("the schema has no column {name}")))?;
            let texts = rows.iter().map(|r| r.get(index).map_or("", String::as_str));
            let defs: Vec<i16> = texts.clone().map(|t| i16::from(!t.is_empty())).collect();
            let present = texts.filter(|t| !t.is_empty());
            match kind(name) {
                Kind::Text => {
                    let values: Vec<ByteArray> = present.map(ByteArray::from).collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defs), None)
                        .map_err(invalid)?;
                }
                Kind::Decimal => {
                    let values = present
                        .map(|t| {
                            decimal_units(t, SCALE)
                                .map(|u| FixedLenByteArray::from(u.to_be_bytes().to_vec()))
                                .ok_or_else(|| invalid(format!("{name}: {t:?} is not a decimal")))
                        })
                        .collect::<std::io::Result<Vec<_>>>()?;
                    column
                        .typed::<FixedLenByteArrayType>()
                        .write_batch(&values, Some(&defs), None)
                        .map_err(invalid)?;
                }
                Kind::Timestamp => {
                    let values = present
                        .map(|t| {
                            DateTime::parse_from_rfc3339(t)
                                .map(|d| d.timestamp_micros())
                                .map_err(|_| invalid(format!("{name}: {t:?} is not a timestamp")))
                        })
                        .collect::<std::io::Result<Vec<_>>>()?;
                    column.typed::<Int64Type>().write_batch(&values, Some(&defs), None).map_err(invalid)?;
                }
            }
            column.close().map_err(invalid)?;
        }
        group.close().map_err(invalid)?;
        Ok(())
    }

    /// Writes what is buffered and the footer; returns the rows written.
    ///
    /// # Errors
    /// A write error.
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.flush()?;
        self.writer.close().map_err(invalid)?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_becomes_units_at_the_scale() {
        assert_eq!(decimal_units("1.25", 2), Some(125));
        assert_eq!(decimal_units("-0.005", 3), Some(-5));
        assert_eq!(decimal_units("3", 2), Some(300));
        assert_eq!(decimal_units(".5", 1), Some(5));
        assert_eq!(decimal_units("0.123456", 3), Some(123), "extra digits are cut");
        assert_eq!(decimal_units("1e-7", 18), None, "exponents are not plain decimals");
        assert_eq!(decimal_units("", 2), None);
        assert_eq!(decimal_units("-", 2), None);
    }

    #[test]
    fn the_schema_types_amounts_periods_and_text() {
        let schema = parse_message_type(&focus_schema()).unwrap();
        assert_eq!(schema.get_fields().len(), 96);
        let of = |name: &str| {
            schema.get_fields().iter().find(|f| f.name() == name).unwrap().get_physical_type().to_string()
        };
        assert_eq!(of("BilledCost"), "FIXED_LEN_BYTE_ARRAY");
        assert_eq!(of("ChargePeriodStart"), "INT64");
        assert_eq!(of("Tags"), "BYTE_ARRAY");
    }
}
