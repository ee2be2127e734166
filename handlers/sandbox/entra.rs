//! The sandbox as a development identity provider for the dashboard API: Entra v2 OpenID
//! metadata per tenant, a JWKS at `/common/discovery/v2.0/keys`, and
//! `POST /_sandbox/user-token` minting RS256 user access tokens with the Entra v2 claims.
//!
//! With `AZCOPS_AUTH_AUTHORITY` set to the sandbox's base URL, AzCops accepts these tokens, so
//! the zero-setup demo can call the API without a real Entra tenant. The dashboard's sign-in
//! (authorisation code + PKCE) is served by [`super::signin`].
//!
//! The signing key below is a fixed development key committed in the source: it is PUBLIC and
//! only for local development and tests. Never trust this sandbox's issuer in a deployment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde::Deserialize;
use serde_json::json;

use super::arm::{entra_body, tenant_not_found};
use super::server::Shared;

/// Key id of the development signing key.
pub const DEV_KEY_ID: &str = "azcops-sandbox-dev-1";

/// Audience of minted tokens when the request names none.
pub const DEFAULT_AUDIENCE: &str = "api://azcops";

/// Lifetime of minted tokens.
const TOKEN_LIFETIME_SECS: i64 = 3600;

/// PUBLIC development RSA key (PKCS#1 PEM): anyone can mint tokens with it. Dev/test only.
const DEV_PRIVATE_KEY_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEA6oWsjMUGfdWQHUwur6UzqorgixaThSSBTwsTFYfvfz8pE9+4
GWXXXLIYYm2d6poyxrlphQwOqZRS0fn8eLX66f/mkaPcW+eyPhOMwohLQUn2sYje
IlVIMu4WYQShKmjWjTQMtOsh1fZGwdhkXiE0tcCqR0GP27w17GX1WmcdP8kTwjN3
4UejmXM29d20EwpuXX7AZhn56LBmBqPftpnbZHs3zMbDxWknVq3R8+ELrGHxRUxI
fv9HkuArNP2ybSJfblGOsOUj8qMA/guGJE3ASS9LfCt9paBr8LHxFJ5lna4E7//T
4SZPqdvFY4NHwUSsPk4hIVmw9NbUGPEiq3FQOwIDAQABAoIBAAmlxhtkX4f9qRgL
ckA3g5CYdfRC0X7AqbEeu4I/PVL2vjHbGi+xSNK/YNFrwPtNrJkQN48Jl/DR8TZC
Gmi8072ckVecbgw509NJ6ph2EuJ0sHlNMBYpe/bcZH9JOXgNKAZXBc7LfXDX2MFQ
rZBRvWFcs6SKxeg8LduztgwqAcIF52VFRWl+Ol5MgLdWbSQz3RuLJUHL56LtvyUr
8b2FTGyPvpDgIwBUVkB+AOuh4lZbKSekFpyG05Ubr5thKajypDbha0reZaVuUInX
bj6ZoLGUZ42Cuty4W+DIU/lahvkL5v/tJfU9SbicErixuMhiL+vUi9/WRssycPZ4
nka/9IECgYEA/u2w+Y4dfq5deQrKwTvs2RoeB1oVrsbbAo9kccajvDzbQkA9bc6c
wAJH0Pevvaqikce/3WwJ5JaeqdiJ61G9F/z2NsvQ3jzytw1AR+w7mp0dbCHjVBgZ
pWJ4a/VuEgL+kHRLrPEWfHpWBW6mSC/WXP8+bLjXRbLQKU+pjZRfr2MCgYEA64IG
arEDy5wwbEWNleoC3wFDx8VCcr6RlVNAStrIW7/q3fDuwoyC2lZF9vRUcO15iD7C
hNfzGO0h6YVmYqI0K/N7CsN+ktR1OrufLO8oPm+S54biVaoWSqAOhz23gx9ZnGF7
YTQfHdSTG2u0mND1f0rKmux7tlKe9eeD5zEQj0kCgYBK5h0EBTwnNyWhZYlSor+g
vaqq8E3EjwpTwzt4rir3KE4nNeaWd4jYZRMik1Mf/51KBY0aih6R+areLg+/gsFy
5dCVIubYFMIfBBapyv9sGtNFLOO0lmwaikblOTPAuP6ABJsjUaYQpoTVjb/vH5b0
tc1qdhhRkwrTyGMBhOFkDwKBgQDTwTrhzb4a4ppLkBJpnFruhyWZx00i/STLvmpN
pACJNrwIySz1cv/pL6+DCFewnmYrUjr21XE4lWdroE3aG/yLFEcq+3KgtTWfFLpf
3b4yvYG6efaijeezO800XxLVbGfXi3MziHj+CngnLKXazfAff3FC8aWe3xUdCAj6
5Iv+OQKBgHTLChfXLOXYYA5eLxWx6MztcwXB6zG/iNpIXeb/apfup7U4MgX0s2Ci
VbaoQrofeLYeCjzVdb7gZ2nLS3zbniGIExz6lMFxT+wNVPc29Z3rBKTZ31Tw7oH1
Lxg6hDnvpo7WgP2A2jQ4sbxJN52DG70rukXJwj0PkXfccmeuM2gr
-----END RSA PRIVATE KEY-----
";

