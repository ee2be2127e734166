-- Realised-savings verification reads one resource's daily cost around its execution day; the
-- primary key leads with the date, so without this index each read would scan every row of the
-- tenant's 61 days. Charges without a resource are left out of the index.
-- Keep in step with ../postgres/0019_costs_daily_by_resource.sql.
CREATE INDEX costs_daily_tenant_resource_date ON costs_daily (tenant_id, resource_id, date)
    WHERE resource_id <> '';
