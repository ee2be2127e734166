//! Pure checks and conversions of Parquet columns to the text the export mapping reads: a
//! column's type is checked once against what its curated field needs (so a wrong type fails
//! before any row is read, naming the column), then each value becomes the text a CSV export
//! would hold (`1.25`, `2026-12-01`, `/subscriptions/…`), and the one mapping of
//! [`super::mapping`] serves both formats.

use chrono::{DateTime, NaiveDate};
use parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::record::Field;
use parquet::schema::types::Type;

use super::mapping::ColumnKind;

/// How the values of one checked column are turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// Text as it is.
    Text,
    /// A number (decimals at their scale).
    Amount,
    /// A day: from a date, a timestamp or ISO text.
    Date,
    /// A day from an INT64 timestamp in nanoseconds (which carries no converted type).
    DateNanos,
}

/// Checks that column `t` can hold a field of `kind`.
///
/// # Errors
/// What the column is and what was expected, naming it.
pub fn check_column(t: &Type, kind: ColumnKind) -> Result<Decode, String> {
    let name = t.name();
    if !t.is_primitive() {
        return Err(format!("column {name} is a nested group, list or map; expected {}", expected(kind)));
    }
    let info = t.get_basic_info();
    if info.has_repetition() && info.repetition() == Repetition::REPEATED {
        return Err(format!("column {name} is a repeated (list) column; expected {}", expected(kind)));
    }
    let physical = t.get_physical_type();
    let converted = info.converted_type();
    let logical = info.logical_type_ref();
    let string = matches!(
        converted,
        ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON | ConvertedType::NONE
    );
    let decode = match (kind, physical) {
        (ColumnKind::Text, Physical::BYTE_ARRAY) if string => Some(Decode::Text),
        (ColumnKind::Amount, Physical::DOUBLE | Physical::FLOAT) => Some(Decode::Amount),
        (ColumnKind::Amount, Physical::INT32) => matches!(
            converted,
            ConvertedType::NONE
                | ConvertedType::INT_8
                | ConvertedType::INT_16
                | ConvertedType::INT_32
                | ConvertedType::UINT_8
                | ConvertedType::UINT_16
                | ConvertedType::UINT_32
                | ConvertedType::DECIMAL
        )
        .then_some(Decode::Amount),
        (ColumnKind::Amount, Physical::INT64) => matches!(
            converted,
            ConvertedType::NONE | ConvertedType::INT_64 | ConvertedType::UINT_64 | ConvertedType::DECIMAL
        )
        .then_some(Decode::Amount),
        (ColumnKind::Amount, Physical::FIXED_LEN_BYTE_ARRAY) => {
            (converted == ConvertedType::DECIMAL).then_some(Decode::Amount)
        }
        (ColumnKind::Amount, Physical::BYTE_ARRAY) => {
            (converted == ConvertedType::DECIMAL || string).then_some(Decode::Amount)
        }
        (ColumnKind::Date, Physical::INT32) => (converted == ConvertedType::DATE).then_some(Decode::Date),
        (ColumnKind::Date, Physical::INT64) => match (converted, logical) {
            (ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS, _) => Some(Decode::Date),
            (ConvertedType::NONE, Some(LogicalType::Timestamp(t))) if t.unit == TimeUnit::NANOS => {
                Some(Decode::DateNanos)
            }
            _ => None,
        },
        (ColumnKind::Date, Physical::INT96) => Some(Decode::Date),
        (ColumnKind::Date, Physical::BYTE_ARRAY) if string => Some(Decode::Date),
        _ => None,
    };
    decode.ok_or_else(|| {
        let annotation = logical.map_or_else(|| format!("{converted}"), |l| format!("{l:?}"));
        format!("column {name} is {physical} ({annotation}); expected {}", expected(kind))
    })
}

fn expected(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text => "a string",
        ColumnKind::Amount => "a decimal, floating-point or integer amount (or its text)",
        ColumnKind::Date => "a date, a timestamp or ISO date text",
    }
}

