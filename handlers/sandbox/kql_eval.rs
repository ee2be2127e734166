//! Runs a parsed KQL [`Pipeline`] over rows (JSON objects) a loader supplies per table.
//!
//! Names resolve statically: every column an operator names must exist at that point of the
//! pipeline (else [`KqlError::Unresolved`], as Resource Graph refuses it), whatever the rows.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::kql_parse::{Agg, Expr, KqlError, Pipeline, Stage, Table};

/// Rows with their column order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Column names, in output order.
    pub columns: Vec<String>,
    /// The rows (each holds every column).
    pub rows: Vec<Map<String, Value>>,
}

/// Supplies a table's rows.
pub type Loader<'a> = dyn FnMut(Table) -> Frame + 'a;

fn check(e: &Expr, columns: &[String]) -> Result<(), KqlError> {
    match e {
        Expr::Col(c) if !columns.contains(c) => Err(KqlError::Unresolved(c.clone())),
        Expr::Get(inner, _) | Expr::Not(inner) => check(inner, columns),
        Expr::Call(_, args) => args.iter().try_for_each(|a| check(a, columns)),
        Expr::Bin(_, l, r) => check(l, columns).and_then(|()| check(r, columns)),
        Expr::In(l, list, _, _) => {
            check(l, columns)?;
            list.iter().try_for_each(|a| check(a, columns))
        }
        Expr::Side(_, c) => Err(KqlError::Unresolved(format!("$side.{c}"))),
        _ => Ok(()),
    }
}

/// A value as text (strings bare, null empty, the rest as JSON).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a) == num(b),
        (Value::Null, _) | (_, Value::Null) => false,
        _ => a == b,
    }
}

/// KQL's ordering for sorting: nulls, booleans, numbers, strings, then everything else.
pub fn order(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        _ => 4,
    };
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a).partial_cmp(&num(b)).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)).then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

fn has_term(hay: &str, term: &str) -> bool {
    if term.chars().any(|c| !c.is_alphanumeric()) {
        return hay.contains(term);
    }
    hay.split(|c: char| !c.is_alphanumeric()).any(|t| t == term)
}

