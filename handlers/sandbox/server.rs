//! The HTTP edge: shared state, the router, the middleware that counts requests and injects
//! latency and faults, and the helpers every API handler uses (ARM errors, auth, quotas).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rand::Rng;
use serde_json::{Value, json};

use super::auth::{self, Claims, TokenAuthority};
use super::control::{Api, Clock, Control, FaultConfig};
use super::estate::Estate;
use super::versions::VersionedApi;
use super::{PageSizes, advisor, arm, cost, graph, monitor, retail};

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The estate served.
    pub estate: Arc<Estate>,
    /// `http://127.0.0.1:PORT`, used in paging links.
    pub base_url: String,
    /// Token issuer and verifier.
    pub auth: TokenAuthority,
    /// Faults, quotas, latency and counters.
    pub control: Mutex<Control>,
    /// The quota clock.
    pub clock: Clock,
    /// Page sizes per API.
    pub pages: PageSizes,
    /// Authorisation codes issued by the development sign-in page, not yet redeemed.
    pub signin: super::signin::PendingCodes,
    /// What the Application Insights ingestion endpoint received.
    pub telemetry: super::telemetry::TelemetrySink,
    /// What the ACS Email and Teams Workflows simulations accepted.
    pub notify: super::notify_acs::NotifySink,
    /// The tickets the ServiceNow and Jira simulations hold.
    pub tickets: super::notify_servicenow::TicketBook,
    /// What remediation changed: deletions, snapshots, locks, attachments, faults.
    pub remediation: Mutex<super::remediation::RemediationWorld>,
}

/// Handler state.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Locks the control state (a poisoned lock still holds consistent counters).
    pub fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks a response as one page of a paged API (for the truncated-page fault).
#[derive(Debug, Clone, Copy)]
pub struct Paged;

/// An early error response from a shared check (boxed: responses are large).
pub type Rejection = Box<Response>;

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// A JSON page of a paged API.
pub fn paged_json(body: &Value) -> Response {
    let mut response = json_response(StatusCode::OK, body);
    response.extensions_mut().insert(Paged);
    response
}

/// ARM's error envelope `{"error":{"code","message"}}`.
pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({ "error": { "code": code, "message": message } }))
}

/// Case-insensitive query parameters (keys lower-cased, values decoded).
pub fn query_map(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
        .collect()
}

/// URL-encodes a query value.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// ARM's `WWW-Authenticate` challenge. ARM names its login authority (`login.windows.net`);
/// the sandbox names itself, the authority that issues its tokens.
fn challenge(authority: &str, description: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "Bearer authorization_uri=\"{authority}\", error=\"invalid_token\", error_description=\"{description}\""
    ))
    .ok()
}

/// Checks the bearer token for an ARM call; the error is ARM's 401 response, whose challenge
/// says what ARM says for that failure (only a request without the header is told the header
/// is missing).
///
/// # Errors
/// Missing, invalid, expired or wrong-audience token.
pub fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Claims, Rejection> {
    let raw = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    auth::bearer(raw).and_then(|t| state.auth.verify_arm(t, now)).map_err(|e| {
        let mut r = arm_error(StatusCode::UNAUTHORIZED, e.code(), &e.to_string());
        let description = match e {
            auth::TokenError::Missing => {
                "The authentication failed because of missing 'Authorization' header.".to_owned()
            }
            other => other.to_string(),
        };
        if let Some(v) = challenge(&format!("{}/", state.base_url), &description) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        Box::new(r)
    })
}

/// The tenant index of a token's tenant, if it is one of the estate's.
pub fn tenant_index(estate: &Estate, claims: &Claims) -> Option<usize> {
    estate.tenants.iter().position(|t| t.id.eq_ignore_ascii_case(&claims.tid))
}

/// Whether the bearer may read a subscription: its own tenant's, or a delegated one when the
/// bearer is in the managing tenant.
pub fn can_read(estate: &Estate, claims: &Claims, sub: usize) -> bool {
    let Some(s) = estate.subscriptions.get(sub) else { return false };
    match tenant_index(estate, claims) {
        Some(t) if t == s.tenant => true,
        Some(0) => s.delegated,
        _ => false,
    }
}

