# Data-plane roles of the app, each on the single resource it needs. Subscription and
# management-group roles (read-only) live in the identity module. scripts/check-infra.sh asserts
# that no blob data role is granted on the whole storage account and that the app identity holds
# no role on the deployment container.

locals {
  # Blob containers the app identity reads and writes: the Functions host's bookkeeping (locks,
  # timer schedules, blob-trigger receipts; host keys) and the raw layer (whose WORM policy
  # refuses overwrites and deletes whatever the role allows). Not `deployment`: the package is
  # written and read by the platform with the deployment identity.
  app_blob_containers = ["raw", "azure-webjobs-hosts", "azure-webjobs-secrets"]
}

resource "azurerm_role_assignment" "app_blob_containers" {
  for_each             = toset(local.app_blob_containers)
  scope                = module.storage.container_ids[each.value]
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = module.identity.principal_id
  principal_type       = "ServicePrincipal"
  description          = "AzCops app: container ${each.value}"
}

# Cost Management writes the exports; the app only reads them.
resource "azurerm_role_assignment" "app_exports_reader" {
  scope                = module.storage.container_ids["exports"]
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = module.identity.principal_id
  principal_type       = "ServicePrincipal"
  description          = "AzCops app: Cost Management exports (read only)"
}

# One Deploy uploads the package through the platform with the app's deployment storage identity,
# and each instance downloads it with the same identity: write on this one container only.
resource "azurerm_role_assignment" "deployment_package" {
  scope                = module.storage.container_ids["deployment"]
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = module.identity.deployment_principal_id
  principal_type       = "ServicePrincipal"
  description          = "Flex Consumption deployment package (One Deploy upload, instance download)"
}

# The host creates its internal queues (blob-trigger poison queue) at run time, so queue access
# stays at the account: the account holds only the ingestion queues and the host's own.
resource "azurerm_role_assignment" "app_queue_contributor" {
  scope                = module.storage.id
  role_definition_name = "Storage Queue Data Contributor"
  principal_id         = module.identity.principal_id
  principal_type       = "ServicePrincipal"
  description          = "AzCops ingestion queues"
}

resource "azurerm_role_assignment" "app_metrics_publisher" {
  scope                = module.monitoring.application_insights_id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = module.identity.principal_id
  principal_type       = "ServicePrincipal"
  description          = "Entra-authenticated telemetry ingestion"
}

resource "azurerm_role_assignment" "app_key_vault_secrets_user" {
  scope                = module.keyvault.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = module.function_app.system_principal_id
  principal_type       = "ServicePrincipal"
  description          = "Resolution of @Microsoft.KeyVault app setting references"
}
