-- Per subscription, where its costs come from: `query` (Cost Management queries, the default
-- when no row exists), `exports` (Cost Management exports only) or `auto` (exports where an
-- export has been ingested for the subscription, queries otherwise). Keep in step with
-- ../postgres/0012_cost_sources.sql.
CREATE TABLE subscription_cost_sources (
    tenant_id       TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('query', 'exports', 'auto')),
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, subscription_id)
        ON DELETE CASCADE
) WITHOUT ROWID;