fn binary(op: &str, a: Value, b: Value) -> Value {
    let present = !a.is_null() && !b.is_null();
    match op {
        "!=" => return Value::Bool(present && !equal(&a, &b)),
        "!~" => return Value::Bool(present && text(&a).to_lowercase() != text(&b).to_lowercase()),
        _ => {}
    }
    let cs = op.ends_with("_cs");
    let negate = op.starts_with('!');
    let base = op.trim_start_matches('!').trim_end_matches("_cs");
    let (ta, tb) = if cs { (text(&a), text(&b)) } else { (text(&a).to_lowercase(), text(&b).to_lowercase()) };
    let result = match base {
        "and" => return Value::Bool(truthy(&a) && truthy(&b)),
        "or" => return Value::Bool(truthy(&a) || truthy(&b)),
        "==" => equal(&a, &b),
        "=~" => present && text(&a).to_lowercase() == text(&b).to_lowercase(),
        "<" | "<=" | ">" | ">=" => {
            let ord = match (num(&a), num(&b), &a, &b) {
                (Some(x), Some(y), Value::Number(_), _) | (Some(x), Some(y), _, Value::Number(_)) => {
                    x.partial_cmp(&y)
                }
                (_, _, Value::String(x), Value::String(y)) => Some(x.cmp(y)),
                _ => None,
            };
            let Some(ord) = ord else { return Value::Bool(false) };
            match base {
                "<" => ord == Ordering::Less,
                "<=" => ord != Ordering::Greater,
                ">" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
        "contains" | "contains~" => ta.contains(&tb),
        "has" | "has~" => has_term(&ta, &tb),
        "startswith" => ta.starts_with(&tb),
        "endswith" => ta.ends_with(&tb),
        "+" | "-" | "*" | "/" => {
            let (Some(x), Some(y)) = (num(&a), num(&b)) else { return Value::Null };
            let r = match base {
                "+" => x + y,
                "-" => x - y,
                "*" => x * y,
                _ if y == 0.0 => return Value::Null,
                _ => x / y,
            };
            let integral = a.is_i64() && b.is_i64() && base != "/";
            return if integral { Value::from(r as i64) } else { Value::from(r) };
        }
        _ => false,
    };
    Value::Bool(result != negate)
}

fn call(f: &str, args: Vec<Value>) -> Value {
    let first = args.first().cloned().unwrap_or(Value::Null);
    let empty = |v: &Value| v.is_null() || v.as_str().is_some_and(str::is_empty);
    match f {
        "tolower" => Value::String(text(&first).to_lowercase()),
        "toupper" => Value::String(text(&first).to_uppercase()),
        "tostring" => Value::String(text(&first)),
        "strcat" => Value::String(args.iter().map(text).collect()),
        "strlen" => Value::from(text(&first).chars().count()),
        "isempty" => Value::Bool(empty(&first)),
        "isnotempty" => Value::Bool(!empty(&first)),
        "isnull" => Value::Bool(first.is_null()),
        "isnotnull" => Value::Bool(!first.is_null()),
        "iff" | "iif" => {
            let pick = if truthy(&first) { 1 } else { 2 };
            args.get(pick).cloned().unwrap_or(Value::Null)
        }
        "coalesce" => args.into_iter().find(|v| !empty(v)).unwrap_or(Value::Null),
        "split" => {
            let sep = args.get(1).map(text).unwrap_or_default();
            if sep.is_empty() {
                return Value::Null;
            }
            Value::Array(text(&first).split(sep.as_str()).map(|s| Value::String(s.to_owned())).collect())
        }
        "toint" | "tolong" => num(&first).map_or(Value::Null, |n| Value::from(n as i64)),
        "todouble" | "toreal" => num(&first).map_or(Value::Null, Value::from),
        _ => Value::Null,
    }
}

/// Evaluates an expression against one row.
pub fn eval(e: &Expr, row: &Map<String, Value>) -> Value {
    match e {
        Expr::Lit(v) => v.clone(),
        Expr::Col(c) => row.get(c).cloned().unwrap_or(Value::Null),
        Expr::Side(..) => Value::Null,
        Expr::Get(inner, key) => match (eval(inner, row), key) {
            (Value::Object(mut m), Value::String(k)) => m.remove(k).unwrap_or(Value::Null),
            (Value::Array(mut a), Value::Number(n)) => {
                let i = n.as_u64().unwrap_or(u64::MAX) as usize;
                if i < a.len() { a.swap_remove(i) } else { Value::Null }
            }
            _ => Value::Null,
        },
        Expr::Call(f, args) => call(f, args.iter().map(|a| eval(a, row)).collect()),
        Expr::Bin(op, l, r) => binary(op, eval(l, row), eval(r, row)),
        Expr::Not(inner) => Value::Bool(!truthy(&eval(inner, row))),
        Expr::In(l, list, negate, ci) => {
            let v = eval(l, row);
            let hit = list.iter().map(|x| eval(x, row)).any(|x| {
                if *ci {
                    text(&x).to_lowercase() == text(&v).to_lowercase() && !v.is_null()
                } else {
                    equal(&v, &x)
                }
            });
            Value::Bool(hit != *negate)
        }
    }
}

fn set(frame: &mut Frame, name: &str) {
    if !frame.columns.iter().any(|c| c == name) {
        frame.columns.push(name.to_owned());
    }
}

fn summarize(frame: Frame, aggs: &[(String, Agg)], by: &[(String, Expr)]) -> Result<Frame, KqlError> {
    for (_, e) in by {
        check(e, &frame.columns)?;
    }
    for (_, a) in aggs {
        if let Agg::CountIf(e) = a {
            check(e, &frame.columns)?;
        }
    }
    let mut groups: Vec<(Vec<Value>, Vec<u64>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    if by.is_empty() {
        groups.push((Vec::new(), vec![0; aggs.len()]));
        index.insert("[]".into(), 0);
    }
    for row in &frame.rows {
        let key: Vec<Value> = by.iter().map(|(_, e)| eval(e, row)).collect();
        let slot = *index.entry(Value::Array(key.clone()).to_string()).or_insert_with(|| {
            groups.push((key, vec![0; aggs.len()]));
            groups.len() - 1
        });
        for (i, (_, agg)) in aggs.iter().enumerate() {
            let hit = match agg {
                Agg::Count => true,
                Agg::CountIf(e) => truthy(&eval(e, row)),
            };
            groups[slot].1[i] += u64::from(hit);
        }
    }
    let columns: Vec<String> =
        by.iter().map(|(n, _)| n.clone()).chain(aggs.iter().map(|(n, _)| n.clone())).collect();
    let rows = groups
        .into_iter()
        .map(|(keys, counts)| {
            let values = keys.into_iter().chain(counts.into_iter().map(Value::from));
            columns.iter().cloned().zip(values).collect()
        })
        .collect();
    Ok(Frame { columns, rows })
}

fn join(left: Frame, leftouter: bool, right: Frame, on: &[(String, String)]) -> Result<Frame, KqlError> {
    for (l, r) in on {
        if !left.columns.contains(l) {
            return Err(KqlError::Unresolved(l.clone()));
        }
        if !right.columns.contains(r) {
            return Err(KqlError::Unresolved(r.clone()));
        }
    }
    // Right columns whose names clash get KQL's numeric suffix (`subscriptionId1`).
    let mut columns = left.columns.clone();
    let mut renames = Vec::new();
    for c in &right.columns {
        let mut name = c.clone();
        let mut n = 1;
        while columns.contains(&name) {
            name = format!("{c}{n}");
            n += 1;
        }
        columns.push(name.clone());
        renames.push((c.clone(), name));
    }
    let key = |row: &Map<String, Value>, cols: &mut dyn Iterator<Item = &String>| -> String {
        Value::Array(cols.map(|c| row.get(c).cloned().unwrap_or(Value::Null)).collect()).to_string()
    };
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, row) in right.rows.iter().enumerate() {
        index.entry(key(row, &mut on.iter().map(|(_, r)| r))).or_default().push(i);
    }
    let mut rows = Vec::new();
    for row in left.rows {
        let matches = index.get(&key(&row, &mut on.iter().map(|(l, _)| l))).cloned().unwrap_or_default();
        if matches.is_empty() && leftouter {
            let mut out = row.clone();
            for (_, name) in &renames {
                out.insert(name.clone(), Value::Null);
            }
            rows.push(out);
        }
        for m in matches {
            let mut out = row.clone();
            for (orig, name) in &renames {
                out.insert(name.clone(), right.rows[m].get(orig).cloned().unwrap_or(Value::Null));
            }
            rows.push(out);
        }
    }
    Ok(Frame { columns, rows })
}

/// Runs a pipeline.
///
/// # Errors
/// A name that does not resolve.
pub fn run(p: &Pipeline, load: &mut Loader<'_>) -> Result<Frame, KqlError> {
    let mut frame = load(p.table);
    for stage in &p.stages {
        frame = match stage {
            Stage::Where(e) => {
                check(e, &frame.columns)?;
                frame.rows.retain(|r| truthy(&eval(e, r)));
                frame
            }
            Stage::Project(list) => {
                list.iter().try_for_each(|(_, e)| check(e, &frame.columns))?;
                let rows = frame
                    .rows
                    .iter()
                    .map(|r| list.iter().map(|(n, e)| (n.clone(), eval(e, r))).collect())
                    .collect();
                Frame { columns: list.iter().map(|(n, _)| n.clone()).collect(), rows }
            }
            Stage::ProjectAway(names) => {
                for n in names {
                    if !frame.columns.contains(n) {
                        return Err(KqlError::Unresolved(n.clone()));
                    }
                }
                frame.columns.retain(|c| !names.contains(c));
                for r in &mut frame.rows {
                    r.retain(|k, _| !names.contains(k));
                }
                frame
            }
            Stage::Extend(list) => {
                for (n, e) in list {
                    check(e, &frame.columns)?;
                    for r in &mut frame.rows {
                        let v = eval(e, r);
                        r.insert(n.clone(), v);
                    }
                    set(&mut frame, n);
                }
                frame
            }
            Stage::Summarize(aggs, by) => summarize(frame, aggs, by)?,
            Stage::Order(keys) => {
                keys.iter().try_for_each(|(e, _)| check(e, &frame.columns))?;
                let mut keyed: Vec<(Vec<Value>, Map<String, Value>)> = frame
                    .rows
                    .into_iter()
                    .map(|r| (keys.iter().map(|(e, _)| eval(e, &r)).collect(), r))
                    .collect();
                keyed.sort_by(|(a, _), (b, _)| {
                    keys.iter()
                        .enumerate()
                        .map(|(i, (_, asc))| {
                            let o = order(&a[i], &b[i]);
                            if *asc { o } else { o.reverse() }
                        })
                        .find(|o| *o != Ordering::Equal)
                        .unwrap_or(Ordering::Equal)
                });
                Frame { columns: frame.columns, rows: keyed.into_iter().map(|(_, r)| r).collect() }
            }
            Stage::Limit(n) => {
                frame.rows.truncate(*n);
                frame
            }
            Stage::Count => {
                let mut row = Map::new();
                row.insert("Count".into(), Value::from(frame.rows.len()));
                Frame { columns: vec!["Count".into()], rows: vec![row] }
            }
            Stage::Join(leftouter, right, on) => {
                let right = run(right, load)?;
                join(frame, *leftouter, right, on)?
            }
        };
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kql_parse::parse;
    use serde_json::json;

    fn frame(rows: Value) -> Frame {
        let rows: Vec<Map<String, Value>> = serde_json::from_value(rows).unwrap();
        let columns = rows.first().map(|r| r.keys().cloned().collect()).unwrap_or_default();
        Frame { columns, rows }
    }

    fn load(t: Table) -> Frame {
        match t {
            Table::Resources => frame(json!([
                {"id": "/r/1", "name": "vm1", "type": "microsoft.compute/virtualmachines", "subscriptionId": "s1", "resourceGroup": "rg-a", "tags": {"env": "prod"}},
                {"id": "/r/2", "name": "disk1", "type": "microsoft.compute/disks", "subscriptionId": "s1", "resourceGroup": "rg-b", "tags": {"env": "dev"}},
                {"id": "/r/3", "name": "vm2", "type": "microsoft.compute/virtualmachines", "subscriptionId": "s2", "resourceGroup": "rg-c", "tags": {}},
            ])),
            Table::Containers => frame(json!([
                {"id": "/subscriptions/s1", "name": "Sub One", "type": "microsoft.resources/subscriptions", "subscriptionId": "s1", "resourceGroup": "", "tags": {}},
                {"id": "/subscriptions/s1/resourceGroups/rg-a", "name": "rg-a", "type": "microsoft.resources/subscriptions/resourcegroups", "subscriptionId": "s1", "resourceGroup": "rg-a", "tags": {"owner": "x"}},
            ])),
        }
    }

    fn q(text: &str) -> Result<Frame, KqlError> {
        run(&parse(text).unwrap(), &mut load)
    }

    #[test]
    fn summarize_order_top_extend() {
        let f = q("Resources | summarize count() by type | order by count_ desc").unwrap();
        assert_eq!(f.columns, ["type", "count_"]);
        assert_eq!(f.rows[0]["type"], "microsoft.compute/virtualmachines");
        assert_eq!(f.rows[0]["count_"], 2);
        let f = q("Resources | extend env = tostring(tags.env) | where isnotempty(env) | top 1 by name asc | project name, env").unwrap();
        assert_eq!(
            f.rows,
            vec![
                serde_json::from_value::<Map<String, Value>>(json!({"name": "disk1", "env": "dev"})).unwrap()
            ]
        );
        let f = q("Resources | where tags['env'] =~ 'PROD' or name in~ ('VM2') | count").unwrap();
        assert_eq!(f.rows[0]["Count"], 2);
        let f = q("Resources | summarize n = countif(type has 'disks')").unwrap();
        assert_eq!(f.rows[0]["n"], 1);
    }

    #[test]
    fn leftouter_joins_resource_containers() {
        let f = q("Resources | join kind=leftouter (ResourceContainers | where type == 'microsoft.resources/subscriptions' | project subscriptionId, subName = name) on subscriptionId | project id, subName, subscriptionId1 | order by id asc").unwrap();
        assert_eq!(f.rows.len(), 3);
        assert_eq!(f.rows[0]["subName"], "Sub One");
        assert_eq!(f.rows[0]["subscriptionId1"], "s1");
        assert_eq!(f.rows[2]["subName"], Value::Null, "no container for s2");
        let inner = q("Resources | join kind=inner (resourcecontainers | project rg = resourceGroup, rgTags = tags) on $left.resourceGroup == $right.rg").unwrap();
        assert_eq!(inner.rows.len(), 1);
        assert_eq!(inner.rows[0]["rgTags"], json!({"owner": "x"}));
    }

    #[test]
    fn unknown_columns_do_not_resolve() {
        assert_eq!(q("Resources | project nope"), Err(KqlError::Unresolved("nope".into())));
        assert_eq!(
            q("Resources | project name | where type == 'x'"),
            Err(KqlError::Unresolved("type".into()))
        );
    }
}
