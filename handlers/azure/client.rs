//! The request pipeline every Azure call goes through:
//! governor → token → send → log → classify → retry (→ decode).
//!
//! Retry wraps each attempt (a fresh token and a fresh governor permit per attempt); the
//! decision and delay are [`crate::azure::retry`]'s pure functions. Every attempt is logged
//! with method, path (query parameters allow-listed), status, `duration_ms`, `attempt` and the
//! call's tenant, subscription and correlation id. Throttles and retries are counted per API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

use crate::azure::counters::ApiCounters;
use crate::azure::credential::{self, TokenSource};
use crate::azure::governor::Governor;
use crate::azure::qpu::{self, Charge, Observation};
use crate::azure::retry::{self, Decision, Outcome};
use crate::azure::{Api, AzureConfig, AzureError};

/// Query parameters safe to log; everything else (continuation tokens, signatures) is dropped.
const LOGGED_QUERY_PARAMS: &[&str] =
    &["api-version", "$top", "$filter", "metricnames", "timespan", "interval", "aggregation", "currencyCode"];

/// Who a call is made for: logged on every request and used to pick the token and quota key.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The Azure tenant that owns the subscription (logged).
    pub tenant_id: String,
    /// The subscription read (logged; named in `Forbidden`).
    pub subscription_id: String,
    /// Sent as `x-ms-correlation-request-id` and logged.
    pub correlation_id: String,
    /// Request the token from this tenant (per-customer-tenant app credential); `None` uses
    /// the identity's home tenant, which is also what Lighthouse delegations need.
    pub token_tenant: Option<String>,
    /// When set, every successful exchange is appended here, so the caller can keep the
    /// original responses (the raw layer) exactly as Azure sent them.
    pub recorder: Option<Recorder>,
}

/// A shared list of recorded exchanges (see [`CallContext::recorder`]).
pub type Recorder = Arc<std::sync::Mutex<Vec<Exchange>>>;

/// One successful request/response pair as the raw layer keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Exchange {
    /// Which API answered.
    pub api: String,
    /// HTTP method.
    pub method: String,
    /// The request path with only loggable query parameters (no continuation tokens or secrets).
    pub path: String,
    /// The JSON request body, when there was one.
    pub request: Option<serde_json::Value>,
    /// Response status.
    pub status: u16,
    /// The response body verbatim: JSON as sent, or `null` for an empty body. Kept as text, not
    /// a parsed tree: a month of one subscription's cost rows is about 1 MB of JSON but several
    /// times that as `serde_json::Value`, and dozens of subscriptions are in flight at once.
    pub response: Box<serde_json::value::RawValue>,
}

impl Exchange {
    /// Keeps `body` verbatim when it is JSON; anything else (an empty body) becomes `null`.
    pub fn response_of(body: &[u8]) -> Box<serde_json::value::RawValue> {
        // The default raw value is `null`.
        serde_json::from_slice(body).unwrap_or_default()
    }
}

// `RawValue` has no equality of its own; two exchanges are equal when their texts are.
impl PartialEq for Exchange {
    fn eq(&self, other: &Self) -> bool {
        (&self.api, &self.method, &self.path, &self.request, self.status, self.response.get())
            == (&other.api, &other.method, &other.path, &other.request, other.status, other.response.get())
    }
}

