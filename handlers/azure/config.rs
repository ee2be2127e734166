//! Settings of the Azure client: cloud endpoints, credential choice, retry and quota knobs.

use std::str::FromStr;
use std::time::Duration;

use crate::config::{ConfigError, Secret, SettingsSource};

/// Every setting this module reads (checked against `local.settings.json.example`).
pub const SETTINGS: &[&str] = &[
    "AZCOPS_ARM_ENDPOINT",
    "AZCOPS_RETAIL_PRICES_ENDPOINT",
    "AZCOPS_ARM_AUDIENCE",
    "AZCOPS_AUTHORITY_HOST",
    "AZCOPS_AZURE_CREDENTIAL",
    "AZCOPS_AZURE_MAX_RETRIES",
    "AZCOPS_AZURE_TIMEOUT_SECS",
    "AZCOPS_AZURE_PAGE_CAP",
    "AZCOPS_AZURE_GOVERNOR",
    "AZCOPS_METRICS_CONCURRENCY",
    "AZCOPS_CLIENT_TYPE",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
];

/// Which azure_identity credential obtains tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Client secret if `AZURE_CLIENT_SECRET` is set, else workload identity if
    /// `AZURE_FEDERATED_TOKEN_FILE` is set, else managed identity.
    Auto,
    /// App Service / Functions managed identity (`IDENTITY_ENDPOINT`), or IMDS on a VM.
    ManagedIdentity,
    /// Workload identity federation (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// A client secret (local use).
    ClientSecret,
}

impl FromStr for CredentialKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "managed_identity" => Ok(Self::ManagedIdentity),
            "workload_identity" => Ok(Self::WorkloadIdentity),
            "client_secret" => Ok(Self::ClientSecret),
            other => Err(format!(
                "unknown credential {other:?}; expected auto, managed_identity, workload_identity or client_secret"
            )),
        }
    }
}

/// Resolved configuration of the Azure client.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// ARM base URL, without a trailing slash.
    pub arm_endpoint: String,
    /// Retail Prices base URL, without a trailing slash.
    pub retail_prices_endpoint: String,
    /// Token audience for ARM (`https://management.azure.com/`).
    pub arm_audience: String,
    /// Entra authority host for client-credential flows (must be https for azure_identity).
    pub authority_host: String,
    /// Which credential to use.
    pub credential: CredentialKind,
    /// `AZURE_CLIENT_ID` (user-assigned identity, workload identity or app registration).
    pub client_id: Option<String>,
    /// `AZURE_TENANT_ID`, the home tenant of the identity.
    pub tenant_id: Option<String>,
    /// `AZURE_CLIENT_SECRET` (local use only).
    pub client_secret: Option<Secret>,
    /// `AZURE_FEDERATED_TOKEN_FILE`.
    pub federated_token_file: Option<String>,
    /// Attempts per request, including the first (default 5).
    pub max_attempts: u32,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Most pages followed for one listing before failing with `PagingLoop`.
    pub page_cap: usize,
    /// Whether the client-side quota governor paces requests.
    pub governor_enabled: bool,
    /// VMs whose metrics are fetched at the same time.
    pub metrics_concurrency: usize,
    /// `ClientType` header sent to Cost Management (gives AzCops its own quota bucket).
    pub client_type: String,
}

impl AzureConfig {
    /// Parses the module's settings, with defaults for everything unset.
    ///
    /// # Errors
    /// A setting is set but invalid (unknown credential kind, non-numeric knob, zero attempts).
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let url = |key: &str, default: &str| -> Result<String, ConfigError> {
            let raw = source.get(key).unwrap_or(default).trim().trim_end_matches('/').to_owned();
            url::Url::parse(&raw).map_err(|e| ConfigError::invalid(key, e.to_string()))?;
            Ok(raw)
        };
        // Endpoints that receive a token or issue one: plain http only to this machine.
        let token_url = |key: &str, default: &str| -> Result<String, ConfigError> {
            let raw = url(key, default)?;
            secure_url(key, &raw)?;
            Ok(raw)
        };
        let max_attempts: u32 = source.parse_or("AZCOPS_AZURE_MAX_RETRIES", 5)?;
        if max_attempts == 0 {
            return Err(ConfigError::invalid("AZCOPS_AZURE_MAX_RETRIES", "must be at least 1"));
        }
        let metrics_concurrency: usize = source.parse_or("AZCOPS_METRICS_CONCURRENCY", 8)?;
        if metrics_concurrency == 0 {
            return Err(ConfigError::invalid("AZCOPS_METRICS_CONCURRENCY", "must be at least 1"));
        }
        let page_cap: usize = source.parse_or("AZCOPS_AZURE_PAGE_CAP", 10_000)?;
        Ok(Self {
            arm_endpoint: token_url("AZCOPS_ARM_ENDPOINT", "https://management.azure.com")?,
            retail_prices_endpoint: url("AZCOPS_RETAIL_PRICES_ENDPOINT", "https://prices.azure.com")?,
            arm_audience: source
                .get("AZCOPS_ARM_AUDIENCE")
                .unwrap_or("https://management.azure.com/")
                .to_owned(),
            authority_host: token_url("AZCOPS_AUTHORITY_HOST", "https://login.microsoftonline.com")?,
            credential: source.parse_or("AZCOPS_AZURE_CREDENTIAL", CredentialKind::Auto)?,
            client_id: source.get("AZURE_CLIENT_ID").map(str::to_owned),
            tenant_id: source.get("AZURE_TENANT_ID").map(str::to_owned),
            client_secret: source.get("AZURE_CLIENT_SECRET").map(Secret::new),
            federated_token_file: source.get("AZURE_FEDERATED_TOKEN_FILE").map(str::to_owned),
            max_attempts,
            timeout: Duration::from_secs(source.parse_or("AZCOPS_AZURE_TIMEOUT_SECS", 100)?),
            page_cap: page_cap.max(1),
            governor_enabled: source.parse_or("AZCOPS_AZURE_GOVERNOR", true)?,
            metrics_concurrency,
            client_type: source.get("AZCOPS_CLIENT_TYPE").unwrap_or("azcops").to_owned(),
        })
    }

    /// The OAuth scope for ARM (`{audience}/.default`).
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", self.arm_audience.trim_end_matches('/'))
    }

    /// A configuration pointing every endpoint at one base URL (tests, the sandbox).
    ///
    /// # Errors
    /// Never in practice; kept fallible because it goes through [`AzureConfig::from_source`].
    pub fn for_base_url(base: &str) -> Result<Self, ConfigError> {
        Self::from_source(&SettingsSource::from_pairs([
            ("AZCOPS_ARM_ENDPOINT", base),
            ("AZCOPS_RETAIL_PRICES_ENDPOINT", base),
        ]))
    }
}

