-- ITSM tickets (ServiceNow incidents or change requests, Jira issues) created when a
-- recommendation is approved, one per (approval event, channel) delivery: `delivery_id` is the
-- correlation id sent with the ticket, so a redelivered approval finds the ticket it created.
-- The sync timer polls open tickets and records how they ended.
-- Keep in step with ../sqlite/0020_recommendation_tickets.sql.
CREATE TABLE recommendation_tickets (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    recommendation_id TEXT NOT NULL REFERENCES recommendations (id) ON DELETE CASCADE,
    channel_id        TEXT NOT NULL,
    delivery_id       TEXT NOT NULL UNIQUE,
    system            TEXT NOT NULL CHECK (system IN ('servicenow', 'jira')),
    record_type       TEXT NOT NULL CHECK (record_type IN ('incident', 'change_request', 'issue')),
    ticket_key        TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    url               TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    remote_state      TEXT,
    last_error        TEXT,
    checked_at        TIMESTAMPTZ,
    closed_at         TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX recommendation_tickets_recommendation ON recommendation_tickets (tenant_id, recommendation_id);
CREATE INDEX recommendation_tickets_open ON recommendation_tickets (tenant_id, status, checked_at);
