# Test: production topology (zone-redundant storage, general-purpose database) at reduced scale,
# without the irreversible locks so it can be torn down.
location = "swedencentral"

network = {
  address_space                  = ["10.61.0.0/22"]
  function_subnet_prefix         = "10.61.0.0/24"
  private_endpoint_subnet_prefix = "10.61.1.0/27"
  postgres_subnet_prefix         = "10.61.1.32/28"
}

function_app = {
  instance_memory_mb     = 2048
  maximum_instance_count = 20
}

postgres = {
  sku_name                     = "GP_Standard_D2ds_v5"
  storage_mb                   = 65536
  zone                         = "1"
  high_availability_mode       = "Disabled"
  backup_retention_days        = 14
  geo_redundant_backup_enabled = false
  max_connections_per_instance = 5
}

storage_replication_type   = "ZRS"
raw_immutability_locked    = false
key_vault_purge_protection = false
log_retention_days         = 30
log_daily_quota_gb         = 5
