-- One `budget.threshold` event per budget, month, basis (month-to-date actual spend or the
-- month-end forecast) and threshold: the row is inserted in the transaction that records the
-- event, so re-running ingestion never announces a crossing twice. The delivery index serves
-- the retention of finished deliveries.
-- Keep in step with ../postgres/0021_budget_threshold_alerts.sql.
CREATE TABLE budget_threshold_alerts (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    budget_id  TEXT NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    month      TEXT NOT NULL,
    basis      TEXT NOT NULL CHECK (basis IN ('actual', 'forecast')),
    threshold  INTEGER NOT NULL,
    event_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, budget_id, month, basis, threshold)
);
CREATE INDEX notification_deliveries_finished ON notification_deliveries (tenant_id, status, updated_at);
CREATE INDEX notification_events_created ON notification_events (tenant_id, created_at);
