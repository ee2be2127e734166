-- Indexes for the dashboard API's default list orders, so a page is read in index order and the
-- scan stops after LIMIT rows instead of sorting every row of the tenant:
-- resources by name (GET /api/v1/resources), recommendations by priority (GET /api/v1/recommendations).
CREATE INDEX resources_tenant_name ON resources (tenant_id, name, resource_id);
CREATE INDEX recommendations_tenant_priority ON recommendations (tenant_id, priority_score DESC, id);
