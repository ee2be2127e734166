//! Tests of the Parquet reader on files written here: types, row groups, bounds, bad files.

use std::sync::Mutex;

use parquet::basic::{Compression, GzipLevel};
use parquet::data_type::{
    ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, Int32Type, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::*;

const SUB: &str = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333";

/// An in-memory blob that records the largest read and the bytes read.
struct Mem {
    bytes: Vec<u8>,
    reads: Mutex<(usize, u64)>,
}

impl RandomRead for Mem {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> std::io::Result<Bytes> {
        let start = offset as usize;
        let slice = self.bytes.get(start..start + len).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        let mut reads = self.reads.lock().unwrap();
        reads.0 = reads.0.max(len);
        reads.1 += len as u64;
        Ok(Bytes::copy_from_slice(slice))
    }
}

fn mem(bytes: Vec<u8>) -> Arc<Mem> {
    Arc::new(Mem { bytes, reads: Mutex::new((0, 0)) })
}

enum Col {
    Text(Vec<Option<String>>),
    Decimal(Vec<Option<i128>>),
    Micros(Vec<Option<i64>>),
    Int32(Vec<Option<i32>>),
    Double(Vec<Option<f64>>),
    /// A MAP column of one `env` entry per row.
    Map(Vec<String>),
}

fn defs<T>(values: &[Option<T>]) -> Vec<i16> {
    values.iter().map(|v| i16::from(v.is_some())).collect()
}

/// A Parquet file of `schema` holding `columns` (in schema leaf order), in row groups of
/// `group` rows.
fn parquet(schema: &str, columns: &[Col], group: usize) -> Vec<u8> {
    parquet_with(schema, columns, group, Compression::SNAPPY)
}

fn parquet_with(schema: &str, columns: &[Col], group: usize, compression: Compression) -> Vec<u8> {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = Arc::new(WriterProperties::builder().set_compression(compression).build());
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, props).unwrap();
    let rows = match &columns[0] {
        Col::Text(v) => v.len(),
        _ => unreachable!("the first column is text"),
    };
    for start in (0..rows).step_by(group) {
        let end = (start + group).min(rows);
        let mut g = writer.next_row_group().unwrap();
        for col in columns {
            let mut c = g.next_column().unwrap().unwrap();
            match col {
                Col::Text(v) => {
                    let v = &v[start..end];
                    let values: Vec<ByteArray> =
                        v.iter().flatten().map(|s| ByteArray::from(s.as_str())).collect();
                    c.typed::<ByteArrayType>().write_batch(&values, Some(&defs(v)), None).unwrap();
                }
                Col::Decimal(v) => {
                    let v = &v[start..end];
                    let values: Vec<FixedLenByteArray> = v
                        .iter()
                        .flatten()
                        .map(|u| FixedLenByteArray::from(u.to_be_bytes().to_vec()))
                        .collect();
                    c.typed::<FixedLenByteArrayType>().write_batch(&values, Some(&defs(v)), None).unwrap();
                }
                Col::Micros(v) => {
                    let v = &v[start..end];
                    let values: Vec<i64> = v.iter().flatten().copied().collect();
                    c.typed::<Int64Type>().write_batch(&values, Some(&defs(v)), None).unwrap();
                }
                Col::Int32(v) => {
                    let v = &v[start..end];
                    let values: Vec<i32> = v.iter().flatten().copied().collect();
                    c.typed::<Int32Type>().write_batch(&values, Some(&defs(v)), None).unwrap();
                }
                Col::Double(v) => {
                    let v = &v[start..end];
                    let values: Vec<f64> = v.iter().flatten().copied().collect();
                    c.typed::<DoubleType>().write_batch(&values, Some(&defs(v)), None).unwrap();
                }
                Col::Map(v) => {
                    // Two leaves: key (max definition 2) then value (3); one entry per row.
                    let n = end - start;
                    let keys: Vec<ByteArray> = (0..n).map(|_| ByteArray::from("env")).collect();
                    c.typed::<ByteArrayType>()
                        .write_batch(&keys, Some(&vec![2; n]), Some(&vec![0; n]))
                        .unwrap();
                    c.close().unwrap();
                    c = g.next_column().unwrap().unwrap();
                    let values: Vec<ByteArray> =
                        v[start..end].iter().map(|s| ByteArray::from(s.as_str())).collect();
                    c.typed::<ByteArrayType>()
                        .write_batch(&values, Some(&vec![3; n]), Some(&vec![0; n]))
                        .unwrap();
                }
            }
            c.close().unwrap();
        }
        g.close().unwrap();
    }
    writer.into_inner().unwrap()
}

