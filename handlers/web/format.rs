//! Numbers and dates as the dashboard shows them: money in its currency's minor unit with
//! thousands separators, never summed across currencies.

use crate::money::{minor_unit_digits, round_to_minor_unit};

/// `amount` in `currency`, e.g. `$1,234.56`, `€0.50`, `¥1,235`, `CHF 12.00`.
pub fn money(amount: f64, currency: &str) -> String {
    let digits = usize::try_from(minor_unit_digits(currency)).unwrap_or(2);
    let rounded = round_to_minor_unit(amount, currency);
    let text = format!("{:.*}", digits, rounded.abs());
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (index, ch) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    let sign = if rounded < 0.0 { "-" } else { "" };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{grouped}"),
        None => format!("{sign}{} {grouped}", currency.to_ascii_uppercase()),
    }
}

fn symbol(currency: &str) -> Option<&'static str> {
    match currency.to_ascii_uppercase().as_str() {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        "INR" => Some("₹"),
        _ => None,
    }
}

/// A share as a whole percentage, e.g. `85%`.
pub fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// A time as `2026-12-07 06:04 UTC`.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A rule or category id as words: `waste.unattached_disk` → `waste · unattached disk`.
pub fn words(id: &str) -> String {
    id.replace('.', " · ").replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_uses_the_currency_minor_unit_and_symbol() {
        assert_eq!(money(1234.5, "USD"), "$1,234.50");
        assert_eq!(money(1234567.891, "EUR"), "€1,234,567.89");
        assert_eq!(money(1234.5, "JPY"), "¥1,235");
        assert_eq!(money(0.0, "GBP"), "£0.00");
        assert_eq!(money(-12.345, "usd"), "-$12.35");
        assert_eq!(money(999.0, "CHF"), "CHF 999.00");
        assert_eq!(money(100.0, "USD"), "$100.00");
        assert_eq!(percent(0.854), "85%");
        assert_eq!(words("waste.unattached_disk"), "waste · unattached disk");
    }
}
