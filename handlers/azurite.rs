//! Azure Storage for local development and tests: development-storage connection strings and
//! account-SAS signing for Azurite.
//!
//! The Azure SDK for Rust 1.x authenticates storage with Entra ID only (https), which Azurite
//! cannot serve; an account SAS signed with the account key is appended to the service URL
//! instead and the clients run without a credential.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use crate::config::{ConfigError, Secret};

/// Azurite's well-known development account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development account key (public, documented by Microsoft).
pub const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The SAS version signed.
const SAS_VERSION: &str = "2021-08-06";

/// A storage account reachable with a shared key: Azurite or a local stand-in.
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// Account name.
    pub name: String,
    /// Account key.
    pub key: Secret,
    /// Blob service endpoint (path includes the account for Azurite).
    pub blob_endpoint: Url,
    /// Queue service endpoint.
    pub queue_endpoint: Url,
}

impl StorageAccount {
    /// Parses `UseDevelopmentStorage=true` (Azurite's default ports) or a connection string with
    /// `AccountName`, `AccountKey`, `BlobEndpoint` and `QueueEndpoint`.
    ///
    /// # Errors
    /// The string is neither form, or an endpoint is not a URL (the error names `setting`).
    pub fn from_connection_string(setting: &str, text: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::invalid(setting, reason.to_owned());
        let pairs: Vec<(String, String)> = text
            .split(';')
            .filter(|p| !p.trim().is_empty())
            .filter_map(|p| {
                p.split_once('=').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            })
            .collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let endpoint = |key: &str, default: &str| -> Result<Url, ConfigError> {
            let raw = get(key).unwrap_or_else(|| default.to_owned());
            Url::parse(raw.trim_end_matches('/')).map_err(|_| invalid(&format!("{key} is not a URL")))
        };
        if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(Self {
                name: DEV_ACCOUNT.into(),
                key: Secret::new(DEV_ACCOUNT_KEY),
                blob_endpoint: endpoint("blobendpoint", "http://127.0.0.1:10000/devstoreaccount1")?,
                queue_endpoint: endpoint("queueendpoint", "http://127.0.0.1:10001/devstoreaccount1")?,
            });
        }
        let name = get("accountname").ok_or_else(|| invalid("AccountName is missing"))?;
        let key = get("accountkey").ok_or_else(|| invalid("AccountKey is missing"))?;
        if BASE64.decode(&key).is_err() {
            return Err(invalid("AccountKey is not base64"));
        }
        let blob = get("blobendpoint").ok_or_else(|| invalid("BlobEndpoint is missing"))?;
        let queue = get("queueendpoint").ok_or_else(|| invalid("QueueEndpoint is missing"))?;
        Ok(Self {
            name,
            key: Secret::new(key),
            blob_endpoint: endpoint("blobendpoint", &blob)?,
            queue_endpoint: endpoint("queueendpoint", &queue)?,
        })
    }

    /// An account SAS query string for blob and queue services, all resource types, read/write/
    /// delete/list/add/create/update/process permissions, valid until `expiry`.
    pub fn account_sas(&self, expiry: DateTime<Utc>) -> String {
        let expiry = expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (permissions, services, resource_types, protocol) = ("rwdlacup", "bq", "sco", "https,http");
        let to_sign = format!(
            "{}\n{permissions}\n{services}\n{resource_types}\n\n{expiry}\n\n{protocol}\n{SAS_VERSION}\n\n",
            self.name
        );
        let key = BASE64.decode(self.key.expose()).unwrap_or_default();
        let signature = match Hmac::<Sha256>::new_from_slice(&key) {
            Ok(mut mac) => {
                mac.update(to_sign.as_bytes());
                BASE64.encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        };
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("sv", SAS_VERSION)
            .append_pair("ss", services)
            .append_pair("srt", resource_types)
            .append_pair("sp", permissions)
            .append_pair("se", &expiry)
            .append_pair("spr", protocol)
            .append_pair("sig", &signature)
            .finish()
    }

    /// `endpoint/path?sas`, for an SDK client that takes a URL and no credential.
    ///
    /// # Errors
    /// `path` does not make a valid URL.
    pub fn signed_url(&self, endpoint: &Url, path: &str) -> Result<Url, url::ParseError> {
        let mut url = Url::parse(&format!(
            "{}/{}",
            endpoint.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        ))?;
        url.set_query(Some(&self.account_sas(Utc::now() + chrono::Duration::days(2))));
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_storage_uses_azurite_defaults() {
        let account = StorageAccount::from_connection_string("S", "UseDevelopmentStorage=true").unwrap();
        assert_eq!(account.name, "devstoreaccount1");
        assert_eq!(account.queue_endpoint.as_str(), "http://127.0.0.1:10001/devstoreaccount1");
    }

    #[test]
    fn explicit_connection_strings_parse_and_bad_ones_name_the_setting() {
        let text = format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:20000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:20001/devstoreaccount1;"
        );
        let account = StorageAccount::from_connection_string("AzureWebJobsStorage", &text).unwrap();
        assert_eq!(account.blob_endpoint.port(), Some(20000));
        let err = StorageAccount::from_connection_string("AzureWebJobsStorage", "AccountName=x").unwrap_err();
        assert!(err.to_string().contains("AzureWebJobsStorage"));
        assert!(!format!("{account:?}").contains(DEV_ACCOUNT_KEY), "the key never prints");
    }

    #[test]
    fn the_sas_carries_a_signature_over_the_documented_fields() {
        let account = StorageAccount::from_connection_string("S", "UseDevelopmentStorage=true").unwrap();
        let expiry = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let sas = account.account_sas(expiry);
        assert!(sas.contains("sv=2021-08-06") && sas.contains("ss=bq") && sas.contains("srt=sco"));
        assert!(sas.contains("se=2030-01-01T00%3A00%3A00Z"));
        assert_eq!(sas, account.account_sas(expiry), "deterministic for the same expiry");
    }
}
