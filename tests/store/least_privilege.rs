//! The app's PostgreSQL role as `infra/sql/app-role.sql` grants it: the store works (DML on the
//! curated tables, audit rows appended, retention), but the audit trail's protection cannot be
//! removed or bypassed: no DROP TRIGGER, ALTER TABLE, UPDATE, TRUNCATE, or DELETE of a row
//! younger than seven years on `audit_logs`, and no DDL at all. PostgreSQL only: SQLite has no
//! roles.

use azcops::store::{
    AuditFilter, NewAuditEntry, PageRequest, RecommendationFilter, RecommendationStatus, Store, StoreConfig,
};
use sqlx::{Connection, PgConnection};

use crate::support::{self, Ctx, Kind, at, finding, guid, resource, tenant};

/// The file the deployment pipeline runs after `azcops migrate`.
const APP_ROLE_SQL: &str = include_str!("../../infra/sql/app-role.sql");
const PASSWORD: &str = "app-role-test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_role_has_dml_only_and_cannot_touch_the_audit_protection() {
    support::run(Kind::Postgres, "least_privilege", the_app_role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grant_script_refuses_a_missing_or_privileged_role() {
    support::run(Kind::Postgres, "least_privilege_refusals", refusals).await;
}

async fn exec(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(conn).await.map(drop)
}

/// Creates a login role with a unique name; returns the name.
async fn create_role(admin: &mut PgConnection, attributes: &str) -> String {
    let role = format!("azcops_app_{}", uuid::Uuid::new_v4().simple());
    exec(admin, &format!("CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}' {attributes}")).await.unwrap();
    role
}

async fn drop_role(admin: &mut PgConnection, role: &str) {
    exec(admin, &format!("DROP OWNED BY {role}")).await.unwrap();
    exec(admin, &format!("DROP ROLE {role}")).await.unwrap();
}

/// Applies the grant file as the pipeline does: the role name in `azcops.app_role`.
async fn grant(admin: &mut PgConnection, role: &str) -> Result<(), sqlx::Error> {
    exec(admin, &format!("SET azcops.app_role = '{role}'")).await?;
    exec(admin, APP_ROLE_SQL).await
}

fn url_as(ctx: &Ctx, role: &str) -> String {
    let mut url = url::Url::parse(&ctx.url).unwrap();
    url.set_username(role).unwrap();
    url.set_password(Some(PASSWORD)).unwrap();
    url.to_string()
}

/// Runs `sql` as the app role and returns the refusal's message, which must carry SQLSTATE 42501.
async fn refused(app: &mut PgConnection, sql: &str) -> String {
    let Err(error) = exec(app, sql).await else { panic!("the app role was allowed to run: {sql}") };
    let db = error.as_database_error().unwrap_or_else(|| panic!("{sql}: {error}"));
    assert_eq!(db.code().as_deref(), Some("42501"), "{sql}: {}", db.message());
    db.message().to_owned()
}

async fn audit_rows(admin: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_logs").fetch_one(admin).await.unwrap()
}

async fn the_app_role(ctx: Ctx) {
    let mut admin = PgConnection::connect(&ctx.url).await.unwrap();
    let role = create_role(&mut admin, "").await;
    grant(&mut admin, &role).await.unwrap();
    // Running it again (every deployment does) changes nothing and still succeeds.
    grant(&mut admin, &role).await.unwrap();

    // The store, logged in as the app role, does its normal work.
    let app_store = Store::connect(&StoreConfig::for_url(&url_as(&ctx, &role), 2).unwrap()).await.unwrap();
    let scope = tenant(&app_store, 1).await;
    let sub = guid(101);
    let disk = resource(&sub, "disk-1", "microsoft.compute/disks", "westeurope", "prod");
    app_store.upsert_resources(&scope, std::slice::from_ref(&disk), at(2026, 11, 20, 2)).await.unwrap();
    app_store.upsert_resources(&scope, std::slice::from_ref(&disk), at(2026, 11, 21, 2)).await.unwrap();
    app_store
        .upsert_recommendations(
            &scope,
            &[finding(&sub, &disk.resource_id, "waste.unattached_disk", 12.0, 50.0)],
        )
        .await
        .unwrap();
    let listed = app_store
        .list_recommendations(&scope, &RecommendationFilter::default(), PageRequest::first(10).unwrap())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    app_store
        .transition_recommendation(&scope, &listed.items[0].id, RecommendationStatus::Approved, "alice", None)
        .await
        .unwrap();
    let audit =
        app_store.list_audit(&scope, &AuditFilter::default(), PageRequest::first(50).unwrap()).await.unwrap();
    assert!(audit.total >= 1, "the decision's audit row was appended by the app role");
    let entry = |occurred_at| NewAuditEntry {
        actor: "system".into(),
        action: "test.least_privilege".into(),
        target_type: "test".into(),
        target_id: "t".into(),
        metadata: serde_json::json!({}),
        occurred_at,
    };
    let now = azcops::store::now();
    app_store.append_audit(&scope, &entry(now - chrono::Duration::days(365 * 8))).await.unwrap();
    let before = audit_rows(&mut admin).await;

    // Raw SQL as the app role: DML is fine on ordinary tables...
    let mut app = PgConnection::connect(&url_as(&ctx, &role)).await.unwrap();
    exec(&mut app, "UPDATE recommendations SET title = title").await.unwrap();
    exec(&mut app, "DELETE FROM resource_history WHERE snapshot_date < '2026-11-21'").await.unwrap();

    // ...but nothing that would remove or bypass the audit trail's protection.
    let must_own = [
        "DROP TRIGGER audit_logs_no_update_delete ON audit_logs",
        "DROP TRIGGER audit_logs_no_truncate ON audit_logs",
        "ALTER TABLE audit_logs DISABLE TRIGGER ALL",
        "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete",
        "ALTER TABLE audit_logs ADD COLUMN note TEXT",
        "ALTER TABLE audit_logs RENAME TO audit_logs_old",
        "DROP TABLE audit_logs",
        "DROP FUNCTION audit_logs_append_only() CASCADE",
        "CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        "DROP TABLE resources",
        "ALTER TABLE recommendations ADD COLUMN note TEXT",
    ];
    for sql in must_own {
        let message = refused(&mut app, sql).await;
        assert!(
            message.starts_with("must be owner") || message.starts_with("permission denied"),
            "{sql}: {message}"
        );
    }
    for sql in
        ["UPDATE audit_logs SET action = 'forged'", "TRUNCATE audit_logs", "DELETE FROM _sqlx_migrations"]
    {
        let message = refused(&mut app, sql).await;
        assert!(message.starts_with("permission denied for table"), "{sql}: {message}");
    }
    // DELETE is granted for retention; the trigger refuses every row younger than seven years,
    // with or without the retention gate.
    for sql in [
        "DELETE FROM audit_logs",
        "DELETE FROM audit_logs WHERE occurred_at > now() - interval '1 year'",
        "BEGIN; SET LOCAL azcops.audit_retention = 'on'; DELETE FROM audit_logs; COMMIT",
    ] {
        let message = refused(&mut app, sql).await;
        assert!(message.contains("audit_logs is append-only: DELETE refused"), "{sql}: {message}");
        let _ = exec(&mut app, "ROLLBACK").await;
    }
    let message = refused(&mut app, "SET session_replication_role = replica").await;
    assert!(message.contains("session_replication_role"), "triggers cannot be switched off: {message}");
    let message = refused(&mut app, "CREATE TABLE scratch (x INT)").await;
    assert!(message.starts_with("permission denied for schema public"), "{message}");
    assert_eq!(audit_rows(&mut admin).await, before, "every audit row survived");

    // The nightly retention job still works as the app role: the eight-year-old row goes.
    let report = app_store.apply_retention(now).await.unwrap();
    assert_eq!(report.audit_logs, 1);
    assert_eq!(audit_rows(&mut admin).await, before - 1);
    let triggers: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = 'audit_logs'::regclass AND NOT tgisinternal AND tgenabled = 'O'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(triggers, 2, "both append-only triggers are still in place");

    app.close().await.unwrap();
    app_store.close().await;
    drop_role(&mut admin, &role).await;
}

async fn refusals(ctx: Ctx) {
    let mut admin = PgConnection::connect(&ctx.url).await.unwrap();
    let message = |e: sqlx::Error| e.as_database_error().map(|d| d.message().to_owned()).unwrap_or_default();

    let missing = message(exec(&mut admin, APP_ROLE_SQL).await.unwrap_err());
    assert!(missing.contains("set azcops.app_role"), "{missing}");
    let unknown = message(grant(&mut admin, "azcops_no_such_role").await.unwrap_err());
    assert!(unknown.contains("does not exist"), "{unknown}");

    let privileged = create_role(&mut admin, "CREATEROLE").await;
    let refused = message(grant(&mut admin, &privileged).await.unwrap_err());
    assert!(refused.contains("CREATEROLE"), "{refused}");

    // A role that owns a table could drop the triggers: refused, and nothing is granted.
    let owner = create_role(&mut admin, "").await;
    exec(&mut admin, &format!("ALTER TABLE rule_settings OWNER TO {owner}")).await.unwrap();
    let refused = message(grant(&mut admin, &owner).await.unwrap_err());
    assert!(refused.contains("owns rule_settings"), "{refused}");
    let granted: bool = sqlx::query_scalar("SELECT has_table_privilege($1, 'resources', 'SELECT')")
        .bind(&owner)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(!granted, "a refused run grants nothing");

    // The triggers must be there before anything is granted.
    let plain = create_role(&mut admin, "").await;
    exec(&mut admin, "ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_truncate").await.unwrap();
    let refused = message(grant(&mut admin, &plain).await.unwrap_err());
    assert!(refused.contains("triggers of audit_logs are missing or disabled"), "{refused}");

    let me = current_user(&mut admin).await;
    exec(&mut admin, &format!("ALTER TABLE rule_settings OWNER TO {me}")).await.unwrap();
    for role in [privileged, owner, plain] {
        drop_role(&mut admin, &role).await;
    }
}

async fn current_user(admin: &mut PgConnection) -> String {
    sqlx::query_scalar("SELECT current_user::text").fetch_one(admin).await.unwrap()
}
