//! OpenID Connect sign-in as a confidential client (client secret, or the managed identity's
//! federated credential as a client assertion): authorisation code flow with PKCE (S256),
//! `state` and `nonce` checked, the ID token validated by the API's authenticator (same key set,
//! same per-tenant issuer rule) with the dashboard's client id as audience.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::assertion::JWT_BEARER;
use super::session::{
    SESSION_COOKIE, SESSION_LIFETIME_SECS, SIGNIN_COOKIE, SIGNIN_LIFETIME_SECS, Session, SignInAttempt,
    clear_cookie, cookie_value, pkce_challenge, random_token, same_secret, set_cookie,
};
use super::viewer::{check_csrf, cookie_key, is_secure, session_of};
use super::{ClientCredential, WebClient, WebError, pages};
use crate::api::{ApiError, AuthError};
use crate::state::AppState;

/// The authority path segment for sign-in: any organisation's accounts (the app registration is
/// multi-tenant; which tenants may use AzCops is decided by the store, as for the API).
const SIGNIN_TENANT: &str = "organizations";

fn client(state: &AppState) -> Result<&WebClient, WebError> {
    state.web().and_then(|w| w.config.client.as_ref()).ok_or(WebError::NotConfigured)
}

fn authority(state: &AppState) -> Result<String, WebError> {
    let api = state.api().ok_or(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"))?;
    Ok(format!("{}/{SIGNIN_TENANT}/oauth2/v2.0", api.config.auth.authority))
}

/// This site's callback URL, from the request's host (the app registration lists it).
fn redirect_uri(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let scheme = if is_secure(headers) { "https" } else { "http" };
    format!("{scheme}://{host}/auth/callback")
}

/// `GET /auth/signin`: remembers a new attempt in a sealed cookie and sends the browser to the
/// identity provider.
pub async fn signin(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let client = client(&state)?;
    let key = cookie_key(&state)?;
    let now = chrono::Utc::now().timestamp();
    let attempt = SignInAttempt {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        expires_at: now + SIGNIN_LIFETIME_SECS,
    };
    let query = serde_urlencoded::to_string([
        ("client_id", client.client_id.as_str()),
        ("response_type", "code"),
        ("response_mode", "query"),
        ("redirect_uri", redirect_uri(&headers).as_str()),
        ("scope", "openid profile"),
        ("state", attempt.state.as_str()),
        ("nonce", attempt.nonce.as_str()),
        ("code_challenge", pkce_challenge(&attempt.verifier).as_str()),
        ("code_challenge_method", "S256"),
    ])
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let sealed = key.seal(SIGNIN_COOKIE, &attempt).ok_or_else(|| ApiError::Internal("sealing".into()))?;
    let location = format!("{}/authorize?{query}", authority(&state)?);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (
                header::SET_COOKIE,
                set_cookie(SIGNIN_COOKIE, &sealed, SIGNIN_LIFETIME_SECS, is_secure(&headers)),
            ),
        ],
    )
        .into_response())
}