impl CallContext {
    /// A context for one subscription with a fresh correlation id.
    pub fn new(tenant_id: impl Into<String>, subscription_id: impl Into<String>) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            subscription_id: subscription_id.into().to_ascii_lowercase(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            token_tenant: None,
            recorder: None,
        }
    }

    /// The same context, recording every successful exchange into `recorder`.
    #[must_use]
    pub fn recording(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    fn quota_key(&self, api: Api) -> String {
        let principal = self.token_tenant.as_deref().unwrap_or_default();
        match api {
            // Cost Management quotas are per tenant.
            Api::CostManagement => self.tenant_id.clone(),
            // ARM's read bucket is per principal *and subscription* (and region): one bucket per
            // principal would pace a 500-subscription night at 25 reads/s in total.
            Api::Subscriptions | Api::Advisor | Api::Monitor if !self.subscription_id.is_empty() => {
                format!("{principal}|{}", self.subscription_id)
            }
            // Resource Graph's quota is per principal across subscriptions and tenants.
            _ => principal.to_owned(),
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// Which API (quota, counters, error naming).
    pub api: Api,
    /// HTTP method.
    pub method: http::Method,
    /// Absolute URL.
    pub url: Url,
    /// JSON body, re-sent unchanged on every attempt.
    pub body: Option<serde_json::Value>,
    /// Governor tokens this request costs (Cost Management: its planned QPU).
    pub cost: f64,
    /// Quota already reserved for this request's first attempt ([`ArmClient::reserve`]);
    /// retries and later pages draw on the governor again.
    pub reserved: Option<Charge>,
}

impl ApiRequest {
    /// A GET of `url`.
    pub fn get(api: Api, url: Url) -> Self {
        Self { api, method: http::Method::GET, url, body: None, cost: 1.0, reserved: None }
    }

    /// A POST of `body` to `url`.
    pub fn post(api: Api, url: Url, body: serde_json::Value) -> Self {
        Self { api, method: http::Method::POST, url, body: Some(body), cost: 1.0, reserved: None }
    }
}

/// A successful (2xx) response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

/// The Azure client: one HTTP pool, one token source, one governor, shared counters.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    config: Arc<AzureConfig>,
    tokens: Arc<dyn TokenSource>,
    governor: Arc<Governor>,
    counters: Arc<ApiCounters>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient").field("arm_endpoint", &self.config.arm_endpoint).finish_non_exhaustive()
    }
}

