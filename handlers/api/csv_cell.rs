//! CSV records safe to open in a spreadsheet: RFC 4180 quoting plus formula-injection
//! neutralisation after the OWASP "CSV Injection" guidance.
//!
//! Names, tags, titles and meter names come from Azure and from customers' own resources, so a
//! cell may hold `=HYPERLINK(...)` or a DDE payload that a spreadsheet would evaluate when the
//! file is opened. OWASP's rule: a cell must not begin with `=`, `+`, `-`, `@`, tab or carriage
//! return; such a cell is prefixed with a single quote, which spreadsheets read as "text" and
//! do not display. Cells are quoted when they hold the separator, a quote, a line break or `;`
//! (the list separator of many locales), with embedded quotes doubled, so no payload can start
//! a new cell of its own.

/// First characters that make a spreadsheet evaluate a cell (OWASP).
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as written: prefixed with `'` when it starts with a formula trigger.
///
/// A plain decimal number is the one exception: a negative amount such as `-12.5` begins with
/// `-` but is a literal a spreadsheet stores as a number, not a formula, and prefixing it would
/// turn every credit and refund into text that no longer sums. Only an optional `-`, digits and
/// at most one decimal point qualify, which no formula or DDE payload can be (`-1+1` and
/// `-2+3+cmd|...` are not plain numbers and are neutralised).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some(first) if TRIGGERS.contains(&first) && !is_plain_number(cell) => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// `-?digits(.digits)?`: how the exports print money and scores.
fn is_plain_number(cell: &str) -> bool {
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// Appends one CRLF-terminated record of neutralised, quoted-when-needed cells to `out`.
pub fn write_record<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let cell = neutralise(cell.as_ref());
        if cell.contains([',', '"', '\r', '\n', ';']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> String {
        let mut out = String::new();
        write_record(&mut out, cells);
        out
    }

    #[test]
    fn formula_triggers_are_prefixed_with_a_quote() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+1+1", "'+1+1"),
            ("-1+1", "'-1+1"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-", "'-"),
            ("-.5", "'-.5"),
            ("-1.", "'-1."),
            ("-inf", "'-inf"),
        ] {
            assert_eq!(neutralise(cell), written, "{cell:?}");
        }
    }

    #[test]
    fn plain_text_and_numbers_are_unchanged() {
        for cell in ["disk-1", "", "12.5", "-12.5", "-0", "0.000001", "a=b", "{\"env\":\"@SUM(1+1)\"}", "'"] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn records_quote_separators_quotes_and_breaks() {
        assert_eq!(record(&["a", "b"]), "a,b\r\n");
        assert_eq!(
            record(&["a,b", "say \"hi\"", "x\ny", "p;=1+1"]),
            "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"p;=1+1\"\r\n"
        );
        // A neutralised cell that also needs quoting keeps the quote prefix inside the quotes.
        assert_eq!(record(&["=1,2", "-12.5"]), "\"'=1,2\",-12.5\r\n");
        assert_eq!(record(&["\r=1"]), "\"'\r=1\"\r\n");
    }
}