/// Appends the text of `field` to `out` (nothing for a null).
///
/// # Errors
/// A value the checked column should not hold (a non-finite amount, bytes that are not UTF-8,
/// a timestamp out of range).
pub fn value_text(field: &Field, decode: Decode, out: &mut String) -> Result<(), String> {
    use std::fmt::Write as _;
    let day = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string()).ok_or("the timestamp is out of range")
    };
    let text = match (field, decode) {
        (Field::Null, _) => return Ok(()),
        (Field::Str(s), _) => {
            out.push_str(s);
            return Ok(());
        }
        (Field::Bytes(b), _) => {
            std::str::from_utf8(b.data()).map_err(|_| "the value is not UTF-8 text")?.to_owned()
        }
        (Field::Double(v), Decode::Amount) if v.is_finite() => format!("{v}"),
        (Field::Float(v), Decode::Amount) if v.is_finite() => format!("{v}"),
        (Field::Double(_) | Field::Float(_), _) => return Err("the amount is not a finite number".into()),
        (Field::Byte(v), _) => v.to_string(),
        (Field::Short(v), _) => v.to_string(),
        (Field::Int(v), _) => v.to_string(),
        (Field::Long(v), Decode::DateNanos) => day(Some(DateTime::from_timestamp_nanos(*v).date_naive()))?,
        (Field::Long(v), _) => v.to_string(),
        (Field::UByte(v), _) => v.to_string(),
        (Field::UShort(v), _) => v.to_string(),
        (Field::UInt(v), _) => v.to_string(),
        (Field::ULong(v), _) => v.to_string(),
        (Field::Decimal(d), _) => decimal_text(d.data(), d.scale())?,
        (Field::Date(days), _) => {
            day(NaiveDate::from_num_days_from_ce_opt(719_163_i32.saturating_add(*days)))?
        }
        (Field::TimestampMillis(ms), _) => day(DateTime::from_timestamp_millis(*ms).map(|t| t.date_naive()))?,
        (Field::TimestampMicros(us), _) => day(DateTime::from_timestamp_micros(*us).map(|t| t.date_naive()))?,
        (other, _) => return Err(format!("unexpected value {other}")),
    };
    let _ = write!(out, "{text}");
    Ok(())
}