/// Resolves a subscription the bearer may read; the error is ARM's 404 or 401.
///
/// A subscription the bearer cannot read belongs to a tenant its token was not issued for (its
/// own tenant's are all readable, and Lighthouse delegations are the only cross-tenant grant).
/// ARM checks the token's issuer against the subscription's tenant before any role assignment,
/// so it answers 401 `InvalidAuthenticationTokenTenant` naming the right authority, not 403
/// `AuthorizationFailed` (the latter is for a principal of the right tenant without a role);
/// wording as quoted from the service in Azure/azure-sdk-for-python#38382 and
/// Azure/azure-sdk-for-net#49391.
///
/// # Errors
/// Unknown subscription (404 `SubscriptionNotFound`) or a token of another tenant (401).
pub fn readable_subscription(state: &AppState, claims: &Claims, sub_id: &str) -> Result<usize, Rejection> {
    let Some(sub) = state.estate.subscription(sub_id) else {
        return Err(Box::new(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{sub_id}' could not be found."),
        )));
    };
    if !can_read(&state.estate, claims, sub) {
        let owner = &state.estate.tenant_of(sub).id;
        let message = format!(
            "The access token is from the wrong issuer 'https://sts.windows.net/{0}/'. It must match the tenant 'https://sts.windows.net/{owner}/' associated with this subscription. Please use the authority (URL) '{1}/{owner}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.",
            claims.tid, state.base_url
        );
        let mut r = arm_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationTokenTenant", &message);
        if let Some(v) =
            challenge(&format!("{}/{owner}", state.base_url), "The access token is from the wrong issuer.")
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        return Err(Box::new(r));
    }
    Ok(sub)
}

/// Takes one ARM read for (principal, subscription); returns the remaining-reads header value.
///
/// # Errors
/// The bucket is empty: ARM's 429 `TooManyRequests` with `Retry-After`.
pub fn arm_read(state: &AppState, api: Api, claims: &Claims, sub: usize) -> Result<Option<u32>, Rejection> {
    let now = state.clock.now();
    let mut control = state.control();
    let key = format!("{}|{}", claims.oid, state.estate.subscriptions[sub].id);
    if !control.quotas_cfg.arm_reads {
        control.quota_use.arm_read(&key);
        return Ok(None);
    }
    match control.quotas.arm_read(&key, now) {
        Ok(remaining) => {
            control.quota_use.arm_read(&key);
            Ok(Some(remaining))
        }
        Err(t) => {
            control.stats.entry(api).or_default().throttled += 1;
            Err(Box::new(arm_throttled(t.retry_after)))
        }
    }
}

/// ARM's 429 for a subscription's read bucket, with `Retry-After` in whole seconds.
fn arm_throttled(retry_after: std::time::Duration) -> Response {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = arm_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:00:10. For more information, see - https://aka.ms/armthrottling",
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r.headers_mut().insert("x-ms-ratelimit-remaining-subscription-reads", HeaderValue::from(0));
    r
}

/// A storm's 429 in the style of the API it hits.
fn storm_response(api: Api, retry_after: std::time::Duration) -> Response {
    match api {
        Api::ResourceGraph => graph::throttled(retry_after),
        Api::CostManagement => cost::throttled(retry_after),
        _ => arm_throttled(retry_after),
    }
}

/// Adds `x-ms-ratelimit-remaining-subscription-reads` when the ARM bucket is on.
pub fn with_reads(mut response: Response, remaining: Option<u32>) -> Response {
    if let Some(n) = remaining {
        response.headers_mut().insert("x-ms-ratelimit-remaining-subscription-reads", HeaderValue::from(n));
    }
    response
}

fn classify(method: &Method, path: &str) -> Option<Api> {
    let p = path.to_ascii_lowercase();
    if p.starts_with("/_sandbox") || p.starts_with("/v2/track") || p.starts_with("/v2.1/track") {
        None
    } else if p.contains("/microsoft.resourcegraph/") {
        Some(Api::ResourceGraph)
    } else if p.contains("/microsoft.costmanagement/") {
        Some(Api::CostManagement)
    } else if p.contains("/microsoft.advisor/") {
        Some(Api::Advisor)
    } else if p.contains("/microsoft.insights/metrics") {
        Some(Api::Metrics)
    } else if p.starts_with("/api/retail") {
        Some(Api::RetailPrices)
    } else if p.starts_with("/msi/") || (p.contains("/oauth2/") && method == Method::POST) {
        Some(Api::Token)
    } else {
        Some(Api::Subscriptions)
    }
}

