//! The development issuer's interactive sign-in: Entra's v2 authorisation endpoint with PKCE
//! (S256 only) showing a page of demo identities — a Reader, an Approver and an Admin of each
//! tenant, and a platform admin of the first (managing) tenant — and the token endpoint's
//! `authorization_code` grant, which checks the client, the redirect URI and the verifier and
//! returns an ID token signed with the PUBLIC development key. Local development and tests only.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::estate::Estate;
use super::server::{AppState, Shared};
use crate::web::assertion::JWT_BEARER;

/// How long an issued code may wait for redemption (Entra allows about ten minutes).
pub const CODE_LIFETIME_SECS: i64 = 300;
/// Most codes outstanding at once; older ones are dropped first, so an abandoned sign-in page
/// cannot grow the sandbox's memory.
pub const MAX_PENDING_CODES: usize = 1000;
/// Lifetime of the tokens issued.
const TOKEN_LIFETIME_SECS: i64 = 3600;

/// One identity on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIdentity {
    /// Stable key used by the page's buttons (`t0-reader`, `platform-admin`).
    pub key: String,
    /// The identity's tenant.
    pub tid: String,
    /// Display name.
    pub name: String,
    /// App roles.
    pub roles: Vec<String>,
    /// Object id (stable per key).
    pub oid: String,
}

/// The demo identities of `estate`.
pub fn identities(estate: &Estate) -> Vec<DemoIdentity> {
    let mut out = Vec::new();
    for (index, tenant) in estate.tenants.iter().enumerate() {
        for (role, label) in [("Reader", "reader"), ("Approver", "approver"), ("Admin", "admin")] {
            let key = format!("t{index}-{label}");
            out.push(DemoIdentity {
                oid: stable_oid(&key, &tenant.id),
                key,
                tid: tenant.id.clone(),
                name: format!("{} {role}", tenant.name),
                roles: vec![format!("AzCops.{role}")],
            });
        }
    }
    if let Some(first) = estate.tenants.first() {
        out.push(DemoIdentity {
            key: "platform-admin".into(),
            tid: first.id.clone(),
            name: "Platform Admin".into(),
            roles: vec!["AzCops.PlatformAdmin".into()],
            oid: stable_oid("platform-admin", &first.id),
        });
    }
    out
}

fn stable_oid(key: &str, tid: &str) -> String {
    let digest = Sha256::digest(format!("{tid}/{key}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A code issued and not yet redeemed.
#[derive(Debug, Clone)]
struct Pending {
    identity: DemoIdentity,
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: String,
    expires_at: i64,
    issued: u64,
}

/// Codes awaiting redemption.
#[derive(Debug, Default)]
pub struct PendingCodes {
    inner: Mutex<(u64, HashMap<String, Pending>)>,
}

impl PendingCodes {
    fn insert(&self, code: String, mut pending: Pending) {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0 += 1;
        pending.issued = guard.0;
        let now = chrono::Utc::now().timestamp();
        guard.1.retain(|_, p| p.expires_at > now);
        while guard.1.len() >= MAX_PENDING_CODES {
            let oldest = guard.1.iter().min_by_key(|(_, p)| p.issued).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => guard.1.remove(&k),
                None => break,
            };
        }
        guard.1.insert(code, pending);
    }

    /// Codes are single-use: taking one removes it whatever the redemption's outcome.
    fn take(&self, code: &str) -> Option<Pending> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).1.remove(code)
    }

    /// Codes outstanding.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).1.len()
    }

    /// Whether none is outstanding.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn oauth_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    (status, axum::Json(super::arm::entra_body(error, code, &format!("AADSTS{code}: {description}"))))
        .into_response()
}

fn page_error(message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in error</title></head>\
         <body><h1>Sign-in error</h1><p>{}</p></body></html>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The authorisation request's parameters that must survive the identity choice.
const CARRIED: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_type",
    "scope",
];

