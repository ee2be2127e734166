//! The dashboard's federated client credential: instead of a client secret, the token request
//! carries a managed-identity token for `api://AzureADTokenExchange` as a JWT bearer client
//! assertion, which Entra accepts because the app registration has a federated identity
//! credential naming that identity (issuer, subject = its object id, that audience). The token
//! comes from the same credential code as the ARM client's ([`crate::azure::credential`]).

use std::sync::Arc;

use crate::azure::credential::{self, TokenSource};
use crate::azure::{AzureConfig, CredentialKind};

/// The audience Entra requires of a federated credential's token.
pub const TOKEN_EXCHANGE_SCOPE: &str = "api://AzureADTokenExchange/.default";
/// `client_assertion_type` of a JWT bearer assertion (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Issues client assertions (cached managed-identity tokens, renewed before they expire).
#[derive(Clone)]
pub struct Assertions {
    source: Arc<dyn TokenSource>,
}

impl std::fmt::Debug for Assertions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertions").finish_non_exhaustive()
    }
}

impl Assertions {
    /// The app's managed identity, with its Azure settings (`AZURE_CLIENT_ID` names a
    /// user-assigned identity, the authority host as configured), from the platform's
    /// `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` as for the ARM client.
    ///
    /// # Errors
    /// The credential cannot be built (the message names what is missing).
    pub fn managed_identity(azure: &AzureConfig) -> Result<Self, String> {
        let mut config = azure.clone();
        config.credential = CredentialKind::ManagedIdentity;
        let source = credential::from_config(&config).map_err(|e| e.to_string())?;
        Ok(Self { source })
    }

    /// A client assertion for the token request (a secret: never logged).
    ///
    /// # Errors
    /// The managed identity endpoint gives no token.
    pub async fn assertion(&self) -> Result<crate::config::Secret, String> {
        let token = self.source.token(None, TOKEN_EXCHANGE_SCOPE).await.map_err(|e| e.to_string())?;
        Ok(token.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SettingsSource;

    #[test]
    fn the_identity_is_built_with_the_apps_azure_settings() {
        let mut azure = AzureConfig::from_source(&SettingsSource::default()).unwrap();
        azure.authority_host = "http://login.example".into();
        let error = Assertions::managed_identity(&azure).unwrap_err();
        assert!(error.contains("loopback"), "{error}");
    }
}