/// Modulus of [`DEV_PRIVATE_KEY_PEM`], base64url (the exponent is 65537).
const DEV_KEY_MODULUS: &str = "6oWsjMUGfdWQHUwur6UzqorgixaThSSBTwsTFYfvfz8pE9-4GWXXXLIYYm2d6poyxrlphQwOqZRS0fn8eLX66f_mkaPcW-eyPhOMwohLQUn2sYjeIlVIMu4WYQShKmjWjTQMtOsh1fZGwdhkXiE0tcCqR0GP27w17GX1WmcdP8kTwjN34UejmXM29d20EwpuXX7AZhn56LBmBqPftpnbZHs3zMbDxWknVq3R8-ELrGHxRUxIfv9HkuArNP2ybSJfblGOsOUj8qMA_guGJE3ASS9LfCt9paBr8LHxFJ5lna4E7__T4SZPqdvFY4NHwUSsPk4hIVmw9NbUGPEiq3FQOw";

/// The identity-provider routes, merged into the sandbox router.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(openid_configuration))
        .route("/common/discovery/v2.0/keys", get(keys))
        .route("/_sandbox/user-token", post(user_token))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(super::signin::authorize_page).post(super::signin::authorize_submit),
        )
}

/// Signs `claims` with the development key (RS256, `kid` [`DEV_KEY_ID`]).
///
/// # Errors
/// The key or the claims cannot be encoded.
pub fn sign(claims: &serde_json::Value) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(DEV_KEY_ID.to_owned());
    EncodingKey::from_rsa_pem(DEV_PRIVATE_KEY_PEM.as_bytes()).and_then(|key| encode(&header, claims, &key))
}

/// Entra's v2 discovery document. An unknown tenant gets Entra's 400 `invalid_tenant` with
/// AADSTS90002 (MSAL and azure-identity read it and stop), not a document for a tenant that does
/// not exist. `common` and `organizations` resolve as on Entra, with the `{tenantid}` issuer
/// template.
async fn openid_configuration(State(state): State<Shared>, Path(tenant): Path<String>) -> Response {
    let base = &state.base_url;
    let known = state
        .estate
        .tenants
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(&tenant) || t.domain.eq_ignore_ascii_case(&tenant));
    let issuer_tenant = match known {
        Some(t) => t.id.clone(),
        None if tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations") => {
            "{tenantid}".to_owned()
        }
        None => {
            let mut body = entra_body("invalid_tenant", 90002, &tenant_not_found(&tenant));
            body["error_uri"] = json!(format!("{base}/error?code=90002"));
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    Json(json!({
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "tid", "ver"],
        "request_uri_parameter_supported": false,
        "tenant_region_scope": "EU",
    }))
    .into_response()
}

async fn keys() -> Response {
    Json(json!({"keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": DEV_KEY_ID,
        "n": DEV_KEY_MODULUS,
        "e": "AQAB",
    }]}))
    .into_response()
}

/// Body of `POST /_sandbox/user-token`.
#[derive(Debug, Deserialize)]
struct UserTokenRequest {
    tid: String,
    #[serde(default)]
    roles: Vec<String>,
    name: Option<String>,
    oid: Option<String>,
    aud: Option<String>,
}

async fn user_token(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let request: UserTokenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_request", "error_description": e.to_string()})),
            )
                .into_response();
        }
    };
    let now = chrono::Utc::now().timestamp();
    let tid = request.tid.trim().to_ascii_lowercase();
    let claims = json!({
        "iss": format!("{}/{tid}/v2.0", state.base_url),
        "aud": request.aud.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
        "tid": tid,
        "oid": request.oid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        "roles": request.roles,
        "name": request.name.unwrap_or_else(|| "Sandbox User".to_owned()),
        "ver": "2.0",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECS,
    });
    match sign(&claims) {
        Ok(token) => {
            Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS}))
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot sign a sandbox user token");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "server_error"}))).into_response()
        }
    }
}
