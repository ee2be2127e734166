# PostgreSQL Flexible Server reachable only through its private endpoint, accepting only Entra tokens.
# The app identity connects as itself: DATABASE_URL names the identity as user and carries no
# password; the binary presents a token for the ossrdbms audience instead. The app identity is not
# an administrator: a separate principal (admin_principal) owns the schema, runs the migrations in
# the pipeline and grants the app's role DML only (infra/sql/app-role.sql).

resource "azurerm_postgresql_flexible_server" "this" {
  #checkov:skip=CKV_AZURE_136:Geo-redundant backup is a per-environment variable (on in prod).
  #checkov:skip=CKV2_AZURE_57:The server is reached through the private endpoint below; checkov does not link azurerm_private_endpoint to flexible servers.
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  version                       = "16"
  sku_name                      = var.sku_name
  storage_mb                    = var.storage_mb
  auto_grow_enabled             = true
  zone                          = var.zone
  backup_retention_days         = var.backup_retention_days
  geo_redundant_backup_enabled  = var.geo_redundant_backup_enabled
  public_network_access_enabled = false

  authentication {
    active_directory_auth_enabled = true
    password_auth_enabled         = false
    tenant_id                     = var.tenant_id
  }

  dynamic "high_availability" {
    for_each = var.high_availability_mode == "Disabled" ? [] : [var.high_availability_mode]
    content {
      mode                      = high_availability.value
      standby_availability_zone = high_availability.value == "ZoneRedundant" ? var.standby_zone : null
    }
  }

  maintenance_window {
    day_of_week  = 0
    start_hour   = 4
    start_minute = 0
  }

  tags = var.tags

  lifecycle {
    # Azure moves the primary to the standby's zone on failover; following it here would force a
    # switch back on the next apply.
    ignore_changes = [zone, high_availability[0].standby_availability_zone]
  }
}

resource "azurerm_postgresql_flexible_server_database" "this" {
  name      = var.database_name
  server_id = azurerm_postgresql_flexible_server.this.id
  charset   = "UTF8"
  collation = "en_US.utf8"
}

resource "azurerm_postgresql_flexible_server_active_directory_administrator" "admin" {
  server_name         = azurerm_postgresql_flexible_server.this.name
  resource_group_name = var.resource_group_name
  tenant_id           = var.tenant_id
  object_id           = var.admin_principal.object_id
  principal_name      = var.admin_principal.principal_name
  principal_type      = var.admin_principal.principal_type

  lifecycle {
    precondition {
      condition     = lower(var.admin_principal.object_id) != lower(var.app_identity.principal_id) && var.admin_principal.principal_name != var.app_identity.name
      error_message = "The app identity must not be the PostgreSQL administrator: set admin_principal to a separate principal that runs migrations."
    }
  }
}

resource "azurerm_postgresql_flexible_server_active_directory_administrator" "additional" {
  for_each            = { for name, admin in var.additional_entra_admins : name => admin if lower(admin.object_id) != lower(var.app_identity.principal_id) }
  server_name         = azurerm_postgresql_flexible_server.this.name
  resource_group_name = var.resource_group_name
  tenant_id           = var.tenant_id
  object_id           = each.value.object_id
  principal_name      = each.key
  principal_type      = each.value.principal_type
}

resource "azurerm_postgresql_flexible_server_configuration" "this" {
  for_each = {
    log_connections    = "on"
    log_disconnections = "on"
    log_checkpoints    = "on"
  }
  name      = each.key
  server_id = azurerm_postgresql_flexible_server.this.id
  value     = each.value
}

resource "azurerm_private_endpoint" "postgres" {
  name                = "pe-${var.name}-postgres"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "psc-${var.name}-postgres"
    private_connection_resource_id = azurerm_postgresql_flexible_server.this.id
    subresource_names              = ["postgresqlServer"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
}

resource "azurerm_monitor_diagnostic_setting" "postgres" {
  name                       = "to-log-analytics"
  target_resource_id         = azurerm_postgresql_flexible_server.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "PostgreSQLLogs"
  }
  enabled_metric {
    category = "AllMetrics"
  }
}
