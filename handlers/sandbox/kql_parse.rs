//! The general KQL path of the sandbox's Resource Graph: a tokenizer and parser that tell a
//! syntax error (Resource Graph's `ParserFailure`) from a valid query the sandbox does not run.
//!
//! Tables: `Resources`, `ResourceContainers`. Operators: `where`, `project`, `project-away`,
//! `extend`, `summarize <agg>, … [by …]` (`count()`, `countif()`), `order by`/`sort by`,
//! `top N by`, `limit`/`take`, `count`, and `join kind=leftouter|inner (<subquery>) on …`.
//! Expressions: literals, columns with `.name` / `['key']` / `[n]` access, `and`/`or`/`not`,
//! `==` `!=` `=~` `!~` `<` `<=` `>` `>=`, `contains` `has` `startswith` `endswith` (and their
//! `!`/`_cs` forms), `in`/`!in`/`in~`, `+ - * /`, and the functions in [`FUNCTIONS`].
//!
//! Other operators Resource Graph supports (`distinct`, `mv-expand`, `parse`, `union`, …) are
//! valid but not implemented ([`KqlError::Unsupported`]); KQL operators Resource Graph itself
//! refuses (`search`, `evaluate`, …) get its `InvalidQueryLanguage` answer
//! ([`KqlError::NotInResourceGraph`]); anything else is a syntax error ([`KqlError::Parse`]).

use serde_json::Value;

use super::kql_lex::{Tok, Token, lex};

/// Scalar functions the evaluator implements.
pub const FUNCTIONS: &[&str] = &[
    "tolower",
    "toupper",
    "tostring",
    "strcat",
    "strlen",
    "isempty",
    "isnotempty",
    "isnull",
    "isnotnull",
    "iff",
    "iif",
    "coalesce",
    "split",
    "toint",
    "tolong",
    "todouble",
    "toreal",
];
/// Tabular operators Resource Graph supports that the sandbox does not implement.
const UNIMPLEMENTED: &[&str] = &[
    "distinct",
    "mv-expand",
    "mvexpand",
    "parse",
    "union",
    "sample",
    "sample-distinct",
    "project-rename",
    "project-keep",
    "project-reorder",
    "extend-columns",
];
/// KQL tabular operators Resource Graph refuses (its docs list the supported ones).
const NOT_IN_RESOURCE_GRAPH: &[&str] = &[
    "search",
    "evaluate",
    "make-series",
    "render",
    "lookup",
    "find",
    "getschema",
    "invoke",
    "facet",
    "fork",
    "mv-apply",
    "partition",
    "scan",
    "serialize",
    "as",
    "consume",
    "externaldata",
    "range",
    "print",
];

/// Why a query cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KqlError {
    /// A syntax error at (line, character position in line, token).
    #[error("syntax error at line {line}, position {column} near '{token}'")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 0-based character position in the line.
        column: usize,
        /// The offending token (empty at the end of the query).
        token: String,
    },
    /// A column or name that does not resolve.
    #[error("Failed to resolve scalar expression named '{0}'")]
    Unresolved(String),
    /// Valid KQL outside what the sandbox implements.
    #[error("{0}")]
    Unsupported(String),
    /// A KQL operator Resource Graph does not support.
    #[error("{0}")]
    NotInResourceGraph(String),
}

/// A table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `Resources`.
    Resources,
    /// `ResourceContainers` (subscriptions and resource groups).
    Containers,
}

/// A binary operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinOp {
    /// `and`, `or`, arithmetic and comparisons, by their KQL spelling.
    Op(String),
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// A column.
    Col(String),
    /// `$left.x` / `$right.x` in a join condition.
    Side(bool, String),
    /// `e.name`, `e['key']` or `e[n]`.
    Get(Box<Expr>, Value),
    /// A function call.
    Call(String, Vec<Expr>),
    /// A binary operation (`and`, `==`, `contains`, `+`, …).
    Bin(String, Box<Expr>, Box<Expr>),
    /// `not(e)`.
    Not(Box<Expr>),
    /// `e in (…)` with negation and case-insensitivity flags.
    In(Box<Expr>, Vec<Expr>, bool, bool),
}

/// An aggregation of `summarize`.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    /// `count()`.
    Count,
    /// `countif(e)`.
    CountIf(Expr),
}

