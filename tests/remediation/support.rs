//! The remediation world: a sandbox estate, a store (SQLite or PostgreSQL) whose tenant is a
//! sandbox customer, the real API router and functions, and remediation acting through the
//! sandbox as the platform identity with a local raw layer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use azcops::api::ApiConfig;
use azcops::azure::credential::{BearerToken, TokenSource};
use azcops::azure::{ArmClient, AzureConfig, AzureError};
use azcops::config::{Secret, SettingsSource};
use azcops::invocation::InvocationRequest;
use azcops::raw::{LocalRawStore, RawStore};
use azcops::remediation::RemediationContext;
use azcops::sandbox::estate::Plant;
use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use azcops::state::{AppState, DiagnosticOptions};
use azcops::store::{
    Actor, AuditFilter, NewSubscription, NewTenant, PageRequest, RecommendationUpsert, Store, StoreConfig,
    TenantScope, TenantType,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const AUDIENCE: &str = "api://azcops-test";
pub const READER: &str = "AzCops.Reader";
pub const APPROVER: &str = "AzCops.Approver";
pub const ADMIN: &str = "AzCops.Admin";

/// The backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Both backends, SQLite first.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

struct PlatformToken(String);

#[async_trait]
impl TokenSource for PlatformToken {
    async fn token(&self, _tenant: Option<&str>, _scope: &str) -> Result<BearerToken, AzureError> {
        Ok(BearerToken {
            token: Secret::new(self.0.clone()),
            expires_at: SystemTime::now() + Duration::from_secs(3000),
        })
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

pub struct World {
    pub sandbox: RunningSandbox,
    pub state: AppState,
    pub store: Store,
    pub scope: TenantScope,
    /// The customer's Entra tenant (tokens' `tid`).
    pub tid: String,
    pub raw: Arc<dyn RawStore>,
    router: Router,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

fn oidc() -> String {
    std::env::var("AZCOPS_TEST_OIDC")
        .ok()
        .filter(|v| !v.is_empty())
        .expect("AZCOPS_TEST_OIDC (scripts/start-oidc.sh)")
}

async fn open_store(backend: Backend, dir: &std::path::Path) -> (Store, Option<(String, String)>) {
    let (url, postgres) = match backend {
        Backend::Sqlite => (format!("sqlite://{}/remediation.db", dir.display()), None),
        Backend::Postgres => {
            let server = std::env::var("AZCOPS_TEST_POSTGRES_URL")
                .ok()
                .filter(|v| !v.is_empty())
                .expect("AZCOPS_TEST_POSTGRES_URL (scripts/start-postgres.sh)");
            let database = format!("azcops_rem_{}", uuid::Uuid::new_v4().simple());
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
    let store = Store::connect(&StoreConfig::for_url(&url, 4).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    (store, postgres)
}

impl World {
    /// A sandbox as of today, and an AzCops tenant for the first customer tenant with a
    /// delegated subscription holding an unattached disk (every delegated subscription of that
    /// customer registered).
    pub async fn start(backend: Backend) -> Self {
        let options = SandboxOptions::new(
            "tenants=3,subscriptions=4,resources=80,days=35".parse().unwrap(),
            7,
            chrono::Utc::now().date_naive(),
        );
        let sandbox = Sandbox::start(options).await.unwrap();
        let estate = sandbox.estate();
        let disk = estate
            .resources
            .iter()
            .find(|r| {
                let sub = &estate.subscriptions[r.sub];
                sub.tenant != 0 && sub.delegated && r.plant == Plant::Finding("waste.unattached_disk")
            })
            .expect("a delegated unattached disk");
        let tenant_index = estate.subscriptions[disk.sub].tenant;
        let tid = estate.tenants[tenant_index].id.clone();
        let dir = tempfile::tempdir().unwrap();
        let (store, postgres) = open_store(backend, dir.path()).await;
        let tenant = store
            .platform_admin()
            .create_tenant(
                &NewTenant {
                    name: "customer".into(),
                    azure_tenant_id: tid.clone(),
                    tenant_type: TenantType::External,
                },
                &Actor::named("test"),
            )
            .await
            .unwrap();
        let scope = TenantScope::from_trusted_trigger(tenant.id);
        for sub in estate.subscriptions.iter().filter(|s| s.tenant == tenant_index && s.delegated) {
            let new = NewSubscription {
                subscription_id: sub.id.clone(),
                display_name: sub.name.clone(),
                billing_scope: None,
            };
            store.add_subscription(&scope, &new, &Actor::named("test")).await.unwrap();
        }
        let config = ApiConfig::from_source(&SettingsSource::from_pairs(vec![
            ("AZCOPS_AUTH_AUDIENCE".to_owned(), AUDIENCE.to_owned()),
            ("AZCOPS_AUTH_AUTHORITY".to_owned(), oidc()),
            ("AZCOPS_AUTH_JWKS_URL".to_owned(), format!("{}/jwks", oidc())),
            ("AZCOPS_CONTROL_PLANE_TENANT".to_owned(), "00000000-0000-4000-8000-000000000009".to_owned()),
            ("AZCOPS_API_RATE_LIMIT_PER_MINUTE".to_owned(), "0".to_owned()),
            ("AZCOPS_API_RATE_LIMIT_PER_CALLER_PER_MINUTE".to_owned(), "0".to_owned()),
        ]))
        .unwrap();
        let raw: Arc<dyn RawStore> = Arc::new(LocalRawStore::new(dir.path().join("raw")));
        let mut azure = AzureConfig::for_base_url(sandbox.base_url()).unwrap();
        // One attempt per request: the poll loop's own bound is what is under test.
        azure.max_attempts = 1;
        azure.timeout = Duration::from_secs(10);
        let arm = ArmClient::new(azure, Arc::new(PlatformToken(sandbox.managed_identity_token()))).unwrap();
        let ctx = RemediationContext { arm, raw: raw.clone(), wait_cap: Duration::ZERO };
        let state = AppState::with_store(
            store.clone(),
            DiagnosticOptions { enabled: false, fanout: 0, fail_sequence: None },
            Err("no ingestion in remediation tests".to_owned()),
        )
        .with_api(config)
        .with_remediation(Ok(ctx));
        let router = Router::new().nest("/api", azcops::api::router(state.clone()));
        Self { sandbox, state, store, scope, tid, raw, router, _dir: dir, postgres }
    }

    /// The id of the first planted finding of `rule` in the tenant's subscriptions, as ARM spells it.
    pub fn planted(&self, rule: &'static str) -> String {
        let estate = self.sandbox.estate();
        estate
            .resources
            .iter()
            .find(|r| {
                estate.tenants[estate.subscriptions[r.sub].tenant].id == self.tid
                    && estate.subscriptions[r.sub].delegated
                    && r.plant == Plant::Finding(rule)
            })
            .unwrap_or_else(|| panic!("no planted {rule} in the tenant"))
            .id
            .clone()
    }

    /// Stores a finding of `rule` on `resource_id` (as the rule engine would) and returns its id.
    pub async fn finding(&self, rule: &str, resource_id: &str) -> String {
        let subscription = resource_id.split('/').nth(2).unwrap().to_ascii_lowercase();
        let upsert = RecommendationUpsert {
            subscription_id: subscription,
            resource_id: resource_id.to_ascii_lowercase(),
            rule_id: rule.into(),
            source: "rule".into(),
            category: "waste".into(),
            title: format!("{rule} {resource_id}"),
            estimated_monthly_savings: 12.5,
            savings_basis: "observed_cost".into(),
            currency: "USD".into(),
            confidence_score: 0.9,
            risk_level: "high".into(),
            effort_level: "low".into(),
            priority_score: 10.0,
            evidence: json!({}),
            detected_at: azcops::store::now(),
            duplicate_of: None,
        };
        self.store.upsert_recommendations(&self.scope, &[upsert]).await.unwrap();
        let page = self
            .store
            .list_recommendations(&self.scope, &Default::default(), PageRequest::new(1, 500).unwrap())
            .await
            .unwrap();
        page.items.into_iter().find(|r| r.resource_id == resource_id.to_ascii_lowercase()).unwrap().id
    }

    /// A token of this tenant with `roles`; `oid` names the person.
    pub async fn token(&self, oid: &str, roles: &[&str]) -> String {
        let claims = json!({
            "iss": format!("{}/{}/v2.0", oidc(), self.tid), "aud": AUDIENCE, "tid": self.tid,
            "roles": roles, "oid": oid, "name": oid,
        });
        let response = reqwest::Client::new()
            .post(format!("{}/token", oidc()))
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
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A request without a body to the API router over another state (another configuration).
    pub async fn call_with(&self, state: &AppState, method: Method, path: &str, token: &str) -> Reply {
        let router = Router::new().nest("/api", azcops::api::router(state.clone()));
        send(router, method, path, token, None).await
    }

    /// A request to the API router.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        send(self.router.clone(), method, path, token, body).await
    }

    /// `POST /api/v1/recommendations/{id}/execute` as the Functions host delivers it to
    /// `remediation_execute`: the `res` output and the queue messages.
    pub async fn execute(&self, id: &str, token: &str) -> (Reply, Vec<Value>) {
        self.execute_with(&self.state, id, token).await
    }

    /// As [`World::execute`], served by `state`.
    pub async fn execute_with(&self, state: &AppState, id: &str, token: &str) -> (Reply, Vec<Value>) {
        const PORT: u16 = 7071;
        let envelope = json!({
            "Data": {"req": {
                "Url": format!("http://localhost:7071/api/v1/recommendations/{id}/execute"),
                "Method": "POST",
                "Query": {},
                "Headers": {"Authorization": [format!("Bearer {token}")]},
                "Params": {"id": id},
            }},
            "Metadata": {},
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri("/remediation_execute")
            .header("host", format!("127.0.0.1:{PORT}"))
            .header(azcops::invocation::INVOCATION_ID_HEADER, uuid::Uuid::new_v4().to_string())
            .header("content-type", "application/json")
            .body(Body::from(envelope.to_string()))
            .unwrap();
        let app = azcops::app::router(state.clone(), "api", PORT);
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "the invocation itself succeeds");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let outputs: Value = serde_json::from_slice(&bytes).unwrap();
        let res = &outputs["Outputs"]["res"];
        let status =
            StatusCode::from_u16(u16::try_from(res["statusCode"].as_u64().unwrap()).unwrap()).unwrap();
        let body = serde_json::from_str(res["body"].as_str().unwrap()).unwrap_or(Value::Null);
        (Reply { status, body }, outputs["Outputs"]["messages"].as_array().cloned().unwrap_or_default())
    }

    /// Turns on the actions of `rules` with `extra` remediation settings merged in.
    pub async fn enable(&self, rules: &[&str], extra: Value) {
        let actions: serde_json::Map<String, Value> =
            rules.iter().map(|r| ((*r).to_owned(), json!({"enabled": true}))).collect();
        let mut remediation = json!({"actions": actions});
        if let (Some(into), Some(from)) = (remediation.as_object_mut(), extra.as_object()) {
            into.extend(from.clone());
        }
        let admin = self.token("admin-settings", &[ADMIN]).await;
        let put = self
            .call(Method::PUT, "/api/v1/settings/rules", &admin, Some(json!({"remediation": remediation})))
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    }

    /// Approves a recommendation as `approver`.
    pub async fn approve(&self, id: &str, approver: &str) {
        let token = self.token(approver, &[APPROVER]).await;
        let reply =
            self.call(Method::POST, &format!("/api/v1/recommendations/{id}/approve"), &token, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    /// The first planted resource of `rule` and its finding, approved by `approver-1`.
    pub async fn approved(&self, rule: &'static str) -> (String, String) {
        let resource = self.planted(rule);
        let id = self.finding(rule, &resource).await;
        self.approve(&id, "approver-1").await;
        (resource, id)
    }

    /// Changes the sandbox's remediation state (`PUT /_sandbox/remediation`) and returns it.
    pub async fn sandbox_change(&self, change: Value) -> Value {
        let url = format!("{}/_sandbox/remediation", self.sandbox.base_url());
        let reply = reqwest::Client::new().put(url).json(&change).send().await.unwrap();
        assert!(reply.status().is_success(), "{}", reply.status());
        reply.json().await.unwrap()
    }

    /// The sandbox's remediation report.
    pub async fn sandbox_report(&self) -> Value {
        let url = format!("{}/_sandbox/remediation", self.sandbox.base_url());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    /// (actor, action, metadata) of every audit row of the tenant, oldest first.
    pub async fn audit(&self) -> Vec<(String, String, Value)> {
        let page = self
            .store
            .list_audit(&self.scope, &AuditFilter::default(), PageRequest::new(1, 500).unwrap())
            .await
            .unwrap();
        page.items.into_iter().rev().map(|e| (e.actor, e.action, e.metadata.0)).collect()
    }

    /// Closes the store and drops a PostgreSQL database.
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
}

/// A queue invocation of `message`, double-encoded as the host sends it.
pub fn queue(message: &Value) -> InvocationRequest {
    let once = serde_json::to_string(&message.to_string()).unwrap();
    let text = serde_json::to_string(&once).unwrap();
    serde_json::from_str(&format!(r#"{{"Data":{{"message":{text}}},"Metadata":{{"DequeueCount":"1"}}}}"#))
        .unwrap()
}

async fn send(router: Router, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.unwrap();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}
