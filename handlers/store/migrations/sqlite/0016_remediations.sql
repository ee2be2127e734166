-- Remediations of approved recommendations (see handlers/store/remediations.rs): one row per
-- execute request whose rule has an enabled action, moved queued -> running -> succeeded |
-- failed | refused by the `remediate` function. Keep in step with
-- ../postgres/0016_remediations.sql.
CREATE TABLE remediations (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    recommendation_id   TEXT NOT NULL,
    action              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'refused')),
    approved_by         TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    error               TEXT,
    snapshot_id         TEXT,
    snapshot_expires_at TEXT,
    snapshot_removed_at TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    finished_at         TEXT
);
CREATE INDEX remediations_recommendation ON remediations (tenant_id, recommendation_id, created_at);
CREATE INDEX remediations_snapshots ON remediations (tenant_id, snapshot_expires_at);
