-- Remediations of approved recommendations (see handlers/store/remediations.rs): one row per
-- execute request whose rule has an enabled action, moved queued -> running -> succeeded |
-- failed | refused by the `remediate` function. Keep in step with
-- ../sqlite/0016_remediations.sql.
CREATE TABLE remediations (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT COLLATE "C" NOT NULL,
    recommendation_id   TEXT COLLATE "C" NOT NULL,
    action              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'refused')),
    approved_by         TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    error               TEXT,
    snapshot_id         TEXT,
    snapshot_expires_at TIMESTAMPTZ,
    snapshot_removed_at TIMESTAMPTZ,
    attempts            BIGINT NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ
);
CREATE INDEX remediations_recommendation ON remediations (tenant_id, recommendation_id, created_at);
CREATE INDEX remediations_snapshots ON remediations (tenant_id, snapshot_expires_at);
