# Data-plane roles of the app, each on the single resource it needs. Subscription and
# management-group roles (read-only) live in the identity module.

resource "azurerm_role_assignment" "app_blob_owner" {
  # Owner rather than Contributor: the Functions host manages blob leases and container ACL-free
  # metadata for its own bookkeeping, which the docs require Blob Data Owner for.
  scope                = module.storage.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = module.identity.principal_id
  principal_type       = "ServicePrincipal"
  description          = "AzCops host storage, deployment package and raw layer"
}

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
