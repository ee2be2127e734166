//! Money at the edge: amounts are computed in `f64` and rounded to their currency's minor unit
//! only where a person or a file sees them, so a sum never shows as `1301.1399999999999`.

/// ISO 4217 currencies without a minor unit.
const ZERO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
    "XOF", "XPF",
];

/// ISO 4217 currencies with three decimals.
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Decimal places of `currency`'s minor unit (ISO 4217); two for every other code, including an
/// unknown or empty one.
pub fn minor_unit_digits(currency: &str) -> i32 {
    let code = currency.trim().to_ascii_uppercase();
    if ZERO_DECIMALS.contains(&code.as_str()) {
        0
    } else if THREE_DECIMALS.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// `amount` rounded half away from zero to `currency`'s minor unit; non-finite values pass
/// through unchanged so a bug upstream stays visible rather than becoming a plausible number.
pub fn round_to_minor_unit(amount: f64, currency: &str) -> f64 {
    if !amount.is_finite() {
        return amount;
    }
    let scale = 10f64.powi(minor_unit_digits(currency));
    let rounded = (amount * scale).round() / scale;
    // -0.0 prints as "-0.0"; a refund rounded to nothing is simply zero.
    if rounded == 0.0 { 0.0 } else { rounded }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_to_the_currencys_minor_unit() {
        assert_eq!(round_to_minor_unit(1301.1399999999999, "USD").to_string(), "1301.14");
        assert_eq!(round_to_minor_unit(0.125, "EUR"), 0.13);
        assert_eq!(round_to_minor_unit(-12.345, "eur"), -12.35);
        assert_eq!(round_to_minor_unit(1234.5, "JPY"), 1235.0);
        assert_eq!(round_to_minor_unit(1.23456, "KWD"), 1.235);
        assert_eq!(round_to_minor_unit(0.001, ""), 0.0);
        assert_eq!(round_to_minor_unit(-0.001, "USD").to_string(), "0");
        assert!(round_to_minor_unit(f64::NAN, "USD").is_nan());
        assert_eq!(minor_unit_digits(" jpy "), 0);
    }
}
