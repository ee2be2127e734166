//! Where the raw layer lives, from `AZCOPS_RAW_STORE` (and `AZCOPS_RAW_CONTAINER` for Azurite).

use std::path::PathBuf;

use url::Url;

use crate::azure::AzureConfig;
use crate::azurite::StorageAccount;
use crate::config::{ConfigError, SettingsSource};

/// Every setting this module reads (checked against `local.settings.json.example`).
pub const SETTINGS: &[&str] = &["AZCOPS_RAW_STORE", "AZCOPS_RAW_CONTAINER"];

const STORE: &str = "AZCOPS_RAW_STORE";
const CONTAINER: &str = "AZCOPS_RAW_CONTAINER";
/// The container root used when `AZCOPS_RAW_STORE` is unset.
pub const DEFAULT_LOCAL_ROOT: &str = "data/raw";
/// The container used on Azurite when `AZCOPS_RAW_CONTAINER` is unset.
pub const DEFAULT_CONTAINER: &str = "raw";

/// The resolved raw-store location.
#[derive(Debug, Clone)]
pub enum RawConfig {
    /// A directory standing for the container (the embedded default).
    Local {
        /// The container root.
        root: PathBuf,
    },
    /// A Blob Storage / ADLS Gen2 container reached with the configured Azure identity.
    Blob {
        /// `https://<account>.blob.core.windows.net/<container>`.
        container_url: Url,
        /// The identity settings (`AZURE_CLIENT_ID`, credential kind, …) the token comes from.
        azure: Box<AzureConfig>,
    },
    /// A container on Azurite (or another shared-key account), reached with an account SAS.
    Azurite {
        /// The account (its key is a `Secret`).
        account: Box<StorageAccount>,
        /// The container name.
        container: String,
    },
}

impl RawConfig {
    /// Parses `AZCOPS_RAW_STORE`: unset → `data/raw`; a path or `file://` URL → local;
    /// `https://…/container` → Blob with the managed identity; a connection string
    /// (`UseDevelopmentStorage=true…` or `AccountName=…;AccountKey=…;BlobEndpoint=…`) → Azurite,
    /// container `AZCOPS_RAW_CONTAINER` (default `raw`).
    ///
    /// # Errors
    /// An unusable value, naming the setting (never echoing a connection string).
    pub fn from_source(source: &SettingsSource) -> Result<Self, ConfigError> {
        let Some(value) = source.get(STORE).map(str::trim) else {
            return Ok(Self::Local { root: PathBuf::from(DEFAULT_LOCAL_ROOT) });
        };
        let lower = value.to_ascii_lowercase();
        if lower.contains("usedevelopmentstorage=") || lower.contains("accountname=") {
            return azurite(source, value);
        }
        if let Some(path) = value.strip_prefix("file://") {
            if path.is_empty() {
                return Err(ConfigError::invalid(STORE, "the file:// URL names no directory"));
            }
            return Ok(Self::Local { root: PathBuf::from(path) });
        }
        if lower.starts_with("https://") {
            return blob(source, value);
        }
        if lower.starts_with("http://") {
            return Err(ConfigError::invalid(
                STORE,
                "Blob Storage needs https; use an Azurite connection string for a local http endpoint",
            ));
        }
        Ok(Self::Local { root: PathBuf::from(value) })
    }
}

