-- Per-tenant rule-engine settings (thresholds, the cost-center tag name) as a JSON object of
-- overrides; keys absent from it take the engine's documented defaults.
CREATE TABLE rule_settings (
    tenant_id  TEXT PRIMARY KEY NOT NULL,
    settings   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
