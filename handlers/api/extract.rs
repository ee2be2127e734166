//! Extractors: JSON bodies and query strings whose rejections use the API's error shape and
//! name the offending field, and the authenticated caller with the tenant it acts on.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::auth::{Caller, ROLE_ADMIN, ROLE_APPROVER, ROLE_PLATFORM_ADMIN, ROLE_READER};
use super::limit::Charge;
use crate::state::AppState;
use crate::store::{NewAuditEntry, PageRequest, Store, StoreError, TenantScope, now};

/// The header a platform admin names the customer tenant with.
pub const TENANT_HEADER: &str = "x-azcops-tenant";

/// A JSON body; malformed JSON is 400, a wrong or missing field 422 naming it, too large 413.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(Self)
    }
}

/// A body that could not be read: 413 when over the limit, else 400.
pub fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest("cannot read the request body".into())
    }
}

/// Parses a JSON body with the API's rejections (400 malformed, 422 naming the field).
///
/// # Errors
/// As described.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => Ok(value),
        Err(error) => {
            let inner = error.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::BadRequest("the body is not valid JSON".into()));
            }
            let field = field_name(&error.path().to_string(), &inner.to_string());
            Err(ApiError::validation(field, inner.to_string()))
        }
    }
}

/// A query string; a value that does not parse is 422 naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if let Some((name, _)) = form_urlencoded_parse(query).find(|(_, v)| v.contains('\0')) {
            return Err(ApiError::validation(name.into_owned(), "must not contain NUL characters"));
        }
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(deserializer).map(Self).map_err(|error| {
            let message = error.inner().to_string();
            ApiError::validation(field_name(&error.path().to_string(), &message), message)
        })
    }
}

fn form_urlencoded_parse(query: &str) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(query.as_bytes())
}

/// The field a deserialisation error is about: its path, or the name serde quotes in
/// "missing field `x`" / "unknown field `x`" errors reported at the parent.
fn field_name(path: &str, message: &str) -> String {
    if path != "." && !path.is_empty() {
        return path.to_owned();
    }
    message.split('`').nth(1).unwrap_or("body").to_owned()
}

/// Refuses dates outside 1900–2200: nothing in the data is older or newer, and extreme dates
/// overflow date arithmetic or the database's date range.
///
/// # Errors
/// 422 naming `field`.
pub fn check_year(field: &str, year: Option<i32>) -> Result<(), ApiError> {
    match year {
        Some(year) if !(1900..=2200).contains(&year) => {
            Err(ApiError::validation(field, "must be between the years 1900 and 2200"))
        }
        _ => Ok(()),
    }
}

/// Checks a `from`/`to` day window: plausible years, and `from` not after `to`.
///
/// # Errors
/// 422 naming `from` or `to`.
pub fn check_window(from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> Result<(), ApiError> {
    use chrono::Datelike as _;
    check_year("from", from.map(|d| d.year()))?;
    check_year("to", to.map(|d| d.year()))?;
    match (from, to) {
        (Some(from), Some(to)) if from > to => Err(ApiError::validation("from", "must not be after to")),
        _ => Ok(()),
    }
}

/// Common pagination parameters (`page` from 1, `page_size` 1..=500, default 50).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page.
    #[serde(default = "first_page")]
    #[param(minimum = 1)]
    pub page: u32,
    /// Rows per page.
    #[serde(default = "default_page_size")]
    #[param(minimum = 1, maximum = 500)]
    pub page_size: u32,
}

/// The default `page` of every paged list.
pub(crate) fn first_page() -> u32 {
    1
}

/// The default `page_size` of every paged list.
pub(crate) fn default_page_size() -> u32 {
    50
}

impl Paging {
    /// The validated request.
    ///
    /// # Errors
    /// 422 naming `page` or `page_size`.
    pub fn request(self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::new(self.page, self.page_size)?)
    }
}

/// The authenticated caller holding at least one AzCops role, rate-limited per caller under
/// its tenant's ceiling (see [`super::limit`]).
#[derive(Debug, Clone)]
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Self(caller.clone()));
        }
        let runtime = state.api().ok_or(ApiError::NotConfigured("AZCOPS_AUTH_AUDIENCE"))?;
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let caller = runtime.authenticator.authenticate(header).await?;
        // Refused before the limiter: a roleless token must not spend its tenant's budget.
        require_any_role(&caller)?;
        runtime
            .limiter
            .check(rate_charge(&caller).as_charge())
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
        parts.extensions.insert(caller.clone());
        Ok(Self(caller))
    }
}

