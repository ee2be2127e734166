//! Every module's settings, parsed once at start-up into one [`Settings`] value.
//!
//! The modules still own their keys and their parsing (`XConfig::from_source`); this is the one
//! list of them, so `azcops config`, start-up validation and the settings-example check cannot
//! disagree about what AzCops reads.

use std::fmt;

use crate::config::{ConfigError, SettingsSource};

/// The managed-identity endpoint settings the Functions platform sets and azure_identity reads
/// itself (the sandbox prints them for local runs).
pub const PLATFORM_IDENTITY_SETTINGS: &[&str] = &["IDENTITY_ENDPOINT", "IDENTITY_HEADER"];

/// The resolved configuration of the process, one section per module.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Logging.
    pub telemetry: crate::telemetry::TelemetryConfig,
    /// Health and diagnostics endpoints.
    pub diagnostics: crate::state::DiagnosticOptions,
    /// The local host emulator (`azcops dev` and `demo`).
    pub dev: crate::dev::DevConfig,
    /// The ARM client: endpoints, credential, retries, pacing.
    pub azure: crate::azure::AzureConfig,
    /// The curated store.
    pub store: crate::store::StoreConfig,
    /// The raw snapshot store.
    pub raw: crate::raw::RawConfig,
    /// Ingestion runs.
    pub ingest: crate::ingest::IngestConfig,
    /// The Cost Management exports container.
    pub exports: crate::exports::ExportsConfig,
    /// The HTTP API: authentication, limits, cache, exports.
    pub api: crate::api::ApiConfig,
    /// The dashboard: sign-in and the session cookie.
    pub web: crate::web::WebConfig,
    /// Notifications: the channel secret key, delivery bounds, ACS email.
    pub notify: crate::notify::NotifyConfig,
    /// Remediation: the identity it acts with.
    pub remediation: crate::remediation::RemediationConfig,
    source: SettingsSource,
}

/// Every invalid setting found while loading, each naming its key.
#[derive(Debug)]
pub struct SettingsError {
    /// The problems, in section order.
    pub problems: Vec<ConfigError>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl std::error::Error for SettingsError {}

fn section<T>(parsed: Result<T, ConfigError>, problems: &mut Vec<ConfigError>) -> Option<T> {
    parsed.map_err(|e| problems.push(e)).ok()
}

impl Settings {
    /// Parses every section of `source`.
    ///
    /// # Errors
    /// One or more settings are invalid; all of them are reported, not just the first.
    pub fn load(source: SettingsSource) -> Result<Self, SettingsError> {
        let mut problems = Vec::new();
        let telemetry = section(crate::telemetry::TelemetryConfig::from_source(&source), &mut problems);
        let diagnostics = section(crate::state::DiagnosticOptions::from_source(&source), &mut problems);
        let dev = section(crate::dev::DevConfig::from_source(&source), &mut problems);
        let azure = section(crate::azure::AzureConfig::from_source(&source), &mut problems);
        let store = section(crate::store::StoreConfig::from_source(&source), &mut problems);
        let raw = section(crate::raw::RawConfig::from_source(&source), &mut problems);
        let ingest = section(crate::ingest::IngestConfig::from_source(&source), &mut problems);
        let exports = section(crate::exports::ExportsConfig::from_source(&source), &mut problems);
        let api = section(crate::api::ApiConfig::from_source(&source), &mut problems);
        let web = section(crate::web::WebConfig::from_source(&source), &mut problems);
        let notify = section(crate::notify::NotifyConfig::from_source(&source), &mut problems);
        match (telemetry, diagnostics, dev, azure, store, raw, ingest, exports, api, web, notify) {
            (
                Some(telemetry),
                Some(diagnostics),
                Some(dev),
                Some(azure),
                Some(store),
                Some(raw),
                Some(ingest),
                Some(exports),
                Some(api),
                Some(web),
                Some(notify),
            ) if problems.is_empty() => Ok(Self {
                telemetry,
                diagnostics,
                dev,
                azure,
                store,
                raw,
                ingest,
                exports,
                api,
                web,
                notify,
                remediation: crate::remediation::RemediationConfig::from_source(&source),
                source,
            }),
            _ => Err(SettingsError { problems }),
        }
    }

    /// The settings every section was parsed from (passed on to child processes, and read by the
    /// few keys that are not a section's, such as the operator's name).
    pub fn source(&self) -> &SettingsSource {
        &self.source
    }

    /// Every setting key AzCops reads, sorted: the sections' keys and the platform's.
    pub fn keys() -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = [
            crate::telemetry::SETTINGS,
            crate::state::SETTINGS,
            crate::dev::SETTINGS,
            crate::azure::SETTINGS,
            crate::store::SETTINGS,
            crate::raw::SETTINGS,
            crate::ingest::SETTINGS,
            crate::exports::SETTINGS,
            crate::api::SETTINGS,
            crate::web::SETTINGS,
            crate::notify::SETTINGS,
            crate::remediation::SETTINGS,
            crate::ops::SETTINGS,
            PLATFORM_IDENTITY_SETTINGS,
        ]
        .concat();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_from_an_empty_source() {
        let settings = Settings::load(SettingsSource::default()).unwrap();
        assert_eq!(
            settings.api.cache_ttl,
            crate::api::ApiConfig::from_source(&SettingsSource::default()).unwrap().cache_ttl
        );
    }

    #[test]
    fn every_invalid_setting_is_reported_at_once() {
        let source = SettingsSource::from_pairs([
            ("AZCOPS_LOG_FORMAT", "xml"),
            ("AZCOPS_AZURE_MAX_RETRIES", "0"),
            ("DATABASE_URL", "mysql://x"),
        ]);
        let error = Settings::load(source).unwrap_err();
        let text = error.to_string();
        for key in ["AZCOPS_LOG_FORMAT", "AZCOPS_AZURE_MAX_RETRIES", "DATABASE_URL"] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
        assert_eq!(error.problems.len(), 3);
    }

    #[test]
    fn keys_are_sorted_and_unique() {
        let keys = Settings::keys();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys.contains(&"DATABASE_URL"));
    }
}