/// Parses `value`, the URL of setting `key`, requiring `https` unless the host is loopback
/// (127.0.0.0/8, ::1, localhost): a token or a key set must never travel in clear over a network.
///
/// # Errors
/// [`ConfigError::Invalid`] naming `key` when the value is not a URL, not http(s), or plain http
/// to a host that is not loopback.
pub fn secure_url(key: &str, value: &str) -> Result<url::Url, ConfigError> {
    let url =
        url::Url::parse(value.trim()).map_err(|e| ConfigError::invalid(key, format!("not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConfigError::invalid(
            key,
            "must be an https URL (plain http is allowed only for a loopback host: 127.0.0.0/8, ::1, localhost)",
        )),
        _ => Err(ConfigError::invalid(key, "must be an https URL")),
    }
}

/// True when `url`'s host is this machine: 127.0.0.0/8, `::1` or `localhost`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_endpoints_must_be_https_unless_loopback() {
        for key in ["AZCOPS_ARM_ENDPOINT", "AZCOPS_AUTHORITY_HOST"] {
            for ok in [
                "https://login.example.com",
                "http://127.0.0.1:9",
                "http://127.8.9.10",
                "http://[::1]:9",
                "http://localhost:9",
                "http://LOCALHOST",
            ] {
                let s = SettingsSource::from_pairs([(key, ok)]);
                assert!(AzureConfig::from_source(&s).is_ok(), "{key}={ok}");
            }
            for bad in [
                "http://login.example.com",
                "http://10.0.0.1",
                "http://128.0.0.1",
                "http://localhost.example.com",
                "ftp://127.0.0.1",
                "http://[::2]",
            ] {
                let s = SettingsSource::from_pairs([(key, bad)]);
                let err = AzureConfig::from_source(&s).unwrap_err().to_string();
                assert!(err.contains(key) && err.contains("https"), "{key}={bad}: {err}");
            }
        }
        // The Retail Prices API gets no token; its endpoint keeps the plain URL rule.
        let s = SettingsSource::from_pairs([("AZCOPS_RETAIL_PRICES_ENDPOINT", "http://prices.example.com")]);
        assert!(AzureConfig::from_source(&s).is_ok());
    }

    #[test]
    fn defaults_are_public_cloud() {
        let c = AzureConfig::from_source(&SettingsSource::default()).unwrap();
        assert_eq!(c.arm_endpoint, "https://management.azure.com");
        assert_eq!(c.retail_prices_endpoint, "https://prices.azure.com");
        assert_eq!(c.arm_scope(), "https://management.azure.com/.default");
        assert_eq!(c.credential, CredentialKind::Auto);
        assert_eq!(c.max_attempts, 5);
        assert_eq!(c.metrics_concurrency, 8);
        assert!(c.governor_enabled);
    }

    #[test]
    fn invalid_values_name_the_key() {
        let s = SettingsSource::from_pairs([("AZCOPS_AZURE_CREDENTIAL", "password")]);
        let err = AzureConfig::from_source(&s).unwrap_err().to_string();
        assert!(err.contains("AZCOPS_AZURE_CREDENTIAL"), "{err}");
        let s = SettingsSource::from_pairs([("AZCOPS_ARM_ENDPOINT", "not a url")]);
        assert!(AzureConfig::from_source(&s).unwrap_err().to_string().contains("AZCOPS_ARM_ENDPOINT"));
    }

    #[test]
    fn secrets_are_redacted() {
        let s = SettingsSource::from_pairs([
            ("AZURE_CLIENT_SECRET", "s3cr3t"),
            ("AZCOPS_ARM_ENDPOINT", "http://127.0.0.1:1/"),
        ]);
        let c = AzureConfig::from_source(&s).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(c.arm_endpoint, "http://127.0.0.1:1");
    }
}
