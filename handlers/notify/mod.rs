//! Outbound notifications: event payloads, the webhook signature, Teams cards, ACS email,
//! owner routing, delivery policy (retries, quiet hours, bounds) and the sender.
//!
//! Everything but [`send`] and [`service`] is pure so it can be unit-tested without I/O: the
//! store writes events to an outbox in the same transaction as the change that causes them, and
//! [`service`] fans them out to channels and delivers them with leases and retries.

pub mod budget;
pub mod crypto;
pub mod digest;
pub mod email;
pub mod event;
pub mod itsm;
pub mod policy;
pub mod routing;
pub mod send;
pub mod service;
pub mod sign;
pub mod teams;
pub mod tickets;
pub mod url_guard;

use std::time::Duration;

use crate::config::{ConfigError, Secret, SettingsSource};

pub use crypto::SecretBox;
pub use event::{EVENT_TYPES, EventType};

/// Every setting this module reads.
pub const SETTINGS: &[&str] = &[
    SECRET_KEY,
    ALLOW_LOOPBACK,
    BATCH_SIZE,
    TIMEOUT_SECS,
    MAX_ATTEMPTS,
    MAX_BODY_BYTES,
    ACS_ENDPOINT,
    EMAIL_SENDER,
    DASHBOARD_URL,
    RETENTION_DAYS,
];

const SECRET_KEY: &str = "AZCOPS_NOTIFY_SECRET_KEY";
const ALLOW_LOOPBACK: &str = "AZCOPS_NOTIFY_ALLOW_LOOPBACK";
const BATCH_SIZE: &str = "AZCOPS_NOTIFY_BATCH_SIZE";
const TIMEOUT_SECS: &str = "AZCOPS_NOTIFY_TIMEOUT_SECS";
const MAX_ATTEMPTS: &str = "AZCOPS_NOTIFY_MAX_ATTEMPTS";
const MAX_BODY_BYTES: &str = "AZCOPS_NOTIFY_MAX_BODY_BYTES";
const ACS_ENDPOINT: &str = "AZCOPS_NOTIFY_ACS_ENDPOINT";
const EMAIL_SENDER: &str = "AZCOPS_NOTIFY_EMAIL_SENDER";
const DASHBOARD_URL: &str = "AZCOPS_DASHBOARD_URL";
const RETENTION_DAYS: &str = "AZCOPS_NOTIFY_RETENTION_DAYS";

/// Notification settings.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The key sealing channel secrets at rest (base64 of 32 bytes), if configured.
    pub secret_key: Option<Secret>,
    /// Allows `http://` channel URLs on loopback addresses (local runs and tests only).
    pub allow_loopback: bool,
    /// Most deliveries one invocation sends.
    pub batch_size: u32,
    /// Longest one delivery request may take.
    pub timeout: Duration,
    /// Attempts before a retryable failure becomes final.
    pub max_attempts: u32,
    /// Largest request body sent (findings are dropped from the end to fit).
    pub max_body_bytes: usize,
    /// The Azure Communication Services endpoint, `https://<name>.communication.azure.com`.
    pub acs_endpoint: Option<String>,
    /// The verified sender address of email deliveries.
    pub email_sender: Option<String>,
    /// The dashboard's public URL, linked from Teams cards and emails.
    pub dashboard_url: Option<String>,
    /// Days finished deliveries and their events are kept before the retention timer deletes them.
    pub retention_days: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            secret_key: None,
            allow_loopback: false,
            batch_size: 50,
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            max_body_bytes: 256 * 1024,
            acs_endpoint: None,
            email_sender: None,
            dashboard_url: None,
            retention_days: 90,
        }
    }
}

