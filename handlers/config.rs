//! Settings: the one place that reads the process environment and `local.settings.json`.
//!
//! Every module that needs configuration parses its own keys out of a [`SettingsSource`]
//! (a resolved key → value map) so that nothing below this module touches `std::env`, and so
//! that the set of keys AzCops reads can be listed and checked against
//! `local.settings.json.example`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A configuration problem, always naming the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting has no value.
    #[error("setting {key} is required but not set")]
    Missing {
        /// The setting's name.
        key: String,
    },
    /// A setting has a value that does not parse or is out of range.
    #[error("setting {key} is invalid: {reason}")]
    Invalid {
        /// The setting's name.
        key: String,
        /// What is wrong with the value (never the value itself when it is a secret).
        reason: String,
    },
    /// `local.settings.json` could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file that failed.
        path: String,
        /// Why.
        reason: String,
    },
}

impl ConfigError {
    /// Builds an [`ConfigError::Invalid`] for `key`.
    pub fn invalid(key: &str, reason: impl Into<String>) -> Self {
        Self::Invalid { key: key.to_owned(), reason: reason.into() }
    }
}

/// A resolved set of settings: environment variables overlaid on `local.settings.json` `Values`.
#[derive(Clone, Default)]
pub struct SettingsSource {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for SettingsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsSource").field("keys", &self.values.keys().collect::<Vec<_>>()).finish()
    }
}

impl SettingsSource {
    /// Builds a source from explicit pairs (tests, and the host emulator's child environment).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { values: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// Reads the process environment only (what the Functions host gives a handler).
    pub fn from_env() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// Reads `local.settings.json` `Values` (if the file exists) and overlays the process
    /// environment on top, as Core Tools does for local runs.
    ///
    /// # Errors
    /// The file exists but is not valid `local.settings.json`.
    pub fn from_env_and_local_file(path: &Path) -> Result<Self, ConfigError> {
        let mut source = Self::default();
        if path.exists() {
            source.values = read_local_settings(path)?;
        }
        source.values.extend(std::env::vars());
        Ok(source)
    }

    /// The value of `key`, treating an empty string as unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// The value of `key`, or [`ConfigError::Missing`].
    ///
    /// # Errors
    /// The setting is not set.
    pub fn require(&self, key: &str) -> Result<&str, ConfigError> {
        self.get(key).ok_or_else(|| ConfigError::Missing { key: key.to_owned() })
    }

    /// Parses `key` with [`FromStr`], falling back to `default` when unset.
    ///
    /// # Errors
    /// The value is set but does not parse.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError::invalid(key, e.to_string())),
        }
    }

    /// Sets or replaces one value (used by the emulator to build a child's environment).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.values.insert(key.into(), value.into());
    }

    /// All pairs, for passing on to a child process.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Reads the `Values` object of a `local.settings.json` file.
///
/// # Errors
/// The file cannot be read, is not JSON, is encrypted, or `Values` holds a non-string.
pub fn read_local_settings(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let file_error = |reason: String| ConfigError::File { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| file_error(e.to_string()))?;
    if doc.get("IsEncrypted").and_then(serde_json::Value::as_bool) == Some(true) {
        return Err(file_error("IsEncrypted is true; encrypted settings are not supported".into()));
    }
    let mut values = BTreeMap::new();
    if let Some(map) = doc.get("Values").and_then(serde_json::Value::as_object) {
        for (key, value) in map {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
                _ => return Err(file_error(format!("Values.{key} must be a string"))),
            };
            values.insert(key.clone(), value);
        }
    }
    Ok(values)
}

/// A secret string whose `Debug` and `Display` never print the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_unset() {
        let source = SettingsSource::from_pairs([("A", " "), ("B", "x")]);
        assert_eq!(source.get("A"), None);
        assert_eq!(source.get("B"), Some("x"));
        assert!(matches!(source.require("A"), Err(ConfigError::Missing { key }) if key == "A"));
    }

    #[test]
    fn parse_errors_name_the_setting() {
        let source = SettingsSource::from_pairs([("PORT", "abc")]);
        let err = source.parse_or::<u16>("PORT", 1).unwrap_err();
        assert!(err.to_string().contains("PORT"), "{err}");
        assert_eq!(source.parse_or::<u16>("OTHER", 7).unwrap(), 7);
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
    }

    #[test]
    fn local_settings_values_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.settings.json");
        std::fs::write(&path, r#"{"IsEncrypted":false,"Values":{"X":"1","Y":true}}"#).unwrap();
        let values = read_local_settings(&path).unwrap();
        assert_eq!(values["X"], "1");
        assert_eq!(values["Y"], "true");
        std::fs::write(&path, r#"{"IsEncrypted":true,"Values":{}}"#).unwrap();
        assert!(read_local_settings(&path).is_err());
    }
}

/// The managed-identity endpoint settings the Functions platform sets and azure_identity reads
/// itself (the sandbox prints them for local runs).
pub const PLATFORM_IDENTITY_SETTINGS: &[&str] = &["IDENTITY_ENDPOINT", "IDENTITY_HEADER"];

/// Every setting key AzCops reads, gathered from the modules that read them.
pub fn registered_settings() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = [
        crate::telemetry::SETTINGS,
        crate::state::SETTINGS,
        crate::dev::SETTINGS,
        crate::azure::SETTINGS,
        crate::store::SETTINGS,
        crate::ingest::SETTINGS,
        crate::raw::SETTINGS,
        crate::api::SETTINGS,
        crate::web::SETTINGS,
        crate::ops::SETTINGS,
        PLATFORM_IDENTITY_SETTINGS,
    ]
    .concat();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// True when a setting's value must never be printed.
pub fn is_secret_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    ["SECRET", "PASSWORD", "TOKEN", "IDENTITY_HEADER", "CONNECTION_STRING", "ACCOUNTKEY", "_KEY"]
        .iter()
        .any(|marker| upper.contains(marker))
}

/// The value of `key` as `azcops config` prints it: secrets redacted, and the password of a URL
/// (such as `DATABASE_URL`) replaced.
pub fn display_value(key: &str, value: &str) -> String {
    if is_secret_key(key) {
        return "[redacted]".to_owned();
    }
    if let Ok(mut url) = url::Url::parse(value)
        && url.password().is_some()
        && url.set_password(Some("redacted")).is_ok()
    {
        return url.to_string();
    }
    if value.to_ascii_lowercase().contains("accountkey=")
        || value.to_ascii_lowercase().contains("sharedaccesssignature=")
    {
        return "[redacted]".to_owned();
    }
    value.to_owned()
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn secrets_and_url_passwords_are_redacted() {
        assert_eq!(display_value("AZURE_CLIENT_SECRET", "abc"), "[redacted]");
        assert_eq!(display_value("IDENTITY_HEADER", "abc"), "[redacted]");
        let shown = display_value("DATABASE_URL", "postgres://u:pw@h/db");
        assert!(!shown.contains("pw@"), "{shown}");
        assert_eq!(display_value("AZCOPS_LOG_FORMAT", "json"), "json");
        assert_eq!(
            display_value("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountKey=abc"),
            "[redacted]"
        );
    }
}
