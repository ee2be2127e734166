-- Notification channels per tenant, the outbox of events written in the same transaction as the
-- change that causes them, and one delivery row per (event, channel), claimed with a lease.
-- Keep in step with ../sqlite/0009_notifications.sql.
CREATE TABLE notification_channels (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('webhook', 'teams', 'email', 'servicenow', 'jira')),
    url               TEXT NOT NULL,
    secret_sealed     TEXT,
    min_savings       DOUBLE PRECISION,
    events            JSONB NOT NULL,
    quiet_start_hour  INTEGER,
    quiet_end_hour    INTEGER,
    active_days       JSONB NOT NULL,
    enabled           BOOLEAN NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE notification_events (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    subscription_id TEXT,
    channel_id      TEXT,
    data            JSONB NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    dispatched_at   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notification_events_pending ON notification_events (dispatched_at, occurred_at);
CREATE INDEX notification_events_tenant ON notification_events (tenant_id, occurred_at);

CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL REFERENCES notification_events (id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    data            JSONB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (event_id, channel_id)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at);
CREATE INDEX notification_deliveries_tenant ON notification_deliveries (tenant_id, created_at);
