//! One API instance per test on a fresh SQLite store, and tokens from the mock provider.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use azcops::api::ApiConfig;
use azcops::config::SettingsSource;
use azcops::model::{CostDailyRow, ResourceRow};
use azcops::state::{AppState, DiagnosticOptions};
use azcops::store::{
    Actor, NewSubscription, NewTenant, RecommendationUpsert, Store, StoreConfig, TenantScope, TenantType,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const AUDIENCE: &str = "api://azcops-test";
pub const READER: &str = "AzCops.Reader";
pub const APPROVER: &str = "AzCops.Approver";
pub const ADMIN: &str = "AzCops.Admin";
pub const PLATFORM_ADMIN: &str = "AzCops.PlatformAdmin";

/// A deterministic GUID from a small number.
pub fn guid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Tenant A, tenant B, the (unregistered) control-plane tenant, an unregistered tenant.
pub fn tid_a() -> String {
    guid(1)
}
pub fn tid_b() -> String {
    guid(2)
}
pub fn tid_control() -> String {
    guid(9)
}

pub fn oidc() -> String {
    std::env::var("AZCOPS_TEST_OIDC").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
        panic!("AZCOPS_TEST_OIDC is not set: run `eval \"$(scripts/start-oidc.sh)\"` first")
    })
}

pub fn oidc_rogue() -> String {
    std::env::var("AZCOPS_TEST_OIDC_ROGUE").expect("AZCOPS_TEST_OIDC_ROGUE (scripts/start-oidc.sh)")
}

pub struct Api {
    pub router: Router,
    pub state: AppState,
    pub store: Store,
    pub scope_a: TenantScope,
    pub scope_b: TenantScope,
    pub tenant_a: String,
    _dir: tempfile::TempDir,
    /// (server URL, database) of a PostgreSQL database to drop in [`Api::finish`].
    postgres: Option<(String, String)>,
}