/// The text of a decimal: big-endian two's-complement unscaled digits (at most 16 bytes) at
/// `scale`.
///
/// # Errors
/// More than 16 bytes (wider than any amount).
pub fn decimal_text(be: &[u8], scale: i32) -> Result<String, String> {
    if be.is_empty() || be.len() > 16 {
        return Err(format!("a decimal of {} bytes is not an amount", be.len()));
    }
    let fill = if be[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut bytes = [fill; 16];
    bytes[16 - be.len()..].copy_from_slice(be);
    let unscaled = i128::from_be_bytes(bytes);
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let Ok(scale) = usize::try_from(scale) else {
        // A negative scale multiplies.
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        return Ok(format!("{sign}{digits}{zeros}"));
    };
    if scale == 0 {
        return Ok(format!("{sign}{digits}"));
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    Ok(format!("{sign}{int}.{frac}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parquet::data_type::{ByteArray, Decimal};
    use parquet::schema::parser::parse_message_type;

    use super::*;

    fn column(message: &str) -> Arc<Type> {
        let end = if message.ends_with('}') { "" } else { ";" };
        let schema = parse_message_type(&format!("message m {{ {message}{end} }}")).unwrap();
        schema.get_fields()[0].clone()
    }

    fn text(field: &Field, decode: Decode) -> String {
        let mut out = String::new();
        value_text(field, decode, &mut out).unwrap();
        out
    }

    #[test]
    fn decimals_keep_their_scale_and_sign() {
        assert_eq!(decimal_text(&125_i32.to_be_bytes(), 2).unwrap(), "1.25");
        assert_eq!(decimal_text(&(-5_i64).to_be_bytes(), 3).unwrap(), "-0.005");
        assert_eq!(decimal_text(&[0x01, 0x00], 0).unwrap(), "256");
        assert_eq!(decimal_text(&[0x07], -2).unwrap(), "700");
        // decimal(38,18) as 16 bytes: 12.345 and -0.000000000000000001.
        let v = 12_345_000_000_000_000_000_i128;
        assert_eq!(decimal_text(&v.to_be_bytes(), 18).unwrap(), "12.345000000000000000");
        assert_eq!(decimal_text(&(-1_i128).to_be_bytes(), 18).unwrap(), "-0.000000000000000001");
        assert!(decimal_text(&[0; 17], 2).is_err());
        let field = Field::Decimal(Decimal::from_i64(-1234, 18, 2));
        assert_eq!(text(&field, Decode::Amount), "-12.34");
    }

    #[test]
    fn dates_and_timestamps_become_their_utc_day() {
        // 2026-12-01 is day 20,788 of the Unix epoch.
        assert_eq!(text(&Field::Date(20_788), Decode::Date), "2026-12-01");
        let midnight = 20_788_i64 * 86_400;
        assert_eq!(text(&Field::TimestampMillis(midnight * 1000 + 1), Decode::Date), "2026-12-01");
        assert_eq!(text(&Field::TimestampMicros(midnight * 1_000_000 - 1), Decode::Date), "2026-11-30");
        assert_eq!(text(&Field::Long(midnight * 1_000_000_000), Decode::DateNanos), "2026-12-01");
        assert_eq!(text(&Field::Str("2026-12-01T00:00:00Z".into()), Decode::Date), "2026-12-01T00:00:00Z");
        assert!(value_text(&Field::TimestampMillis(i64::MAX), Decode::Date, &mut String::new()).is_err());
    }

    #[test]
    fn amounts_text_and_nulls() {
        assert_eq!(text(&Field::Double(0.1), Decode::Amount), "0.1");
        assert_eq!(text(&Field::Float(0.1), Decode::Amount), "0.1", "a float's own shortest text");
        assert_eq!(text(&Field::Long(-3), Decode::Amount), "-3");
        assert_eq!(text(&Field::Null, Decode::Amount), "");
        assert_eq!(text(&Field::Bytes(ByteArray::from("USD")), Decode::Text), "USD");
        assert!(value_text(&Field::Double(f64::NAN), Decode::Amount, &mut String::new()).is_err());
        let e =
            value_text(&Field::Bytes(ByteArray::from(vec![0xff, 0xfe])), Decode::Text, &mut String::new());
        assert!(e.unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn column_types_are_checked_against_the_field_they_feed() {
        let ok = [
            (
                "optional fixed_len_byte_array(16) BilledCost (DECIMAL(38,18))",
                ColumnKind::Amount,
                Decode::Amount,
            ),
            ("optional int64 BilledCost (DECIMAL(18,6))", ColumnKind::Amount, Decode::Amount),
            ("required double BilledCost", ColumnKind::Amount, Decode::Amount),
            ("optional binary BilledCost (UTF8)", ColumnKind::Amount, Decode::Amount),
            ("optional int64 ChargePeriodStart (TIMESTAMP(MICROS,true))", ColumnKind::Date, Decode::Date),
            ("optional int64 ChargePeriodStart (TIMESTAMP(MILLIS,false))", ColumnKind::Date, Decode::Date),
            ("optional int64 ChargePeriodStart (TIMESTAMP(NANOS,true))", ColumnKind::Date, Decode::DateNanos),
            ("optional int96 ChargePeriodStart", ColumnKind::Date, Decode::Date),
            ("optional int32 ChargePeriodStart (DATE)", ColumnKind::Date, Decode::Date),
            ("optional binary ChargePeriodStart (STRING)", ColumnKind::Date, Decode::Date),
            ("optional binary SubAccountId (STRING)", ColumnKind::Text, Decode::Text),
            ("optional binary SubAccountId", ColumnKind::Text, Decode::Text),
        ];
        for (message, kind, decode) in ok {
            assert_eq!(check_column(&column(message), kind), Ok(decode), "{message}");
        }
        let bad = [
            ("optional boolean BilledCost", ColumnKind::Amount, "column BilledCost is BOOLEAN"),
            ("optional int64 ChargePeriodStart", ColumnKind::Date, "expected a date, a timestamp"),
            ("optional double SubAccountId", ColumnKind::Text, "column SubAccountId is DOUBLE"),
            ("repeated binary SubAccountId (UTF8)", ColumnKind::Text, "repeated"),
            (
                "optional group Tags (MAP) { repeated group key_value { required binary key (UTF8); optional binary value (UTF8); } }",
                ColumnKind::Text,
                "nested",
            ),
        ];
        for (message, kind, wanted) in bad {
            let e = check_column(&column(message), kind).unwrap_err();
            assert!(e.contains(wanted), "{message}: {e}");
        }
    }
}