impl NotifyConfig {
    /// Reads `AZCOPS_NOTIFY_SECRET_KEY` (base64 of 32 bytes; no default), `AZCOPS_NOTIFY_ALLOW_LOOPBACK`
    /// (default false), `AZCOPS_NOTIFY_BATCH_SIZE` (default 50, 1..=500), `AZCOPS_NOTIFY_TIMEOUT_SECS`
    /// (default 10, 1..=60), `AZCOPS_NOTIFY_MAX_ATTEMPTS` (default 8, 1..=20),
    /// `AZCOPS_NOTIFY_MAX_BODY_BYTES` (default 256 KiB, 4 KiB..=1 MiB), the ACS endpoint and sender,
    /// `AZCOPS_DASHBOARD_URL` and `AZCOPS_NOTIFY_RETENTION_DAYS` (default 90, 1..=3650).
    ///
    /// # Errors
    /// A value does not parse or is out of range; the key is not 32 bytes of base64.
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let secret_key = match source.get(SECRET_KEY).map(str::trim).filter(|v| !v.is_empty()) {
            Some(value) => {
                SecretBox::from_base64(value)
                    .ok_or_else(|| ConfigError::invalid(SECRET_KEY, "must be the base64 of 32 bytes"))?;
                Some(Secret::new(value))
            }
            None => None,
        };
        let ranged = |key: &str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            let value: u64 = source.parse_or(key, default)?;
            if !(min..=max).contains(&value) {
                return Err(ConfigError::invalid(key, format!("must be between {min} and {max}")));
            }
            Ok(value)
        };
        let text = |key: &str| source.get(key).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(Self {
            secret_key,
            allow_loopback: source.parse_or(ALLOW_LOOPBACK, false)?,
            batch_size: u32::try_from(ranged(BATCH_SIZE, u64::from(defaults.batch_size), 1, 500)?)
                .unwrap_or(defaults.batch_size),
            timeout: Duration::from_secs(ranged(TIMEOUT_SECS, defaults.timeout.as_secs(), 1, 60)?),
            max_attempts: u32::try_from(ranged(MAX_ATTEMPTS, u64::from(defaults.max_attempts), 1, 20)?)
                .unwrap_or(defaults.max_attempts),
            max_body_bytes: usize::try_from(ranged(
                MAX_BODY_BYTES,
                defaults.max_body_bytes as u64,
                4096,
                1 << 20,
            )?)
            .unwrap_or(defaults.max_body_bytes),
            acs_endpoint: text(ACS_ENDPOINT).map(|e| e.trim_end_matches('/').to_owned()),
            email_sender: text(EMAIL_SENDER),
            dashboard_url: text(DASHBOARD_URL).map(|e| e.trim_end_matches('/').to_owned()),
            retention_days: u32::try_from(ranged(
                RETENTION_DAYS,
                u64::from(defaults.retention_days),
                1,
                3650,
            )?)
            .unwrap_or(defaults.retention_days),
        })
    }

    /// The box sealing channel secrets, when a key is configured.
    pub fn secret_box(&self) -> Option<SecretBox> {
        self.secret_key.as_ref().and_then(|k| SecretBox::from_base64(k.expose()))
    }
}

/// Why a notification operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The curated store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A channel cannot be used as configured (the reason says why; never the secret).
    #[error("{0}")]
    Channel(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_and_refuse_out_of_range_values() {
        let config = NotifyConfig::from_source(&SettingsSource::default()).unwrap();
        assert_eq!((config.batch_size, config.max_attempts, config.timeout.as_secs()), (50, 8, 10));
        assert_eq!(config.retention_days, 90);
        assert!(config.secret_box().is_none());
        for (key, value) in [
            (SECRET_KEY, "c2hvcnQ="),
            (BATCH_SIZE, "0"),
            (BATCH_SIZE, "501"),
            (TIMEOUT_SECS, "61"),
            (MAX_ATTEMPTS, "21"),
            (MAX_BODY_BYTES, "100"),
            (ALLOW_LOOPBACK, "perhaps"),
            (RETENTION_DAYS, "0"),
            (RETENTION_DAYS, "3651"),
        ] {
            let error = NotifyConfig::from_source(&SettingsSource::from_pairs([(key, value)])).unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
        }
        let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
        let config =
            NotifyConfig::from_source(&SettingsSource::from_pairs([(SECRET_KEY, key.as_str())])).unwrap();
        assert!(config.secret_box().is_some());
        assert!(!format!("{config:?}").contains(&key), "the key is redacted in Debug");
    }
}
