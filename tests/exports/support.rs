//! Per-test databases on both backends, a sandbox estate with its FOCUS exports on disk, and the
//! real binary run with the test's settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use azcops::sandbox::estate::Estate;
use azcops::sandbox::exports_write::{ExportFormat, ExportOptions, WrittenExport, write_exports};
use azcops::store::{Actor, NewSubscription, NewTenant, Store, StoreConfig, TenantScope, TenantType};
use sqlx::Connection as _;

/// The estate every test uses: two months of cost history.
pub const ESTATE: &str = "tenants=2,subscriptions=3,resources=20,days=35";

/// Which backend a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh, migrated database and its URL; PostgreSQL databases are dropped at the end.
pub struct Db {
    pub store: Store,
    pub url: String,
    pub dir: tempfile::TempDir,
    drop: Option<(String, String)>,
}

impl Db {
    /// A new database of `kind`, or `None` when PostgreSQL is skipped on purpose.
    pub async fn new(kind: Kind) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let (url, drop) = match kind {
            Kind::Sqlite => (format!("sqlite://{}/azcops.db", dir.path().display()), None),
            Kind::Postgres => {
                let Some(server) = std::env::var("AZCOPS_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty())
                else {
                    if std::env::var("AZCOPS_SKIP_POSTGRES").as_deref() == Ok("1") {
                        return None;
                    }
                    panic!(
                        "AZCOPS_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/start-postgres.sh)\"`"
                    );
                };
                let name = format!("azcops_exports_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&server).unwrap();
                url.set_path(&format!("/{name}"));
                (url.to_string(), Some((server, name)))
            }
        };
        let store = Store::connect(&StoreConfig::for_url(&url, 4).unwrap()).await.unwrap();
        store.migrate().await.unwrap();
        Some(Self { store, url, dir, drop })
    }

    /// Closes the pool and drops a PostgreSQL database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((server, name)) = self.drop {
            let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }

    /// Runs raw SQL the store would never issue (what a test inspects or tampers with).
    pub async fn sql(&self, sql: &str) {
        match &self.drop {
            None => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap();
            }
            Some(_) => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap();
            }
        }
    }

    /// Every `costs_daily` row as text, amounts in cents: `tenant|sub|date|rg|service|meter|resource|cost|amortized|currency`.
    pub async fn costs(&self) -> Vec<String> {
        let sql = "SELECT tenant_id, subscription_id, CAST(date AS TEXT), resource_group, service_name, \
                   meter_category, resource_id, cost, amortized_cost, currency FROM costs_daily";
        type Row = (String, String, String, String, String, String, String, f64, f64, String);
        let rows: Vec<Row> = match &self.drop {
            None => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
            }
            Some(_) => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
            }
        };
        let mut out: Vec<String> = rows
            .into_iter()
            .map(|(t, s, d, g, v, m, r, c, a, k)| {
                format!("{t}|{s}|{d}|{g}|{v}|{m}|{r}|{}|{}|{k}", cents(c), cents(a))
            })
            .collect();
        out.sort();
        out
    }

    /// Per (tenant, date, currency): the cost in cents summed over `costs_daily` and over
    /// `cost_rollup_daily` and `cost_rollup_tenant_daily`.
    pub async fn rollup_check(&self) -> Vec<(String, i64, i64, i64)> {
        // Both ways: a day in costs_daily missing from a rollup, and a rollup day without costs,
        // show as -1 on the side that lacks it.
        let key = "tenant_id || '|' || CAST(date AS TEXT) || '|' || currency";
        let sql = format!(
            "WITH c AS (SELECT {key} AS k, SUM(cost) AS s FROM costs_daily GROUP BY 1), \
             r AS (SELECT {key} AS k, SUM(cost) AS s FROM cost_rollup_daily GROUP BY 1), \
             t AS (SELECT {key} AS k, SUM(cost) AS s FROM cost_rollup_tenant_daily GROUP BY 1) \
             SELECT keys.k, COALESCE(c.s, -1), COALESCE(r.s, -1), COALESCE(t.s, -1) \
             FROM (SELECT k FROM c UNION SELECT k FROM r UNION SELECT k FROM t) AS keys \
             LEFT JOIN c ON c.k = keys.k LEFT JOIN r ON r.k = keys.k LEFT JOIN t ON t.k = keys.k"
        );
        let sql = sqlx::AssertSqlSafe(sql);
        let rows: Vec<(String, f64, f64, f64)> = match &self.drop {
            None => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
            }
            Some(_) => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
            }
        };
        assert!(!rows.is_empty(), "there are costs to compare");
        rows.into_iter().map(|(k, a, b, c)| (k, cents(a), cents(b), cents(c))).collect()
    }

    /// A count from raw SQL.
    pub async fn count(&self, sql: &str) -> i64 {
        match &self.drop {
            None => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.unwrap()
            }
            Some(_) => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.unwrap()
            }
        }
    }
}

