//! The KQL tokenizer of the sandbox's Resource Graph: words (with `-` inside operator names such
//! as `project-away`, and `in~`), string literals (`'…'`, `"…"`, `@'…'` verbatim), numbers,
//! symbols and `//` comments, each with its line and character position for `ParserFailure`.

use serde_json::Value;

use super::kql_parse::KqlError;

/// A token's kind and value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Str(String),
    Num(Value),
    Sym(String),
    End,
}

/// A token with its position (1-based line, 0-based column) and source text.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) text: String,
    pub(super) line: usize,
    pub(super) column: usize,
}

/// Splits a query into tokens, ending with [`Tok::End`].
///
/// # Errors
/// An unterminated string, a malformed number or a character KQL does not use.
pub(super) fn lex(text: &str) -> Result<Vec<Token>, KqlError> {
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut line_start) = (0, 1, 0);
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let column = i - line_start;
        let err = |token: String| KqlError::Parse { line, column, token };
        if c == '\n' {
            line += 1;
            line_start = i + 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let verbatim = c == '@' && matches!(chars.get(i + 1), Some('\'' | '"'));
        if verbatim || c == '\'' || c == '"' {
            let quote = if verbatim { chars[i + 1] } else { c };
            i += if verbatim { 2 } else { 1 };
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None | Some('\n') => return Err(err(chars[start..i].iter().collect())),
                    Some(&q) if q == quote => break,
                    Some('\\') if !verbatim => {
                        s.push(*chars.get(i + 1).ok_or_else(|| err("\\".into()))?);
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            let text: String = chars[start..i].iter().collect();
            out.push(Token { tok: Tok::Str(s), text, line, column });
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let num = text
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.parse::<f64>().map(Value::from))
                .map_err(|_| err(text.clone()))?;
            out.push(Token { tok: Tok::Num(num), text, line, column });
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-') {
                i += 1;
            }
            // `-` belongs to names like `project-away`, never to `a-b` (KQL needs spaces there).
            let mut word: String = chars[start..i].iter().collect();
            if word.ends_with('-') {
                word.pop();
                i -= 1;
            }
            if chars.get(i) == Some(&'~') && (word == "in" || word == "contains" || word == "has") {
                word.push('~');
                i += 1;
            }
            out.push(Token { tok: Tok::Word(word.clone()), text: word, line, column });
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let sym = if ["==", "!=", "=~", "!~", "<=", ">="].contains(&two.as_str()) {
            two
        } else if "|,()[].=<>+-*/!".contains(c) {
            c.to_string()
        } else {
            return Err(err(c.to_string()));
        };
        i += sym.chars().count();
        out.push(Token { tok: Tok::Sym(sym.clone()), text: sym, line, column });
    }
    let column = i - line_start;
    out.push(Token { tok: Tok::End, text: String::new(), line, column });
    Ok(out)
}
