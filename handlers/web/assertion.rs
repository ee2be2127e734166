//! The dashboard's federated client credential: instead of a client secret, the token request
//! carries a managed-identity token for `api://AzureADTokenExchange` as a JWT bearer client
//! assertion, which Entra accepts because the app registration has a federated identity
//! credential naming that identity (issuer, subject = its object id, that audience). The token
//! comes from the same credential code as the ARM client's ([`crate::azure::credential`]).

use std::sync::Arc;

use crate::azure::credential::{self, TokenSource};
use crate::azure::{AzureConfig, CredentialKind};
use crate::config::SettingsSource;

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
    /// The managed identity (user-assigned when `identity_client_id` is set), from the platform's
    /// `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` as for the ARM client.
    ///
    /// # Errors
    /// The credential cannot be built (the message names what is missing).
    pub fn managed_identity(identity_client_id: Option<String>) -> Result<Self, String> {
        let mut config = AzureConfig::from_source(&SettingsSource::default()).map_err(|e| e.to_string())?;
        config.credential = CredentialKind::ManagedIdentity;
        config.client_id = identity_client_id;
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