/// An amount in whole cents.
pub fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

/// The estate as of `as_of`.
pub fn estate(as_of: chrono::NaiveDate) -> Estate {
    Estate::generate(7, ESTATE.parse().unwrap(), as_of)
}

/// Writes the estate's exports (delivery `delivery`) under `dir`.
pub fn exports(estate: &Estate, dir: &Path, rows_per_file: usize, delivery: u32) -> Vec<WrittenExport> {
    exports_as(estate, dir, rows_per_file, delivery, ExportFormat::CsvGzip)
}

/// Writes the estate's exports in `format` (Parquet in row groups of a quarter of a file).
pub fn exports_as(
    estate: &Estate,
    dir: &Path,
    rows_per_file: usize,
    delivery: u32,
    format: ExportFormat,
) -> Vec<WrittenExport> {
    let row_group_rows = (rows_per_file / 4).max(1);
    let options =
        ExportOptions { rows_per_file, delivery, format, row_group_rows, ..ExportOptions::default() };
    write_exports(estate, dir, &options).unwrap()
}

/// Registers the estate's tenant `index` and its delegated subscriptions straight in the store
/// (as `azcops subscription discover` would), every subscription taking its costs from `source`.
pub async fn register(
    store: &Store,
    estate: &Estate,
    index: usize,
    source: azcops::store::CostSource,
) -> TenantScope {
    let t = &estate.tenants[index];
    let by = Actor::named("test");
    let tenant = store
        .platform_admin()
        .create_tenant(
            &NewTenant {
                name: t.name.clone(),
                azure_tenant_id: t.id.clone(),
                tenant_type: TenantType::External,
            },
            &by,
        )
        .await
        .unwrap();
    let scope = TenantScope::from_trusted_trigger(tenant.id);
    for s in estate.subscriptions.iter().filter(|s| s.tenant == index && s.delegated) {
        let new = NewSubscription {
            subscription_id: s.id.clone(),
            display_name: s.name.clone(),
            billing_scope: None,
        };
        store.add_subscription(&scope, &new, &by).await.unwrap();
        store.set_cost_source(&scope, &s.id, source, &by).await.unwrap();
    }
    scope
}

/// The binary with an app root and settings.
pub struct Binary {
    pub app: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Binary {
    /// Runs `azcops args…`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_azcops"))
            .args(args)
            .current_dir(&self.app)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap()
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "azcops {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Sums of BilledCost in cents per subscription of the written runs, read back with the reader.
pub fn billed_by_subscription(dir: &Path, runs: &[&WrittenExport]) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for run in runs {
        let manifest =
            azcops::exports::ExportManifest::parse(&std::fs::read(dir.join(&run.manifest)).unwrap()).unwrap();
        for blob in &manifest.blobs {
            let file = std::fs::File::open(dir.join(&blob.blob_name)).unwrap();
            azcops::exports::reader::read_file(
                Box::new(file),
                azcops::exports::FileFormat::CsvGzip,
                azcops::exports::Dataset::Focus,
                &mut |row| {
                    *out.entry(row.subscription_id).or_default() += row.cost;
                    Ok(())
                },
            )
            .unwrap();
        }
    }
    out.into_iter().map(|(k, v)| (k, cents(v))).collect()
}
