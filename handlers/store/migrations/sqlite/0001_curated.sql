-- Curated layer, SQLite dialect. Timestamps are RFC 3339 UTC text written by the application
-- (never CURRENT_TIMESTAMP, whose format would not sort with them); dates are YYYY-MM-DD text;
-- JSON is text. Keep in step with ../postgres/0001_curated.sql.

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    azure_tenant_id TEXT NOT NULL UNIQUE,
    tenant_type     TEXT NOT NULL CHECK (tenant_type IN ('internal', 'external')),
    active          BOOLEAN NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE subscriptions (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subscription_id  TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    billing_scope    TEXT,
    active           BOOLEAN NOT NULL DEFAULT 1,
    last_ingested_at TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
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
    sku             TEXT,
    tags            TEXT NOT NULL,
    properties      TEXT NOT NULL,
    managed_by      TEXT,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id)
) WITHOUT ROWID;
CREATE INDEX resources_tenant_type ON resources (tenant_id, resource_type);
CREATE INDEX resources_tenant_location ON resources (tenant_id, location);
CREATE INDEX resources_tenant_group ON resources (tenant_id, resource_group);
CREATE INDEX resources_tenant_subscription ON resources (tenant_id, subscription_id);

-- One snapshot per resource per UTC day it was observed; kept 30 days.
CREATE TABLE resource_history (
    tenant_id       TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    snapshot_date   TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    kind            TEXT,
    location        TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    sku             TEXT,
    tags            TEXT NOT NULL,
    properties      TEXT NOT NULL,
    managed_by      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, snapshot_date)
) WITHOUT ROWID;
CREATE INDEX resource_history_tenant_date ON resource_history (tenant_id, snapshot_date);

-- The natural key is the primary key (no surrogate), led by (tenant_id, date): upserts conflict
-- on it, and as a WITHOUT ROWID table the rows of one tenant and day are stored together, so the
-- dashboard summary, date-range listings and retention are range scans with no second index.
CREATE TABLE costs_daily (
    tenant_id       TEXT NOT NULL,
    date            TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    meter_category  TEXT NOT NULL,
    resource_id     TEXT NOT NULL DEFAULT '',
    cost            REAL NOT NULL,
    amortized_cost  REAL NOT NULL,
    currency        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, date, subscription_id, resource_group, service_name, meter_category, resource_id)
) WITHOUT ROWID;

CREATE TABLE vm_metrics (
    tenant_id                  TEXT NOT NULL,
    resource_id                TEXT NOT NULL,
    window_start               TEXT NOT NULL,
    window_end                 TEXT NOT NULL,
    subscription_id            TEXT NOT NULL,
    cpu_avg                    REAL,
    cpu_max                    REAL,
    cpu_min                    REAL,
    cpu_p95                    REAL,
    memory_available_avg_bytes REAL,
    memory_available_min_bytes REAL,
    memory_available_p95_bytes REAL,
    datapoints                 INTEGER NOT NULL,
    expected_datapoints        INTEGER NOT NULL,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    PRIMARY KEY (tenant_id, resource_id, window_start, window_end)
) WITHOUT ROWID;
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
    estimated_monthly_savings REAL NOT NULL,
    savings_basis             TEXT NOT NULL,
    currency                  TEXT NOT NULL,
    confidence_score          REAL NOT NULL,
    risk_level                TEXT NOT NULL,
    effort_level              TEXT NOT NULL,
    priority_score            REAL NOT NULL,
    status                    TEXT NOT NULL
        CHECK (status IN ('open', 'approved', 'rejected', 'dismissed', 'executed', 'closed')),
    evidence                  TEXT NOT NULL,
    first_detected_at         TEXT NOT NULL,
    last_detected_at          TEXT NOT NULL,
    status_changed_at         TEXT NOT NULL,
    status_changed_by         TEXT NOT NULL,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
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
    metadata    TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
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
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (tenant_id, schedule_key)
);
CREATE INDEX ingestion_runs_tenant_created ON ingestion_runs (tenant_id, created_at);

CREATE TABLE ingestion_run_items (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL,
    run_id          TEXT NOT NULL REFERENCES ingestion_runs (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    counts          TEXT NOT NULL,
    duration_ms     INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (run_id, subscription_id)
);
CREATE INDEX ingestion_run_items_tenant_run ON ingestion_run_items (tenant_id, run_id);
