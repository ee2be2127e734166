-- Realised savings of executed recommendations: the resource's (or, for rate findings, the
-- covered usage's) daily cost over the 30 days before and after execution, compared by
-- handlers/analytics/realised.rs and upserted by handlers/store/realised_savings.rs. One row per
-- recommendation, replaced each time it is verified again. Keep in step with
-- ../postgres/0018_realised_savings.sql.
CREATE TABLE realised_savings (
    tenant_id                  TEXT NOT NULL,
    recommendation_id          TEXT NOT NULL REFERENCES recommendations (id) ON DELETE CASCADE,
    subscription_id            TEXT NOT NULL,
    executed_at                TEXT NOT NULL,
    currency                   TEXT NOT NULL,
    identified_monthly_savings REAL NOT NULL,
    realised_monthly_savings   REAL,
    basis                      TEXT NOT NULL
        CHECK (basis IN ('resource_cost_before_after', 'resource_gone', 'covered_usage', 'currency_mismatch')),
    confidence                 TEXT NOT NULL CHECK (confidence IN ('low', 'medium', 'high')),
    confidence_score           REAL NOT NULL CHECK (confidence_score >= 0 AND confidence_score <= 1),
    verdict                    TEXT NOT NULL CHECK (verdict IN ('pending', 'realised', 'not_realised', 'no_data')),
    before_amount              REAL NOT NULL,
    before_days                INTEGER NOT NULL CHECK (before_days >= 0),
    before_cost_days           INTEGER NOT NULL CHECK (before_cost_days >= 0),
    after_amount               REAL NOT NULL,
    after_days                 INTEGER NOT NULL CHECK (after_days >= 0),
    after_cost_days            INTEGER NOT NULL CHECK (after_cost_days >= 0),
    as_of                      TEXT NOT NULL,
    computed_at                TEXT NOT NULL,
    PRIMARY KEY (tenant_id, recommendation_id)
) WITHOUT ROWID;
-- `?realised=<verdict>` filters recommendations; the roll-up groups by execution month.
CREATE INDEX realised_savings_tenant_verdict ON realised_savings (tenant_id, verdict);
CREATE INDEX realised_savings_tenant_executed ON realised_savings (tenant_id, executed_at);
