//! Application Insights export: the handler's `tracing` spans and events become Breeze envelopes
//! (requests, dependencies, traces, metrics) uploaded to the ingestion endpoint of
//! `APPLICATIONINSIGHTS_CONNECTION_STRING`, with a bearer token from the app's identity when
//! `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` says `Authorization=AAD`.
//!
//! The envelopes are written here over the existing reqwest client rather than through the
//! OpenTelemetry SDK: the handler needs four envelope types, and this keeps the binary, its
//! cold start and its dependency tree as they were. Without a connection string nothing is
//! installed, so nothing is exported and nothing waits.

mod envelope;
mod exporter;
mod layer;
pub mod metrics;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use url::Url;

use crate::config::{ConfigError, SettingsSource};

pub use envelope::{Envelope, parse_traceparent};
pub use exporter::{Exporter, FlushOutcome, MAX_BATCH, MAX_QUEUED, UPLOAD_TIMEOUT};
pub use layer::InsightsLayer;

/// Settings read by [`InsightsConfig::from_source`].
pub const SETTINGS: &[&str] = &[
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "WEBSITE_SITE_NAME",
];

/// Longest a flush (end of a non-HTTP invocation, SIGTERM) waits for the uploads before the
/// invocation goes on without them.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// The scope of ingestion tokens.
pub const MONITOR_SCOPE: &str = "https://monitor.azure.com/.default";

/// Where telemetry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The resource's instrumentation key (`iKey` of every envelope).
    pub instrumentation_key: String,
    /// The ingestion endpoint, ending in `/`.
    pub ingestion_endpoint: Url,
}

/// Export settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InsightsConfig {
    /// `None`: nothing is exported.
    pub connection: Option<Connection>,
    /// `Some`: every upload carries a bearer token from the app's identity (`ClientId` picks a
    /// user-assigned identity).
    pub aad: Option<AadAuth>,
    /// Cloud role: the function app's name, so the Portal groups host and handler together.
    pub role: String,
}

/// `Authorization=AAD[;ClientId=...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AadAuth {
    /// The user-assigned identity's client id.
    pub client_id: Option<String>,
}

fn pairs(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split(';').filter_map(|part| {
        let (key, value) = part.split_once('=')?;
        Some((key.trim().to_ascii_lowercase(), value.trim().to_owned()))
    })
}

impl InsightsConfig {
    /// Reads the connection string (`InstrumentationKey` required, `IngestionEndpoint` default
    /// the global endpoint, https unless loopback), the authentication string and the app name.
    ///
    /// # Errors
    /// A malformed connection or authentication string.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        const CONNECTION: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";
        const AUTHENTICATION: &str = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
        let connection = match source.get(CONNECTION) {
            None => None,
            Some(text) => {
                let mut key = None;
                let mut endpoint = "https://dc.services.visualstudio.com/".to_owned();
                for (k, v) in pairs(text) {
                    match k.as_str() {
                        "instrumentationkey" => key = Some(v),
                        "ingestionendpoint" => endpoint = v,
                        _ => {}
                    }
                }
                let key = key
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| ConfigError::invalid(CONNECTION, "InstrumentationKey is missing"))?;
                if !endpoint.ends_with('/') {
                    endpoint.push('/');
                }
                let url = Url::parse(&endpoint)
                    .map_err(|e| ConfigError::invalid(CONNECTION, format!("IngestionEndpoint: {e}")))?;
                let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
                if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
                    return Err(ConfigError::invalid(CONNECTION, "IngestionEndpoint must be https"));
                }
                Some(Connection { instrumentation_key: key, ingestion_endpoint: url })
            }
        };
        let aad = match source.get(AUTHENTICATION) {
            None => None,
            Some(text) => {
                let values: Vec<(String, String)> = pairs(text).collect();
                let authorization =
                    values.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
                if !authorization.is_some_and(|v| v.eq_ignore_ascii_case("aad")) {
                    return Err(ConfigError::invalid(
                        AUTHENTICATION,
                        "expected Authorization=AAD[;ClientId=...]",
                    ));
                }
                let client_id = values.into_iter().find(|(k, _)| k == "clientid").map(|(_, v)| v);
                Some(AadAuth { client_id: client_id.filter(|c| !c.is_empty()) })
            }
        };
        let role = source.get("WEBSITE_SITE_NAME").unwrap_or("azcops").to_owned();
        Ok(Self { connection, aad, role })
    }
}

static EXPORTER: OnceLock<Arc<Exporter>> = OnceLock::new();

/// Starts the exporter of this process and returns its tracing layer; `None` (and nothing
/// started) without a connection string. Must run inside the tokio runtime.
pub fn install(config: &InsightsConfig, azure: &crate::azure::AzureConfig) -> Option<InsightsLayer> {
    let connection = config.connection.clone()?;
    let tokens = match &config.aad {
        None => None,
        Some(aad) => {
            let mut azure = azure.clone();
            if aad.client_id.is_some() {
                azure.client_id.clone_from(&aad.client_id);
            }
            match crate::azure::credential::from_config(&azure) {
                Ok(source) => Some(source),
                Err(e) => {
                    // Without a token every upload would be refused; say so once and export nothing.
                    eprintln!("telemetry export disabled: no identity for Authorization=AAD: {e}");
                    return None;
                }
            }
        }
    };
    let exporter = Arc::new(Exporter::start(connection.ingestion_endpoint.clone(), tokens));
    let _ = EXPORTER.set(exporter.clone());
    Some(InsightsLayer::new(exporter, connection.instrumentation_key, config.role.clone()))
}

/// Uploads what is queued, waiting at most [`FLUSH_TIMEOUT`]; returns at once when nothing is
/// exported.
pub async fn flush() -> Option<FlushOutcome> {
    let exporter = EXPORTER.get()?;
    Some(exporter.flush(FLUSH_TIMEOUT).await)
}

/// Whether `function` is an HTTP-triggered function (flushed by the exporter's own interval,
/// not at the end of each invocation, so API latency is unchanged).
pub fn is_http_function(function: &str) -> bool {
    matches!(function, "api" | "ingestion_trigger" | "web_ingestion_run")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<InsightsConfig, ConfigError> {
        InsightsConfig::from_source(&SettingsSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn connection_and_authentication_strings_are_parsed() {
        assert_eq!(read(&[]).unwrap(), InsightsConfig { role: "azcops".into(), ..Default::default() });
        let config = read(&[
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "InstrumentationKey=abc;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com;LiveEndpoint=https://x/",
            ),
            ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD;ClientId=cid"),
            ("WEBSITE_SITE_NAME", "func-azcops"),
        ])
        .unwrap();
        let connection = config.connection.unwrap();
        assert_eq!(connection.instrumentation_key, "abc");
        assert_eq!(
            connection.ingestion_endpoint.as_str(),
            "https://westeurope-5.in.applicationinsights.azure.com/"
        );
        assert_eq!(config.aad, Some(AadAuth { client_id: Some("cid".into()) }));
        assert_eq!(config.role, "func-azcops");
        let local = read(&[(
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9/",
        )]);
        assert!(local.is_ok());
        for (key, value) in [
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", "IngestionEndpoint=https://x/"),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "InstrumentationKey=k;IngestionEndpoint=http://remote.example/",
            ),
            ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=Key"),
        ] {
            assert!(read(&[(key, value)]).unwrap_err().to_string().contains(key), "{value}");
        }
    }
}