impl ArmClient {
    /// A client with an explicit token source (tests inject one).
    ///
    /// # Errors
    /// The HTTP client cannot be built (TLS initialisation).
    pub fn new(config: AzureConfig, tokens: Arc<dyn TokenSource>) -> Result<Self, AzureError> {
        let http = crate::outbound::client_builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10).min(config.timeout))
            .user_agent(concat!("azcops/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AzureError::Transport(e.to_string()))?;
        let governor = Arc::new(Governor::new(config.governor_enabled));
        Ok(Self {
            http,
            config: Arc::new(config),
            tokens,
            governor,
            counters: Arc::new(ApiCounters::default()),
        })
    }

    /// A client using the configured azure_identity credential.
    ///
    /// # Errors
    /// As [`credential::from_config`] and [`ArmClient::new`].
    pub fn from_config(config: AzureConfig) -> Result<Self, AzureError> {
        let tokens = credential::from_config(&config)?;
        Self::new(config, tokens)
    }

    /// The configuration in use.
    pub fn config(&self) -> &AzureConfig {
        &self.config
    }

    /// The live counters.
    pub fn counters(&self) -> &ApiCounters {
        &self.counters
    }

    /// `{arm_endpoint}{path}` with `query` pairs appended.
    ///
    /// # Errors
    /// The result is not a valid URL.
    pub fn arm_url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, AzureError> {
        build_url(&self.config.arm_endpoint, path, query)
    }

    /// `{retail_prices_endpoint}{path}` with `query` pairs appended.
    ///
    /// # Errors
    /// The result is not a valid URL.
    pub fn retail_url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, AzureError> {
        build_url(&self.config.retail_prices_endpoint, path, query)
    }

    /// Sends `req` with retries; returns the 2xx response.
    ///
    /// # Errors
    /// 401 → `Auth`, 403 → `Forbidden`, other non-2xx → `Http`; persistent 429 → `Throttled`;
    /// persistent 5xx/transport failures → `RetriesExhausted`.
    pub async fn send(&self, ctx: &CallContext, req: &ApiRequest) -> Result<RawResponse, AzureError> {
        let result = self.send_inner(ctx, req).await;
        if result.is_err() {
            ApiCounters::bump(&self.counters.failures, req.api);
        }
        if let (Ok(response), Some(recorder)) = (&result, &ctx.recorder) {
            let exchange = Exchange {
                api: req.api.as_str().to_owned(),
                method: req.method.to_string(),
                path: loggable_path(&req.url),
                request: req.body.clone(),
                status: response.status,
                response: Exchange::response_of(&response.body),
            };
            recorder.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(exchange);
        }
        result
    }

    async fn send_inner(&self, ctx: &CallContext, req: &ApiRequest) -> Result<RawResponse, AzureError> {
        let api = req.api;
        let quota_key = ctx.quota_key(api);
        let logged_path = loggable_path(&req.url);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let queued = tokio::time::Instant::now();
            let charge = match req.reserved {
                Some(charge) if attempt == 1 => Some(charge),
                _ => self.governor.acquire_charged(api, &quota_key, req.cost).await.1,
            };
            let quota_wait_ms = queued.elapsed().as_millis() as u64;
            let builder = self.prepare(ctx, req).await?;
            let started = tokio::time::Instant::now();
            let sent = builder.send().await;
            let (outcome, response) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => (Outcome::Status(status), Some((status, headers, body))),
                        Err(e) if e.is_timeout() => (Outcome::Timeout, None),
                        Err(_) => (Outcome::Connect, None),
                    }
                }
                Err(e) if e.is_timeout() => (Outcome::Timeout, None),
                Err(_) => (Outcome::Connect, None),
            };
            let duration_ms = started.elapsed().as_millis() as u64;
            ApiCounters::bump(&self.counters.requests, api);
            let status = response.as_ref().map(|r| r.0).unwrap_or(0);
            tracing::info!(
                api = api.as_str(),
                method = %req.method,
                host = req.url.host_str().unwrap_or_default(),
                path = %logged_path,
                status,
                outcome = ?outcome,
                duration_ms,
                quota_wait_ms,
                attempt,
                tenant_id = %ctx.tenant_id,
                subscription_id = %ctx.subscription_id,
                correlation_id = %ctx.correlation_id,
                "azure request"
            );
            let hint = response.as_ref().and_then(|(s, h, _)| retry::server_wait(h, *s, SystemTime::now()));
            if let (Some(charge), Some((s, h, _))) = (charge, &response) {
                let observation = cost_observation(h, *s, started, req.cost, SystemTime::now());
                self.governor.observe(api, &quota_key, charge, &observation);
            }
            if let Some((s, h, _)) = &response {
                if *s == 429 {
                    let n = ApiCounters::bump(&self.counters.throttle_429, api);
                    tracing::warn!(counter = %format!("{api}.throttle_429"), value = n, retry_after_ms = hint.map(|d| d.as_millis() as u64), correlation_id = %ctx.correlation_id, "azure throttled");
                    // A tenant-wide quota tripped (the QPU or tenant header names the wait):
                    // every request of the tenant waits it out, not only this one. An entity or
                    // client throttle stays with the request that met it.
                    if api == Api::CostManagement
                        && let Some(wait) = retry::tenant_wide_wait(h, SystemTime::now())
                    {
                        self.governor.hold(api, &quota_key, wait);
                    }
                }
                if let Some((remaining, resets)) = retry::resource_graph_quota(h) {
                    self.governor.observe_window(
                        api,
                        &quota_key,
                        remaining,
                        resets,
                        tokio::time::Instant::now(),
                    );
                }
            }
            match retry::decide(outcome, attempt, self.config.max_attempts, hint, rand::random::<f64>()) {
                Decision::RetryAfter(wait) => {
                    ApiCounters::bump(&self.counters.retries, api);
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => {
                    return Err(match (outcome, response) {
                        (Outcome::Status(429), _) => AzureError::Throttled { api, retry_after: hint },
                        (_, Some((status, _, body))) => AzureError::RetriesExhausted {
                            api,
                            attempts: attempt,
                            last: format!("HTTP {status}: {}", error_summary(&body)),
                        },
                        (o, None) => {
                            AzureError::RetriesExhausted { api, attempts: attempt, last: format!("{o:?}") }
                        }
                    });
                }
                Decision::Return => {
                    let Some((status, headers, body)) = response else {
                        return Err(AzureError::Transport(format!("{outcome:?}")));
                    };
                    return classify(ctx, status, headers, body);
                }
            }
        }
    }

    async fn prepare(
        &self,
        ctx: &CallContext,
        req: &ApiRequest,
    ) -> Result<reqwest::RequestBuilder, AzureError> {
        let mut builder = self.http.request(req.method.clone(), req.url.clone());
        if req.api != Api::RetailPrices {
            // The ARM token goes only to the configured ARM endpoint, whatever URL a caller built.
            let arm = Url::parse(&self.config.arm_endpoint).map(|u| u.origin());
            if arm.as_ref().ok() != Some(&req.url.origin()) {
                return Err(AzureError::InvalidRequest(format!(
                    "{} request to {} refused: the ARM token is sent only to AZCOPS_ARM_ENDPOINT",
                    req.api,
                    req.url.origin().ascii_serialization()
                )));
            }
            let token = self.tokens.token(ctx.token_tenant.as_deref(), &self.config.arm_scope()).await?;
            builder = builder.bearer_auth(token.token.expose());
            if !ctx.correlation_id.is_empty() {
                builder = builder.header("x-ms-correlation-request-id", &ctx.correlation_id);
            }
        }
        if req.api == Api::CostManagement {
            builder = builder.header("ClientType", &self.config.client_type);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        Ok(builder)
    }

    /// Sends `req` and decodes the 2xx body as `T`.
    ///
    /// # Errors
    /// As [`ArmClient::send`], plus `Truncated`/`Decode` from [`decode`].
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        ctx: &CallContext,
        req: &ApiRequest,
    ) -> Result<T, AzureError> {
        let resp = self.send(ctx, req).await?;
        decode(req.api, &resp.body)
    }
}

