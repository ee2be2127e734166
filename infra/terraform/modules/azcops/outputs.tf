output "resource_group_name" {
  description = "Resource group holding the environment."
  value       = azurerm_resource_group.this.name
}

output "function_app_name" {
  description = "Name of the Function App (zip deployment target)."
  value       = module.function_app.name
}

output "function_app_hostname" {
  description = "Default host name of the Function App."
  value       = module.function_app.default_hostname
}

output "app_identity_principal_id" {
  description = "Object ID of the control-plane identity: the principalId customers put in the Lighthouse template."
  value       = module.identity.principal_id
}

output "app_identity_client_id" {
  description = "Client ID of the control-plane identity."
  value       = module.identity.client_id
}

output "tenant_id" {
  description = "Tenant the environment is deployed in (managedByTenantId for Lighthouse)."
  value       = data.azurerm_client_config.current.tenant_id
}

output "storage_account_name" {
  description = "Host storage and raw layer account."
  value       = module.storage.name
}

output "postgres_fqdn" {
  description = "PostgreSQL server FQDN (private)."
  value       = module.postgres.fqdn
}

output "postgres_database_name" {
  description = "The AzCops database (the pipeline migrates it)."
  value       = module.postgres.database_name
}

output "postgres_app_role" {
  description = "PostgreSQL role the app logs in as; infra/sql/app-role.sql grants it DML only."
  value       = module.postgres.app_role_name
}

output "postgres_admin_role" {
  description = "PostgreSQL role of the Entra administrator that runs the migrations."
  value       = module.postgres.admin_principal_name
}

output "key_vault_name" {
  description = "Key Vault name."
  value       = module.keyvault.name
}

output "app_setting_names" {
  description = "Every app setting Terraform sets on the Function App."
  value       = module.function_app.app_setting_names
}

output "eventgrid_subscription_id" {
  description = "Manifest subscription ID, null until eventgrid_subscription_enabled is true."
  value       = module.eventgrid.subscription_id
}

output "remediation_identity_principal_id" {
  description = "Object ID of the remediation identity, for the opt-in Lighthouse remediation delegation (null unless enable_remediation)."
  value       = module.identity.remediation_principal_id
}
