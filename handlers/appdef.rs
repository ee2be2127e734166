//! The function app definition: `host.json` and `functions/<name>/function.json`.
//!
//! The handler reads the HTTP route prefix from it; the local host emulator reads everything
//! (schedules, queues, blob paths, routes, queue semantics), so production and local runs share
//! one source of truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Why the app definition could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AppDefError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid JSON of the expected shape.
    #[error("{path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// `host.json`, the parts AzCops uses.
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    /// `extensions.http.routePrefix` (default `api`; may be empty).
    pub route_prefix: String,
    /// `customHandler.enableForwardingHttpRequest`.
    pub forward_http: bool,
    /// `customHandler.description.defaultExecutablePath`.
    pub executable: String,
    /// `customHandler.description.arguments`.
    pub arguments: Vec<String>,
    /// `functionTimeout`.
    pub function_timeout: Option<Duration>,
    /// `extensions.queues`.
    pub queues: QueueOptions,
    /// `extensions.blobs.poisonBlobThreshold`.
    pub poison_blob_threshold: u32,
}

/// Storage-queue trigger semantics from `extensions.queues` (defaults as the extension's).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueOptions {
    /// Messages fetched per poll and processed in parallel.
    pub batch_size: u32,
    /// Fetch more when in-flight drops to this.
    pub new_batch_threshold: u32,
    /// Attempts before a message moves to `<queue>-poison`.
    pub max_dequeue_count: u32,
    /// Delay before a failed message becomes visible again.
    pub visibility_timeout: Duration,
    /// Upper bound of the idle polling back-off.
    pub max_polling_interval: Duration,
    /// `true` for `base64` (the default), `false` for `none`.
    pub base64_messages: bool,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            batch_size: 16,
            new_batch_threshold: 8,
            max_dequeue_count: 5,
            visibility_timeout: Duration::ZERO,
            max_polling_interval: Duration::from_secs(2),
            base64_messages: true,
        }
    }
}

/// One binding of a function.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// `timerTrigger`, `queueTrigger`, `blobTrigger`, `httpTrigger`, `queue`, `blob`, `http`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `in` or `out`.
    pub direction: String,
    /// The binding name (`$return` allowed).
    pub name: String,
    /// Timer schedule (NCRONTAB).
    pub schedule: Option<String>,
    /// Queue name for queue bindings.
    pub queue_name: Option<String>,
    /// Blob path pattern for blob bindings.
    pub path: Option<String>,
    /// Blob trigger source (`EventGrid` or `LogsAndContainerScan`).
    pub source: Option<String>,
    /// HTTP route template.
    pub route: Option<String>,
    /// HTTP methods (lower-case); empty = all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// `binary`, `string` or `stream`.
    pub data_type: Option<String>,
    /// Timer: run when the host starts.
    #[serde(default)]
    pub run_on_startup: bool,
    /// Timer: keep `ScheduleStatus`.
    pub use_monitor: Option<bool>,
}

/// One function: its folder name and bindings.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    /// The folder name, which is the function name.
    pub name: String,
    /// Its bindings in file order.
    pub bindings: Vec<Binding>,
    /// `disabled: true` in function.json.
    pub disabled: bool,
}

impl FunctionDef {
    /// The trigger binding (the one whose type ends in `Trigger`).
    pub fn trigger(&self) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.direction == "in" && b.kind.ends_with("Trigger"))
    }

    /// Output bindings.
    pub fn outputs(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(|b| b.direction == "out")
    }

    /// True when the host forwards this function's HTTP requests raw (spec §5: exactly one
    /// `httpTrigger` input and one `http` output, and forwarding enabled).
    pub fn is_forwarded_http(&self, host: &HostConfig) -> bool {
        host.forward_http
            && self.bindings.len() == 2
            && self.bindings.iter().any(|b| b.kind == "httpTrigger")
            && self.bindings.iter().any(|b| b.kind == "http" && b.direction == "out")
    }
}

