# The whole AzCops footprint for one environment. environments/<env> call this with their sizing.

data "azurerm_client_config" "current" {}

locals {
  name_prefix = "${var.project}-${var.environment}"
  # Storage, Key Vault, PostgreSQL and the Function App need globally unique names; a short hash of
  # subscription + environment keeps them unique yet stable across applies.
  suffix = substr(sha256("${data.azurerm_client_config.current.subscription_id}/${var.project}/${var.environment}"), 0, 6)

  tags = merge(var.tags, {
    project     = var.project
    environment = var.environment
    managed_by  = "terraform"
  })

  control_plane_tenant_id  = coalesce(var.control_plane_tenant_id, data.azurerm_client_config.current.tenant_id)
  app_insights_secret_name = "appinsights-connection-string"

  # Key Vault secret names allow letters, digits and dashes only.
  extra_secret_names = { for setting in nonsensitive(keys(var.extra_secrets)) : setting => lower(replace(setting, "_", "-")) }
}

resource "azurerm_resource_group" "this" {
  name     = "rg-${local.name_prefix}"
  location = var.location
  tags     = local.tags
}

module "network" {
  source                         = "../network"
  name_prefix                    = local.name_prefix
  location                       = var.location
  resource_group_name            = azurerm_resource_group.this.name
  address_space                  = var.network.address_space
  function_subnet_prefix         = var.network.function_subnet_prefix
  private_endpoint_subnet_prefix = var.network.private_endpoint_subnet_prefix
  postgres_subnet_prefix         = var.network.postgres_subnet_prefix
  egress_nat_gateway             = var.egress_nat_gateway
  tags                           = local.tags
}

module "monitoring" {
  source                = "../monitoring"
  name_prefix           = local.name_prefix
  location              = var.location
  resource_group_name   = azurerm_resource_group.this.name
  log_retention_days    = var.log_retention_days
  daily_quota_gb        = var.log_daily_quota_gb
  alert_email_receivers = var.alert_email_receivers
  tags                  = local.tags
}

module "identity" {
  source              = "../identity"
  name_prefix         = local.name_prefix
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  monitored_scopes    = var.monitored_scopes
  enable_remediation  = var.enable_remediation
  tags                = local.tags
}

