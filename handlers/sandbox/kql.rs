//! The fast path of the sandbox's Resource Graph: the inventory-shaped subset AzCops sends, run
//! without rendering a row before it is paged.
//!
//! A query is `Resources` followed by `|`-separated stages, each one of:
//! - `where <col> <op> '<text>' [and <col> <op> '<text>' ...]` with `==`, `=~` (case-insensitive),
//!   `!=`, `!~` on the string columns;
//! - `project <col>, <col>, ...`;
//! - `order by <col> [asc|desc]` (or `sort by`);
//! - `limit <n>` / `take <n>`;
//! - `count` (last stage; yields one `Count` column).
//!
//! Columns: `id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, managedBy`
//! (strings) and `sku, tags, properties, identity, plan, zones, extendedLocation` (objects).
//! Anything else goes to the general parser and evaluator ([`super::kql_parse`],
//! [`super::kql_eval`]), which also tell syntax errors from valid queries.

/// String columns (filterable and sortable).
pub const STRING_COLUMNS: &[&str] =
    &["id", "name", "type", "kind", "location", "resourceGroup", "subscriptionId", "tenantId", "managedBy"];
/// Every column of a row, in the order the sandbox returns them.
pub const ALL_COLUMNS: &[&str] = &[
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
];

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `=~`
    EqCi,
    /// `!=`
    Ne,
    /// `!~`
    NeCi,
}

impl Op {
    /// Applies the operator.
    pub fn test(self, left: &str, right: &str) -> bool {
        match self {
            Self::Eq => left == right,
            Self::EqCi => left.eq_ignore_ascii_case(right),
            Self::Ne => left != right,
            Self::NeCi => !left.eq_ignore_ascii_case(right),
        }
    }
}

/// One `where` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Column.
    pub column: String,
    /// Operator.
    pub op: Op,
    /// Literal.
    pub value: String,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// All `where` conditions (ANDed).
    pub conditions: Vec<Condition>,
    /// Projected columns; `None` means every column.
    pub project: Option<Vec<String>>,
    /// Sort column and ascending flag.
    pub order: Option<(String, bool)>,
    /// Row limit from `limit`/`take`.
    pub limit: Option<usize>,
    /// Whether the query ends in `count`.
    pub count: bool,
}

/// Why a query is outside the fast path (it then takes the general path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

fn split_outside_quotes(text: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c == sep => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

/// Collapses whitespace runs outside quotes into single spaces.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut space = false;
    for c in text.trim().chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c.is_whitespace() => {
                space = true;
                continue;
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

fn column(name: &str, allowed: &[&str]) -> Result<String, QueryError> {
    if allowed.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(QueryError(format!("Failed to resolve scalar expression named '{name}'")))
    }
}

fn literal(text: &str) -> Option<String> {
    let t = text.trim();
    let inner = t.strip_prefix('\'').and_then(|s| s.strip_suffix('\''));
    inner.or_else(|| t.strip_prefix('"').and_then(|s| s.strip_suffix('"'))).map(str::to_owned)
}

fn condition(text: &str) -> Result<Condition, QueryError> {
    for (symbol, op) in [("==", Op::Eq), ("=~", Op::EqCi), ("!=", Op::Ne), ("!~", Op::NeCi)] {
        if let Some((left, right)) = text.split_once(symbol) {
            let value =
                literal(right).ok_or_else(|| QueryError(format!("expected a string literal in '{text}'")))?;
            return Ok(Condition { column: column(left.trim(), STRING_COLUMNS)?, op, value });
        }
    }
    Err(QueryError(format!("unsupported where clause '{text}'")))
}

/// Parses a query.
///
/// # Errors
/// The query is outside the subset.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let stages = split_outside_quotes(text, '|');
    let table = stages.first().map(|s| s.trim()).unwrap_or("");
    if !table.eq_ignore_ascii_case("resources") {
        return Err(QueryError(format!("table '{table}' is not supported; only Resources")));
    }
    let mut q = Query::default();
    for stage in stages.iter().skip(1) {
        let stage = normalize(stage);
        let stage = stage.as_str();
        let words: Vec<&str> = stage.split_whitespace().collect();
        if q.count {
            return Err(QueryError("count must be the last operator".into()));
        }
        match words.as_slice() {
            ["where", ..] => {
                let rest = stage["where".len()..].trim();
                for part in rest.split(" and ") {
                    q.conditions.push(condition(part)?);
                }
            }
            ["project", ..] => {
                let cols = stage["project".len()..].split(',').map(|c| column(c.trim(), ALL_COLUMNS));
                q.project = Some(cols.collect::<Result<_, _>>()?);
            }
            ["order" | "sort", "by", col, rest @ ..] => {
                let asc = match rest {
                    [] | ["desc"] => false,
                    ["asc"] => true,
                    _ => return Err(QueryError(format!("unsupported sort '{stage}'"))),
                };
                // KQL sorts descending unless told otherwise.
                q.order = Some((column(col, STRING_COLUMNS)?, asc));
            }
            ["limit" | "take", n] => {
                q.limit = Some(n.parse().map_err(|_| QueryError(format!("bad row count '{n}'")))?);
            }
            ["count"] => q.count = true,
            _ => {
                return Err(QueryError(format!(
                    "operator '{}' is not supported by the sandbox",
                    words.first().unwrap_or(&"")
                )));
            }
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inventory_query_parses() {
        let text = "Resources | project id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, sku, tags, properties, managedBy, zones, identity, plan | order by id asc";
        let q = parse(text).unwrap();
        assert_eq!(q.project.as_ref().unwrap().len(), 15);
        assert_eq!(q.order, Some(("id".into(), true)));
        let multi = parse(
            "resources\n| where  type =~ 'Microsoft.Compute/disks'\n\tand subscriptionId == 'a|b  c'\n|  count",
        )
        .unwrap();
        assert_eq!(multi.conditions.len(), 2);
        assert_eq!(multi.conditions[1].value, "a|b  c");
        assert!(multi.count);
    }

    #[test]
    fn other_queries_are_rejected() {
        for bad in [
            "ResourceContainers",
            "Resources | summarize count() by type",
            "Resources | where name contains 'x'",
            "Resources | project nope",
            "Resources | count | limit 1",
            "Resources | extend x = 1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
