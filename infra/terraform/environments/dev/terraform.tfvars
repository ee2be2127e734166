# Dev: smallest footprint that still exercises every component. subscription_id and auth_audience
# come from the pipeline (TF_VAR_*).
location = "swedencentral"

network = {
  address_space                  = ["10.60.0.0/22"]
  function_subnet_prefix         = "10.60.0.0/24"
  private_endpoint_subnet_prefix = "10.60.1.0/27"
  postgres_subnet_prefix         = "10.60.1.32/28"
}

function_app = {
  instance_memory_mb     = 2048
  maximum_instance_count = 10
}

# 10 instances x 3 connections = 30, inside the ~50 connections a 2 GiB burstable server allows.
postgres = {
  sku_name                     = "B_Standard_B1ms"
  storage_mb                   = 32768
  high_availability_mode       = "Disabled"
  backup_retention_days        = 7
  geo_redundant_backup_enabled = false
  max_connections_per_instance = 3
}

storage_replication_type   = "ZRS"
raw_immutability_locked    = false
key_vault_purge_protection = false
log_retention_days         = 30
log_daily_quota_gb         = 1
rust_log                   = "info,azcops=debug"
