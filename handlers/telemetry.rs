//! Tracing set-up: JSON lines on stdout (or human-readable text locally), the invocation log
//! capture layer, and the correlation-id rules shared by the API and the invocation server.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

use crate::config::{ConfigError, SettingsSource};
use crate::invocation::logs::CaptureLayer;

/// Settings read by this module (the Application Insights export's included).
pub const SETTINGS: &[&str] = &[
    "AZCOPS_LOG_FORMAT",
    "RUST_LOG",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "WEBSITE_SITE_NAME",
];

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (production: the Functions host forwards stdout).
    Json,
    /// Human-readable text (local development).
    Text,
}

/// Logging configuration.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// Output format.
    pub format: LogFormat,
    /// `RUST_LOG`-style filter.
    pub filter: String,
    /// Application Insights export (off without a connection string).
    pub export: crate::insights::InsightsConfig,
}

impl TelemetryConfig {
    /// Reads `AZCOPS_LOG_FORMAT` (`json` default, or `text`) and `RUST_LOG` (default `info`).
    ///
    /// # Errors
    /// `AZCOPS_LOG_FORMAT` is neither `json` nor `text`.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let format = match source.get("AZCOPS_LOG_FORMAT").map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(_) => return Err(ConfigError::invalid("AZCOPS_LOG_FORMAT", "expected json or text")),
        };
        let filter = source.get("RUST_LOG").unwrap_or("info").to_owned();
        let export = crate::insights::InsightsConfig::from_source(source)?;
        Ok(Self { format, filter, export })
    }
}

/// Where log lines go: stdout under the Functions host (which forwards it), stderr for command-line
/// tools whose stdout carries their output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Installs the global subscriber. Calling it twice is harmless (the second call is ignored).
/// With `export_identity` (the handler under the Functions host) and a connection string, spans
/// and events are also exported to Application Insights, authenticating as that identity when
/// the authentication string asks for it.
pub fn init(
    config: &TelemetryConfig,
    target: LogTarget,
    export_identity: Option<&crate::azure::AzureConfig>,
) {
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let capture = CaptureLayer.with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let insights = export_identity.and_then(|azure| crate::insights::install(&config.export, azure));
    let registry = tracing_subscriber::registry().with(capture).with(insights);
    let result = match config.format {
        LogFormat::Json => match target {
            LogTarget::Stdout => registry.with(json_layer(std::io::stdout).with_filter(filter)).try_init(),
            LogTarget::Stderr => registry.with(json_layer(std::io::stderr).with_filter(filter)).try_init(),
        },
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
            .try_init(),
    };
    drop(result);
}

/// The JSON-lines layer: one object per event, with the event's fields and the fields of every
/// enclosing span (invocation id, function, correlation id, tenant, ...) at the top level, so each
/// line can be filtered by them on its own.
pub fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .event_format(FlatJson)
        .with_writer(writer)
}

/// Formats an event as one flat JSON object (see [`json_layer`]).
struct FlatJson;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for FlatJson
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use serde_json::{Map, Value};
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(chrono::Utc::now().to_rfc3339()));
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        if let Some(scope) = ctx.event_scope() {
            // Outermost first, so inner spans' fields win.
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<tracing_subscriber::fmt::FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields.as_str()) {
                    line.extend(map);
                }
            }
        }
        let mut visitor = JsonVisitor(&mut line);
        event.record(&mut visitor);
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl tracing::field::Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

/// Accepts a caller's correlation id only when it is short and made of safe characters, so it
/// can be echoed and logged without injection; otherwise a new one is generated.
pub fn correlation_id_or_new(candidate: Option<&str>) -> String {
    match candidate {
        Some(id) if is_well_formed_correlation_id(id) => id.to_owned(),
        // From the thread's seeded generator: `new_v4` asks the kernel for every id, a system
        // call per API request.
        _ => uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string(),
    }
}

/// True for 1–128 characters of `[A-Za-z0-9._:-]`.
pub fn is_well_formed_correlation_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_validated() {
        assert_eq!(correlation_id_or_new(Some("abc-123")), "abc-123");
        let fresh = correlation_id_or_new(Some("bad id\n"));
        assert_ne!(fresh, "bad id\n");
        assert!(is_well_formed_correlation_id(&fresh));
        let parsed = uuid::Uuid::parse_str(&fresh).unwrap();
        assert_eq!(parsed.get_version(), Some(uuid::Version::Random));
        assert_ne!(correlation_id_or_new(None), fresh);
        assert!(!is_well_formed_correlation_id(&"x".repeat(129)));
    }

    #[test]
    fn log_format_is_validated() {
        let src = SettingsSource::from_pairs([("AZCOPS_LOG_FORMAT", "xml")]);
        assert!(TelemetryConfig::from_source(&src).unwrap_err().to_string().contains("AZCOPS_LOG_FORMAT"));
    }
}
