-- Owner routing: a resource tag (key and value) sends that resource's findings to one channel.
-- Keep in step with ../sqlite/0010_notification_routes.sql.
CREATE TABLE notification_routes (
    id         TEXT PRIMARY KEY NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    channel_id TEXT NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, tag_key, tag_value, channel_id)
);