/// Where the handler serves the API: the route prefix plus the literal head of the `api`
/// function's route (`api/{*path}` under an empty prefix gives `api`, so the site root is free
/// for the dashboard); the route prefix alone when that function cannot be read.
pub fn api_mount(app_root: &Path, host: &HostConfig) -> String {
    let route = std::fs::read(app_root.join("functions/api/function.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|doc| {
            doc["bindings"].as_array()?.iter().find(|b| b["type"] == "httpTrigger")?["route"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let head = route.split('/').take_while(|s| !s.is_empty() && !s.starts_with('{'));
    std::iter::once(host.route_prefix.as_str())
        .chain(head)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The whole app: host.json plus every function folder.
#[derive(Debug, Clone, PartialEq)]
pub struct AppDefinition {
    /// The app root directory.
    pub root: PathBuf,
    /// Parsed host.json.
    pub host: HostConfig,
    /// Functions sorted by name.
    pub functions: Vec<FunctionDef>,
}

impl AppDefinition {
    /// Loads `host.json` and every immediate sub-folder holding a `function.json` (in the repo,
    /// function folders live under `functions/`; in a deployment package, at the root).
    ///
    /// # Errors
    /// A file cannot be read or parsed.
    pub fn load(root: &Path) -> Result<Self, AppDefError> {
        let host = load_host_config(&root.join("host.json"))?;
        let functions_dir =
            if root.join("functions").is_dir() { root.join("functions") } else { root.to_owned() };
        let mut functions = Vec::new();
        let entries = std::fs::read_dir(&functions_dir)
            .map_err(|source| AppDefError::Io { path: functions_dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| AppDefError::Io { path: functions_dir.clone(), source })?;
            let file = entry.path().join("function.json");
            if file.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                functions.push(load_function(&file, name)?);
            }
        }
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { root: root.to_owned(), host, functions })
    }

    /// The function named `name` (case-insensitive, as the host matches).
    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

fn read_json(path: &Path) -> Result<Value, AppDefError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| AppDefError::Io { path: path.to_owned(), source })?;
    serde_json::from_str(&text)
        .map_err(|e| AppDefError::Invalid { path: path.to_owned(), reason: e.to_string() })
}

/// Parses `host.json`.
///
/// # Errors
/// The file cannot be read, is not JSON, or a duration is malformed.
pub fn load_host_config(path: &Path) -> Result<HostConfig, AppDefError> {
    let doc = read_json(path)?;
    let invalid = |reason: String| AppDefError::Invalid { path: path.to_owned(), reason };
    let at = |pointer: &str| doc.pointer(pointer);
    let duration = |pointer: &str, default: Duration| -> Result<Duration, AppDefError> {
        match at(pointer).and_then(Value::as_str) {
            None => Ok(default),
            Some(text) => {
                parse_timespan(text).ok_or_else(|| invalid(format!("{pointer}: bad timespan {text:?}")))
            }
        }
    };
    let number =
        |pointer: &str, default: u32| at(pointer).and_then(Value::as_u64).map_or(default, |n| n as u32);
    let defaults = QueueOptions::default();
    let batch_size = number("/extensions/queues/batchSize", defaults.batch_size);
    let queues = QueueOptions {
        batch_size,
        new_batch_threshold: number("/extensions/queues/newBatchThreshold", batch_size / 2),
        max_dequeue_count: number("/extensions/queues/maxDequeueCount", defaults.max_dequeue_count),
        visibility_timeout: duration("/extensions/queues/visibilityTimeout", defaults.visibility_timeout)?,
        max_polling_interval: duration(
            "/extensions/queues/maxPollingInterval",
            defaults.max_polling_interval,
        )?,
        base64_messages: !at("/extensions/queues/messageEncoding")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("none")),
    };
    let function_timeout = match at("/functionTimeout") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "-1" => None,
        Some(_) => Some(duration("/functionTimeout", Duration::ZERO)?),
    };
    Ok(HostConfig {
        route_prefix: at("/extensions/http/routePrefix")
            .and_then(Value::as_str)
            .unwrap_or("api")
            .trim_matches('/')
            .to_owned(),
        forward_http: at("/customHandler/enableForwardingHttpRequest")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        executable: at("/customHandler/description/defaultExecutablePath")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        arguments: at("/customHandler/description/arguments")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        function_timeout,
        queues,
        poison_blob_threshold: number("/extensions/blobs/poisonBlobThreshold", 5),
    })
}

