//! Where the `ingest_exports` trigger reads export files, from `AZCOPS_EXPORTS_CONTAINER`.

use std::path::PathBuf;
use std::sync::Arc;

use url::Url;

use super::{Container, DirContainer, ExportError, HttpContainer};
use crate::azure::AzureConfig;
use crate::azurite::StorageAccount;
use crate::config::{ConfigError, SettingsSource};

const KEY: &str = "AZCOPS_EXPORTS_CONTAINER";
/// The container name on a shared-key account (Azurite), as Terraform names it in Azure.
pub const DEFAULT_CONTAINER: &str = "exports";

/// The exports container, when configured.
#[derive(Debug, Clone, Default)]
pub enum ExportsConfig {
    /// Not configured: the trigger fails saying so.
    #[default]
    Unset,
    /// A directory standing for the container.
    Local(PathBuf),
    /// `https://<account>.blob.core.windows.net/<container>`, read with the app's identity.
    Blob {
        /// The container URL (no query).
        container_url: Url,
        /// The identity settings.
        azure: Box<AzureConfig>,
    },
    /// The `exports` container of a shared-key account (Azurite), read with an account SAS.
    Azurite(Box<StorageAccount>),
}

impl ExportsConfig {
    /// Parses `AZCOPS_EXPORTS_CONTAINER`: a directory (or `file://`), an https container URL
    /// (no SAS: the managed identity reads it), or a storage connection string (Azurite).
    ///
    /// # Errors
    /// An unusable value, naming the setting (never echoing a connection string).
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let Some(value) = source.get(KEY).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Self::Unset);
        };
        let lower = value.to_ascii_lowercase();
        if lower.contains("usedevelopmentstorage=") || lower.contains("accountname=") {
            return Ok(Self::Azurite(Box::new(StorageAccount::from_connection_string(KEY, value)?)));
        }
        if lower.starts_with("https://") {
            let url = Url::parse(value.trim_end_matches('/'))
                .map_err(|e| ConfigError::invalid(KEY, e.to_string()))?;
            if url.query().is_some() {
                return Err(ConfigError::invalid(
                    KEY,
                    "the container URL must not carry a query (no SAS in settings)",
                ));
            }
            return Ok(Self::Blob { container_url: url, azure: Box::new(AzureConfig::from_source(source)?) });
        }
        if lower.starts_with("http://") {
            return Err(ConfigError::invalid(
                KEY,
                "Blob Storage needs https; use a connection string for Azurite",
            ));
        }
        Ok(Self::Local(PathBuf::from(value.strip_prefix("file://").unwrap_or(value))))
    }

    /// The container this configuration names.
    ///
    /// # Errors
    /// [`ExportError::Container`] when unset or when no identity can be built.
    pub fn open(&self) -> Result<Arc<dyn Container>, ExportError> {
        match self {
            Self::Unset => Err(ExportError::Container(format!("{KEY} is not set"))),
            Self::Local(root) => Ok(Arc::new(DirContainer::new(root.clone()))),
            Self::Blob { container_url, azure } => {
                let tokens = crate::azure::credential::from_config(azure).map_err(|e| {
                    ExportError::Container(format!("no identity for the exports container: {e}"))
                })?;
                Ok(Arc::new(HttpContainer::new(container_url.as_str(), Some(tokens))?))
            }
            Self::Azurite(account) => {
                let url = account
                    .signed_url(&account.blob_endpoint, DEFAULT_CONTAINER)
                    .map_err(|e| ExportError::Container(format!("bad blob endpoint: {e}")))?;
                Ok(Arc::new(HttpContainer::new(url.as_str(), None)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_names_a_directory_a_container_or_an_account() {
        let parse = |v: &str| ExportsConfig::from_source(&SettingsSource::from_pairs([(KEY, v)]));
        assert!(matches!(
            ExportsConfig::from_source(&SettingsSource::default()).unwrap(),
            ExportsConfig::Unset
        ));
        assert!(matches!(parse("data/exports").unwrap(), ExportsConfig::Local(_)));
        assert!(matches!(parse("UseDevelopmentStorage=true").unwrap(), ExportsConfig::Azurite(_)));
        assert!(matches!(
            parse("https://acct.blob.core.windows.net/exports").unwrap(),
            ExportsConfig::Blob { .. }
        ));
        let e = parse("https://acct.blob.core.windows.net/exports?sig=x").unwrap_err();
        assert!(e.to_string().contains("no SAS"), "{e}");
        assert!(parse("http://example.com/exports").is_err());
        let unset = ExportsConfig::Unset.open().unwrap_err();
        assert!(unset.to_string().contains("AZCOPS_EXPORTS_CONTAINER is not set"));
    }
}
