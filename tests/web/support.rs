//! A dashboard served on a real port against a seeded store (SQLite or PostgreSQL), with the
//! sandbox as the identity provider, and a cookie-keeping client that follows no redirects.

use std::collections::BTreeMap;

use azcops::api::ApiConfig;
use azcops::azure::AzureConfig;
use azcops::config::SettingsSource;
use azcops::model::CostDailyRow;
use azcops::sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use azcops::state::{AppState, DiagnosticOptions};
use azcops::store::{
    Actor, NewSubscription, NewTenant, RecommendationFilter, RecommendationUpsert, Store, StoreConfig,
    TenantScope, TenantType,
};
use azcops::web::WebConfig;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "azcops-dashboard-test";
pub const SESSION_KEY: &str = "test-session-key-0123456789abcdef0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Site {
    pub base: String,
    pub sandbox: RunningSandbox,
    pub store: Store,
    /// Entra tenant ids of the sandbox's tenants, registered in the store in this order.
    pub tids: Vec<String>,
    pub scopes: Vec<TenantScope>,
    pub names: Vec<String>,
    /// One open recommendation per tenant.
    pub recommendation: Vec<String>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

fn day(offset: i64) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Duration::days(offset)
}

impl Site {
    /// A site with sign-in configured (`web` true) or not.
    pub async fn start(backend: Backend, web: bool) -> Self {
        let options = SandboxOptions::new(
            "tenants=2,subscriptions=1,resources=10,days=2".parse().unwrap(),
            7,
            chrono::Utc::now().date_naive(),
        );
        let sandbox = Sandbox::start(options).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (url, postgres) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/web.db", dir.path().display()), None),
            Backend::Postgres => {
                let server = std::env::var("AZCOPS_TEST_POSTGRES_URL")
                    .ok()
                    .filter(|v| !v.is_empty())
                    .expect("AZCOPS_TEST_POSTGRES_URL (scripts/start-postgres.sh)");
                let database = format!("azcops_web_{}", uuid::Uuid::new_v4().simple());
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
        let mut tids = Vec::new();
        let mut scopes = Vec::new();
        let mut names = Vec::new();
        let mut recommendation = Vec::new();
        for (n, tenant) in sandbox.estate().tenants.iter().enumerate() {
            let created = store
                .platform_admin()
                .create_tenant(
                    &NewTenant {
                        name: tenant.name.clone(),
                        azure_tenant_id: tenant.id.clone(),
                        tenant_type: TenantType::External,
                    },
                    &Actor::named("test"),
                )
                .await
                .unwrap();
            let scope = TenantScope::from_trusted_trigger(created.id);
            let sub = format!("00000000-0000-4000-8000-{:012x}", 100 + n);
            store
                .add_subscription(
                    &scope,
                    &NewSubscription {
                        subscription_id: sub.clone(),
                        display_name: format!("sub {n}"),
                        billing_scope: None,
                    },
                    &Actor::named("test"),
                )
                .await
                .unwrap();
            let costs: Vec<CostDailyRow> = (0..40)
                .map(|d| CostDailyRow {
                    subscription_id: sub.clone(),
                    date: day(d),
                    resource_group: "rg-app".into(),
                    service_name: if d % 2 == 0 { "Storage".into() } else { "Virtual Machines".into() },
                    meter_category: "Storage".into(),
                    resource_id: String::new(),
                    cost: 10.0 + d as f64 + n as f64,
                    amortized_cost: 9.5 + d as f64,
                    currency: "EUR".into(),
                })
                .collect();
            store.upsert_costs_daily(&scope, &costs).await.unwrap();
            let resource = format!(
                "/subscriptions/{sub}/resourcegroups/rg-app/providers/microsoft.compute/disks/disk-{n}"
            );
            store
                .upsert_recommendations(
                    &scope,
                    &[RecommendationUpsert {
                        subscription_id: sub.clone(),
                        resource_id: resource,
                        rule_id: "waste.unattached_disk".into(),
                        source: "rule".into(),
                        category: "waste".into(),
                        title: format!("Delete disk-{n}"),
                        estimated_monthly_savings: 42.5,
                        savings_basis: "observed_cost".into(),
                        currency: "EUR".into(),
                        confidence_score: 0.9,
                        risk_level: "low".into(),
                        effort_level: "low".into(),
                        priority_score: 38.25,
                        evidence: json!({"diskState": "Unattached"}),
                        detected_at: azcops::store::now(),
                        duplicate_of: None,
                    }],
                )
                .await
                .unwrap();
            let page = azcops::store::PageRequest::first(10).unwrap();
            let found =
                store.list_recommendations(&scope, &RecommendationFilter::default(), page).await.unwrap();
            recommendation.push(found.items[0].id.clone());
            tids.push(tenant.id.clone());
            names.push(tenant.name.clone());
            scopes.push(scope);
        }
        let mut pairs = vec![
            ("AZCOPS_AUTH_AUDIENCE".to_owned(), azcops::sandbox::entra::DEFAULT_AUDIENCE.to_owned()),
            ("AZCOPS_AUTH_AUTHORITY".to_owned(), sandbox.base_url().to_owned()),
            ("AZCOPS_CONTROL_PLANE_TENANT".to_owned(), tids[0].clone()),
            ("AZCOPS_API_CACHE_SECONDS".to_owned(), "0".to_owned()),
        ];
        if web {
            pairs.push(("AZCOPS_WEB_CLIENT_ID".into(), CLIENT_ID.into()));
            pairs.push(("AZCOPS_WEB_CLIENT_SECRET".into(), "test-secret".into()));
            pairs.push(("AZCOPS_SESSION_KEY".into(), SESSION_KEY.into()));
        }
        let source = SettingsSource::from_pairs(pairs);
        let state = AppState::with_store(
            store.clone(),
            DiagnosticOptions { enabled: false, fanout: 0, fail_sequence: None },
            Err("no ingestion in web tests".to_owned()),
        )
        .with_api(ApiConfig::from_source(&source).unwrap())
        .with_web(WebConfig::from_source(&source).unwrap(), &AzureConfig::from_source(&source).unwrap());
        let app = azcops::app::Server::bind(0, "api", state).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(async move {
            let _ = app.run_until(std::future::pending()).await;
        });
        Self { base, sandbox, store, tids, scopes, names, recommendation, server, _dir: dir, postgres }
    }

    /// Stops the server and the sandbox and drops a PostgreSQL test database.
    pub async fn finish(self) {
        self.server.abort();
        self.store.close().await;
        let _ = self.sandbox.shutdown().await;
        if let Some((server, database)) = self.postgres {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&server).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }

    /// An API access token for tenant `n` from the sandbox.
    pub async fn api_token(&self, n: usize, roles: &[&str]) -> String {
        let body: Value = reqwest::Client::new()
            .post(format!("{}/_sandbox/user-token", self.sandbox.base_url()))
            .json(&json!({"tid": self.tids[n], "roles": roles}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// The JSON answer of `GET /api/v1{path}` with `token`.
    pub async fn api_get(&self, token: &str, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A fresh browser on this site.
    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            base: self.base.clone(),
        }
    }
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers.get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    /// The value of the first `name="_csrf"` field.
    pub fn csrf(&self) -> String {
        let at = self.text.find(r#"name="_csrf" value=""#).expect("a CSRF field");
        let rest = &self.text[at + r#"name="_csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// The `data-value` of the element with `data-testid="{testid}"`.
    pub fn value_of(&self, testid: &str) -> f64 {
        let at = self
            .text
            .find(&format!(r#"data-testid="{testid}""#))
            .unwrap_or_else(|| panic!("{testid} missing"));
        let rest = &self.text[at..];
        let v = &rest[rest.find(r#"data-value=""#).unwrap() + 12..];
        v[..v.find('"').unwrap()].parse().unwrap()
    }
}

/// Keeps cookies (name → value) like a browser, follows no redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    pub base: String,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let text = response.text().await.unwrap_or_default();
        Page { status, headers, text }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(self.url(path))
            .header("accept", "text/html")
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .client
            .post(self.url(path))
            .header("accept", "text/html")
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        self.finish(response).await
    }

    /// Signs in through the sandbox's page as `identity` (`t0-reader`, `platform-admin`, ...),
    /// returning the callback's answer.
    pub async fn sign_in(&mut self, identity: &str) -> Page {
        let start = self.get("/auth/signin").await;
        assert_eq!(start.status, 303, "{}", start.text);
        let (page, form) = self.at_identity_page(&start.location()).await;
        assert!(page.text.contains(&format!(r#"data-identity="{identity}""#)), "{}", page.text);
        let mut form = form;
        form.push(("identity".into(), identity.into()));
        let chosen = self.client.post(start.location()).form_pairs(&form).send().await.unwrap();
        assert_eq!(chosen.status().as_u16(), 302);
        let callback = chosen.headers()["location"].to_str().unwrap().to_owned();
        self.get(&callback).await
    }

    /// Opens the identity provider's page and returns it with the authorisation parameters.
    pub async fn at_identity_page(&mut self, authorize: &str) -> (Page, Vec<(String, String)>) {
        let url = url::Url::parse(authorize).unwrap();
        let params: Vec<(String, String)> =
            url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let response = self.client.get(authorize).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (Page { status, headers, text }, params)
    }
}

/// Form bodies without reqwest's optional `form` feature.
pub trait FormPairs {
    fn form_pairs(self, pairs: &[(String, String)]) -> Self;
}

impl FormPairs for reqwest::RequestBuilder {
    fn form_pairs(self, pairs: &[(String, String)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
    }
}
