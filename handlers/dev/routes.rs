//! ASP.NET-style route templates as HTTP triggers declare them (`orders/{id:int?}`, `{*path}`).

use std::collections::BTreeMap;

/// Matches `path` (without the route prefix, no leading slash) against `template`, returning the
/// route parameters. Supports literals, `{name}`, `{name:constraint}` (`int`, `guid`, `alpha`
/// checked; others accepted), optional `{name?}` as the last segments, and catch-all `{*name}`.
pub fn match_route(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let template_segments: Vec<&str> =
        template.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let path_segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let mut params = BTreeMap::new();
    for (index, segment) in template_segments.iter().enumerate() {
        let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            if !path_segments.get(index)?.eq_ignore_ascii_case(segment) {
                return None;
            }
            continue;
        };
        if let Some(name) = inner.strip_prefix('*') {
            let rest = path_segments.get(index..).map(|s| s.join("/")).unwrap_or_default();
            params.insert(name.split(':').next().unwrap_or(name).to_owned(), rest);
            return Some(params);
        }
        let optional = inner.ends_with('?');
        let inner = inner.trim_end_matches('?');
        let (name, constraint) = inner.split_once(':').unwrap_or((inner, ""));
        match path_segments.get(index) {
            Some(value) if satisfies(constraint, value) => {
                params.insert(name.to_owned(), (*value).to_owned());
            }
            None if optional => {}
            _ => return None,
        }
    }
    (path_segments.len() <= template_segments.len()).then_some(params)
}

fn satisfies(constraint: &str, value: &str) -> bool {
    match constraint {
        "int" | "long" => value.parse::<i64>().is_ok(),
        "guid" => uuid::Uuid::parse_str(value).is_ok(),
        "alpha" => value.chars().all(char::is_alphabetic),
        _ => true,
    }
}

/// Orders templates the way ASP.NET prefers them: more literal segments first, catch-alls last.
pub fn specificity(template: &str) -> (usize, usize) {
    let literals = template.split('/').filter(|s| !s.is_empty() && !s.starts_with('{')).count();
    let catch_all = usize::from(template.contains("{*"));
    (1 - catch_all.min(1), literals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_like_aspnet() {
        assert_eq!(match_route("v1/ingestion/trigger", "v1/ingestion/trigger"), Some(BTreeMap::new()));
        assert!(match_route("v1/ingestion/trigger", "v1/ingestion").is_none());
        let p = match_route("{*path}", "v1/costs/summary").unwrap();
        assert_eq!(p["path"], "v1/costs/summary");
        assert_eq!(match_route("{*path}", "").unwrap()["path"], "");
        assert_eq!(match_route("orders/{id:int}", "orders/5").unwrap()["id"], "5");
        assert!(match_route("orders/{id:int}", "orders/x").is_none());
        assert!(match_route("orders/{id:int?}", "orders").is_some());
        assert!(specificity("v1/ingestion/trigger") > specificity("{*path}"));
    }
}
