-- Cost rollups: `costs_daily` pre-aggregated for the cost explorer and the summary, maintained by
-- ingestion in the transaction that writes `costs_daily` (see handlers/store/rollups.rs, whose
-- statements these backfill queries mirror) and rebuilt by `azcops rollups rebuild`. Amounts are
-- never added across currencies: currency is part of every key. Keep in step with
-- ../postgres/0006_cost_rollups.sql.

-- Every dimension but the resource: `location` comes from the resource's `resources` row ('' when
-- there is none, e.g. a resource deleted before it was inventoried), `resource_type` from the
-- resource id (`.../providers/<namespace>/<type>/...`, lower-cased; '' when it has none).
CREATE TABLE cost_rollup_daily (
    tenant_id       TEXT NOT NULL,
    date            TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    resource_group  TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    meter_category  TEXT NOT NULL,
    location        TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    currency        TEXT NOT NULL,
    cost            REAL NOT NULL,
    amortized_cost  REAL NOT NULL,
    PRIMARY KEY (tenant_id, date, subscription_id, resource_group, service_name, meter_category,
                 location, resource_type, currency)
) WITHOUT ROWID;

-- Cost per value of the tenant's allocation tag (the rule settings' `cost_center_tag`, default
-- `cost-center`, matched case-insensitively and stored lower-cased); '' is untagged cost.
CREATE TABLE cost_rollup_tag_daily (
    tenant_id       TEXT NOT NULL,
    date            TEXT NOT NULL,
    tag_key         TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    tag_value       TEXT NOT NULL,
    currency        TEXT NOT NULL,
    cost            REAL NOT NULL,
    amortized_cost  REAL NOT NULL,
    PRIMARY KEY (tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency)
) WITHOUT ROWID;

-- The whole tenant per day and service: a 30-day summary reads about 30 x services rows.
CREATE TABLE cost_rollup_tenant_daily (
    tenant_id      TEXT NOT NULL,
    date           TEXT NOT NULL,
    service_name   TEXT NOT NULL,
    currency       TEXT NOT NULL,
    cost           REAL NOT NULL,
    amortized_cost REAL NOT NULL,
    PRIMARY KEY (tenant_id, date, service_name, currency)
) WITHOUT ROWID;

-- The allocation tag for the whole tenant by service: grouping a month by cost center reads
-- about days x services x tag values rows.
CREATE TABLE cost_rollup_tag_tenant_daily (
    tenant_id      TEXT NOT NULL,
    date           TEXT NOT NULL,
    tag_key        TEXT NOT NULL,
    service_name   TEXT NOT NULL,
    tag_value      TEXT NOT NULL,
    currency       TEXT NOT NULL,
    cost           REAL NOT NULL,
    amortized_cost REAL NOT NULL,
    PRIMARY KEY (tenant_id, date, tag_key, service_name, tag_value, currency)
) WITHOUT ROWID;

INSERT INTO cost_rollup_daily (tenant_id, date, subscription_id, resource_group, service_name,
    meter_category, location, resource_type, currency, cost, amortized_cost)
SELECT tenant_id, date, subscription_id, resource_group, service_name, meter_category, location,
       CASE WHEN p = 0 OR ns <= 1 OR tail = '' OR instr(tail, '/') = 1 THEN ''
            WHEN instr(tail, '/') = 0 THEN lower(rest)
            ELSE lower(substr(rest, 1, ns + instr(tail, '/') - 1)) END AS rtype,
       currency, SUM(cost), SUM(amortized_cost)
FROM (SELECT x.*, instr(rest, '/') AS ns, substr(rest, instr(rest, '/') + 1) AS tail
      FROM (SELECT c.tenant_id, c.date, c.subscription_id, c.resource_group, c.service_name,
                   c.meter_category, COALESCE(r.location, '') AS location, c.currency, c.cost,
                   c.amortized_cost, instr(c.resource_id, '/providers/') AS p,
                   substr(c.resource_id, instr(c.resource_id, '/providers/') + 11) AS rest
            FROM costs_daily AS c
            LEFT JOIN resources AS r ON r.tenant_id = c.tenant_id AND r.resource_id = c.resource_id) AS x)
GROUP BY tenant_id, date, subscription_id, resource_group, service_name, meter_category, location,
         rtype, currency;

INSERT INTO cost_rollup_tag_daily (tenant_id, date, tag_key, subscription_id, service_name, tag_value,
    currency, cost, amortized_cost)
SELECT tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency, SUM(cost),
       SUM(amortized_cost)
FROM (SELECT c.tenant_id, c.date, k.tag_key, c.subscription_id, c.service_name, c.currency, c.cost,
             c.amortized_cost,
             COALESCE((SELECT trim(CAST(j.value AS TEXT)) FROM json_each(r.tags) AS j
                       WHERE lower(j.key) = k.tag_key ORDER BY j.key LIMIT 1), '') AS tag_value
      FROM costs_daily AS c
      JOIN (SELECT t.id AS tenant_id,
                   lower(trim(COALESCE((SELECT json_extract(s.settings, '$.cost_center_tag')
                                        FROM rule_settings AS s WHERE s.tenant_id = t.id),
                                       'cost-center'))) AS tag_key
            FROM tenants AS t) AS k ON k.tenant_id = c.tenant_id AND k.tag_key <> ''
      LEFT JOIN resources AS r ON r.tenant_id = c.tenant_id AND r.resource_id = c.resource_id)
GROUP BY tenant_id, date, tag_key, subscription_id, service_name, tag_value, currency;

INSERT INTO cost_rollup_tenant_daily (tenant_id, date, service_name, currency, cost, amortized_cost)
SELECT tenant_id, date, service_name, currency, SUM(cost), SUM(amortized_cost)
FROM cost_rollup_daily
GROUP BY tenant_id, date, service_name, currency;

INSERT INTO cost_rollup_tag_tenant_daily (tenant_id, date, tag_key, service_name, tag_value, currency, cost,
    amortized_cost)
SELECT tenant_id, date, tag_key, service_name, tag_value, currency, SUM(cost), SUM(amortized_cost)
FROM cost_rollup_tag_daily
GROUP BY tenant_id, date, tag_key, service_name, tag_value, currency;
