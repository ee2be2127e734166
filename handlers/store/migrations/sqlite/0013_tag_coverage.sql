-- Cost-center tag coverage of each subscription's inventory, one row per ingestion day (the
-- dashboard's Governance trend). Written in the transaction that upserts the day's inventory;
-- a later inventory of the same day replaces the row. `tag_key` is the allocation tag the
-- coverage was measured with (lower-cased), so a changed setting shows in the history.
-- Keep in step with ../postgres/0013_tag_coverage.sql.
CREATE TABLE tag_coverage_daily (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subscription_id  TEXT NOT NULL,
    date             TEXT NOT NULL,
    tag_key          TEXT NOT NULL,
    resources        INTEGER NOT NULL CHECK (resources >= 0),
    tagged_resources INTEGER NOT NULL CHECK (tagged_resources >= 0 AND tagged_resources <= resources),
    recorded_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id, date)
);
CREATE INDEX tag_coverage_daily_tenant_date ON tag_coverage_daily (tenant_id, date);