const SCHEMA: &str = "message FocusCost {
    optional binary SubAccountId (STRING);
    optional fixed_len_byte_array(16) BilledCost (DECIMAL(38,18));
    optional double EffectiveCost;
    optional int64 ChargePeriodStart (TIMESTAMP(MICROS,true));
    optional binary BillingCurrency (STRING);
    optional binary ServiceName (STRING);
    optional group Tags (MAP) { repeated group key_value { required binary key (STRING); optional binary value (STRING); } }
    optional binary x_SkuDescription (STRING);
}";

/// `len` hex digits of noise seeded by `seed`.
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_digit((x % 16) as u32, 16).unwrap()
        })
        .collect()
}

/// `rows` FOCUS rows: row `i` is dated day `i % 3` of December 2026 and bills `i + 0.25`.
fn focus(rows: usize, group: usize) -> Vec<u8> {
    let day0 = 20_788_i64 * 86_400 * 1_000_000; // 2026-12-01T00:00:00Z
    let columns = [
        Col::Text((0..rows).map(|_| Some(SUB.to_owned())).collect()),
        Col::Decimal((0..rows).map(|i| Some((i as i128 * 100 + 25) * 10_i128.pow(16))).collect()),
        Col::Double((0..rows).map(|i| if i == 0 { None } else { Some(0.5) }).collect()),
        Col::Micros(
            (0..rows).map(|i| Some(day0 + (i as i64 % 3) * 86_400_000_000 + 3_600_000_000)).collect(),
        ),
        Col::Text((0..rows).map(|_| Some("usd".to_owned())).collect()),
        Col::Text((0..rows).map(|_| Some("Storage".to_owned())).collect()),
        Col::Map((0..rows).map(|i| format!("env{i}")).collect()),
        // A wide column the mapping never reads (hex noise, which snappy cannot shrink).
        Col::Text((0..rows).map(|i| Some(noise(i as u64, 2000))).collect()),
    ];
    parquet(SCHEMA, &columns, group)
}

fn read(src: Arc<Mem>, max_read: usize) -> Result<(FileCounts, Vec<CostDailyRow>), String> {
    let mut out = Vec::new();
    let counts = read_parquet_bounded(
        src,
        Dataset::Focus,
        &mut |r| {
            out.push(r);
            Ok(())
        },
        max_read,
    )?;
    Ok((counts, out))
}

#[test]
fn rows_are_read_group_by_group_with_the_csv_mapping() {
    let bytes = focus(250, 100);
    let len = bytes.len() as u64;
    let src = mem(bytes);
    let (counts, rows) = read(src.clone(), MAX_READ_BYTES).unwrap();
    assert_eq!(counts, FileCounts { rows: 250, bytes: len });
    assert_eq!(rows[7].subscription_id, "0b1f6471-1bf0-4dda-aec3-111122223333");
    assert_eq!(rows[7].date.to_string(), "2026-12-02", "the timestamp's UTC day");
    assert_eq!((rows[7].cost, rows[7].amortized_cost), (7.25, 0.5));
    assert_eq!(rows[0].amortized_cost, 0.0, "a null amount is zero, as an empty CSV field");
    assert_eq!((rows[7].currency.as_str(), rows[7].service_name.as_str()), ("USD", "Storage"));
    let total: f64 = rows.iter().map(|r| r.cost).sum();
    assert_eq!(total, (0..250).map(|i| f64::from(i) + 0.25).sum::<f64>());
    // The 2,000-character column is never fetched: far less than the file is read.
    let (largest, read_bytes) = *src.reads.lock().unwrap();
    assert!(read_bytes * 4 < len, "read {read_bytes} of {len} bytes");
    assert!(largest <= MAX_WINDOW, "largest single read {largest}");
}

