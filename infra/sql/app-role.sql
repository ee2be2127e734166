-- Least privilege for the app's PostgreSQL role. The app reads and writes the curated tables; it
-- owns nothing, cannot create objects, and on audit_logs it may only read and append (DELETE
-- is granted for the retention job, and the append-only trigger, which the app cannot drop or
-- disable because it does not own the table, refuses every delete of a row younger than seven
-- years and every UPDATE/TRUNCATE even if granted later by mistake).
--
-- Run by the PostgreSQL administrator that ran `azcops migrate` (and so owns the schema), after
-- every migration, with the app role's name in the setting azcops.app_role:
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 \
--     -c "SET azcops.app_role = 'id-azcops-dev'" -f infra/sql/app-role.sql
--
-- Idempotent: it revokes everything and grants again, so a table a migration added gets its
-- grants at the next deployment and a grant made by hand is taken back. It refuses (and grants
-- nothing) when the role is privileged, owns an object, or the audit triggers are missing.
-- tests/store/least_privilege.rs applies this file to a fresh database and proves the limits.
DO $app_role$
DECLARE
    app text := nullif(current_setting('azcops.app_role', true), '');
    item record;
BEGIN
    IF app IS NULL THEN
        RAISE EXCEPTION 'app-role.sql: set azcops.app_role to the app''s role name first';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app) THEN
        RAISE EXCEPTION 'app-role.sql: role "%" does not exist (create it first)', app;
    END IF;
    IF app = current_user THEN
        RAISE EXCEPTION 'app-role.sql: run it as the schema owner, not as the app role "%"', app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = app
               AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)) THEN
        RAISE EXCEPTION 'app-role.sql: role "%" has SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS', app;
    END IF;
    IF to_regclass('public.audit_logs') IS NULL THEN
        RAISE EXCEPTION 'app-role.sql: public.audit_logs does not exist; run azcops migrate first';
    END IF;
    IF (SELECT count(*) FROM pg_trigger
        WHERE tgrelid = 'public.audit_logs'::regclass AND NOT tgisinternal AND tgenabled = 'O'
          AND tgname IN ('audit_logs_no_update_delete', 'audit_logs_no_truncate')) <> 2 THEN
        RAISE EXCEPTION 'app-role.sql: the append-only triggers of audit_logs are missing or disabled';
    END IF;

    -- An owner (or a member of the owner's role) could DROP TRIGGER or ALTER TABLE.
    IF pg_has_role(app, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER') THEN
        RAISE EXCEPTION 'app-role.sql: role "%" owns the database (or is a member of its owner)', app;
    END IF;
    IF pg_has_role(app, (SELECT nspowner FROM pg_namespace WHERE nspname = 'public'), 'MEMBER') THEN
        RAISE EXCEPTION 'app-role.sql: role "%" owns schema public (or is a member of its owner)', app;
    END IF;
    FOR item IN
        SELECT c.oid::regclass::text AS name, c.relowner AS owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
        UNION ALL
        SELECT p.oid::regprocedure::text, p.proowner
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
    LOOP
        IF pg_has_role(app, item.owner, 'MEMBER') THEN
            RAISE EXCEPTION 'app-role.sql: role "%" owns % (or is a member of its owner)', app, item.name;
        END IF;
    END LOOP;

    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', app);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I', app);
    EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', app);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', app);
    FOR item IN
        SELECT c.relname AS name
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND c.relname NOT IN ('audit_logs', '_sqlx_migrations')
    LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO %I', item.name, app);
    END LOOP;
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON public.audit_logs TO %I', app);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', app);

    -- What PUBLIC holds counts too: fail rather than leave a right this file did not mean.
    IF has_schema_privilege(app, 'public', 'CREATE') THEN
        RAISE EXCEPTION 'app-role.sql: role "%" can still CREATE in schema public (granted to PUBLIC?)', app;
    END IF;
    IF has_table_privilege(app, 'public.audit_logs', 'UPDATE')
       OR has_table_privilege(app, 'public.audit_logs', 'TRUNCATE')
       OR has_table_privilege(app, 'public.audit_logs', 'TRIGGER')
       OR has_table_privilege(app, 'public.audit_logs', 'REFERENCES') THEN
        RAISE EXCEPTION 'app-role.sql: role "%" still holds more than SELECT, INSERT, DELETE on audit_logs', app;
    END IF;
    IF to_regclass('public._sqlx_migrations') IS NOT NULL
       AND (has_table_privilege(app, 'public._sqlx_migrations', 'SELECT')
            OR has_table_privilege(app, 'public._sqlx_migrations', 'INSERT')) THEN
        RAISE EXCEPTION 'app-role.sql: role "%" can still read or write _sqlx_migrations', app;
    END IF;
    IF NOT has_database_privilege(app, current_database(), 'CONNECT') THEN
        RAISE EXCEPTION 'app-role.sql: role "%" cannot CONNECT to %', app, current_database();
    END IF;
    RAISE NOTICE 'app-role.sql: % has DML on the curated tables, SELECT/INSERT/DELETE on audit_logs, nothing else', app;
END
$app_role$;
