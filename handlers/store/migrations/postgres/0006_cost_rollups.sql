-- Cost rollups: `costs_daily` pre-aggregated for the cost explorer and the summary, maintained by
-- ingestion in the transaction that writes `costs_daily` (see handlers/store/rollups.rs, whose
-- statements these backfill queries mirror) and rebuilt by `azcops rollups rebuild`. Amounts are
-- never added across currencies: currency is part of every key. Keep in step with
-- ../sqlite/0006_cost_rollups.sql.

-- Every dimension but the resource: `location` comes from the resource's `resources` row ('' when
-- there is none, e.g. a resource deleted before it was inventoried), `resource_type` from the
-- resource id (`.../providers/<namespace>/<type>/...`, lower-cased; '' when it has none).
CREATE TABLE cost_rollup_daily (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    date            DATE NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL,
    resource_group  TEXT COLLATE "C" NOT NULL,
    service_name    TEXT COLLATE "C" NOT NULL,
    meter_category  TEXT COLLATE "C" NOT NULL,
    location        TEXT COLLATE "C" NOT NULL,
    resource_type   TEXT COLLATE "C" NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    cost            DOUBLE PRECISION NOT NULL,
    amortized_cost  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, date, subscription_id, resource_group, service_name, meter_category,
                 location, resource_type, currency)
);

-- Cost per value of the tenant's allocation tag (the rule settings' `cost_center_tag`, default
-- `cost-center`, matched case-insensitively and stored lower-cased); '' is untagged cost.
CREATE TABLE cost_rollup_tag_daily (
    tenant_id       TEXT COLLATE "C" NOT NULL,
    date            DATE NOT NULL,
    tag_key         TEXT COLLATE "C" NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL,
    service_name    TEXT COLLATE "C" NOT NULL,
    tag_value       TEXT COLLATE "C" NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    cost            DOUBLE PRECISION NOT NULL,
    amortized_cost  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency)
);

-- The whole tenant per day and service: a 30-day summary reads about 30 x services rows, from
-- the index alone (the amounts are included in it).
CREATE TABLE cost_rollup_tenant_daily (
    tenant_id      TEXT COLLATE "C" NOT NULL,
    date           DATE NOT NULL,
    service_name   TEXT COLLATE "C" NOT NULL,
    currency       TEXT COLLATE "C" NOT NULL,
    cost           DOUBLE PRECISION NOT NULL,
    amortized_cost DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, date, service_name, currency) INCLUDE (cost, amortized_cost)
);

-- The allocation tag for the whole tenant by service: grouping a month by cost center reads
-- about days x services x tag values rows.
CREATE TABLE cost_rollup_tag_tenant_daily (
    tenant_id      TEXT COLLATE "C" NOT NULL,
    date           DATE NOT NULL,
    tag_key        TEXT COLLATE "C" NOT NULL,
    service_name   TEXT COLLATE "C" NOT NULL,
    tag_value      TEXT COLLATE "C" NOT NULL,
    currency       TEXT COLLATE "C" NOT NULL,
    cost           DOUBLE PRECISION NOT NULL,
    amortized_cost DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, date, tag_key, service_name, tag_value, currency) INCLUDE (cost, amortized_cost)
);

INSERT INTO cost_rollup_daily (tenant_id, date, subscription_id, resource_group, service_name,
    meter_category, location, resource_type, currency, cost, amortized_cost)
SELECT c.tenant_id, c.date, c.subscription_id, c.resource_group, c.service_name, c.meter_category,
       COALESCE(r.location, ''),
       COALESCE(lower(substring(c.resource_id FROM '/providers/([^/]+/[^/]+)')), ''),
       c.currency, SUM(c.cost), SUM(c.amortized_cost)
FROM costs_daily AS c
LEFT JOIN resources AS r ON r.tenant_id = c.tenant_id AND r.resource_id = c.resource_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

INSERT INTO cost_rollup_tag_daily (tenant_id, date, tag_key, subscription_id, service_name, tag_value,
    currency, cost, amortized_cost)
SELECT c.tenant_id, c.date, k.tag_key, c.subscription_id, c.service_name,
       COALESCE((SELECT btrim(j.value) FROM jsonb_each_text(r.tags) AS j
                 WHERE lower(j.key) = k.tag_key ORDER BY j.key LIMIT 1), ''),
       c.currency, SUM(c.cost), SUM(c.amortized_cost)
FROM costs_daily AS c
JOIN (SELECT t.id AS tenant_id,
             lower(btrim(COALESCE((SELECT s.settings ->> 'cost_center_tag' FROM rule_settings AS s
                                   WHERE s.tenant_id = t.id), 'cost-center'))) AS tag_key
      FROM tenants AS t) AS k ON k.tenant_id = c.tenant_id AND k.tag_key <> ''
LEFT JOIN resources AS r ON r.tenant_id = c.tenant_id AND r.resource_id = c.resource_id
GROUP BY 1, 2, 3, 4, 5, 6, 7;

INSERT INTO cost_rollup_tenant_daily (tenant_id, date, service_name, currency, cost, amortized_cost)
SELECT tenant_id, date, service_name, currency, SUM(cost), SUM(amortized_cost)
FROM cost_rollup_daily
GROUP BY tenant_id, date, service_name, currency;

INSERT INTO cost_rollup_tag_tenant_daily (tenant_id, date, tag_key, service_name, tag_value, currency, cost,
    amortized_cost)
SELECT tenant_id, date, tag_key, service_name, tag_value, currency, SUM(cost), SUM(amortized_cost)
FROM cost_rollup_tag_daily
GROUP BY tenant_id, date, tag_key, service_name, tag_value, currency;