/// 403 for a valid token that carries no AzCops role: the tenant's directory let the user sign
/// in, but nobody granted them access to AzCops.
///
/// # Errors
/// 403.
pub fn require_any_role(caller: &Caller) -> Result<(), ApiError> {
    if caller.roles.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "the token carries no AzCops role: assign one of {ROLE_READER}, {ROLE_APPROVER}, {ROLE_ADMIN} \
             (or {ROLE_PLATFORM_ADMIN} in the control-plane tenant)"
        )));
    }
    Ok(())
}

/// The limiter keys of a caller: the tenant (`tid`) and the caller (`tid` + `oid`); platform
/// admins only by caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCharge {
    /// The tenant ceiling's key, `None` for platform admins.
    pub tenant: Option<String>,
    /// The caller's key.
    pub caller: String,
}

impl RateCharge {
    /// The borrowed form the limiter takes.
    pub fn as_charge(&self) -> Charge<'_> {
        Charge { tenant: self.tenant.as_deref(), caller: &self.caller }
    }
}

/// The limiter keys of `caller`. Tokens without `oid` (rare: app-only tokens) share one caller
/// bucket per tenant.
pub fn rate_charge(caller: &Caller) -> RateCharge {
    let oid = caller.object_id.as_deref().unwrap_or("-");
    RateCharge {
        tenant: (!caller.platform_admin).then(|| caller.azure_tenant_id.clone()),
        caller: format!("{}/{oid}", caller.azure_tenant_id),
    }
}

/// The caller and the tenant the request acts on: the caller's own, or, for a platform admin,
/// the one named in `X-AzCops-Tenant` (each such request is audited in that tenant).
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Who calls.
    pub caller: Caller,
    /// The tenant acted on.
    pub scope: TenantScope,
    /// The store.
    pub store: Store,
}

impl Tenant {
    /// Fails with 403 unless the caller holds `role` (platform admins acting on a tenant hold
    /// every tenant role).
    ///
    /// # Errors
    /// 403 naming the role.
    pub fn require(&self, role: &str) -> Result<(), ApiError> {
        if self.caller.platform_admin || self.caller.has_role(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {role} role is required")))
        }
    }
}

/// The store, or 503 when this process has none.
///
/// # Errors
/// 503.
pub fn store_of(state: &AppState) -> Result<Store, ApiError> {
    state.store().cloned().ok_or_else(ApiError::database_unavailable)
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Authed(caller) = Authed::from_request_parts(parts, state).await?;
        let store = store_of(state)?;
        let named = parts.headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok()).map(str::trim);
        // The original URI: inside nested routers `parts.uri` has lost its prefix.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |uri| uri.path().to_owned());
        Tenant::resolve(caller, store, named, parts.method.as_str(), &path).await
    }
}

impl Tenant {
    /// The tenant `caller` acts on: its own, or for a platform admin the one `named` (internal
    /// or Entra id), each such request audited in that tenant with `method` and `path`. The
    /// API (from `X-AzCops-Tenant`) and the dashboard (from its tenant switcher) both use this.
    ///
    /// # Errors
    /// 403 when a non-admin names a tenant or the caller has no tenant role; 404 for an
    /// unknown tenant; store errors.
    pub async fn resolve(
        caller: Caller,
        store: Store,
        named: Option<&str>,
        method: &str,
        path: &str,
    ) -> Result<Self, ApiError> {
        let scope = match named {
            Some(named) if !named.is_empty() => {
                if !caller.platform_admin {
                    return Err(ApiError::Forbidden(format!(
                        "the {TENANT_HEADER} header needs the platform admin role"
                    )));
                }
                let admin = store.platform_admin();
                let tenant = match admin.get_tenant(named).await {
                    Err(StoreError::NotFound) => {
                        admin.get_tenant_by_azure_tenant_id(&named.to_ascii_lowercase()).await?
                    }
                    other => other?,
                };
                let scope = TenantScope::from_verified_token(tenant.id);
                let entry = NewAuditEntry {
                    actor: caller.actor(),
                    action: "platform_admin.request".into(),
                    target_type: "request".into(),
                    target_id: path.to_owned(),
                    metadata: serde_json::json!({
                        "method": method,
                        "caller_tenant": caller.azure_tenant_id,
                    }),
                    occurred_at: now(),
                };
                store.append_audit(&scope, &entry).await?;
                scope
            }
            _ => {
                let scope = caller.scope.clone().ok_or_else(|| {
                    ApiError::Forbidden(format!("name the tenant to act on in the {TENANT_HEADER} header"))
                })?;
                if !caller.has_role(ROLE_READER) && !caller.platform_admin {
                    return Err(ApiError::Forbidden(format!("the {ROLE_READER} role is required")));
                }
                scope
            }
        };
        Ok(Self { caller, scope, store })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_from_the_path_or_the_message() {
        assert_eq!(field_name("page_size", "invalid digit"), "page_size");
        assert_eq!(field_name(".", "missing field `reason`"), "reason");
        assert_eq!(field_name("", "oops"), "body");
    }
}