impl ArmClient {
    /// Reserves `units` of `api`'s quota for `ctx` at once, for a stage of requests that must
    /// not wait once the first is sent; the requests carry the charge in
    /// [`ApiRequest::reserved`]. While it waits, the task's work slot (if it runs in one, see
    /// [`crate::azure::slot`]) is given back, so a quota wait holds neither a slot nor data.
    pub async fn reserve(&self, ctx: &CallContext, api: Api, units: u32) -> Option<Charge> {
        let key = ctx.quota_key(api);
        let slot = crate::azure::slot::current();
        loop {
            match self.governor.try_take(api, &key, f64::from(units), tokio::time::Instant::now()) {
                Ok(charge) => return charge,
                Err(wait) => match &slot {
                    Some(slot) => {
                        slot.release();
                        tokio::time::sleep(wait).await;
                        slot.reacquire().await;
                    }
                    None => tokio::time::sleep(wait).await,
                },
            }
        }
    }

    /// Gives back `units` of a reservation that were not sent.
    pub fn refund(&self, ctx: &CallContext, api: Api, charge: Option<Charge>, units: u32) {
        if let Some(charge) = charge {
            self.governor.refund(api, &ctx.quota_key(api), charge, units);
        }
    }
}

/// What a Cost Management response says about its tenant's QPU windows: `qpu-consumed`,
/// `qpu-remaining`, and the server's clock (`Date`: the window was counted before the end of
/// that second), against a request sent at `sent` and planned at `planned` QPU.
pub fn cost_observation(
    headers: &HeaderMap,
    status: u16,
    sent: tokio::time::Instant,
    planned: f64,
    wall_now: SystemTime,
) -> Observation {
    let received = tokio::time::Instant::now();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let server_second_end = text("date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .map(|date| date + Duration::from_secs(1))
        .map(|end| match end.duration_since(wall_now) {
            Ok(ahead) => received + ahead,
            Err(behind) => received.checked_sub(behind.duration()).unwrap_or(sent),
        })
        // A server clock behind ours by more than the round trip says nothing usable.
        .filter(|end| *end >= sent);
    Observation {
        sent,
        received,
        server_second_end,
        consumed: text(COST_QPU_CONSUMED).and_then(|v| v.trim().parse().ok()),
        remaining: text(COST_QPU_REMAINING).map(qpu::parse_remaining).unwrap_or_default(),
        planned: planned.max(0.0).ceil() as u32,
        throttled: status == 429,
    }
}

/// QPU a Cost Management query consumed.
pub const COST_QPU_CONSUMED: &str = "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed";
/// QPU left per window after a Cost Management query.
pub const COST_QPU_REMAINING: &str = "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining";

fn build_url(base: &str, path: &str, query: &[(&str, &str)]) -> Result<Url, AzureError> {
    let mut url =
        Url::parse(&format!("{base}{path}")).map_err(|e| AzureError::InvalidRequest(e.to_string()))?;
    if !query.is_empty() {
        let pairs: Vec<String> =
            query.iter().map(|(k, v)| format!("{}={}", encode_query_part(k), encode_query_part(v))).collect();
        url.set_query(Some(&pairs.join("&")));
    }
    Ok(url)
}

/// Percent-encodes a query key or value the way Azure's own clients do: spaces as `%20`
/// (not `+`), and `$` kept literal so OData parameters read `$filter`, `$top`.
pub fn encode_query_part(part: &str) -> String {
    url::form_urlencoded::byte_serialize(part.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
        .replace("%24", "$")
}

/// The URL path plus only the allow-listed query parameters.
pub fn loggable_path(url: &Url) -> String {
    let kept: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| LOGGED_QUERY_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(k)))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if kept.is_empty() { url.path().to_owned() } else { format!("{}?{}", url.path(), kept.join("&")) }
}