#[test]
fn gzip_and_uncompressed_files_are_read_too() {
    let schema = "message m { optional binary SubAccountId (STRING); optional double BilledCost;
        optional double EffectiveCost; optional int32 ChargePeriodStart (DATE); optional binary BillingCurrency (STRING); }";
    let text = |v: &str| Col::Text(vec![Some(v.to_owned()); 3]);
    for compression in [Compression::GZIP(GzipLevel::default()), Compression::UNCOMPRESSED] {
        let columns = [
            text(SUB),
            Col::Double(vec![Some(1.5); 3]),
            Col::Double(vec![Some(1.0); 3]),
            Col::Int32(vec![Some(20_788); 3]),
            text("EUR"),
        ];
        let (counts, rows) =
            read(mem(parquet_with(schema, &columns, 2, compression)), MAX_READ_BYTES).unwrap();
        assert_eq!(counts.rows, 3, "{compression:?}");
        assert!(rows.iter().all(|r| r.date.to_string() == "2026-12-01" && r.cost == 1.5), "{compression:?}");
    }
}

#[test]
fn a_panic_while_decoding_fails_the_file_not_the_process() {
    let e = read_parquet(mem(focus(5, 5)), Dataset::Focus, &mut |_| panic!("decoder assertion")).unwrap_err();
    assert!(e.contains("malformed Parquet"), "{e}");
}

#[test]
fn a_read_larger_than_the_bound_is_refused() {
    let src = mem(focus(50, 50));
    let e = read(src, 64).unwrap_err();
    assert!(e.contains("more than the 64 read at once"), "{e}");
}

#[test]
fn a_truncated_file_is_not_a_complete_parquet_file() {
    let mut bytes = focus(50, 10);
    bytes.truncate(bytes.len() / 2);
    let e = read(mem(bytes), MAX_READ_BYTES).unwrap_err();
    assert!(e.starts_with("not a complete Parquet file"), "{e}");
    let e = read(mem(b"BilledCost,SubAccountId\n1,2\n".to_vec()), MAX_READ_BYTES).unwrap_err();
    assert!(e.starts_with("not a complete Parquet file"), "{e}");
}

#[test]
fn a_missing_column_or_a_wrong_type_is_named_before_any_row() {
    let schema = "message m { optional binary SubAccountId (STRING); optional double BilledCost;
        optional int64 ChargePeriodStart (TIMESTAMP(MILLIS,true)); optional binary BillingCurrency (STRING); }";
    let rows = || Col::Text(vec![Some(SUB.to_owned())]);
    let columns = [rows(), Col::Double(vec![Some(1.0)]), Col::Micros(vec![Some(0)]), rows()];
    let e = read(mem(parquet(schema, &columns, 10)), MAX_READ_BYTES).unwrap_err();
    assert_eq!(e, "the header has no EffectiveCost column");

    let schema = "message m { optional binary SubAccountId (STRING); optional double BilledCost;
        optional double EffectiveCost; optional double ChargePeriodStart; optional binary BillingCurrency (STRING); }";
    let columns = [
        rows(),
        Col::Double(vec![Some(1.0)]),
        Col::Double(vec![Some(1.0)]),
        Col::Double(vec![Some(1.0)]),
        rows(),
    ];
    let e = read(mem(parquet(schema, &columns, 10)), MAX_READ_BYTES).unwrap_err();
    assert!(e.starts_with("column ChargePeriodStart is DOUBLE"), "{e}");
}

#[test]
fn a_bad_value_names_its_row() {
    let schema = "message m { optional binary SubAccountId (STRING); optional double BilledCost;
        optional double EffectiveCost; optional binary ChargePeriodStart (STRING); optional binary BillingCurrency (STRING); }";
    let text = |v: &[&str]| Col::Text(v.iter().map(|s| Some((*s).to_owned())).collect());
    let columns = [
        text(&[SUB, SUB]),
        Col::Double(vec![Some(1.0), Some(2.0)]),
        Col::Double(vec![Some(1.0), Some(f64::INFINITY)]),
        text(&["2026-12-01", "2026-12-02"]),
        text(&["USD", "USD"]),
    ];
    let e = read(mem(parquet(schema, &columns, 10)), MAX_READ_BYTES).unwrap_err();
    assert_eq!(e, "data row 2: column EffectiveCost: the amount is not a finite number");
}
