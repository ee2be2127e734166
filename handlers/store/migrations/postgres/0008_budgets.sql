-- Monthly budgets per tenant, for the whole tenant (subscription_id NULL) or one subscription.
-- Only cost billed in the budget's currency counts against it; alert_thresholds are percentages.
CREATE TABLE budgets (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    subscription_id  TEXT,
    amount           DOUBLE PRECISION NOT NULL CHECK (amount > 0),
    currency         TEXT NOT NULL,
    metric           TEXT NOT NULL CHECK (metric IN ('actual', 'amortized')),
    alert_thresholds JSONB NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, name)
);