/// Decodes a JSON body, naming the failing path; a body cut short is `Truncated`.
///
/// # Errors
/// `Truncated` when the JSON ends early, `Decode` otherwise.
pub fn decode<T: DeserializeOwned>(api: Api, body: &[u8]) -> Result<T, AzureError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        if e.inner().is_eof() {
            AzureError::Truncated { api }
        } else {
            AzureError::Decode { api, path: e.path().to_string(), message: e.inner().to_string() }
        }
    })?;
    de.end().map_err(|e| AzureError::Decode { api, path: ".".into(), message: e.to_string() })?;
    Ok(value)
}

/// `(code, message)` of an ARM error body, wrapped (`{"error":{...}}`) or not (metrics API).
pub fn error_envelope(body: &[u8]) -> (String, String) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let inner = parsed.as_ref().map(|v| v.get("error").unwrap_or(v));
    let field = |name: &str| {
        inner
            .and_then(|v| v.get(name))
            .and_then(|c| c.as_str().map(str::to_owned).or_else(|| Some(c.to_string())))
    };
    match (field("code"), field("message")) {
        (None, None) => (String::new(), String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()),
        (code, message) => (code.unwrap_or_default(), message.unwrap_or_default()),
    }
}

fn error_summary(body: &[u8]) -> String {
    let (code, message) = error_envelope(body);
    if code.is_empty() { message } else { format!("{code}: {message}") }
}