/// The backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Api {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    pub async fn with(extra: &[(&str, &str)]) -> Self {
        Self::on(Backend::Sqlite, extra).await
    }

    /// An instance on `backend`; PostgreSQL needs `AZCOPS_TEST_POSTGRES_URL`
    /// (`scripts/start-postgres.sh`) and gets a fresh database.
    pub async fn on(backend: Backend, extra: &[(&str, &str)]) -> Self {
        Self::build(backend, extra, [tid_a(), tid_b()], Err("no Azure in API tests".to_owned()), |_| {}).await
    }

    /// As [`Api::on`] with the store's settings (pool size 4, no statement timeout) adjusted.
    pub async fn on_store(
        backend: Backend,
        extra: &[(&str, &str)],
        configure: impl FnOnce(&mut StoreConfig),
    ) -> Self {
        Self::build(backend, extra, [tid_a(), tid_b()], Err("no Azure in API tests".to_owned()), configure)
            .await
    }

    /// An instance whose tenants A and B are the Entra tenants `tenants` and whose control-plane
    /// checks (subscription ownership) ask ARM through `azure`.
    pub async fn with_azure(backend: Backend, tenants: [String; 2], azure: azcops::azure::ArmClient) -> Self {
        Self::build(backend, &[], tenants, Ok(azure), |_| {}).await
    }

    async fn build(
        backend: Backend,
        extra: &[(&str, &str)],
        tenants: [String; 2],
        azure: Result<azcops::azure::ArmClient, String>,
        configure: impl FnOnce(&mut StoreConfig),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, postgres) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/api.db", dir.path().display()), None),
            Backend::Postgres => {
                let server = std::env::var("AZCOPS_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()).unwrap_or_else(
                    || panic!("AZCOPS_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/start-postgres.sh)\"` first"),
                );
                let database = format!("azcops_api_{}", uuid::Uuid::new_v4().simple());
                let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&server).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&server).unwrap();
                url.set_path(&format!("/{database}"));
                (url.to_string(), Some((server, database)))
            }
        };
        let mut store_config = StoreConfig::for_url(&url, 4).unwrap();
        configure(&mut store_config);
        let store = Store::connect(&store_config).await.unwrap();
        store.migrate().await.unwrap();
        let [tenant_a_id, tenant_b_id] = tenants;
        let scope_a = tenant(&store, 1, &tenant_a_id).await;
        let scope_b = tenant(&store, 2, &tenant_b_id).await;
        let mut pairs: Vec<(String, String)> = vec![
            ("AZCOPS_AUTH_AUDIENCE".into(), AUDIENCE.into()),
            ("AZCOPS_AUTH_AUTHORITY".into(), oidc()),
            ("AZCOPS_AUTH_JWKS_URL".into(), format!("{}/jwks", oidc())),
            ("AZCOPS_CONTROL_PLANE_TENANT".into(), tid_control()),
            ("AZCOPS_API_RATE_LIMIT_PER_MINUTE".into(), "0".into()),
            ("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE".into(), "0".into()),
        ];
        for (k, v) in extra {
            pairs.retain(|(key, _)| key != k);
            pairs.push(((*k).to_owned(), (*v).to_owned()));
        }
        let config = ApiConfig::from_source(&SettingsSource::from_pairs(pairs)).unwrap();
        let state = AppState::with_store(
            store.clone(),
            DiagnosticOptions { enabled: false, fanout: 0, fail_sequence: None },
            Err("no ingestion in API tests".to_owned()),
        )
        .with_azure(azure)
        .with_api(config);
        let router = Router::new().nest("/api", azcops::api::router(state.clone()));
        let tenant_a = scope_a.tenant_id().to_owned();
        Self { router, state, store, scope_a, scope_b, tenant_a, _dir: dir, postgres }
    }

    /// The URL of this instance's PostgreSQL test database.
    pub fn postgres_url(&self) -> Option<String> {
        let (server, database) = self.postgres.as_ref()?;
        let mut url = url::Url::parse(server).unwrap();
        url.set_path(&format!("/{database}"));
        Some(url.to_string())
    }

    /// Closes the store and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((server, database)) = self.postgres {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&server).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = match body {
            Some(body) => {
                request.header("content-type", "application/json").body(Body::from(body.to_string()))
            }
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap();
        Reply { status, headers, text: String::from_utf8(bytes.to_vec()).unwrap() }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// The API runtime (limiter, response cache) of this instance.
    pub fn runtime(&self) -> &azcops::api::ApiRuntime {
        self.state.api().unwrap()
    }

    /// `POST /api/v1/ingestion/trigger` as the Functions host delivers it: an invocation envelope
    /// on the handler's `POST /ingestion_trigger`. Returns the `res` output as a reply and the
    /// number of queue messages.
    pub async fn trigger(&self, token: &str, body: Option<Value>) -> (Reply, usize) {
        const PORT: u16 = 7071;
        let envelope = json!({
            "Data": {"req": {
                "Url": "http://localhost:7071/api/v1/ingestion/trigger",
                "Method": "POST",
                "Query": {},
                "Headers": {"Authorization": [format!("Bearer {token}")], "Content-Type": ["application/json"]},
                "Params": {},
                "Body": body.map(|b| b.to_string()),
            }},
            "Metadata": {},
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri("/ingestion_trigger")
            .header("host", format!("127.0.0.1:{PORT}"))
            .header(azcops::invocation::INVOCATION_ID_HEADER, uuid::Uuid::new_v4().to_string())
            .header("content-type", "application/json")
            .body(Body::from(envelope.to_string()))
            .unwrap();
        let app = azcops::app::router(self.state.clone(), "api", PORT);
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the invocation itself succeeds");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let outputs: Value = serde_json::from_slice(&bytes).unwrap();
        let res = &outputs["Outputs"]["res"];
        let mut headers = HeaderMap::new();
        for (name, value) in res["headers"].as_object().unwrap() {
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.as_str().unwrap().parse().unwrap(),
            );
        }
        let reply = Reply {
            status: StatusCode::from_u16(u16::try_from(res["statusCode"].as_u64().unwrap()).unwrap())
                .unwrap(),
            headers,
            text: res["body"].as_str().unwrap().to_owned(),
        };
        (reply, outputs["Outputs"]["messages"].as_array().map_or(0, Vec::len))
    }
}