fn check_request(params: &HashMap<String, String>) -> Result<(), String> {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" {
        return Err("response_type must be code".into());
    }
    if get("client_id").is_empty() || get("redirect_uri").is_empty() {
        return Err("client_id and redirect_uri are required".into());
    }
    if url::Url::parse(get("redirect_uri")).is_err() {
        return Err("redirect_uri is not a URL".into());
    }
    if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
        return Err("PKCE is required: send code_challenge with code_challenge_method=S256".into());
    }
    Ok(())
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the page listing the demo identities.
pub async fn authorize_page(
    State(state): State<Shared>,
    Path(_tenant): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(message) = check_request(&params) {
        return page_error(&message);
    }
    let hidden: String = CARRIED
        .iter()
        .filter_map(|k| params.get(*k).map(|v| (k, v)))
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", escape(v)))
        .collect();
    let buttons: String = identities(&state.estate)
        .iter()
        .map(|i| {
            format!(
                "<li><form method=\"post\">{hidden}<input type=\"hidden\" name=\"identity\" value=\"{key}\">\
                 <button type=\"submit\" data-identity=\"{key}\">{name}</button> <small>{roles} · {tid}</small></form></li>",
                key = escape(&i.key),
                name = escape(&i.name),
                roles = escape(&i.roles.join(", ")),
                tid = escape(&i.tid),
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox sign-in</title></head>\
         <body><main><h1>Sign in to the AzCops sandbox</h1><p>Development identities (the sandbox's issuer is \
         for local use only). Choose one:</p><ul>{buttons}</ul></main></body></html>"
    ))
    .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: issues a code for the chosen identity and redirects.
pub async fn authorize_submit(
    State(state): State<Shared>,
    Path(_tenant): Path<String>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    if let Err(message) = check_request(&params) {
        return page_error(&message);
    }
    let chosen = params.get("identity").map(String::as_str).unwrap_or("");
    let Some(identity) = identities(&state.estate).into_iter().find(|i| i.key == chosen) else {
        return page_error("choose one of the listed identities");
    };
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let code = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let pending = Pending {
        identity,
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        nonce: params.get("nonce").cloned(),
        challenge: get("code_challenge"),
        expires_at: chrono::Utc::now().timestamp() + CODE_LIFETIME_SECS,
        issued: 0,
    };
    let Ok(mut target) = url::Url::parse(&pending.redirect_uri) else {
        return page_error("redirect_uri is not a URL");
    };
    {
        let mut query = target.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(s) = params.get("state") {
            query.append_pair("state", s);
        }
    }
    state.signin.insert(code, pending);
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// Why a redemption is refused: expired code, another client or redirect URI, neither a client
/// secret nor a client assertion (`assertion` checks one), or a verifier that does not hash to
/// the challenge.
fn verify(
    pending: &Pending,
    form: &HashMap<String, String>,
    now: i64,
    assertion: impl Fn(&str, &str) -> Result<(), (StatusCode, &'static str, u32, &'static str)>,
) -> Result<(), (StatusCode, &'static str, u32, &'static str)> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if pending.expires_at <= now {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70008,
            "The provided authorization code has expired.",
        ));
    }
    if get("client_id") != pending.client_id || get("redirect_uri") != pending.redirect_uri {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50148,
            "The client or redirect URI does not match the authorization request.",
        ));
    }
    if get("client_secret").is_empty() && get("client_assertion").is_empty() {
        return Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    if !get("client_assertion").is_empty() {
        assertion(get("client_assertion_type"), get("client_assertion"))?;
    }
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(get("code_verifier").as_bytes()));
    if get("code_verifier").is_empty() || challenge != pending.challenge {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        ));
    }
    Ok(())
}

/// The audience of a managed-identity token used as a federated client assertion.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Checks a federated client assertion as Entra does for an app whose federated identity
/// credential trusts the managing tenant's managed identity: a token this sandbox's managed
/// identity endpoint issued, unexpired, for `api://AzureADTokenExchange`, whose subject is that
/// identity.
fn check_assertion(
    state: &AppState,
    assertion_type: &str,
    assertion: &str,
    now: i64,
) -> Result<(), (StatusCode, &'static str, u32, &'static str)> {
    if assertion_type != JWT_BEARER {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            700_025,
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        ));
    }
    let claims = state.auth.verify_for(assertion, now, TOKEN_EXCHANGE_AUDIENCE).map_err(|_| {
        (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700_211,
            "The client assertion is not a valid token of a trusted issuer for api://AzureADTokenExchange.",
        )
    })?;
    let managing = state.estate.tenants.first().map(|t| state.auth.managed_identity_object_id(&t.id));
    if managing.as_deref() != Some(claims.oid.as_str()) {
        return Err((
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700_213,
            "No matching federated identity record found for the presented assertion subject.",
        ));
    }
    Ok(())
}

