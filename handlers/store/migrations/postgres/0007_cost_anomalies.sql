-- Daily cost anomalies found after each subscription's cost ingestion: one row per tenant,
-- scope (a subscription id, or 'tenant' for the tenant total), dimension value (a service name,
-- or 'total'), day and currency, so re-running detection over the same data changes nothing.
CREATE TABLE cost_anomalies (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT COLLATE "C" NOT NULL,
    scope           TEXT COLLATE "C" NOT NULL,
    dimension       TEXT COLLATE "C" NOT NULL,
    dimension_value TEXT COLLATE "C" NOT NULL,
    day             DATE NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    expected        DOUBLE PRECISION NOT NULL,
    actual          DOUBLE PRECISION NOT NULL,
    deviation       DOUBLE PRECISION NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    kind            TEXT NOT NULL CHECK (kind IN ('spike', 'level_shift', 'new_service')),
    status          TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    detected_at     TIMESTAMPTZ NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, scope, dimension, dimension_value, day, currency)
);
-- GET /api/v1/costs/anomalies lists newest day first, usually filtered by status.
CREATE INDEX cost_anomalies_tenant_day ON cost_anomalies (tenant_id, day DESC, id);
CREATE INDEX cost_anomalies_tenant_status_day ON cost_anomalies (tenant_id, status, day DESC);
