-- Per-tenant rule-engine settings (thresholds, the cost-center tag name) as a JSON object of
-- overrides; keys absent from it take the engine's documented defaults.
CREATE TABLE rule_settings (
    tenant_id  TEXT PRIMARY KEY NOT NULL,
    settings   JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
