//! Per-test databases on both backends, and seed-data builders.

use std::collections::BTreeMap;
use std::future::Future;

use azcops::model::{CostDailyRow, ResourceRow, VmMetricsRow};
use azcops::store::{
    Actor, NewSubscription, NewTenant, RecommendationUpsert, Store, StoreConfig, TenantScope, TenantType,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sqlx::Connection;

/// Which backend a test case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A migrated store plus the URL for raw SQL the store would never issue (audit tampering).
#[derive(Clone)]
pub struct Ctx {
    pub store: Store,
    pub url: String,
    pub kind: Kind,
}

impl Ctx {
    /// The count a raw `SELECT COUNT(*)` answers, for tables the store has no reader of.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }
}

/// Runs `test` against a fresh, migrated database of `kind`, then drops the database.
pub async fn run<F, Fut>(kind: Kind, name: &str, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/azcops-test.db", dir.path().display());
            let store = connect(&url).await;
            let outcome = tokio::spawn(test(Ctx { store: store.clone(), url, kind })).await;
            store.close().await;
            if let Err(error) = outcome {
                std::panic::resume_unwind(error.into_panic());
            }
        }
        Kind::Postgres => {
            let Some(server) = postgres_server_url(name) else { return };
            let database = format!("azcops_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let mut url = url::Url::parse(&server).unwrap();
            url.set_path(&format!("/{database}"));
            let url = url.to_string();
            let store = connect(&url).await;
            let outcome = tokio::spawn(test(Ctx { store: store.clone(), url, kind })).await;
            store.close().await;
            let dropped =
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await;
            if let Err(error) = outcome {
                std::panic::resume_unwind(error.into_panic());
            }
            dropped.unwrap();
        }
    }
}

async fn connect(url: &str) -> Store {
    let store = Store::connect(&StoreConfig::for_url(url, 4).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Declares `mod <name> { sqlite, postgres }` test cases running `async fn <name>(Ctx)`.
#[macro_export]
macro_rules! store_test {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::run($crate::support::Kind::Sqlite, stringify!($name), super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::run($crate::support::Kind::Postgres, stringify!($name), super::$name).await;
            }
        }
    )*};
}

/// A deterministic GUID from a small number.
/// The actor of changes tests make directly through the store.
pub fn by() -> Actor {
    Actor::named("test")
}

pub fn guid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Creates tenant `n` with one subscription `guid(100 + n)` and returns its scope.
pub async fn tenant(store: &Store, n: u32) -> TenantScope {
    let tenant = store
        .platform_admin()
        .create_tenant(
            &NewTenant {
                name: format!("tenant {n}"),
                azure_tenant_id: guid(n),
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

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

pub fn cost(subscription: &str, date: NaiveDate, service: &str, resource: &str, amount: f64) -> CostDailyRow {
    CostDailyRow {
        subscription_id: subscription.to_owned(),
        date,
        resource_group: "rg-app".into(),
        service_name: service.into(),
        meter_category: service.into(),
        resource_id: resource.into(),
        cost: amount,
        amortized_cost: amount * 0.9,
        currency: "EUR".into(),
    }
}

pub fn resource(subscription: &str, name: &str, kind: &str, location: &str, env: &str) -> ResourceRow {
    ResourceRow {
        subscription_id: subscription.to_owned(),
        resource_id: format!("/subscriptions/{subscription}/resourcegroups/rg-{env}/providers/{kind}/{name}"),
        name: name.into(),
        resource_type: kind.into(),
        kind: None,
        location: location.into(),
        resource_group: format!("rg-{env}"),
        sku: Some(serde_json::json!({"name": "Standard_LRS"})),
        tags: BTreeMap::from([("env".to_owned(), env.to_owned()), ("owner".to_owned(), "finops".to_owned())]),
        properties: serde_json::json!({"diskState": "Unattached", "diskSizeGB": 128}),
        managed_by: None,
    }
}

pub fn vm_metrics(subscription: &str, vm: &str, cpu: f64) -> VmMetricsRow {
    VmMetricsRow {
        subscription_id: subscription.to_owned(),
        resource_id: format!(
            "/subscriptions/{subscription}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{vm}"
        ),
        window_start: at(2026, 11, 1, 0),
        window_end: at(2026, 11, 15, 0),
        cpu_avg: Some(cpu),
        cpu_max: Some(cpu * 2.0),
        cpu_min: Some(0.5),
        cpu_p95: Some(cpu * 1.5),
        memory_available_avg_bytes: Some(4.0e9),
        memory_available_min_bytes: None,
        memory_available_p95_bytes: Some(3.0e9),
        datapoints: 330,
        expected_datapoints: 336,
    }
}

pub fn finding(
    subscription: &str,
    resource: &str,
    rule: &str,
    savings: f64,
    priority: f64,
) -> RecommendationUpsert {
    RecommendationUpsert {
        subscription_id: subscription.to_owned(),
        resource_id: resource.into(),
        rule_id: rule.into(),
        source: "rule".into(),
        category: if rule.starts_with("waste") { "waste".into() } else { "rightsizing".into() },
        title: format!("{rule} on {resource}"),
        estimated_monthly_savings: savings,
        savings_basis: "retail price".into(),
        currency: "EUR".into(),
        confidence_score: 0.9,
        risk_level: "low".into(),
        effort_level: "low".into(),
        priority_score: priority,
        evidence: serde_json::json!({"observed": savings}),
        detected_at: at(2026, 11, 20, 2),
        duplicate_of: None,
    }
}

/// The PostgreSQL server of the tests, or `None` (test `name` skipped) with
/// `AZCOPS_SKIP_POSTGRES=1`; without either setting the test fails.
pub fn postgres_server_url(name: &str) -> Option<String> {
    if let Some(url) = std::env::var("AZCOPS_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) {
        return Some(url);
    }
    if std::env::var("AZCOPS_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("skip: {name} on PostgreSQL (AZCOPS_SKIP_POSTGRES=1)");
        return None;
    }
    panic!(
        "AZCOPS_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/start-postgres.sh)\"` first \
         (or set AZCOPS_SKIP_POSTGRES=1 to skip the PostgreSQL cases)"
    );
}
