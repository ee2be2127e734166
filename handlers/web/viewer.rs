//! The signed-in viewer of a dashboard request: the session cookie opened, the caller rebuilt
//! through the API's authenticator, and the tenant resolved as the API resolves it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::WebError;
use super::session::{CookieKey, SESSION_COOKIE, Session, cookie_value, same_secret};
use crate::api::ApiError;
use crate::api::extract::{Tenant, rate_charge, require_any_role, store_of};
use crate::state::AppState;

/// The form field and header carrying the anti-forgery token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header htmx requests carry the anti-forgery token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in user and the tenant they act on.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session.
    pub session: Session,
    /// The caller and its tenant, exactly as the API would resolve them.
    pub tenant: Tenant,
}

/// The cookie key, or the "not configured" page.
pub fn cookie_key(state: &AppState) -> Result<&CookieKey, WebError> {
    state.web().and_then(|w| w.cookies.as_ref()).ok_or(WebError::NotConfigured)
}

/// The session in the request's cookie, if it opens and has not expired.
pub fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, WebError> {
    let key = cookie_key(state)?;
    let now = chrono::Utc::now().timestamp();
    Ok(headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| cookie_value(v, SESSION_COOKIE))
        .find_map(|v| key.open::<Session>(SESSION_COOKIE, v, now)))
}

/// Whether cookies must be `Secure`: always, except for plain-http requests to a loopback host
/// (`azcops dev`/`demo`), where a browser would drop a `Secure` cookie.
pub fn is_secure(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    forwarded_https || !is_loopback_host(host)
}

/// `127.0.0.0/8`, `localhost` or `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| h.trim_start_matches('[')).unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name == "::1"
        || name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a state-changing request unless it carries the session's anti-forgery token (form
/// field or header) and, when the browser names an `Origin`, that origin is this host.
///
/// # Errors
/// [`WebError::Csrf`] (403).
pub fn check_csrf(session: &Session, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), WebError> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if !origin_host.eq_ignore_ascii_case(host) {
            return Err(WebError::Csrf);
        }
    }
    let header_token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match form_token.or(header_token) {
        Some(token) if same_secret(token, &session.csrf) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = session_of(state, &parts.headers)?.ok_or(WebError::SignedOut)?;
        let api = state.api().ok_or(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"))?;
        let caller = api.authenticator.caller(&session.identity).await?;
        require_any_role(&caller)?;
        api.limiter
            .check(rate_charge(&caller).as_charge())
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
        let store = store_of(state)?;
        let acting = session.acting_tenant.as_deref().filter(|_| caller.platform_admin);
        if acting.is_none() && caller.scope.is_none() && caller.platform_admin {
            return Err(WebError::ChooseTenant);
        }
        let tenant = Tenant::resolve(caller, store, acting, parts.method.as_str(), parts.uri.path()).await?;
        Ok(Self { session, tenant })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cookies_are_secure_except_on_plain_http_loopback() {
        assert!(!is_secure(&headers(&[("host", "127.0.0.1:7071")])));
        assert!(!is_secure(&headers(&[("host", "localhost:7071")])));
        assert!(!is_secure(&headers(&[("host", "[::1]:7071")])));
        assert!(is_secure(&headers(&[("host", "azcops.azurewebsites.net")])));
        assert!(is_secure(&headers(&[("host", "localhost.evil.example")])));
        assert!(is_secure(&headers(&[("host", "127.0.0.1:7071"), ("x-forwarded-proto", "https")])));
    }

    #[test]
    fn csrf_needs_the_token_and_a_matching_origin() {
        let session = Session {
            identity: crate::api::Identity { tid: "t".into(), roles: vec![], name: None, oid: None },
            csrf: "token-1".into(),
            expires_at: i64::MAX,
            acting_tenant: None,
        };
        let same = headers(&[("host", "127.0.0.1:7071"), ("origin", "http://127.0.0.1:7071")]);
        assert!(check_csrf(&session, &same, Some("token-1")).is_ok());
        assert!(check_csrf(&session, &same, None).is_err());
        assert!(check_csrf(&session, &same, Some("token-2")).is_err());
        let header = headers(&[("host", "h"), (CSRF_HEADER, "token-1")]);
        assert!(check_csrf(&session, &header, None).is_ok());
        let cross = headers(&[("host", "127.0.0.1:7071"), ("origin", "http://evil.example")]);
        assert!(check_csrf(&session, &cross, Some("token-1")).is_err());
    }
}
