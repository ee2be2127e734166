-- PostgreSQL data for scripts/bench-api.sh, generated in the server: tenant 0 (Azure tenant
-- :'tenant', the one tokens are issued for) with :subs subscriptions, and :others more tenants
-- with :other_subs each; every subscription has :res resources (tagged env and cost-center)
-- and :days days x :rows cost rows a day naming those resources. Rollups are built afterwards
-- by `azcops rollups rebuild`, as an operator would after a bulk load.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE TEMP TABLE bench_tenants AS
SELECT n, gen_random_uuid()::text AS id,
       CASE WHEN n = 0 THEN :'tenant' ELSE format('00000000-0000-4000-8000-%s', lpad(to_hex(49152 + n), 12, '0')) END AS azure_id,
       CASE WHEN n = 0 THEN :subs ELSE :other_subs END AS subs
FROM generate_series(0, :others) AS n;

INSERT INTO tenants (id, name, azure_tenant_id, tenant_type, active, created_at, updated_at)
SELECT id, 'bench tenant ' || n, azure_id, 'external', true, now(), now() FROM bench_tenants;

CREATE TEMP TABLE bench_subs AS
SELECT t.id AS tenant_id, format('%s-0000-4000-8000-%s', lpad(to_hex(t.n), 8, '0'), lpad(to_hex(s), 12, '0')) AS sub
FROM bench_tenants AS t, generate_series(1, t.subs) AS s;

INSERT INTO subscriptions (id, tenant_id, subscription_id, display_name, billing_scope, active,
    last_ingested_at, created_at, updated_at)
SELECT gen_random_uuid()::text, tenant_id, sub, 'bench ' || sub, NULL, true, NULL, now(), now() FROM bench_subs;

CREATE TEMP TABLE bench_kinds AS
SELECT ARRAY['microsoft.compute/disks', 'microsoft.compute/virtualmachines', 'microsoft.network/publicipaddresses',
             'microsoft.storage/storageaccounts'] AS types,
       ARRAY['westeurope', 'northeurope', 'eastus'] AS locations,
       ARRAY['Virtual Machines', 'Storage', 'SQL Database', 'Azure App Service', 'Bandwidth'] AS services;

INSERT INTO resources (tenant_id, resource_id, subscription_id, name, resource_type, kind, location, resource_group,
    sku, tags, properties, managed_by, first_seen, last_seen, created_at, updated_at)
SELECT s.tenant_id,
       format('/subscriptions/%s/resourcegroups/rg-%s/providers/%s/res-%s', s.sub, i % 7, k.types[i % 4 + 1], lpad(i::text, 5, '0')),
       s.sub, 'res-' || lpad(i::text, 5, '0'), k.types[i % 4 + 1], NULL, k.locations[i % 3 + 1], 'rg-' || (i % 7),
       '{"name": "Standard_LRS"}'::jsonb,
       jsonb_build_object('env', (ARRAY['prod', 'dev', 'test'])[i % 3 + 1], 'cost-center', 'cc-' || (i % 11)),
       '{}'::jsonb, NULL, now(), now(), now(), now()
FROM bench_subs AS s, bench_kinds AS k, generate_series(0, :res - 1) AS i;

INSERT INTO costs_daily (tenant_id, date, subscription_id, resource_group, service_name, meter_category, resource_id,
    cost, amortized_cost, currency, created_at, updated_at)
SELECT s.tenant_id, current_date - d, s.sub, 'rg-' || (r % 7), k.services[r % 5 + 1], k.services[r % 5 + 1],
       format('/subscriptions/%s/resourcegroups/rg-%s/providers/%s/res-%s', s.sub, r % 7, k.types[r % 4 + 1], lpad(r::text, 5, '0')),
       round((random() * 40)::numeric, 4)::float8, round((random() * 40)::numeric, 4)::float8, 'EUR', now(), now()
FROM bench_subs AS s, bench_kinds AS k, generate_series(0, :days - 1) AS d, generate_series(0, :rows - 1) AS r
ORDER BY 1, 2, 3, 4, 5, 6, 7;

ANALYZE;