/// A response the edge substitutes for the real one.
enum Fault {
    /// A server error with this status.
    Status(u16),
    /// A storm's 429, which lasts this much longer.
    Throttled(std::time::Duration),
}

fn fault_status(status: u16) -> Response {
    let (code, message) = match status {
        502 => (
            "BadGateway",
            "The gateway did not receive a response from 'Microsoft.Resources' within the specified time period.",
        ),
        503 => ("ServiceUnavailable", "The server is currently unable to handle the request. Please retry."),
        504 => ("GatewayTimeout", "The gateway did not receive a response within the specified time period."),
        _ => (
            "InternalServerError",
            "Encountered internal server error. Diagnostic information: timestamp '', subscription id '', tracking id '', request correlation id ''.",
        ),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = arm_error(status, code, message);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
    }
    r
}

async fn edge(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let Some(api) = classify(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let (delay, forced_status, reset) = {
        let mut guard = state.control();
        let c = &mut *guard;
        c.stats.entry(api).or_default().requests += 1;
        let delay = c.latency.sample(&mut c.rng);
        let applies = c.faults.applies_to(api);
        let mut status = None;
        let mut reset = false;
        let storm = c.storm_remaining(api, state.clock.now());
        if let Some(remaining) = storm {
            c.count_fault(api, "storm_429");
            c.stats.entry(api).or_default().throttled += 1;
            status = Some(Fault::Throttled(remaining));
        } else if applies && c.faults.error_rate > 0.0 && c.rng.random::<f64>() < c.faults.error_rate {
            let statuses =
                if c.faults.error_statuses.is_empty() { vec![500] } else { c.faults.error_statuses.clone() };
            let pick = statuses[c.rng.random_range(0..statuses.len())];
            c.count_fault(api, &format!("status_{pick}"));
            status = Some(Fault::Status(pick));
        } else if applies && c.faults.reset_rate > 0.0 && c.rng.random::<f64>() < c.faults.reset_rate {
            c.count_fault(api, "reset");
            reset = true;
        }
        if !delay.is_zero() {
            c.stats.entry(api).or_default().latency_ms += delay.as_millis() as u64;
        }
        (delay, status, reset)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut response = match forced_status {
        Some(Fault::Status(status)) => fault_status(status),
        Some(Fault::Throttled(remaining)) => storm_response(api, remaining),
        None => match VersionedApi::of(request.method(), request.uri().path())
            .map(|v| v.check(request.uri().query()))
        {
            // ARM authenticates before it routes: a bad token is told so first.
            Some(Err(refusal)) => match authorize(&state, request.headers()) {
                Err(r) => *r,
                Ok(_) => *refusal,
            },
            _ => next.run(request).await,
        },
    };
    if response.extensions().get::<Paged>().is_some() {
        let truncate = {
            let mut c = state.control();
            c.pages += 1;
            let fire = c.faults.applies_to(api) && !c.truncated && c.faults.truncate_page == Some(c.pages);
            if fire {
                c.truncated = true;
                c.count_fault(api, "truncated");
            }
            fire
        };
        if truncate {
            response = truncate_body(response).await;
        }
    }
    if reset {
        response = abort_body(response);
    }
    *state.control().stats.entry(api).or_default().statuses.entry(response.status().as_u16()).or_insert(0) +=
        1;
    add_request_ids(response.headers_mut());
    response
}

async fn truncate_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}

fn abort_body(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"value\":[")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "sandbox: injected connection reset")),
    ];
    Response::from_parts(parts, Body::from_stream(futures::stream::iter(chunks)))
}

fn add_request_ids(headers: &mut HeaderMap) {
    let id = uuid::Uuid::new_v4().to_string();
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    for (name, value) in [
        ("x-ms-request-id", id.clone()),
        ("x-ms-correlation-request-id", id.clone()),
        ("x-ms-routing-request-id", format!("EASTUS:{stamp}:{id}")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.entry(name).or_insert(v);
        }
    }
}

async fn stats(State(state): State<Shared>) -> Response {
    let c = state.control();
    json_response(
        StatusCode::OK,
        &json!({
            "apis": c.stats,
            "faults": c.faults,
            "quotas": c.quotas_cfg,
            "latency": c.latency,
            "quota_use": { "totals": c.quota_use.totals(), "lower_bound": c.quota_use.lower_bound(&c.quotas_cfg) },
        }),
    )
}

