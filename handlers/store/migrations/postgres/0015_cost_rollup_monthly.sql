-- Month-level twin of `cost_rollup_daily`: a 13-month explorer question by month reads one row
-- per subscription, month and combination instead of one per day (about 30 times fewer). Derived
-- from `cost_rollup_daily` in the same transactions that maintain it (see
-- handlers/store/rollups.rs); `month` is the month's first day. Keep in step with
-- ../sqlite/0015_cost_rollup_monthly.sql.
CREATE TABLE cost_rollup_monthly (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    month           DATE NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL,
    resource_group  TEXT COLLATE "C" NOT NULL,
    service_name    TEXT COLLATE "C" NOT NULL,
    meter_category  TEXT COLLATE "C" NOT NULL,
    location        TEXT COLLATE "C" NOT NULL,
    resource_type   TEXT COLLATE "C" NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    cost            DOUBLE PRECISION NOT NULL,
    amortized_cost  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, month, subscription_id, resource_group, service_name, meter_category,
                 location, resource_type, currency)
);

INSERT INTO cost_rollup_monthly (tenant_id, month, subscription_id, resource_group, service_name,
    meter_category, location, resource_type, currency, cost, amortized_cost)
SELECT tenant_id, CAST(date_trunc('month', date) AS date), subscription_id, resource_group, service_name,
       meter_category, location, resource_type, currency, SUM(cost), SUM(amortized_cost)
FROM cost_rollup_daily
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