/// Query of `GET /auth/callback`.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: checks `state`, redeems the code with the PKCE verifier and the client
/// secret or assertion, validates the ID token and its `nonce`, and starts the session.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Result<Response, WebError> {
    let client = client(&state)?;
    let key = cookie_key(&state)?;
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_default();
        return Err(WebError::SignIn(format!(
            "the identity provider refused the sign-in: {error} {description}"
        )));
    }
    let now = chrono::Utc::now().timestamp();
    let attempt = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| cookie_value(v, SIGNIN_COOKIE))
        .find_map(|v| key.open::<SignInAttempt>(SIGNIN_COOKIE, v, now))
        .ok_or_else(|| {
            WebError::SignIn("this sign-in attempt expired or began in another browser; sign in again".into())
        })?;
    let (Some(code), Some(returned_state)) = (query.code, query.state) else {
        return Err(WebError::SignIn("the identity provider returned no code or state".into()));
    };
    if !same_secret(&returned_state, &attempt.state) {
        return Err(WebError::SignIn("the returned state does not match this sign-in attempt".into()));
    }
    let web = state.web().ok_or(WebError::NotConfigured)?;
    let credential: Vec<(&str, String)> = match &client.credential {
        ClientCredential::Secret(secret) => vec![("client_secret", secret.clone())],
        ClientCredential::ManagedIdentity => {
            let assertions = match &web.assertions {
                Some(Ok(assertions)) => assertions,
                Some(Err(why)) => return Err(unavailable(format!("the managed identity: {why}"))),
                None => return Err(unavailable("no managed identity credential".into())),
            };
            let token = assertions
                .assertion()
                .await
                .map_err(|e| unavailable(format!("the managed identity's client assertion: {e}")))?;
            vec![
                ("client_assertion_type", JWT_BEARER.to_owned()),
                ("client_assertion", token.expose().to_owned()),
            ]
        }
    };
    let mut pairs = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("client_id", client.client_id.clone()),
        ("code", code),
        ("redirect_uri", redirect_uri(&headers)),
        ("code_verifier", attempt.verifier.clone()),
        ("scope", "openid profile".to_owned()),
    ];
    pairs.extend(credential);
    let form = serde_urlencoded::to_string(&pairs).map_err(|e| ApiError::Internal(e.to_string()))?;
    let http = &web.http;
    let answer = http
        .post(format!("{}/token", authority(&state)?))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| unavailable(format!("calling the token endpoint: {e}")))?;
    let tokens: TokenResponse =
        answer.json().await.map_err(|e| unavailable(format!("reading the token endpoint's answer: {e}")))?;
    let Some(id_token) = tokens.id_token else {
        let error = tokens.error.unwrap_or_else(|| "no ID token".into());
        tracing::info!(error = %error, "code redemption refused");
        return Err(WebError::SignIn(format!(
            "the identity provider did not redeem the code: {error} {}",
            tokens.error_description.unwrap_or_default()
        )));
    };
    let authenticator = &state.api().ok_or(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"))?.authenticator;
    let (identity, nonce) =
        authenticator.validate_id_token(&id_token, &client.client_id).await.map_err(|e| match e {
            AuthError::Invalid(reason) => {
                tracing::info!(reason, "ID token rejected");
                WebError::SignIn("the ID token did not validate".into())
            }
            other => WebError::from(other),
        })?;
    if !nonce.as_deref().is_some_and(|n| same_secret(n, &attempt.nonce)) {
        return Err(WebError::SignIn("the ID token's nonce does not match this sign-in attempt".into()));
    }
    // Refuses unregistered organisations here, with a message, rather than on the next page.
    authenticator.caller(&identity).await.map_err(|e| match e {
        AuthError::Invalid(_) => WebError::SignIn(
            "your organisation is not registered with AzCops (or is deactivated); ask an AzCops operator"
                .into(),
        ),
        other => WebError::from(other),
    })?;
    let session = Session {
        identity,
        csrf: random_token(),
        expires_at: now + SESSION_LIFETIME_SECS,
        acting_tenant: None,
    };
    let sealed = key.seal(SESSION_COOKIE, &session).ok_or_else(|| ApiError::Internal("sealing".into()))?;
    let secure = is_secure(&headers);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    let h = response.headers_mut();
    for cookie in [
        set_cookie(SESSION_COOKIE, &sealed, SESSION_LIFETIME_SECS, secure),
        clear_cookie(SIGNIN_COOKIE, secure),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

fn unavailable(cause: String) -> WebError {
    tracing::warn!(cause = %cause, "sign-in dependency unavailable");
    WebError::Api(ApiError::Unavailable {
        message: "the identity provider cannot be reached; try again shortly".into(),
        retry_after: crate::api::error::UNAVAILABLE_RETRY_AFTER_SECS,
    })
}

/// Body of `POST /auth/signout`.
#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// `POST /auth/signout` (anti-forgery token required): ends the session.
pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignOutForm>,
) -> Result<Response, WebError> {
    if let Some(session) = session_of(&state, &headers)? {
        check_csrf(&session, &headers, form.csrf.as_deref())?;
    }
    let mut response = pages::layout::signed_out().into_response();
    if let Ok(value) = header::HeaderValue::from_str(&clear_cookie(SESSION_COOKIE, is_secure(&headers))) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
