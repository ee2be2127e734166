module "azcops" {
  source = "../../modules/azcops"

  environment                      = "dev"
  location                         = var.location
  network                          = var.network
  function_app                     = var.function_app
  postgres                         = var.postgres
  postgres_admin                   = var.postgres_admin
  postgres_additional_entra_admins = var.postgres_additional_entra_admins
  storage_replication_type         = var.storage_replication_type
  raw_immutability_locked          = var.raw_immutability_locked
  key_vault_purge_protection       = var.key_vault_purge_protection
  log_retention_days               = var.log_retention_days
  log_daily_quota_gb               = var.log_daily_quota_gb
  monitored_scopes                 = var.monitored_scopes
  auth_audience                    = var.auth_audience
  cors_origins                     = var.cors_origins
  rust_log                         = var.rust_log
  eventgrid_subscription_enabled   = var.eventgrid_subscription_enabled
  alert_email_receivers            = var.alert_email_receivers
  egress_nat_gateway               = var.egress_nat_gateway
  control_plane_tenant_id          = var.control_plane_tenant_id
  otel_exporter_otlp_endpoint      = var.otel_exporter_otlp_endpoint
  extra_app_settings               = var.extra_app_settings
  extra_secrets                    = var.extra_secrets
  tags                             = var.tags
}