fn load_function(path: &Path, name: String) -> Result<FunctionDef, AppDefError> {
    #[derive(Deserialize)]
    struct Raw {
        bindings: Vec<Binding>,
        #[serde(default)]
        disabled: bool,
    }
    let raw: Raw = serde_json::from_value(read_json(path)?)
        .map_err(|e| AppDefError::Invalid { path: path.to_owned(), reason: e.to_string() })?;
    Ok(FunctionDef { name, bindings: raw.bindings, disabled: raw.disabled })
}

/// Parses a .NET `TimeSpan` as host.json uses it: `hh:mm:ss`, `d.hh:mm:ss`, with optional
/// fractional seconds.
pub fn parse_timespan(text: &str) -> Option<Duration> {
    let (days, rest) = match text.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => (d.parse::<u64>().ok()?, rest),
        _ => (0, text),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [h, m, s] = parts.as_slice() else { return None };
    let hours: u64 = h.parse().ok()?;
    let minutes: u64 = m.parse().ok()?;
    let seconds: f64 = s.parse().ok()?;
    if minutes >= 60 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let whole = days * 86_400 + hours * 3_600 + minutes * 60;
    Some(Duration::from_secs(whole) + Duration::from_secs_f64(seconds))
}

/// Values of `{token}`s when `path` matches blob path `pattern` (`container/{a}/x/{b}.json`).
///
/// Returns `None` when the path does not match. Tokens match within one path segment.
pub fn match_blob_path(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    let mut rest = path;
    let mut pat = pattern;
    while !pat.is_empty() {
        if let Some(after_open) = pat.strip_prefix('{') {
            let close = after_open.find('}')?;
            let token = &after_open[..close];
            pat = &after_open[close + 1..];
            // The token runs until the next literal character of the pattern (or segment end).
            let next_literal = pat.chars().next();
            let end = rest
                .char_indices()
                .find(|&(_, c)| c == '/' || Some(c) == next_literal)
                .map_or(rest.len(), |(i, _)| i);
            if end == 0 {
                return None;
            }
            values.insert(token.to_owned(), rest[..end].to_owned());
            rest = &rest[end..];
        } else {
            let literal_end = pat.find('{').unwrap_or(pat.len());
            let literal = &pat[..literal_end];
            rest = rest.strip_prefix(literal)?;
            pat = &pat[literal_end..];
        }
    }
    rest.is_empty().then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_parse_like_dotnet() {
        assert_eq!(parse_timespan("00:00:30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_timespan("01:02:03"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_timespan("1.00:00:00"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_timespan("00:00:00.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timespan("30"), None);
        assert_eq!(parse_timespan("00:61:00"), None);
    }

    #[test]
    fn blob_paths_match_patterns() {
        let p = "raw/{tenant}/manifests/{yyyy}/{mm}/{dd}/{subscription}.json";
        let m = match_blob_path(p, "raw/t1/manifests/2026/11/25/sub-1.json").unwrap();
        assert_eq!(m["tenant"], "t1");
        assert_eq!(m["subscription"], "sub-1");
        assert_eq!(m["dd"], "25");
        assert!(match_blob_path(p, "raw/t1/resource_graph/2026/11/25/sub-1/run.json").is_none());
        assert!(match_blob_path(p, "raw/t1/manifests/2026/11/25/sub-1.txt").is_none());
        assert!(match_blob_path("incoming/{name}", "incoming/a.csv").is_some());
    }

    #[test]
    fn the_repository_app_definition_loads() {
        let app = AppDefinition::load(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        // The site root is the dashboard's; the API keeps `/api` through its function's route.
        assert_eq!(app.host.route_prefix, "");
        assert_eq!(api_mount(Path::new(env!("CARGO_MANIFEST_DIR")), &app.host), "api");
        assert!(app.host.forward_http);
        assert_eq!(app.host.queues.max_dequeue_count, 5);
        let api = app.function("api").unwrap();
        assert!(api.is_forwarded_http(&app.host));
        assert!(!app.function("ingestion_trigger").unwrap().is_forwarded_http(&app.host));
        assert!(app.function("web").unwrap().is_forwarded_http(&app.host));
    }
}
