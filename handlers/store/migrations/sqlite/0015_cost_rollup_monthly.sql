-- Month-level twin of `cost_rollup_daily`: a 13-month explorer question by month reads one row
-- per subscription, month and combination instead of one per day (about 30 times fewer). Derived
-- from `cost_rollup_daily` in the same transactions that maintain it (see
-- handlers/store/rollups.rs); `month` is the month's first day. Keep in step with
-- ../postgres/0015_cost_rollup_monthly.sql.
CREATE TABLE cost_rollup_monthly (
    tenant_id       TEXT NOT NULL,
    month           TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    meter_category  TEXT NOT NULL,
    location        TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    currency        TEXT NOT NULL,
    cost            REAL NOT NULL,
    amortized_cost  REAL NOT NULL,
    PRIMARY KEY (tenant_id, month, subscription_id, resource_group, service_name, meter_category,
                 location, resource_type, currency)
) WITHOUT ROWID;

INSERT INTO cost_rollup_monthly (tenant_id, month, subscription_id, resource_group, service_name,
    meter_category, location, resource_type, currency, cost, amortized_cost)
SELECT tenant_id, substr(date, 1, 7) || '-01', subscription_id, resource_group, service_name,
       meter_category, location, resource_type, currency, SUM(cost), SUM(amortized_cost)
FROM cost_rollup_daily
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
