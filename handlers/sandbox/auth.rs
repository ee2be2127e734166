//! Tokens: the App Service managed-identity endpoint, the Entra v2 client-credentials endpoint,
//! and bearer-token checks for ARM calls.
//!
//! Tokens are opaque to clients: `sbx.<base64url claims>.<base64url HMAC-SHA256>`, signed with a
//! key drawn at start-up. The managed identity belongs to tenant #0; each tenant also has one
//! app registration whose client secret [`TokenAuthority::app_secret`] derives from the key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::Secret;

/// The audience ARM accepts (with or without the trailing slash).
pub const ARM_AUDIENCE: &str = "https://management.azure.com/";

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Tenant GUID.
    pub tid: String,
    /// Principal object id.
    pub oid: String,
    /// Audience (resource).
    pub aud: String,
    /// Expiry, epoch seconds.
    pub exp: i64,
}

/// Why a bearer token was refused (each maps to ARM's 401 body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("Authentication failed. The 'Authorization' header is missing.")]
    Missing,
    /// Not a token this sandbox signed.
    #[error("The access token is invalid.")]
    Invalid,
    /// Expired.
    #[error("The access token expiry UTC time '{0}' is earlier than current UTC time.")]
    Expired(i64),
    /// Issued for another resource.
    #[error(
        "The access token has been obtained for wrong audience or resource '{0}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.azure.com/'."
    )]
    Audience(String),
}

impl TokenError {
    /// ARM's error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "AuthenticationFailed",
            Self::Invalid => "InvalidAuthenticationToken",
            Self::Expired(_) => "ExpiredAuthenticationToken",
            Self::Audience(_) => "InvalidAuthenticationTokenAudience",
        }
    }
}

/// Issues and verifies the sandbox's tokens.
#[derive(Clone)]
pub struct TokenAuthority {
    key: Vec<u8>,
    identity_header: Secret,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAuthority { .. }")
    }
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of any length; this arm only satisfies the type.
        Err(_) => Vec::new(),
    }
}

impl TokenAuthority {
    /// A new authority with a fresh random key and `IDENTITY_HEADER` secret.
    pub fn new() -> Self {
        let key = [uuid::Uuid::new_v4().into_bytes(), uuid::Uuid::new_v4().into_bytes()].concat();
        Self { key, identity_header: Secret::new(uuid::Uuid::new_v4().simple().to_string()) }
    }

    /// The `IDENTITY_HEADER` value clients must send as `X-IDENTITY-HEADER`.
    pub fn identity_header(&self) -> &Secret {
        &self.identity_header
    }

    /// Signs a token.
    pub fn issue(&self, claims: &Claims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let sig = URL_SAFE_NO_PAD.encode(mac(&self.key, body.as_bytes()));
        format!("sbx.{body}.{sig}")
    }

    /// Verifies a token's signature, expiry (against `now`, epoch seconds) and ARM audience.
    ///
    /// # Errors
    /// The token is malformed, forged, expired or for another audience.
    pub fn verify_arm(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let claims = self.verify_signed(token, now)?;
        let aud = claims.aud.trim_end_matches('/');
        if aud != "https://management.azure.com" && aud != "https://management.core.windows.net" {
            return Err(TokenError::Audience(claims.aud.clone()));
        }
        Ok(claims)
    }

    /// Verifies a token's signature, expiry and audience `audience` (trailing slash ignored).
    ///
    /// # Errors
    /// The token is malformed, forged, expired or for another audience.
    pub fn verify_for(&self, token: &str, now: i64, audience: &str) -> Result<Claims, TokenError> {
        let claims = self.verify_signed(token, now)?;
        if claims.aud.trim_end_matches('/') != audience.trim_end_matches('/') {
            return Err(TokenError::Audience(claims.aud.clone()));
        }
        Ok(claims)
    }

    fn verify_signed(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some("sbx"), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let expected = URL_SAFE_NO_PAD.encode(mac(&self.key, body.as_bytes()));
        if expected != sig {
            return Err(TokenError::Invalid);
        }
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| TokenError::Invalid)?;
        if claims.exp <= now {
            return Err(TokenError::Expired(claims.exp));
        }
        Ok(claims)
    }

    /// The client id of a tenant's app registration.
    pub fn app_client_id(&self, tenant_id: &str) -> String {
        let h = mac(b"sandbox-app-client-id", tenant_id.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(h.get(..16).unwrap_or(&[0; 16]));
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// The client secret of a tenant's app registration.
    pub fn app_secret(&self, tenant_id: &str) -> Secret {
        Secret::new(URL_SAFE_NO_PAD.encode(mac(&self.key, format!("secret:{tenant_id}").as_bytes())))
    }

    /// The object id of the managing tenant's managed identity.
    pub fn managed_identity_object_id(&self, tenant_id: &str) -> String {
        let h = mac(b"sandbox-mi-object-id", tenant_id.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(h.get(..16).unwrap_or(&[0; 16]));
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }
}

impl Default for TokenAuthority {
    fn default() -> Self {
        Self::new()
    }
}

/// Extracts the bearer token from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, TokenError> {
    let value = header.ok_or(TokenError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::Invalid);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_checked() {
        let a = TokenAuthority::new();
        let claims = Claims { tid: "t".into(), oid: "o".into(), aud: ARM_AUDIENCE.into(), exp: 1000 };
        let token = a.issue(&claims);
        assert_eq!(a.verify_arm(&token, 999).unwrap(), claims);
        assert_eq!(a.verify_arm(&token, 1000), Err(TokenError::Expired(1000)));
        assert_eq!(a.verify_arm(&format!("{token}x"), 1), Err(TokenError::Invalid));
        assert_eq!(TokenAuthority::new().verify_arm(&token, 1), Err(TokenError::Invalid));
        let vault = a.issue(&Claims { aud: "https://vault.azure.net".into(), ..claims });
        assert!(matches!(a.verify_arm(&vault, 1), Err(TokenError::Audience(_))));
        assert_eq!(
            a.verify_for(&vault, 1, "https://vault.azure.net/").unwrap().aud,
            "https://vault.azure.net"
        );
        assert!(matches!(a.verify_for(&token, 1, "https://monitor.azure.com"), Err(TokenError::Audience(_))));
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(None), Err(TokenError::Missing));
        assert_eq!(a.app_client_id("x"), a.app_client_id("x"));
    }
}
