-- Curated layer, PostgreSQL dialect. Timestamps are written by the application (so both
-- backends agree on the clock used); ids are UUID v7 as text on both backends.
-- Keep in step with ../sqlite/0001_curated.sql.

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    azure_tenant_id TEXT NOT NULL UNIQUE,
    tenant_type     TEXT NOT NULL CHECK (tenant_type IN ('internal', 'external')),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE subscriptions (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subscription_id  TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    billing_scope    TEXT,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    last_ingested_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, subscription_id)
);

CREATE TABLE resources (
    tenant_id       TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    kind            TEXT,
    location        TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    sku             JSONB,
    tags            JSONB NOT NULL,
    properties      JSONB NOT NULL,
    managed_by      TEXT,
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, resource_id)
);
CREATE INDEX resources_tenant_type ON resources (tenant_id, resource_type);
CREATE INDEX resources_tenant_location ON resources (tenant_id, location);
CREATE INDEX resources_tenant_group ON resources (tenant_id, resource_group);
CREATE INDEX resources_tenant_subscription ON resources (tenant_id, subscription_id);

-- One snapshot per resource per UTC day it was observed; kept 30 days.
CREATE TABLE resource_history (
    tenant_id       TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    snapshot_date   DATE NOT NULL,
    subscription_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    kind            TEXT,
    location        TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    sku             JSONB,
    tags            JSONB NOT NULL,
    properties      JSONB NOT NULL,
    managed_by      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, snapshot_date)
);
CREATE INDEX resource_history_tenant_date ON resource_history (tenant_id, snapshot_date);

-- The natural key is the primary key (no surrogate), led by (tenant_id, date) so that one index
-- serves upsert conflicts, date-range listings, the dashboard summary and retention; a second
-- index would roughly double the cost of bulk loads. Key columns use the C collation: byte
-- comparisons are faster than a locale's and identical on every server.
CREATE TABLE costs_daily (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    date            DATE NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL,
    resource_group  TEXT COLLATE "C" NOT NULL,
    service_name    TEXT COLLATE "C" NOT NULL,
    meter_category  TEXT COLLATE "C" NOT NULL,
    resource_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    cost            DOUBLE PRECISION NOT NULL,
    amortized_cost  DOUBLE PRECISION NOT NULL,
    currency        TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, date, subscription_id, resource_group, service_name, meter_category, resource_id)
);

CREATE TABLE vm_metrics (
    tenant_id                  TEXT NOT NULL,
    resource_id                TEXT NOT NULL,
    window_start               TIMESTAMPTZ NOT NULL,
    window_end                 TIMESTAMPTZ NOT NULL,
    subscription_id            TEXT NOT NULL,
    cpu_avg                    DOUBLE PRECISION,
    cpu_max                    DOUBLE PRECISION,
    cpu_min                    DOUBLE PRECISION,
    cpu_p95                    DOUBLE PRECISION,
    memory_available_avg_bytes DOUBLE PRECISION,
    memory_available_min_bytes DOUBLE PRECISION,
    memory_available_p95_bytes DOUBLE PRECISION,
    datapoints                 BIGINT NOT NULL,
    expected_datapoints        BIGINT NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, window_start, window_end)
);
CREATE INDEX vm_metrics_tenant_subscription ON vm_metrics (tenant_id, subscription_id);

CREATE TABLE recommendations (
    id                        TEXT PRIMARY KEY NOT NULL,
    tenant_id                 TEXT NOT NULL,
    subscription_id           TEXT NOT NULL,
    resource_id               TEXT NOT NULL,
    rule_id                   TEXT NOT NULL,
    source                    TEXT NOT NULL CHECK (source IN ('rule', 'advisor')),
    category                  TEXT NOT NULL,
    title                     TEXT NOT NULL,
    estimated_monthly_savings DOUBLE PRECISION NOT NULL,
    savings_basis             TEXT NOT NULL,
    currency                  TEXT NOT NULL,
    confidence_score          DOUBLE PRECISION NOT NULL,
    risk_level                TEXT NOT NULL,
    effort_level              TEXT NOT NULL,
    priority_score            DOUBLE PRECISION NOT NULL,
    status                    TEXT NOT NULL
        CHECK (status IN ('open', 'approved', 'rejected', 'dismissed', 'executed', 'closed')),
    evidence                  JSONB NOT NULL,
    first_detected_at         TIMESTAMPTZ NOT NULL,
    last_detected_at          TIMESTAMPTZ NOT NULL,
    status_changed_at         TIMESTAMPTZ NOT NULL,
    status_changed_by         TEXT NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, resource_id, rule_id)
);
CREATE INDEX recommendations_tenant_status_priority
    ON recommendations (tenant_id, status, priority_score DESC);
CREATE INDEX recommendations_tenant_subscription_rule
    ON recommendations (tenant_id, subscription_id, rule_id);

-- No foreign key to tenants: the audit trail must outlive what it describes.
CREATE TABLE audit_logs (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    metadata    JSONB NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_logs_tenant_time ON audit_logs (tenant_id, occurred_at);
CREATE INDEX audit_logs_tenant_target ON audit_logs (tenant_id, target_type, target_id);
CREATE INDEX audit_logs_time ON audit_logs (occurred_at);

CREATE TABLE ingestion_runs (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    schedule_key TEXT NOT NULL,
    status       TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'partially_failed', 'failed')),
    requested_by TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, schedule_key)
);
CREATE INDEX ingestion_runs_tenant_created ON ingestion_runs (tenant_id, created_at);

CREATE TABLE ingestion_run_items (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL,
    run_id          TEXT NOT NULL REFERENCES ingestion_runs (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    error           TEXT,
    counts          JSONB NOT NULL,
    duration_ms     BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (run_id, subscription_id)
);
CREATE INDEX ingestion_run_items_tenant_run ON ingestion_run_items (tenant_id, run_id);