/// The token endpoint's `authorization_code` grant.
pub fn redeem(state: &AppState, form: &HashMap<String, String>) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let Some(pending) = state.signin.take(get("code")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70008,
            "The provided authorization code is invalid or has expired.",
        );
    };
    let now = chrono::Utc::now().timestamp();
    let assertion = |kind: &str, token: &str| check_assertion(state, kind, token, now);
    if let Err((status, error, code, description)) = verify(&pending, form, now, assertion) {
        return oauth_error(status, error, code, description);
    }
    let i = &pending.identity;
    let issuer = format!("{}/{}/v2.0", state.base_url, i.tid);
    let mut id_claims = json!({
        "iss": issuer, "aud": pending.client_id, "tid": i.tid, "oid": i.oid, "sub": i.oid,
        "name": i.name, "roles": i.roles, "ver": "2.0", "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECS,
    });
    if let Some(nonce) = &pending.nonce {
        id_claims["nonce"] = json!(nonce);
    }
    let access_claims = json!({
        "iss": issuer, "aud": super::entra::DEFAULT_AUDIENCE, "tid": i.tid, "oid": i.oid, "name": i.name,
        "roles": i.roles, "ver": "2.0", "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECS,
    });
    match (super::entra::sign(&id_claims), super::entra::sign(&access_claims)) {
        (Ok(id_token), Ok(access_token)) => axum::Json(json!({
            "token_type": "Bearer",
            "scope": get("scope"),
            "expires_in": TOKEN_LIFETIME_SECS,
            "id_token": id_token,
            "access_token": access_token,
        }))
        .into_response(),
        _ => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", 50000, "cannot sign the token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(expires_at: i64) -> Pending {
        Pending {
            identity: DemoIdentity {
                key: "k".into(),
                tid: "t".into(),
                name: "n".into(),
                roles: vec![],
                oid: "o".into(),
            },
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            nonce: None,
            challenge: "x".into(),
            expires_at,
            issued: 0,
        }
    }

    #[test]
    fn pending_codes_are_single_use_and_bounded() {
        let codes = PendingCodes::default();
        let later = chrono::Utc::now().timestamp() + 60;
        for n in 0..MAX_PENDING_CODES + 5 {
            codes.insert(format!("code-{n}"), pending(later));
        }
        assert_eq!(codes.len(), MAX_PENDING_CODES, "bounded");
        assert!(codes.take("code-0").is_none(), "the oldest went first");
        assert!(codes.take(&format!("code-{}", MAX_PENDING_CODES + 4)).is_some());
        assert!(codes.take(&format!("code-{}", MAX_PENDING_CODES + 4)).is_none(), "single use");
    }

    #[test]
    fn requests_without_s256_pkce_are_refused() {
        let mut params: HashMap<String, String> = [
            ("response_type", "code"),
            ("client_id", "c"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("code_challenge", "abc"),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert!(check_request(&params).is_ok());
        params.insert("code_challenge_method".into(), "plain".into());
        assert!(check_request(&params).unwrap_err().contains("S256"));
        params.remove("code_challenge_method");
        assert!(check_request(&params).is_err());
    }

    #[test]
    fn a_code_is_redeemed_only_before_its_bound_with_its_client_and_verifier() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let issued = 1_000_000;
        let ok = |_: &str, _: &str| Ok(());
        let mut p = pending(issued + CODE_LIFETIME_SECS);
        p.challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into();
        let form: HashMap<String, String> = [
            ("client_id", "c"),
            ("redirect_uri", "http://127.0.0.1/cb"),
            ("client_secret", "s"),
            ("code_verifier", verifier),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert!(verify(&p, &form, issued + CODE_LIFETIME_SECS - 1, ok).is_ok());
        assert_eq!(
            verify(&p, &form, issued + CODE_LIFETIME_SECS, ok).unwrap_err().2,
            70008,
            "expired at the bound"
        );
        let mut other = form.clone();
        other.insert("client_id".into(), "another".into());
        assert_eq!(verify(&p, &other, issued, ok).unwrap_err().2, 50148);
        let mut no_secret = form.clone();
        no_secret.remove("client_secret");
        assert_eq!(verify(&p, &no_secret, issued, ok).unwrap_err().0, StatusCode::UNAUTHORIZED);
        // A client assertion instead of the secret is checked, and its refusal refuses the code.
        let mut asserted = no_secret.clone();
        asserted.insert("client_assertion_type".into(), JWT_BEARER.into());
        asserted.insert("client_assertion".into(), "sbx.a.b".into());
        assert!(verify(&p, &asserted, issued, ok).is_ok());
        let refuse = |_: &str, _: &str| Err((StatusCode::UNAUTHORIZED, "invalid_client", 700_211, "no"));
        assert_eq!(verify(&p, &asserted, issued, refuse).unwrap_err().2, 700_211);
        let mut wrong = form;
        wrong.insert("code_verifier".into(), "x".repeat(43));
        assert_eq!(verify(&p, &wrong, issued, ok).unwrap_err().2, 501481);
    }

    #[test]
    fn object_ids_are_stable_guids() {
        let a = stable_oid("t0-reader", "tid");
        assert_eq!(a, stable_oid("t0-reader", "tid"));
        assert_ne!(a, stable_oid("t0-admin", "tid"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