fn classify(
    ctx: &CallContext,
    status: u16,
    headers: HeaderMap,
    body: Bytes,
) -> Result<RawResponse, AzureError> {
    match status {
        200..=299 => Ok(RawResponse { status, headers, body }),
        // ARM refuses a subscription of a tenant the token was not issued for (e.g. a customer
        // subscription that is not delegated) with this 401, not 403: a fresh token would be
        // refused the same way, so it is the subscription that cannot be read.
        401 if error_envelope(&body).0 == "InvalidAuthenticationTokenTenant" => {
            Err(AzureError::Forbidden { subscription: ctx.subscription_id.clone() })
        }
        401 => Err(AzureError::Auth(error_summary(&body))),
        403 => Err(AzureError::Forbidden { subscription: ctx.subscription_id.clone() }),
        _ => {
            let (code, message) = error_envelope(&body);
            Err(AzureError::Http { status, code, message })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_use_percent_twenty_and_literal_dollar() {
        let url =
            build_url("https://x", "/a", &[("api-version", "2023-01-01"), ("$filter", "Category eq 'Cost'")])
                .unwrap();
        assert_eq!(url.query(), Some("api-version=2023-01-01&$filter=Category%20eq%20%27Cost%27"));
        assert_eq!(encode_query_part("a+b&c=d"), "a%2Bb%26c%3Dd");
    }

    #[test]
    fn logged_paths_keep_only_allow_listed_params() {
        let url = Url::parse("https://x/subscriptions/s/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01&$skiptoken=SECRET&sig=abc").unwrap();
        assert_eq!(
            loggable_path(&url),
            "/subscriptions/s/providers/Microsoft.Advisor/recommendations?api-version=2023-01-01"
        );
    }

    #[test]
    fn error_envelopes_wrapped_and_bare() {
        let (c, m) = error_envelope(br#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#);
        assert_eq!((c.as_str(), m.as_str()), ("AuthorizationFailed", "no"));
        let (c, _) = error_envelope(br#"{"code":"BadRequest","message":"bad"}"#);
        assert_eq!(c, "BadRequest");
        let (c, m) = error_envelope(b"<html>oops</html>");
        assert_eq!((c.as_str(), m.as_str()), ("", "<html>oops</html>"));
    }

    #[test]
    fn a_token_of_another_tenant_means_the_subscription_is_not_readable() {
        let ctx = CallContext::new("tenant-a", "SUB-1");
        let wrong_tenant = Bytes::from_static(
            br#"{"error":{"code":"InvalidAuthenticationTokenTenant","message":"The access token is from the wrong issuer"}}"#,
        );
        let err = classify(&ctx, 401, HeaderMap::new(), wrong_tenant).unwrap_err();
        assert!(matches!(&err, AzureError::Forbidden { subscription } if subscription == "sub-1"), "{err:?}");
        let forged =
            Bytes::from_static(br#"{"error":{"code":"InvalidAuthenticationToken","message":"invalid"}}"#);
        assert!(matches!(classify(&ctx, 401, HeaderMap::new(), forged), Err(AzureError::Auth(_))));
    }

    #[test]
    fn decode_distinguishes_truncation_from_shape_errors() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            a: Vec<u32>,
        }
        assert!(matches!(
            decode::<T>(Api::Advisor, br#"{"a":[1,2"#),
            Err(AzureError::Truncated { api: Api::Advisor })
        ));
        match decode::<T>(Api::Advisor, br#"{"a":[1,"x"]}"#) {
            Err(AzureError::Decode { path, .. }) => assert_eq!(path, "a[1]"),
            other => panic!("{other:?}"),
        }
        assert!(decode::<T>(Api::Advisor, br#"{"a":[1]}"#).is_ok());
    }

    #[test]
    fn exchanges_keep_bodies_verbatim() {
        let body = br#"{"value":[{"z":1,"a":2.50}],"nextLink":null}"#;
        assert_eq!(Exchange::response_of(body).get(), std::str::from_utf8(body).unwrap());
        assert_eq!(Exchange::response_of(b"").get(), "null");
        assert_eq!(Exchange::response_of(b"<html>").get(), "null");
    }

    #[test]
    fn quota_keys_follow_azures_buckets() {
        let ctx = CallContext::new("tenant-a", "SUB-1");
        assert_eq!(ctx.quota_key(Api::CostManagement), "tenant-a");
        assert_eq!(ctx.quota_key(Api::Monitor), "|sub-1");
        assert_eq!(
            ctx.quota_key(Api::Advisor),
            ctx.quota_key(Api::Monitor),
            "one read bucket per subscription"
        );
        assert_ne!(
            ctx.quota_key(Api::Monitor),
            CallContext::new("tenant-a", "sub-2").quota_key(Api::Monitor)
        );
        assert_eq!(ctx.quota_key(Api::ResourceGraph), "", "one Resource Graph quota per principal");
        assert_eq!(CallContext::new("tenant-a", "").quota_key(Api::Subscriptions), "");
    }
}