/// One `|` stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `where e`.
    Where(Expr),
    /// `project name = e, …`.
    Project(Vec<(String, Expr)>),
    /// `project-away a, b`.
    ProjectAway(Vec<String>),
    /// `extend name = e, …`.
    Extend(Vec<(String, Expr)>),
    /// `summarize aggs by keys`.
    Summarize(Vec<(String, Agg)>, Vec<(String, Expr)>),
    /// `order by e [asc|desc], …` (`top` is this plus `Limit`).
    Order(Vec<(Expr, bool)>),
    /// `limit n`.
    Limit(usize),
    /// `count`.
    Count,
    /// `join kind=… (right) on (left column, right column)…`; `true` for leftouter.
    Join(bool, Box<Pipeline>, Vec<(String, String)>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The source table.
    pub table: Table,
    /// The stages in order.
    pub stages: Vec<Stage>,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.at += 1;
        t
    }

    fn fail<T>(&self) -> Result<T, KqlError> {
        let t = self.peek();
        Err(KqlError::Parse { line: t.line, column: t.column, token: t.text.clone() })
    }

    fn is_sym(&self, s: &str) -> bool {
        self.peek().tok == Tok::Sym(s.into())
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }

    fn sym(&mut self, s: &str) -> Result<(), KqlError> {
        if self.is_sym(s) {
            self.at += 1;
            Ok(())
        } else {
            self.fail()
        }
    }

    fn word(&mut self, w: &str) -> Result<(), KqlError> {
        if self.is_word(w) {
            self.at += 1;
            Ok(())
        } else {
            self.fail()
        }
    }

    fn name(&mut self) -> Result<String, KqlError> {
        match self.peek().tok.clone() {
            Tok::Word(w) if !w.starts_with('$') => {
                self.at += 1;
                Ok(w)
            }
            Tok::Sym(s) if s == "[" => {
                // `['name with spaces']`
                self.at += 1;
                let Tok::Str(name) = self.next().tok else { return self.fail() };
                self.sym("]")?;
                Ok(name)
            }
            _ => self.fail(),
        }
    }

    fn number(&mut self) -> Result<usize, KqlError> {
        match self.peek().tok.clone() {
            Tok::Num(n) if n.as_u64().is_some() => {
                self.at += 1;
                Ok(n.as_u64().map_or(0, |v| v as usize))
            }
            _ => self.fail(),
        }
    }

    fn pipeline(&mut self, nested: bool) -> Result<Pipeline, KqlError> {
        let table = match self.next().tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("resources") => Table::Resources,
            Tok::Word(w) if w.eq_ignore_ascii_case("resourcecontainers") => Table::Containers,
            Tok::Word(w) => {
                return Err(KqlError::Unsupported(format!("table '{w}' is not served by the sandbox")));
            }
            _ => {
                self.at -= 1;
                return self.fail();
            }
        };
        let mut stages = Vec::new();
        while self.is_sym("|") {
            self.at += 1;
            stages.extend(self.stage()?);
        }
        let done = if nested { self.is_sym(")") } else { self.peek().tok == Tok::End };
        if !done {
            return self.fail();
        }
        Ok(Pipeline { table, stages })
    }

    fn stage(&mut self) -> Result<Vec<Stage>, KqlError> {
        let Tok::Word(op) = self.peek().tok.clone() else { return self.fail() };
        let op = op.to_ascii_lowercase();
        self.at += 1;
        Ok(match op.as_str() {
            "where" | "filter" => vec![Stage::Where(self.expr()?)],
            "project" => vec![Stage::Project(self.assignments(true)?)],
            "extend" => vec![Stage::Extend(self.assignments(false)?)],
            "project-away" => {
                let mut names = vec![self.name()?];
                while self.is_sym(",") {
                    self.at += 1;
                    names.push(self.name()?);
                }
                vec![Stage::ProjectAway(names)]
            }
            "order" | "sort" => {
                self.word("by")?;
                vec![Stage::Order(self.sort_keys()?)]
            }
            "top" => {
                let n = self.number()?;
                self.word("by")?;
                let (e, asc) = self.sort_key()?;
                vec![Stage::Order(vec![(e, asc)]), Stage::Limit(n)]
            }
            "limit" | "take" => vec![Stage::Limit(self.number()?)],
            "count" => vec![Stage::Count],
            "summarize" => vec![self.summarize()?],
            "join" => vec![self.join()?],
            other if UNIMPLEMENTED.contains(&other) => {
                return Err(KqlError::Unsupported(format!(
                    "operator '{other}' is valid in Resource Graph but not implemented by the sandbox"
                )));
            }
            other if NOT_IN_RESOURCE_GRAPH.contains(&other) => {
                return Err(KqlError::NotInResourceGraph(other.to_owned()));
            }
            _ => {
                self.at -= 1;
                return self.fail();
            }
        })
    }

    fn assignments(&mut self, project: bool) -> Result<Vec<(String, Expr)>, KqlError> {
        let mut out = Vec::new();
        let mut unnamed = 0;
        loop {
            let named = matches!(self.tokens.get(self.at + 1).map(|t| &t.tok), Some(Tok::Sym(s)) if s == "=")
                && matches!(self.peek().tok, Tok::Word(_));
            if named {
                let n = self.name()?;
                self.sym("=")?;
                out.push((n, self.expr()?));
            } else {
                let e = self.expr()?;
                let n = match default_name(&e) {
                    Some(n) => n,
                    None if project => {
                        unnamed += 1;
                        format!("Column{unnamed}")
                    }
                    None => return self.fail(),
                };
                out.push((n, e));
            }
            if !self.is_sym(",") {
                return Ok(out);
            }
            self.at += 1;
        }
    }

    fn sort_key(&mut self) -> Result<(Expr, bool), KqlError> {
        let e = self.expr()?;
        let asc = if self.is_word("asc") {
            self.at += 1;
            true
        } else {
            if self.is_word("desc") {
                self.at += 1;
            }
            false
        };
        if self.is_word("nulls") {
            self.at += 1;
            if !(self.is_word("first") || self.is_word("last")) {
                return self.fail();
            }
            self.at += 1;
        }
        Ok((e, asc))
    }

    fn sort_keys(&mut self) -> Result<Vec<(Expr, bool)>, KqlError> {
        let mut keys = vec![self.sort_key()?];
        while self.is_sym(",") {
            self.at += 1;
            keys.push(self.sort_key()?);
        }
        Ok(keys)
    }

    fn summarize(&mut self) -> Result<Stage, KqlError> {
        let mut aggs = Vec::new();
        if !self.is_word("by") {
            loop {
                let named =
                    matches!(self.tokens.get(self.at + 1).map(|t| &t.tok), Some(Tok::Sym(s)) if s == "=");
                let alias = if named {
                    let n = self.name()?;
                    self.sym("=")?;
                    Some(n)
                } else {
                    None
                };
                let Tok::Word(f) = self.next().tok else {
                    self.at -= 1;
                    return self.fail();
                };
                self.sym("(")?;
                let agg = match f.to_ascii_lowercase().as_str() {
                    "count" => Agg::Count,
                    "countif" => Agg::CountIf(self.expr()?),
                    other => {
                        return Err(KqlError::Unsupported(format!(
                            "aggregation '{other}()' is not implemented by the sandbox"
                        )));
                    }
                };
                self.sym(")")?;
                aggs.push((alias.unwrap_or_else(|| format!("{}_", f.to_ascii_lowercase())), agg));
                if !self.is_sym(",") {
                    break;
                }
                self.at += 1;
            }
        }
        let by = if self.is_word("by") {
            self.at += 1;
            self.assignments(false)?
        } else {
            Vec::new()
        };
        Ok(Stage::Summarize(aggs, by))
    }

    fn join(&mut self) -> Result<Stage, KqlError> {
        if !self.is_word("kind") {
            return Err(KqlError::Unsupported(
                "join without kind= (innerunique) is not implemented by the sandbox".into(),
            ));
        }
        self.at += 1;
        self.sym("=")?;
        let Tok::Word(kind) = self.next().tok else { return self.fail() };
        let leftouter = match kind.to_ascii_lowercase().as_str() {
            "leftouter" => true,
            "inner" => false,
            "innerunique" | "leftanti" | "leftsemi" | "rightouter" | "fullouter" | "rightanti"
            | "rightsemi" => {
                return Err(KqlError::Unsupported(format!(
                    "join kind={kind} is not implemented by the sandbox (leftouter and inner are)"
                )));
            }
            _ => {
                self.at -= 1;
                return self.fail();
            }
        };
        self.sym("(")?;
        let right = self.pipeline(true)?;
        self.sym(")")?;
        self.word("on")?;
        let mut on = Vec::new();
        loop {
            // One condition at a time: `and` separates conditions here, it is not an operator.
            match self.comparison()? {
                Expr::Col(c) => on.push((c.clone(), c)),
                Expr::Bin(op, l, r) if op == "==" => match (*l, *r) {
                    (Expr::Side(true, a), Expr::Side(false, b))
                    | (Expr::Side(false, b), Expr::Side(true, a)) => {
                        on.push((a, b));
                    }
                    _ => return self.fail(),
                },
                _ => return self.fail(),
            }
            if !(self.is_sym(",") || self.is_word("and")) {
                break;
            }
            self.at += 1;
        }
        Ok(Stage::Join(leftouter, Box::new(right), on))
    }

    fn expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.and_expr()?;
        while self.is_word("or") {
            self.at += 1;
            left = Expr::Bin("or".into(), Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.comparison()?;
        while self.is_word("and") {
            self.at += 1;
            left = Expr::Bin("and".into(), Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, KqlError> {
        let left = self.additive()?;
        let op = match &self.peek().tok {
            Tok::Sym(s) if ["==", "!=", "=~", "!~", "<", "<=", ">", ">="].contains(&s.as_str()) => s.clone(),
            Tok::Sym(s) if s == "!" => {
                // `!contains`, `!in`, `!has`, `!startswith`, …
                let Some(Tok::Word(w)) = self.tokens.get(self.at + 1).map(|t| t.tok.clone()) else {
                    return Ok(left);
                };
                self.at += 1;
                format!("!{}", w.to_ascii_lowercase())
            }
            Tok::Word(w) => w.to_ascii_lowercase(),
            _ => return Ok(left),
        };
        let base = op.trim_start_matches('!').trim_end_matches('~').trim_end_matches("_cs");
        if base == "in" {
            self.at += 1;
            self.sym("(")?;
            let mut list = vec![self.additive()?];
            while self.is_sym(",") {
                self.at += 1;
                list.push(self.additive()?);
            }
            self.sym(")")?;
            return Ok(Expr::In(Box::new(left), list, op.starts_with('!'), op.ends_with('~')));
        }
        let words =
            ["contains", "has", "startswith", "endswith", "matches", "has_any", "has_all", "hasprefix"];
        let symbolic = op.starts_with(['=', '<', '>']) || op == "!=" || op == "!~";
        if !symbolic && !words.contains(&base) {
            if op.starts_with('!') {
                self.at -= 1;
            }
            return Ok(left);
        }
        if ["matches", "has_any", "has_all", "hasprefix"].contains(&base) {
            return Err(KqlError::Unsupported(format!("operator '{op}' is not implemented by the sandbox")));
        }
        self.at += 1;
        Ok(Expr::Bin(op, Box::new(left), Box::new(self.additive()?)))
    }

    fn additive(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.multiplicative()?;
        while self.is_sym("+") || self.is_sym("-") {
            let Tok::Sym(op) = self.next().tok else { return self.fail() };
            left = Expr::Bin(op, Box::new(left), Box::new(self.multiplicative()?));
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.postfix()?;
        while self.is_sym("*") || self.is_sym("/") {
            let Tok::Sym(op) = self.next().tok else { return self.fail() };
            left = Expr::Bin(op, Box::new(left), Box::new(self.postfix()?));
        }
        Ok(left)
    }

    fn postfix(&mut self) -> Result<Expr, KqlError> {
        let mut e = self.primary()?;
        loop {
            if self.is_sym(".") {
                self.at += 1;
                let n = self.name()?;
                e = match e {
                    Expr::Side(side, ref s) if s.is_empty() => Expr::Side(side, n),
                    other => Expr::Get(Box::new(other), Value::String(n)),
                };
            } else if self.is_sym("[") {
                self.at += 1;
                let key = match self.next().tok {
                    Tok::Str(s) => Value::String(s),
                    Tok::Num(n) => n,
                    _ => {
                        self.at -= 1;
                        return self.fail();
                    }
                };
                self.sym("]")?;
                e = Expr::Get(Box::new(e), key);
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let t = self.next();
        match t.tok {
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Num(n) => Ok(Expr::Lit(n)),
            Tok::Sym(s) if s == "(" => {
                let e = self.expr()?;
                self.sym(")")?;
                Ok(e)
            }
            Tok::Sym(s) if s == "-" => {
                let e = self.postfix()?;
                Ok(Expr::Bin("-".into(), Box::new(Expr::Lit(Value::from(0))), Box::new(e)))
            }
            Tok::Sym(s) if s == "[" => {
                self.at -= 1;
                Ok(Expr::Col(self.name()?))
            }
            Tok::Word(w) if w == "$left" || w == "$right" => Ok(Expr::Side(w == "$left", String::new())),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                Ok(Expr::Lit(Value::Bool(w.eq_ignore_ascii_case("true"))))
            }
            Tok::Word(w) if self.is_sym("(") => {
                self.at += 1;
                let mut args = Vec::new();
                if !self.is_sym(")") {
                    args.push(self.expr()?);
                    while self.is_sym(",") {
                        self.at += 1;
                        args.push(self.expr()?);
                    }
                }
                self.sym(")")?;
                let f = w.to_ascii_lowercase();
                match f.as_str() {
                    "not" if args.len() == 1 => Ok(Expr::Not(Box::new(args.remove(0)))),
                    _ if FUNCTIONS.contains(&f.as_str()) => Ok(Expr::Call(f, args)),
                    _ => Err(KqlError::Unsupported(format!(
                        "function '{w}()' is not implemented by the sandbox"
                    ))),
                }
            }
            Tok::Word(w) if !is_keyword(&w) => Ok(Expr::Col(w)),
            _ => {
                self.at -= 1;
                self.fail()
            }
        }
    }
}

fn is_keyword(w: &str) -> bool {
    ["and", "or", "by", "on", "asc", "desc", "kind"].iter().any(|k| k.eq_ignore_ascii_case(w))
}

/// KQL's name for an unaliased expression: a column keeps its name; `a.b['c']` becomes `a_b_c`.
fn default_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Col(c) => Some(c.clone()),
        Expr::Get(inner, key) => {
            let k = key.as_str().map_or_else(|| key.to_string(), str::to_owned);
            default_name(inner).map(|base| format!("{base}_{k}"))
        }
        _ => None,
    }
}

/// Parses a query.
///
/// # Errors
/// A syntax error, or a valid query outside the sandbox's subset or Resource Graph's.
pub fn parse(text: &str) -> Result<Pipeline, KqlError> {
    let mut parser = Parser { tokens: lex(text)?, at: 0 };
    parser.pipeline(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_tool_queries_parse() {
        for q in [
            "Resources | where type =~ 'microsoft.compute/virtualmachines' and tags['env'] == 'prod' | project id, name, sku = properties.hardwareProfile.vmSize",
            "resources | summarize count() by type | order by count_ desc",
            "Resources | extend rg = tolower(resourceGroup) | top 5 by name asc",
            "Resources | join kind=leftouter (ResourceContainers | where type == 'microsoft.resources/subscriptions' | project subscriptionId, subName = name) on subscriptionId | project id, subName",
            "Resources | join kind=leftouter (resourcecontainers | project rgName = name, rgSub = subscriptionId) on $left.resourceGroup == $right.rgName and $left.subscriptionId == $right.rgSub",
            "Resources | where name !in ('a', 'b') and location in~ ('EastUS') | project-away tags",
            "Resources // a comment\n| where isnotempty(managedBy) | count",
        ] {
            assert!(parse(q).is_ok(), "{q}: {:?}", parse(q));
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = parse("Resources | where name == 'x").unwrap_err();
        assert!(matches!(e, KqlError::Parse { line: 1, column: 26, .. }), "{e:?}");
        let e = parse("Resources\n| projct id").unwrap_err();
        assert_eq!(e, KqlError::Parse { line: 2, column: 2, token: "projct".into() });
        assert!(matches!(parse("Resources | where").unwrap_err(), KqlError::Parse { .. }));
        assert!(matches!(parse("Resources | project id,").unwrap_err(), KqlError::Parse { .. }));
        assert!(matches!(parse("Resources | take ten").unwrap_err(), KqlError::Parse { .. }));
    }

    #[test]
    fn valid_but_unimplemented_is_not_a_syntax_error() {
        assert!(matches!(parse("Resources | distinct type").unwrap_err(), KqlError::Unsupported(_)));
        assert!(matches!(parse("Resources | summarize dcount(type)").unwrap_err(), KqlError::Unsupported(_)));
        assert!(matches!(parse("Resources | search 'x'").unwrap_err(), KqlError::NotInResourceGraph(_)));
    }
}
