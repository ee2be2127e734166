# Prod: zone-redundant database with geo-redundant backups, geo-zone-redundant storage, locked
# raw retention and purge-protected Key Vault.
location = "swedencentral"

network = {
  address_space                  = ["10.62.0.0/22"]
  function_subnet_prefix         = "10.62.0.0/23"
  private_endpoint_subnet_prefix = "10.62.2.0/27"
  postgres_subnet_prefix         = "10.62.2.32/28"
}

function_app = {
  instance_memory_mb     = 2048
  maximum_instance_count = 40
  always_ready           = { http = 1 }
}

# 40 instances x 5 connections = 200, well under the default connection limit of a 16 GiB server.
postgres = {
  sku_name                     = "GP_Standard_D4ds_v5"
  storage_mb                   = 131072
  zone                         = "1"
  high_availability_mode       = "ZoneRedundant"
  standby_zone                 = "2"
  backup_retention_days        = 35
  geo_redundant_backup_enabled = true
  max_connections_per_instance = 5
}

storage_replication_type   = "GZRS"
raw_immutability_locked    = true
key_vault_purge_protection = true
log_retention_days         = 90
log_daily_quota_gb         = -1

# alert_email_receivers = { oncall = "finops-oncall@example.com" }
