-- Cost Management exports as a second cost source (see handlers/store/exports.rs). The export
-- files stay in their container; these tables record which manifest was ingested and which
-- (subscription, month) slices of costs_daily it replaced. Keep in step with
-- ../sqlite/0011_export_ingestions.sql.

-- One ingested export run (one manifest): what it was and what was dropped from it.
CREATE TABLE export_runs (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT COLLATE "C" NOT NULL,
    manifest              TEXT NOT NULL,
    run_id                TEXT NOT NULL,
    export_name           TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    dataset               TEXT NOT NULL,
    data_version          TEXT NOT NULL,
    period_start          DATE NOT NULL,
    period_end            DATE NOT NULL,
    files                 BIGINT NOT NULL,
    source_rows           BIGINT NOT NULL,
    dropped_rows          BIGINT NOT NULL,
    dropped_subscriptions BIGINT NOT NULL,
    ingested_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX export_runs_tenant ON export_runs (tenant_id, ingested_at);

-- The latest replacement of each (subscription, month) slice: one row per slice, overwritten
-- when a later export re-sends the month.
CREATE TABLE export_slices (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL,
    month           DATE NOT NULL,
    first_day       DATE NOT NULL,
    last_day        DATE NOT NULL,
    export_run_id   TEXT NOT NULL,
    source_rows     BIGINT NOT NULL,
    ingested_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id, month)
);