async fn set_faults(State(state): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultConfig>(&body) {
        Ok(faults) if let Some(problem) = faults.storm.and_then(|s| s.problem()) => {
            arm_error(StatusCode::BAD_REQUEST, "InvalidFaultConfig", problem)
        }
        Ok(faults) => {
            state.control().set_faults(faults.clone());
            json_response(StatusCode::OK, &json!(faults))
        }
        Err(e) => arm_error(StatusCode::BAD_REQUEST, "InvalidFaultConfig", &e.to_string()),
    }
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("The sandbox does not serve {method} {}.", uri.path()),
    )
}

/// Builds the router over shared state.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/subscriptions", get(arm::list_subscriptions))
        .route("/tenants", get(arm::list_tenants))
        .route("/providers/Microsoft.ResourceGraph/resources", post(graph::query))
        .route("/providers/microsoft.resourcegraph/resources", post(graph::query))
        .route("/api/retail/prices", get(retail::prices))
        .route("/msi/token", get(arm::msi_token))
        .route("/{tenant}/oauth2/v2.0/token", post(arm::entra_token))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/faults", put(set_faults))
        .route("/v2/track", post(super::telemetry::track))
        .route("/v2.1/track", post(super::telemetry::track))
        .route(
            "/_sandbox/telemetry",
            get(super::telemetry::list).put(super::telemetry::configure).delete(super::telemetry::clear),
        )
        .route("/_sandbox/subscriptions/{id}/tenant", put(super::moves::move_subscription))
        .route("/emails:send", post(super::notify_acs::send))
        .route("/workflows/{id}/triggers/manual/paths/invoke", post(super::notify_teams::invoke))
        .route("/_sandbox/notifications", get(super::notify_acs::list).delete(super::notify_acs::clear))
        .route(
            "/api/now/table/{table}",
            post(super::notify_servicenow::create).get(super::notify_servicenow::query),
        )
        .route("/api/now/table/{table}/{sys_id}", get(super::notify_servicenow::read))
        .route("/rest/api/3/issue", post(super::notify_jira::create))
        .route("/rest/api/3/issue/{key}", get(super::notify_jira::read))
        .route("/rest/api/3/search/jql", get(super::notify_jira::search))
        .route("/_sandbox/tickets", get(super::notify_servicenow::list))
        .route("/_sandbox/tickets/{key}/close", post(super::notify_servicenow::close))
        .route("/_sandbox/remediation", get(super::remediation::report).put(super::remediation::change))
        .merge(super::entra::routes())
        .fallback(dispatch)
        .layer(middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

/// Routes everything under `/subscriptions/{id}/…` by its (case-insensitive) provider path.
async fn dispatch(
    State(state): State<Shared>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/');
    let lower = path.to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.first().map(|s| s.eq_ignore_ascii_case("subscriptions")) != Some(true) || segments.len() < 2 {
        return not_found(method, uri).await;
    }
    let sub_id = segments[1];
    let query = uri.query();
    if segments.len() == 2 && method == Method::GET {
        return arm::get_subscription(&state, &headers, sub_id).await;
    }
    if let Some(resource) = lower.strip_suffix("/providers/microsoft.insights/metrics")
        && method == Method::GET
    {
        let resource_id = &path[..resource.len()];
        return monitor::metrics(&state, &headers, sub_id, resource_id, query).await;
    }
    if method == Method::POST && lower.ends_with("/providers/microsoft.costmanagement/query") {
        let rest: Vec<&str> = segments[2..segments.len() - 3].to_vec();
        let rg = match rest.as_slice() {
            [] => None,
            [kw, rg] if kw.eq_ignore_ascii_case("resourcegroups") => Some((*rg).to_owned()),
            _ => return not_found(method, uri).await,
        };
        return cost::query(&state, &headers, sub_id, rg, query, &body).await;
    }
    if let Some(answer) = super::remediation::dispatch(&state, &method, path, &headers, &body) {
        return answer;
    }
    if method == Method::GET
        && segments.len() == 5
        && lower.ends_with("/providers/microsoft.advisor/recommendations")
    {
        return advisor::list(&state, &headers, sub_id, query).await;
    }
    not_found(method, uri).await
}