module "storage" {
  source                     = "../storage"
  name                       = "st${var.project}${var.environment}${local.suffix}"
  location                   = var.location
  resource_group_name        = azurerm_resource_group.this.name
  replication_type           = var.storage_replication_type
  raw_retention_days         = var.raw_retention_days
  raw_immutability_locked    = var.raw_immutability_locked
  private_endpoint_subnet_id = module.network.private_endpoint_subnet_id
  private_dns_zone_ids       = module.network.private_dns_zone_ids
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "keyvault" {
  source                     = "../keyvault"
  name                       = "kv-${local.name_prefix}-${local.suffix}"
  location                   = var.location
  resource_group_name        = azurerm_resource_group.this.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  purge_protection_enabled   = var.key_vault_purge_protection
  private_endpoint_subnet_id = module.network.private_endpoint_subnet_id
  private_dns_zone_id        = module.network.private_dns_zone_ids["vault"]
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  secrets = merge(
    { (local.app_insights_secret_name) = module.monitoring.application_insights_connection_string },
    { for setting, name in local.extra_secret_names : name => var.extra_secrets[setting] },
  )
  tags = local.tags
}

module "postgres" {
  source                       = "../postgres"
  name                         = "psql-${local.name_prefix}-${local.suffix}"
  location                     = var.location
  resource_group_name          = azurerm_resource_group.this.name
  tenant_id                    = data.azurerm_client_config.current.tenant_id
  sku_name                     = var.postgres.sku_name
  storage_mb                   = var.postgres.storage_mb
  zone                         = var.postgres.zone
  high_availability_mode       = var.postgres.high_availability_mode
  standby_zone                 = var.postgres.standby_zone
  backup_retention_days        = var.postgres.backup_retention_days
  geo_redundant_backup_enabled = var.postgres.geo_redundant_backup_enabled
  app_identity = {
    principal_id = module.identity.principal_id
    name         = module.identity.name
  }
  admin_principal            = var.postgres_admin
  additional_entra_admins    = var.postgres_additional_entra_admins
  private_endpoint_subnet_id = module.network.postgres_subnet_id
  private_dns_zone_id        = module.network.private_dns_zone_ids["postgres"]
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "communication" {
  count               = var.email_enabled ? 1 : 0
  source              = "../communication"
  name_prefix         = local.name_prefix
  suffix              = local.suffix
  resource_group_name = azurerm_resource_group.this.name
  sender_principal_id = module.identity.principal_id
  tags                = local.tags
}

module "function_app" {
  source                   = "../functionapp"
  name                     = "func-${local.name_prefix}-${local.suffix}"
  location                 = var.location
  resource_group_name      = azurerm_resource_group.this.name
  identity_id              = module.identity.id
  deployment_identity_id   = module.identity.deployment_id
  identity_client_id       = module.identity.client_id
  remediation_identity     = var.enable_remediation ? { id = module.identity.remediation_id, client_id = module.identity.remediation_client_id } : null
  storage_account_name     = module.storage.name
  deployment_container_url = module.storage.deployment_container_url
  function_subnet_id       = module.network.function_subnet_id
  runtime_version          = var.function_app.runtime_version
  instance_memory_mb       = var.function_app.instance_memory_mb
  maximum_instance_count   = var.function_app.maximum_instance_count
  always_ready             = var.function_app.always_ready
  key_vault_name           = module.keyvault.name
  app_insights_secret_name = local.app_insights_secret_name
  secret_app_settings      = local.extra_secret_names
  database_url             = module.postgres.database_url
  db_max_connections       = var.postgres.max_connections_per_instance
  raw_store_url            = module.storage.raw_container_url
  exports_container_url    = module.storage.exports_container_url
  auth = {
    audience = var.auth_audience
  }
  web = {
    client_id        = var.web_client_id
    client_assertion = var.web_client_credential == "federated" ? "managed-identity" : ""
  }
  notify = {
    acs_endpoint  = var.email_enabled ? module.communication[0].endpoint : ""
    email_sender  = var.email_enabled ? module.communication[0].sender_address : ""
    dashboard_url = var.dashboard_url
  }
  control_plane_tenant_id     = local.control_plane_tenant_id
  cors_origins                = var.cors_origins
  rust_log                    = var.rust_log
  otel_exporter_otlp_endpoint = var.otel_exporter_otlp_endpoint
  extra_app_settings          = var.extra_app_settings
  log_analytics_workspace_id  = module.monitoring.log_analytics_workspace_id
  tags                        = local.tags

  # Host storage and Key Vault references are resolved at start-up; grant access first.
  depends_on = [
    azurerm_role_assignment.app_blob_containers,
    azurerm_role_assignment.deployment_package,
    azurerm_role_assignment.app_queue_contributor,
  ]
}

module "eventgrid" {
  source                 = "../eventgrid"
  name_prefix            = local.name_prefix
  location               = var.location
  resource_group_name    = azurerm_resource_group.this.name
  storage_account_id     = module.storage.id
  raw_container_name     = module.storage.raw_container_name
  exports_container_name = module.storage.exports_container_name
  function_app_name      = module.function_app.name
  function_app_hostname  = module.function_app.default_hostname
  subscription_enabled   = var.eventgrid_subscription_enabled
  action_group_id        = module.monitoring.action_group_id
  tags                   = local.tags
}

# The dashboard's federated credential: the registration trusts tokens of the app's user-assigned
# identity for api://AzureADTokenExchange, which the app sends as client assertion when it redeems a
# sign-in code (AZCOPS_WEB_CLIENT_ASSERTION = managed-identity), so no client secret exists.
resource "azuread_application_federated_identity_credential" "web" {
  count = var.web_client_credential == "federated" ? 1 : 0

  application_id = var.web_application_id
  display_name   = "azcops-${var.environment}-managed-identity"
  description    = "AzCops dashboard sign-in with the function app's user-assigned identity"
  audiences      = ["api://AzureADTokenExchange"]
  issuer         = "https://login.microsoftonline.com/${data.azurerm_client_config.current.tenant_id}/v2.0"
  subject        = module.identity.principal_id

  lifecycle {
    precondition {
      condition     = var.web_application_id != "" && var.web_client_id != ""
      error_message = "A federated dashboard credential needs web_client_id and web_application_id."
    }
  }
}