async fn tenant(store: &Store, n: u32, azure_tenant_id: &str) -> TenantScope {
    let tenant = store
        .platform_admin()
        .create_tenant(
            &NewTenant {
                name: format!("tenant {n}"),
                azure_tenant_id: azure_tenant_id.to_owned(),
                tenant_type: TenantType::External,
            },
            &Actor::named("test"),
        )
        .await
        .unwrap();
    let scope = TenantScope::from_trusted_trigger(tenant.id);
    store
        .add_subscription(
            &scope,
            &NewSubscription {
                subscription_id: guid(100 + n),
                display_name: format!("sub {n}"),
                billing_scope: None,
            },
            &Actor::named("test"),
        )
        .await
        .unwrap();
    scope
}

/// Claims of a valid token for tenant `tid` with `roles`.
pub fn claims(tid: &str, roles: &[&str]) -> Value {
    json!({
        "iss": format!("{}/{tid}/v2.0", oidc()),
        "aud": AUDIENCE,
        "tid": tid,
        "roles": roles,
        "oid": format!("oid-{tid}"),
        "name": "Test User",
    })
}

/// A token from the provider at `base` with `claims` merged over its defaults.
pub async fn token_from(base: &str, claims: &Value) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("claims", &claims.to_string())
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "token request failed: {}", response.status());
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn token(tid: &str, roles: &[&str]) -> String {
    token_from(&oidc(), &claims(tid, roles)).await
}

pub fn subscription(n: u32) -> String {
    guid(100 + n)
}

pub fn resource_row(n: u32, name: &str, tags: &[(&str, &str)]) -> ResourceRow {
    let sub = subscription(n);
    ResourceRow {
        subscription_id: sub.clone(),
        resource_id: format!(
            "/subscriptions/{sub}/resourcegroups/rg-app/providers/microsoft.compute/disks/{name}"
        ),
        name: name.into(),
        resource_type: "microsoft.compute/disks".into(),
        kind: None,
        location: "westeurope".into(),
        resource_group: "rg-app".into(),
        sku: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
        properties: json!({"diskState": "Unattached"}),
        managed_by: None,
    }
}

pub fn cost_row(n: u32, date: chrono::NaiveDate, amount: f64) -> CostDailyRow {
    CostDailyRow {
        subscription_id: subscription(n),
        date,
        resource_group: "rg-app".into(),
        service_name: "Storage".into(),
        meter_category: "Storage".into(),
        resource_id: String::new(),
        cost: amount,
        amortized_cost: amount,
        currency: "EUR".into(),
    }
}

pub fn finding(n: u32, name: &str, savings: f64) -> RecommendationUpsert {
    let resource = resource_row(n, name, &[]).resource_id;
    RecommendationUpsert {
        subscription_id: subscription(n),
        resource_id: resource,
        rule_id: "waste.unattached_disk".into(),
        source: "rule".into(),
        category: "waste".into(),
        title: format!("Delete {name}"),
        estimated_monthly_savings: savings,
        savings_basis: "observed_cost".into(),
        currency: "EUR".into(),
        confidence_score: 0.9,
        risk_level: "low".into(),
        effort_level: "low".into(),
        priority_score: savings * 0.9,
        evidence: json!({"diskState": "Unattached"}),
        detected_at: azcops::store::now(),
        duplicate_of: None,
    }
}

/// Seeds one finding for tenant `n` and returns its id.
pub async fn seed_recommendation(api: &Api, scope: &TenantScope, n: u32, name: &str, savings: f64) -> String {
    api.store.upsert_recommendations(scope, &[finding(n, name, savings)]).await.unwrap();
    let page = api
        .store
        .list_recommendations(scope, &Default::default(), azcops::store::PageRequest::new(1, 500).unwrap())
        .await
        .unwrap();
    page.items.into_iter().find(|r| r.title == format!("Delete {name}")).unwrap().id
}

/// Asserts the API's error shape and returns the `details.field`, if any.
pub fn error_field(reply: &Reply, status: StatusCode) -> Option<String> {
    assert_eq!(reply.status, status, "{}", reply.text);
    let body = reply.json();
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{}", reply.text);
    body["error"]["details"]["field"].as_str().map(str::to_owned)
}