fn blob(source: &SettingsSource, value: &str) -> Result<RawConfig, ConfigError> {
    let url =
        Url::parse(value.trim_end_matches('/')).map_err(|e| ConfigError::invalid(STORE, e.to_string()))?;
    if url.query().is_some() {
        return Err(ConfigError::invalid(
            STORE,
            "the container URL must not carry a query (SAS tokens are not used)",
        ));
    }
    let segments: Vec<&str> =
        url.path_segments().map(|s| s.filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    match segments.as_slice() {
        [container] => check_container(STORE, container)?,
        _ => {
            return Err(ConfigError::invalid(
                STORE,
                "expected https://<account>.blob.core.windows.net/<container>",
            ));
        }
    }
    Ok(RawConfig::Blob { container_url: url, azure: Box::new(AzureConfig::from_source(source)?) })
}

fn azurite(source: &SettingsSource, value: &str) -> Result<RawConfig, ConfigError> {
    // The raw store uses only the blob service; a string without a queue endpoint is complete.
    let text = if value.to_ascii_lowercase().contains("queueendpoint=") {
        value.to_owned()
    } else {
        let blob = value
            .split(';')
            .find_map(|pair| {
                pair.split_once('=').filter(|(k, _)| k.trim().eq_ignore_ascii_case("BlobEndpoint"))
            })
            .map(|(_, v)| v.trim().to_owned());
        match blob {
            Some(blob) => format!("{value};QueueEndpoint={blob}"),
            None => value.to_owned(),
        }
    };
    let account = StorageAccount::from_connection_string(STORE, &text)?;
    let container = source.get(CONTAINER).map_or(DEFAULT_CONTAINER, str::trim).to_owned();
    check_container(CONTAINER, &container)?;
    Ok(RawConfig::Azurite { account: Box::new(account), container })
}

/// Azure's container naming rules: 3–63 characters, lowercase letters, digits and single
/// hyphens, starting and ending with a letter or digit.
fn check_container(key: &str, name: &str) -> Result<(), ConfigError> {
    let valid = (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if valid {
        Ok(())
    } else {
        Err(ConfigError::invalid(key, format!("{name:?} is not a valid container name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<RawConfig, ConfigError> {
        RawConfig::from_source(&SettingsSource::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn unset_paths_and_file_urls_are_local() {
        assert!(
            matches!(parse(&[]).unwrap(), RawConfig::Local { root } if root == std::path::Path::new("data/raw"))
        );
        assert!(
            matches!(parse(&[(STORE, "/srv/raw")]).unwrap(), RawConfig::Local { root } if root == std::path::Path::new("/srv/raw"))
        );
        assert!(
            matches!(parse(&[(STORE, "file:///srv/raw")]).unwrap(), RawConfig::Local { root } if root == std::path::Path::new("/srv/raw"))
        );
        assert!(
            matches!(parse(&[(STORE, "file://data/x")]).unwrap(), RawConfig::Local { root } if root == std::path::Path::new("data/x"))
        );
    }

    #[test]
    fn https_container_urls_use_the_identity() {
        let config =
            parse(&[(STORE, "https://acct.blob.core.windows.net/raw/"), ("AZURE_CLIENT_ID", "c1")]).unwrap();
        let RawConfig::Blob { container_url, azure } = config else { panic!("not blob") };
        assert_eq!(container_url.as_str(), "https://acct.blob.core.windows.net/raw");
        assert_eq!(azure.client_id.as_deref(), Some("c1"));
        for bad in [
            "https://acct.blob.core.windows.net",
            "https://acct.blob.core.windows.net/raw/x",
            "https://a/raw?sig=x",
            "http://a/raw",
            "https://a/Raw",
        ] {
            let err = parse(&[(STORE, bad)]).unwrap_err();
            assert!(err.to_string().contains(STORE), "{bad}: {err}");
        }
    }

    #[test]
    fn connection_strings_select_azurite_and_the_container() {
        let dev = "UseDevelopmentStorage=true;BlobEndpoint=http://127.0.0.1:10130/devstoreaccount1";
        let RawConfig::Azurite { account, container } = parse(&[(STORE, dev)]).unwrap() else {
            panic!("not azurite")
        };
        assert_eq!((account.blob_endpoint.port(), container.as_str()), (Some(10130), "raw"));
        let explicit = format!(
            "AccountName=devstoreaccount1;AccountKey={};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1",
            crate::azurite::DEV_ACCOUNT_KEY
        );
        let config = parse(&[(STORE, explicit.as_str()), (CONTAINER, "raw-test")]).unwrap();
        assert!(matches!(&config, RawConfig::Azurite { container, .. } if container == "raw-test"));
        assert!(!format!("{config:?}").contains(crate::azurite::DEV_ACCOUNT_KEY), "the key never prints");
        let err = parse(&[(STORE, dev), (CONTAINER, "Bad_Name")]).unwrap_err();
        assert!(err.to_string().contains(CONTAINER), "{err}");
        let err = parse(&[(STORE, "AccountName=x;AccountKey=not base64!")]).unwrap_err();
        assert!(err.to_string().contains(STORE) && !err.to_string().contains("not base64!"), "{err}");
    }
}
